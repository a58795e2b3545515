/**
 * Image sets in memory: bytes as stored (one per pixel and channel, image-major; grey, or RGB with the
 * channels of a pixel together), scaled to [0, 1] only when a batch is gathered, so a 60,000-image set costs
 * 47 MB rather than four times that as floats.
 * @module
 */
import { DatasetError, ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger } from "../validate.ts";

/**
 * What an {@link ImageSet} is built from.
 *
 * @example
 * ```ts
 * import { ImageSet, type ImageSetOptions } from "@reinmax/reinmax";
 * const options: ImageSetOptions = { name: "two", count: 2, height: 2, width: 2, pixels: new Uint8Array(8), maxValue: 255 };
 * const set = new ImageSet(options);
 * ```
 */
export interface ImageSetOptions {
  /** Names the set in messages, e.g. `"fashion-mnist-10k train"`. */
  readonly name: string;
  /** The number of images. */
  readonly count: number;
  /** Rows per image. */
  readonly height: number;
  /** Columns per image. */
  readonly width: number;
  /** Values per pixel: 1 (grey) or 3 (red, green, blue, together). Default 1. */
  readonly channels?: number;
  /** `count·height·width·channels` bytes: image after image, each row after row, each pixel's channels. */
  readonly pixels: Uint8Array;
  /** One label per image, if the set has labels. */
  readonly labels?: Uint8Array;
  /** The pixel value that means 1.0 (255 for MNIST-like files, 16 for the 8×8 digits); 255 if omitted. */
  readonly maxValue?: number;
}

/**
 * A data set: its name, the images to train on and the held-out images.
 *
 * @example
 * ```ts
 * import { FIXTURES_URL, type ImageDataset, loadFixture } from "@reinmax/reinmax";
 * const data: ImageDataset = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * console.log(data.name, data.train.count, data.test.count, data.train.size); // "digits" 1500 297 64
 * ```
 */
export interface ImageDataset {
  /** Names the data set in messages, e.g. `"fashion-mnist-10k"`. */
  readonly name: string;
  /** The images to train on. */
  readonly train: ImageSet;
  /** The held-out images. */
  readonly test: ImageSet;
}

/**
 * A set of `count` images of `height`×`width` pixels, grey (one byte per pixel) or RGB (`channels: 3`, a
 * pixel's three bytes together), with values in [0, `maxValue`]. Construction checks every length and pixel and throws a {@link ReinmaxInputError} naming the option at fault.
 *
 * @example
 * ```ts
 * import { ImageSet } from "@reinmax/reinmax";
 * const set = new ImageSet({ name: "ramp", count: 2, height: 1, width: 3, pixels: new Uint8Array([0, 128, 255, 255, 0, 0]) });
 * const batch = new Float32Array(2 * 3);
 * set.gather(new Uint32Array([1, 0]), batch); // image 1 then image 0, scaled to [0, 1]
 * console.log(batch); // [1, 0, 0, 0, 0.50196, 1]
 * ```
 */
export class ImageSet {
  /** Names the set in messages. */
  readonly name: string;
  /** The number of images. */
  readonly count: number;
  /** Rows per image. */
  readonly height: number;
  /** Columns per image. */
  readonly width: number;
  /** Values per pixel: 1 (grey) or 3 (RGB). */
  readonly channels: number;
  /** Values per image (`height·width·channels`). */
  readonly size: number;
  /** `count·size` bytes, image-major. */
  readonly pixels: Uint8Array;
  /** One label per image, or undefined. */
  readonly labels: Uint8Array | undefined;
  /** The pixel value that means 1.0. */
  readonly maxValue: number;
  // value → value / maxValue for every byte: gather is then a lookup per pixel, and the float is exactly the
  // rounded quotient rather than a product with a rounded reciprocal.
  readonly #scale: Float32Array;

