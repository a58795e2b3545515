/**
 * Your own pictures as an image set: RGBA pixels of any size — a browser's ImageData, a decoded PNG or JPEG —
 * resized to the size you declare and kept as grey or RGB bytes. In a browser, ImageBitmaps and canvases are
 * drawn at that size first; in Deno, decode files with a library of your choice (examples/image_files.ts) and
 * pass their pixels. The library itself reads no file.
 * @module
 */
import { ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger } from "../validate.ts";
import { ImageSet } from "./images.ts";

/**
 * A picture as RGBA bytes, four per pixel, row after row: what `ImageData` holds and image decoders give.
 *
 * @example
 * ```ts
 * import type { RgbaPicture } from "@reinmax/reinmax";
 * const dot: RgbaPicture = { width: 1, height: 1, data: Uint8Array.of(255, 0, 0, 255) }; // one red pixel
 * ```
 */
export interface RgbaPicture {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** width·height·4 bytes: red, green, blue, alpha of each pixel. */
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * How pictures become an image set.
 *
 * @example
 * ```ts
 * import type { PictureSetOptions } from "@reinmax/reinmax";
 * const options: PictureSetOptions = { name: "my photos", height: 32, width: 32, channels: 3 };
 * ```
 */
export interface PictureSetOptions {
  /** Names the set in messages. */
  readonly name: string;
  /** Rows of every image of the set. */
  readonly height: number;
  /** Columns of every image of the set. */
  readonly width: number;
  /** 1: grey (luma, Rec. 601); 3: red, green and blue. Default 1. */
  readonly channels?: 1 | 3;
  /** What shows through transparent pixels, 0 (black) to 255 (white). Default 255. */
  readonly background?: number;
  /** One label per picture, if they have labels. */
  readonly labels?: Uint8Array;
}

/**
 * The pictures as one {@link ImageSet}: each resized to `height`×`width` by averaging the source pixels each
 * target pixel covers (a box filter, exact for any ratio, so shrinking does not alias), composited over
 * `background` by its alpha, and turned grey or kept RGB. Bad pictures or options are a ReinmaxInputError
 * naming the picture by its index.
 *
 * @example
 * ```ts
 * import { imageSetFromPictures } from "@reinmax/reinmax";
 * const checker = { width: 2, height: 2, data: Uint8Array.of(0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255) };
 * const set = imageSetFromPictures([checker], { name: "checker", height: 1, width: 1 });
 * console.log(set.pixels); // [128]: the mean of two black and two white pixels
 * ```
 */
export function imageSetFromPictures(pictures: readonly RgbaPicture[], options: PictureSetOptions): ImageSet {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  const height = requireInteger("height", options.height, 1, 4096);
  const width = requireInteger("width", options.width, 1, 4096);
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 3) {
    throw new ReinmaxInputError("channels", `expected 1 (grey) or 3 (RGB), got ${describe(channels)}`);
  }
  const background = requireInteger("background", options.background ?? 255, 0, 255);
  if (!Array.isArray(pictures)) {
    throw new ReinmaxInputError("pictures", `expected an array of pictures, got ${describe(pictures)}`);
  }
  const size = height * width * channels;
  const pixels = new Uint8Array(pictures.length * size);
  pictures.forEach((picture, i) => {
    const argument = `pictures[${i}]`;
    if (typeof picture !== "object" || picture === null) {
      throw new ReinmaxInputError(argument, `expected { width, height, data }, got ${describe(picture)}`);
    }
    const w = requireInteger(`${argument}.width`, picture.width, 1, 1 << 16);
    const h = requireInteger(`${argument}.height`, picture.height, 1, 1 << 16);
    const data = picture.data;
    if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray) || data.length !== w * h * 4) {
      throw new ReinmaxInputError(
        `${argument}.data`,
        `expected width·height·4 = ${w * h * 4} RGBA bytes, got ${
          data instanceof Uint8Array || data instanceof Uint8ClampedArray ? data.length : describe(data)
        }`,
      );
    }
    resizeInto(pixels.subarray(i * size, (i + 1) * size), data, w, h, width, height, channels, background);
  });
  return new ImageSet({
    name: options.name,
    count: pictures.length,
    height,
    width,
    channels,
    pixels,
    labels: options.labels,
  });
}

/**
 * Box-filters `src` (w×h RGBA) into `out` (width×height, `channels` per pixel): each target pixel is the
 * area-weighted mean of the source pixels under it, each source pixel first composited over `background`.
 */
