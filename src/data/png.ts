/**
 * Pictures of images: tiles of image sets into one greyscale grid, and 8-bit greyscale PNG encoding, so that
 * a training run can show its test images, reconstructions and samples without any image library.
 * @module
 */
import { zlibSync } from "./fflate.ts";
import { ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger } from "../validate.ts";
import { crc32 } from "./crc32.ts";

/**
 * A greyscale picture: `width·height` bytes, row after row, 0 black and 255 white.
 *
 * @example
 * ```ts
 * import { encodePng, type GreyImage } from "@reinmax/reinmax";
 * const picture: GreyImage = { pixels: new Uint8Array(4 * 4).fill(255), width: 4, height: 4 };
 * await Deno.writeFile("white.png", encodePng(picture.pixels, picture.width, picture.height));
 * ```
 */
export interface GreyImage {
  /** The bytes, row-major. */
  readonly pixels: Uint8Array;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Values per pixel: 1 (grey) or 3 (RGB); 1 if omitted. */
  readonly channels?: number;
}

/**
 * Layout options of {@link imageGrid}.
 *
 * @example
 * ```ts
 * import { imageGrid, type ImageGridOptions } from "@reinmax/reinmax";
 * const layout: ImageGridOptions = { count: 16, height: 8, width: 8, columns: 8, padding: 1, scale: 4 };
 * const grid = imageGrid([new Float32Array(16 * 64)], layout); // 2 grid rows of 8 digits, each 32×32
 * ```
 */
export interface ImageGridOptions {
  /** Images in each row-array. */
  readonly count: number;
  /** Rows per image. */
  readonly height: number;
  /** Columns per image. */
  readonly width: number;
  /** Images per grid row; `min(count, 16)` if omitted. */
  readonly columns?: number;
  /** Pixels of background between images and around the edge; 2 if omitted. */
  readonly padding?: number;
  /** Each image pixel becomes a scale×scale block (nearest neighbour), for small images; 1 if omitted. */
  readonly scale?: number;
  /** Values per pixel of the images, together: 1 (grey) or 3 (RGB); 1 if omitted. */
  readonly channels?: number;
}

/** The grey of the padding between images: distinct from both the black and the white of the images. */
export const GRID_BACKGROUND = 128;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// The PNG specification's limit on either dimension.
const PNG_MAX_DIMENSION = 2 ** 31 - 1;

/**
 * Tiles images into one picture. Each element of `rows` holds `count` images of `height`×`width` values in
 * [0, 1], image after image; it fills `ceil(count / columns)` grid rows starting on a new one, so several
 * row-arrays (test images, reconstructions, prior samples) appear as bands one above the other. Values map to
 * `round(255·v)`; padding is {@link GRID_BACKGROUND}. Bad arguments throw a {@link ReinmaxInputError}.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, encodePng, FIXTURES_URL, imageGrid, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "10x30" });
 * const originals = allImages(data.test).subarray(0, 16 * 784);
 * const grid = imageGrid([originals, await model.reconstruct(originals, 16), await model.samplePrior(16)], {
 *   count: 16,
 *   height: 28,
 *   width: 28,
 * });
 * await Deno.writeFile("vae.png", encodePng(grid.pixels, grid.width, grid.height));
 * ```
 */