  /** Checks `options` and builds the set; `pixels` and `labels` are kept, not copied. */
  constructor(options: ImageSetOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
    }
    const { name, pixels, labels, maxValue = 255 } = options;
    if (typeof name !== "string" || name === "") {
      throw new ReinmaxInputError("name", `expected a non-empty string, got ${describe(name)}`);
    }
    const count = requireInteger("count", options.count, 0);
    const height = requireInteger("height", options.height, 1);
    const width = requireInteger("width", options.width, 1);
    const channels = options.channels ?? 1;
    if (channels !== 1 && channels !== 3) {
      throw new ReinmaxInputError("channels", `expected 1 (grey) or 3 (RGB), got ${describe(channels)}`);
    }
    requireInteger("maxValue", maxValue, 1, 255);
    const size = height * width * channels;
    if (!(pixels instanceof Uint8Array)) {
      throw new ReinmaxInputError("pixels", `expected a Uint8Array, got ${describe(pixels)}`);
    }
    if (pixels.length !== count * size) {
      throw new ReinmaxInputError(
        "pixels",
        `expected count·height·width${channels > 1 ? "·channels" : ""} = ${count}·${height}·${width}${
          channels > 1 ? `·${channels}` : ""
        } = ${count * size} bytes, got ${pixels.length}`,
      );
    }
    checkLabels(labels, count, "image");
    const above = firstPixelAbove(pixels, maxValue);
    if (above >= 0) {
      throw new ReinmaxInputError(
        "pixels",
        `expected values in [0, ${maxValue}] (maxValue), found ${pixels[above]} at index ${above} ` +
          `(${pixelPlace(above, size, width, channels)})`,
      );
    }
    this.name = name;
    this.count = count;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.size = size;
    this.pixels = pixels;
    this.labels = labels;
    this.maxValue = maxValue;
    this.#scale = new Float32Array(256);
    for (let v = 0; v <= maxValue; v++) this.#scale[v] = v / maxValue;
  }

  /**
   * Writes images `indices[start]`, …, `indices[start + count − 1]` into `out`, one after another from
   * `out[0]`, each pixel as `value / maxValue` in [0, 1]. Called once per training step, so it allocates
   * nothing.
   * Throws a {@link ReinmaxInputError} for an index outside [0, this.count) or an `out` shorter than
   * `count·size`, and a {@link DatasetError} naming the set when its pixels changed after it was built (the
   * buffer detached, e.g. transferred to a worker, or a value above `maxValue` written into it).
   */
  gather(
    indices: ArrayLike<number>,
    out: Float32Array,
    start = 0,
    count: number = indices.length - start,
  ): void {
    if (!Number.isInteger(start) || start < 0 || start > indices.length) {
      throw new ReinmaxInputError(
        "start",
        `expected an integer in [0, ${indices.length}], got ${describe(start)}`,
      );
    }
    if (!Number.isInteger(count) || count < 0 || start + count > indices.length) {
      throw new ReinmaxInputError(
        "count",
        `expected an integer in [0, ${indices.length - start}] (indices from ${start}), got ${
          describe(count)
        }`,
      );
    }
    checkGatherOut(out, count, this.size);
    const { pixels, size } = this;
    if (pixels.length !== this.count * size) {
      throw new DatasetError(
        this.name,
        `its pixel buffer holds ${pixels.length} bytes, not the ${
          this.count * size
        } it was built with: it was ` +
          `detached (e.g. transferred to a worker) or resized after the set was made; keep the bytes alive or ` +
          `copy them into the set`,
      );
    }
    const scale = this.#scale;
    for (let k = 0; k < count; k++) {
      const index = checkIndex(indices, start + k, this.count, this.name, "image");
      const from = index * size;
      const to = k * size;
      for (let p = 0; p < size; p++) out[to + p] = scale[pixels[from + p]];
      const above = firstPixelAbove(pixels.subarray(from, from + size), this.maxValue);
      if (above >= 0) {
        throw new DatasetError(
          this.name,
          `pixel ${pixels[from + above]} above maxValue ${this.maxValue} at ${
            pixelPlace(from + above, size, this.width, this.channels)
          }: the bytes were changed after the set was built`,
        );
      }
    }
  }

  /** Images `start` ≤ i < `end` as a new set that shares this set's memory. */
  slice(start: number, end: number): ImageSet {
    requireInteger("start", start, 0, this.count);
    requireInteger("end", end, start, this.count);
    return new ImageSet({
      name: `${this.name} [${start}, ${end})`,
      count: end - start,
      height: this.height,
      width: this.width,
      channels: this.channels,
      pixels: this.pixels.subarray(start * this.size, end * this.size),
      labels: this.labels?.subarray(start, end),
      maxValue: this.maxValue,
    });
  }
}

/** The index of the first byte of `pixels` above `maxValue`, or −1. */
export function firstPixelAbove(pixels: Uint8Array, maxValue: number): number {
  if (maxValue >= 255) return -1;
  for (let i = 0; i < pixels.length; i++) if (pixels[i] > maxValue) return i;
  return -1;
}

/** Where flat pixel index `i` lies, in words: image, row and column. */
export function pixelPlace(i: number, size: number, width: number, channels = 1): string {
  const within = Math.floor((i % size) / channels);
  const channel = channels > 1 ? `, channel ${(i % size) % channels}` : "";
  return `image ${Math.floor(i / size)}, row ${Math.floor(within / width)}, column ${
    within % width
  }${channel}`;
}

/**
 * Checks a set's optional labels: a Uint8Array of one label per `item` (image, example), else a
 * ReinmaxInputError naming `labels`.
 * @internal
 */
export function checkLabels(labels: unknown, count: number, item: string): void {
  if (labels === undefined) return;
  if (!(labels instanceof Uint8Array)) {
    throw new ReinmaxInputError("labels", `expected a Uint8Array or undefined, got ${describe(labels)}`);
  }
  if (labels.length !== count) {
    throw new ReinmaxInputError("labels", `expected one label per ${item} (${count}), got ${labels.length}`);
  }
}

/**
 * Checks gather's `out`: a Float32Array with room for `count` examples of `size` values, else a
 * ReinmaxInputError naming `out`.
 * @internal
 */
export function checkGatherOut(out: unknown, count: number, size: number): void {
  if (!(out instanceof Float32Array) || out.length < count * size) {
    throw new ReinmaxInputError(
      "out",
      `expected a Float32Array of at least ${count}·${size} = ${count * size} values, got ` +
        (out instanceof Float32Array ? `length ${out.length}` : describe(out)),
    );
  }
}

/**
 * `indices[position]`, checked to be an index of a set of `count` items (images, examples) called `name`,
 * else a ReinmaxInputError naming `indices`.
 * @internal
 */
export function checkIndex(
  indices: ArrayLike<number>,
  position: number,
  count: number,
  name: string,
  item: string,
): number {
  const index = indices[position];
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new ReinmaxInputError(
      "indices",
      `expected ${item} indices in [0, ${count}) for ${name}, got ${describe(index)} at position ${position}`,
    );
  }
  return index;
}
