/**
 * The four-file IDX layout of MNIST and Fashion-MNIST, read through a caller-supplied function so that this
 * module does no I/O of its own: the caller decides whether names are files, URLs or entries in memory.
 * @module
 */
import { DatasetError, ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger } from "../validate.ts";
import { type IdxArray, parseIdx } from "./idx.ts";
import { firstPixelAbove, type ImageDataset, ImageSet, pixelPlace } from "./images.ts";

/**
 * The bytes of one file: in memory, or an HTTP response whose body holds them.
 *
 * @example
 * ```ts
 * import type { ByteSource } from "@reinmax/reinmax";
 * const fromMemory: ByteSource = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 0]);
 * const fromNetwork: ByteSource = await fetch("https://example.org/mnist/train-labels-idx1-ubyte.gz");
 * ```
 */
export type ByteSource = Uint8Array | ArrayBuffer | Response;

/**
 * Reads the file called `name` (relative to wherever the reader points); resolves to undefined when the file
 * does not exist. A {@link Response} with status 404 also counts as absent.
 *
 * @example
 * ```ts
 * import { type FileReader, loadMnistLike } from "@reinmax/reinmax";
 * // Files under a base URL; a 404 counts as absent, so the loader tries NAME.gz, then NAME.
 * const read: FileReader = (name) => fetch(new URL(name, "https://example.org/fashion-mnist/"));
 * const data = await loadMnistLike(read, { name: "fashion-mnist" });
 * ```
 */
export type FileReader = (name: string) => Promise<ByteSource | undefined>;

/** The base names of the four files, each of which may also be stored with `.gz` appended. */
export const MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/**
 * Options of {@link loadMnistLike}.
 *
 * @example
 * ```ts
 * import { loadMnistLike, type MnistLikeOptions } from "@reinmax/reinmax";
 * const options: MnistLikeOptions = { name: "mnist", maxValue: 255, location: "/data/mnist" };
 * const data = await loadMnistLike((name) => Deno.readFile(`/data/mnist/${name}`).catch(() => undefined), options);
 * ```
 */
export interface MnistLikeOptions {
  /** Names the data set; the splits are called `"NAME train"` and `"NAME test"`. */
  readonly name: string;
  /** The pixel value that means 1.0; 255 if omitted. */
  readonly maxValue?: number;
  /** Where `read` looks (a directory or base URL), for messages about missing files. */
  readonly location?: string;
}

/** Options of {@link imageSetFromIdx}. */
export interface ImageSetFromIdxOptions {
  /** Names the image set. */
  readonly name: string;
  /** The pixel value that means 1.0; 255 if omitted. */
  readonly maxValue?: number;
  /** Names the images file in errors; `"images"` if omitted. */
  readonly imagesSource?: string;
  /** Names the labels file in errors; `"labels"` if omitted. */
  readonly labelsSource?: string;
}

/**
 * Loads the train and test splits of an MNIST-like data set through `read`, trying `NAME.gz` and then `NAME`
 * for each of the four files. Images must be u8 of rank 3 and labels u8 of rank 1, with one label per image,
 * and both splits must have the same image size. Every failure is a {@link DatasetError} naming the file (or
 * URL): a missing file, an HTTP status other than 200 or 404, or bytes that do not parse.
 *
 * @example
 * ```ts
 * import { loadMnistLike } from "@reinmax/reinmax";
 * const dir = "/usr/share/datasets/fashion-mnist"; // apt-get install dataset-fashion-mnist
 * const data = await loadMnistLike((name) => Deno.readFile(`${dir}/${name}`).catch(() => undefined), {
 *   name: "fashion-mnist",
 *   location: dir,
 * });
 * console.log(data.train.count, data.test.count); // 60000 10000
 * ```
 */
export async function loadMnistLike(read: FileReader, options: MnistLikeOptions): Promise<ImageDataset> {
  if (typeof read !== "function") {
    throw new ReinmaxInputError(
      "read",
      `expected a function (name) => Promise<bytes>, got ${describe(read)}`,
    );
  }
  const { name, maxValue = 255, location } = requireOptions(options);
  // One file at a time: the largest set (60,000 images) is already 47 MB decompressed.
  const files = [];
  for (const base of Object.values(MNIST_FILES)) {
    const file = await readEither(read, base, location ?? "the data source");
    // Errors about a file's bytes name it where it was found, so two data sets' files are not confused.
    files.push(location === undefined ? file : { ...file, source: within(location, file.source) });
  }
  const [trainImages, trainLabels, testImages, testLabels] = files;
  const train = imageSetFromIdx(trainImages.bytes, trainLabels.bytes, {
    name: `${name} train`,
    maxValue,
    imagesSource: trainImages.source,
    labelsSource: trainLabels.source,
  });
  const test = imageSetFromIdx(testImages.bytes, testLabels.bytes, {
    name: `${name} test`,
    maxValue,
    imagesSource: testImages.source,
    labelsSource: testLabels.source,
  });
  if (test.height !== train.height || test.width !== train.width) {
    throw new DatasetError(
      testImages.source,
      `expected test images of ${train.height}×${train.width} like the training images ` +
        `(${trainImages.source}), found ${test.height}×${test.width}`,
    );
  }
  return { name, train, test };
}