export function imageGrid(rows: readonly Float32Array[], options: ImageGridOptions): GreyImage {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  const count = requireInteger("count", options.count, 1);
  const height = requireInteger("height", options.height, 1);
  const width = requireInteger("width", options.width, 1);
  const columns = requireInteger("columns", options.columns ?? Math.min(count, 16), 1);
  const padding = requireInteger("padding", options.padding ?? 2, 0);
  const scale = requireInteger("scale", options.scale ?? 1, 1, 64);
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 3) {
    throw new ReinmaxInputError("channels", `expected 1 (grey) or 3 (RGB), got ${describe(channels)}`);
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new ReinmaxInputError("rows", `expected a non-empty array of Float32Arrays, got ${describe(rows)}`);
  }
  const size = height * width * channels;
  rows.forEach((row, r) => {
    if (!(row instanceof Float32Array) || row.length !== count * size) {
      throw new ReinmaxInputError(
        `rows[${r}]`,
        `expected a Float32Array of count·height·width·channels = ${count * size} values, got ` +
          (row instanceof Float32Array ? `length ${row.length}` : describe(row)),
      );
    }
    for (let i = 0; i < row.length; i++) {
      if (!(row[i] >= 0 && row[i] <= 1)) {
        throw new ReinmaxInputError(`rows[${r}]`, `expected values in [0, 1], found ${row[i]} at index ${i}`);
      }
    }
  });

  const gridRowsPerBand = Math.ceil(count / columns);
  const gridRows = rows.length * gridRowsPerBand;
  const cellWidth = width * scale, cellHeight = height * scale;
  const outWidth = columns * cellWidth + (columns + 1) * padding;
  const outHeight = gridRows * cellHeight + (gridRows + 1) * padding;
  if (outWidth > PNG_MAX_DIMENSION || outHeight > PNG_MAX_DIMENSION || outWidth * outHeight > 2 ** 32) {
    throw new ReinmaxInputError("options", `the grid would be ${outWidth}×${outHeight} pixels, too large`);
  }
  const pixels = new Uint8Array(outWidth * outHeight * channels).fill(GRID_BACKGROUND);
  rows.forEach((row, r) => {
    for (let n = 0; n < count; n++) {
      const gridRow = r * gridRowsPerBand + Math.floor(n / columns);
      const top = padding + gridRow * (cellHeight + padding);
      const left = padding + (n % columns) * (cellWidth + padding);
      for (let y = 0; y < cellHeight; y++) {
        const to = ((top + y) * outWidth + left) * channels;
        const from = n * size + Math.floor(y / scale) * width * channels;
        for (let x = 0; x < cellWidth; x++) {
          for (let c = 0; c < channels; c++) {
            pixels[to + x * channels + c] = Math.round(
              255 * row[from + Math.floor(x / scale) * channels + c],
            );
          }
        }
      }
    }
  });
  return { pixels, width: outWidth, height: outHeight, channels };
}

/**
 * Encodes `pixels` (`width·height·channels` bytes, row-major, a pixel's channels together) as an 8-bit PNG —
 * greyscale for 1 channel, RGB for 3: IHDR, one zlib-compressed IDAT whose scanlines all use filter 0 (none),
 * and IEND. Bad arguments throw a {@link ReinmaxInputError}.
 *
 * @example
 * ```ts
 * import { encodePng } from "@reinmax/reinmax";
 * const gradient = Uint8Array.from({ length: 256 * 16 }, (_, i) => i % 256); // 256×16, black to white
 * await Deno.writeFile("ramp.png", encodePng(gradient, 256, 16));
 * const red = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i % 3 === 0 ? 255 : 0));
 * await Deno.writeFile("red.png", encodePng(red, 4, 4, 3));
 * ```
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels = 1): Uint8Array {
  requireInteger("width", width, 1, PNG_MAX_DIMENSION);
  requireInteger("height", height, 1, PNG_MAX_DIMENSION);
  if (channels !== 1 && channels !== 3) {
    throw new ReinmaxInputError("channels", `expected 1 (grey) or 3 (RGB), got ${describe(channels)}`);
  }
  const row = width * channels;
  if (!(pixels instanceof Uint8Array) || pixels.length !== row * height) {
    throw new ReinmaxInputError(
      "pixels",
      `expected a Uint8Array of width·height${channels > 1 ? "·channels" : ""} = ${
        row * height
      } bytes, got ` +
        (pixels instanceof Uint8Array ? `length ${pixels.length}` : describe(pixels)),
    );
  }
  const scanlines = new Uint8Array(height * (row + 1));
  for (let y = 0; y < height; y++) {
    // Byte 0 of each scanline is its filter type, left 0.
    scanlines.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: greyscale, or RGB
  // Bytes 10..12 (compression, filter method, interlace) are 0: deflate, adaptive filtering, no interlace.
  const chunks = [
    chunk("IHDR", header),
    chunk("IDAT", zlibSync(scanlines, { level: 9 })),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(PNG_SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0));
  out.set(PNG_SIGNATURE);
  let pos = PNG_SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** A PNG chunk: length, type, data, and the CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