function resizeInto(
  out: Uint8Array,
  src: Uint8Array | Uint8ClampedArray,
  w: number,
  h: number,
  width: number,
  height: number,
  channels: number,
  background: number,
): void {
  const sx = w / width, sy = h / height;
  const rgb = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    const y0 = y * sy, y1 = y0 + sy;
    for (let x = 0; x < width; x++) {
      const x0 = x * sx, x1 = x0 + sx;
      rgb[0] = rgb[1] = rgb[2] = 0;
      let area = 0;
      for (let j = Math.floor(y0); j < Math.min(h, Math.ceil(y1)); j++) {
        const wy = Math.min(y1, j + 1) - Math.max(y0, j);
        for (let i = Math.floor(x0); i < Math.min(w, Math.ceil(x1)); i++) {
          const weight = wy * (Math.min(x1, i + 1) - Math.max(x0, i));
          const at = (j * w + i) * 4, alpha = src[at + 3] / 255;
          for (let c = 0; c < 3; c++) rgb[c] += weight * (alpha * src[at + c] + (1 - alpha) * background);
          area += weight;
        }
      }
      const to = (y * width + x) * channels;
      if (channels === 3) { for (let c = 0; c < 3; c++) out[to + c] = Math.round(rgb[c] / area); }
      else out[to] = Math.round((0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / area);
    }
  }
}

/**
 * What a browser's 2D canvas can draw — an ImageBitmap, a canvas, an image element — or RGBA pixels. Typed
 * by shape, so that programs without the DOM's types (Deno's defaults) type-check against it too.
 */
export type PictureSource = RgbaPicture | { readonly width: number; readonly height: number };

/** The slice of the DOM's OffscreenCanvas this module uses. */
interface Canvas2D {
  drawImage(image: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, width: number, height: number): RgbaPicture;
}
type OffscreenCanvasLike = new (width: number, height: number) => { getContext(kind: "2d"): Canvas2D | null };

/**
 * In a browser (or a worker with OffscreenCanvas): the pictures drawn, each at its own size, then made an
 * {@link ImageSet} by {@link imageSetFromPictures}. ImageData and RGBA pictures are taken as they are.
 *
 * @example
 * ```ts
 * import { imageSetFromSources } from "@reinmax/reinmax";
 * // In a page: const bitmaps = await Promise.all([...input.files].map((f) => createImageBitmap(f)));
 * declare const bitmaps: { width: number; height: number }[];
 * const set = imageSetFromSources(bitmaps, { name: "dropped", height: 28, width: 28 });
 * ```
 */
export function imageSetFromSources(sources: readonly PictureSource[], options: PictureSetOptions): ImageSet {
  if (!Array.isArray(sources)) {
    throw new ReinmaxInputError("sources", `expected an array of images, got ${describe(sources)}`);
  }
  const Canvas = (globalThis as { OffscreenCanvas?: OffscreenCanvasLike }).OffscreenCanvas;
  const pictures = sources.map((source, i): RgbaPicture => {
    if (isRgba(source)) return source;
    if (Canvas === undefined) {
      throw new ReinmaxInputError(
        `sources[${i}]`,
        "drawing an image needs OffscreenCanvas (a browser or a worker); elsewhere pass RGBA pixels",
      );
    }
    const { width, height } = sourceSize(source);
    if (!(width > 0 && height > 0)) {
      throw new ReinmaxInputError(`sources[${i}]`, `expected an image with a size, got ${width}×${height}`);
    }
    const context = new Canvas(width, height).getContext("2d");
    if (!context) {
      throw new ReinmaxInputError(`sources[${i}]`, "this browser gives no 2D canvas to draw it on");
    }
    context.drawImage(source, 0, 0);
    return context.getImageData(0, 0, width, height);
  });
  return imageSetFromPictures(pictures, options);
}

function isRgba(source: PictureSource): source is RgbaPicture {
  const s = source as Partial<RgbaPicture>;
  return typeof s === "object" && s !== null &&
    (s.data instanceof Uint8Array || s.data instanceof Uint8ClampedArray);
}

/** The natural size of an image element, else the width and height of a bitmap or canvas. */
function sourceSize(source: object): { width: number; height: number } {
  const s = source as { width?: unknown; height?: unknown; naturalWidth?: unknown; naturalHeight?: unknown };
  const pick = (v: unknown) => (typeof v === "number" ? v : 0);
  return {
    width: pick(s.naturalWidth) || pick(s.width),
    height: pick(s.naturalHeight) || pick(s.height),
  };
}