/**
 * One image set from an IDX images file (u8, rank 3: count×height×width) and optionally its labels file (u8,
 * rank 1, one per image); either may be gzip-compressed. Pixels above `maxValue` are an error. Failures are
 * {@link DatasetError}s naming `imagesSource` or `labelsSource`.
 */
export function imageSetFromIdx(
  images: Uint8Array,
  labels: Uint8Array | undefined,
  options: ImageSetFromIdxOptions,
): ImageSet {
  const { name, maxValue = 255 } = requireOptions(options);
  const { imagesSource = "images", labelsSource = "labels" } = options;
  const imageArray = parseIdx(images, imagesSource);
  if (imageArray.type !== "u8" || imageArray.shape.length !== 3) {
    throw new DatasetError(
      imagesSource,
      `expected u8 images of rank 3 (count×height×width), found ${describeIdx(imageArray)}`,
    );
  }
  const [count, height, width] = imageArray.shape;
  let labelData: Uint8Array | undefined;
  if (labels !== undefined) {
    const labelArray = parseIdx(labels, labelsSource);
    if (labelArray.type !== "u8" || labelArray.shape.length !== 1) {
      throw new DatasetError(labelsSource, `expected u8 labels of rank 1, found ${describeIdx(labelArray)}`);
    }
    if (labelArray.shape[0] !== count) {
      throw new DatasetError(
        labelsSource,
        `expected ${count} labels to match the images (${imagesSource}), found ${labelArray.shape[0]}`,
      );
    }
    labelData = labelArray.data;
  }
  const above = firstPixelAbove(imageArray.data, maxValue);
  if (above >= 0) {
    throw new DatasetError(
      imagesSource,
      `expected pixel values in [0, ${maxValue}], found ${imageArray.data[above]} ` +
        `(${pixelPlace(above, height * width, width)})`,
    );
  }
  return new ImageSet({ name, count, height, width, pixels: imageArray.data, labels: labelData, maxValue });
}

/**
 * The bytes of `source`, read from the file called `name`: a Response must have status 200 (404 and other
 * statuses are the caller's to tell apart: see {@link readOptional}).
 * @internal
 */
export async function toBytes(source: ByteSource, name: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof Response !== "undefined" && source instanceof Response) {
    const where = source.url || name;
    if (!source.ok) {
      await source.body?.cancel();
      throw new DatasetError(
        where,
        `expected HTTP status 200, got ${source.status} ${source.statusText}`.trimEnd(),
      );
    }
    try {
      return new Uint8Array(await source.arrayBuffer());
    } catch (e) {
      throw new DatasetError(where, `reading the response body failed: ${errorMessage(e)}`, { cause: e });
    }
  }
  throw new DatasetError(
    name,
    `expected the reader to give a Uint8Array, ArrayBuffer, Response or undefined, got ${describe(source)}`,
  );
}

/**
 * `read(name)` as bytes, or undefined when the file is absent (undefined, or a 404 Response). Errors thrown
 * by `read` itself become {@link DatasetError}s naming the file, with the original as `cause`.
 * @internal
 */
export async function readOptional(read: FileReader, name: string): Promise<Uint8Array | undefined> {
  let source: ByteSource | undefined;
  try {
    source = await read(name);
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(name, `reading failed: ${errorMessage(e)}`, { cause: e });
  }
  if (source === undefined) return undefined;
  if (typeof Response !== "undefined" && source instanceof Response && source.status === 404) {
    await source.body?.cancel();
    return undefined;
  }
  return await toBytes(source, name);
}

async function readEither(
  read: FileReader,
  base: string,
  location: string,
): Promise<{ bytes: Uint8Array; source: string }> {
  for (const source of [`${base}.gz`, base]) {
    const bytes = await readOptional(read, source);
    if (bytes !== undefined) return { bytes, source };
  }
  throw new DatasetError(base, `not found in ${location}: tried ${base}.gz and ${base}`);
}

/** `name` inside the directory or base URL `location`. */
function within(location: string, name: string): string {
  return /[\\/]$/.test(location) ? `${location}${name}` : `${location}/${name}`;
}

function requireOptions<T extends { name: string; maxValue?: number }>(options: T): T {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object with a name, got ${describe(options)}`);
  }
  if (typeof options.name !== "string" || options.name === "") {
    throw new ReinmaxInputError("name", `expected a non-empty string, got ${describe(options.name)}`);
  }
  if (options.maxValue !== undefined) requireInteger("maxValue", options.maxValue, 1, 255);
  return options;
}

function describeIdx(array: IdxArray): string {
  return `${array.type} of rank ${array.shape.length} (shape ${array.shape.join("×")})`;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
