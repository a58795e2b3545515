// Your pictures from a directory, for the command-line examples: every PNG and JPEG file in it, decoded to
// RGBA pixels by two pure-JavaScript decoders from npm (fast-png of the image-js project, which inflates with
// fflate as the SDK does, and jpeg-js), so nothing native is installed and the SDK itself still reads no file.
// Where the decoders stop short of the formats, this module finishes the job: fast-png leaves samples of
// fewer than 8 bits packed and ignores a tRNS colour key; jpeg-js ignores the EXIF orientation a phone
// records instead of rotating its pixels. docs/data.md says why these two decoders.
import { resolve } from "node:path";
import { decode as decodePng } from "fast-png";
import jpeg from "jpeg-js";
import { DatasetError, ReinmaxInputError, type RgbaPicture } from "../mod.ts";

/** The pictures of a directory, in file-name order, with their file names. */
export interface PictureFiles {
  readonly files: readonly string[];
  readonly pictures: readonly RgbaPicture[];
}

/** Options of {@link listPictureFiles} and {@link readPictureFiles}. */
export interface ReadPictureOptions {
  /** Paths not to read even if they are pictures of the directory (e.g. what the program itself writes). */
  readonly skip?: readonly string[];
}

const PNG = /\.png$/i, JPEG = /\.jpe?g$/i;

/**
 * The names of the .png, .jpg and .jpeg files of `dir` (not its subdirectories; links to files count), sorted.
 * No directory, or no picture in it, is a ReinmaxInputError naming `images`.
 */
export async function listPictureFiles(dir: string, options: ReadPictureOptions = {}): Promise<string[]> {
  const skip = new Set((options.skip ?? []).map((path) => resolve(path)));
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!(PNG.test(e.name) || JPEG.test(e.name)) || skip.has(resolve(dir, e.name))) continue;
      if (e.isFile || (e.isSymlink && (await Deno.stat(pathIn(dir, e.name)).catch(() => null))?.isFile)) {
        files.push(e.name);
      }
    }
  } catch (e) {
    throw new ReinmaxInputError("images", `cannot read the directory ${dir} (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (files.length === 0) {
    throw new ReinmaxInputError("images", `${dir} holds no .png, .jpg or .jpeg file`);
  }
  return files.sort();
}

/** The path of file `name` of directory `dir`, as messages name it. */
export function pathIn(dir: string, name: string): string {
  return `${dir.replace(/[\\/]+$/, "")}/${name}`;
}

/** Reads and decodes the picture `name` of `dir`; one that cannot be decoded is a DatasetError naming it. */
export async function readPicture(dir: string, name: string): Promise<RgbaPicture> {
  const path = pathIn(dir, name);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DatasetError(path, `cannot be read (${(e as Error).message})`, { cause: e });
  }
  try {
    return PNG.test(name) ? pngToRgba(bytes) : jpegToRgba(bytes);
  } catch (e) {
    throw new DatasetError(path, `is not a picture this program can decode (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/**
 * Reads and decodes every picture of `dir` ({@link listPictureFiles}). All of them are held at their full
 * size: for many large photos, read them one at a time with {@link readPicture} and shrink each first.
 */
export async function readPictureFiles(dir: string, options: ReadPictureOptions = {}): Promise<PictureFiles> {
  const files = await listPictureFiles(dir, options);
  const pictures: RgbaPicture[] = [];
  for (const name of files) pictures.push(await readPicture(dir, name));
  return { files, pictures };
}

function jpegToRgba(bytes: Uint8Array): RgbaPicture {
  // jpeg-js decodes to RGBA with alpha 255; its size limits guard against a hostile header.
  const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
  const { exifBuffer } = decoded as { exifBuffer?: Uint8Array };
  return oriented(decoded, exifBuffer ? exifOrientation(exifBuffer) : 1);
}

/**
 * The orientation tag (0x0112) of IFD0 of an EXIF block, 1 (as stored) when it is absent or unreadable: a
 * picture whose metadata cannot be read is still a picture.
 */
export function exifOrientation(exif: Uint8Array): number {
  // jpeg-js keeps the second NUL of the "Exif\0\0" signature; the TIFF header ("II" or "MM") follows it.
  const tiff = exif[0] === 0 ? exif.subarray(1) : exif;
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + 12 * i;
    if (at + 12 > tiff.length) return 1;
    // A SHORT (type 3) sits in the first two bytes of the entry's value field.
    if (view.getUint16(at, little) === 0x0112 && view.getUint16(at + 2, little) === 3) {
      const value = view.getUint16(at + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/**
 * The picture as it is meant to be seen under EXIF orientation `orientation` (1–8): 2 mirrored, 3 turned
 * half way, 4 flipped, 5 transposed, 6 turned a quarter clockwise, 7 transversed, 8 a quarter anticlockwise.
 */
export function oriented(picture: RgbaPicture, orientation: number): RgbaPicture {
  if (orientation === 1) return picture;
  const { width: w, height: h, data } = picture;
  const swap = orientation >= 5;
  const width = swap ? h : w, height = swap ? w : h;
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // The stored pixel (sx, sy) that is shown at (x, y).
      let sx: number, sy: number;
      switch (orientation) {
        case 2:
          [sx, sy] = [w - 1 - x, y];
          break;
        case 3:
          [sx, sy] = [w - 1 - x, h - 1 - y];
          break;
        case 4:
          [sx, sy] = [x, h - 1 - y];
          break;
        case 5:
          [sx, sy] = [y, x];
          break;
        case 6:
          [sx, sy] = [y, h - 1 - x];
          break;
        case 7:
          [sx, sy] = [w - 1 - y, h - 1 - x];
          break;
        default:
          [sx, sy] = [w - 1 - y, x];
      }
      out.set(data.subarray((sy * w + sx) * 4, (sy * w + sx) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data: out };
}

/** Any PNG (grey, grey and alpha, RGB, RGBA, palette; 1 to 16 bits; a tRNS colour key) as 8-bit RGBA. */
function pngToRgba(bytes: Uint8Array): RgbaPicture {
  // fast-png de-interlaces Adam7 as if every pixel were whole bytes, which scrambles (or rejects) samples
  // below 8 bits. IHDR comes first: signature 8, length 4, type 4, then width 4, height 4, bit depth, colour
  // type, compression, filter, interlace.
  const [ihdrDepth, interlace] = [bytes[24], bytes[28]];
  if (interlace === 1 && ihdrDepth < 8) {
    throw new Error(
      `interlaced (Adam7) PNGs of ${ihdrDepth}-bit samples are not supported; save it without interlacing`,
    );
  }
  const png = decodePng(bytes);
  const { width, height, depth } = png;
  // A colour (RGB) PNG may carry a PLTE as a suggestion for displays with few colours; only a
  // one-channel PNG with one is indexed.
  const palette = png.channels === 1 ? png.palette : undefined;
  const channels = png.channels;
  const key = palette ? undefined : png.transparency;
  // fast-png leaves samples of fewer than 8 bits packed, each row starting on a byte; 16-bit samples come as
  // a Uint16Array.
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const max = 2 ** depth - 1;
  const raw = (y: number, x: number, c: number) => {
    const i = x * channels + c;
    if (depth >= 8) return png.data[y * width * channels + i];
    const bit = i * depth;
    return (png.data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & max;
  };
  // The PNG specification's rescaling of a sample to 8 bits (§13.12): round(v·255 / (2^depth − 1)).
  const to8 = depth === 8 ? (v: number) => v : (v: number) => Math.round((v * 255) / max);
  const data = new Uint8Array(width * height * 4);
  const v = [0, 0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) v[c] = raw(y, x, c);
      let rgba: number[];
      if (palette) {
        const entry = palette[v[0]] ?? [0, 0, 0];
        rgba = [entry[0], entry[1], entry[2], entry[3] ?? 255];
      } else if (channels === 1) {
        const alpha = key && v[0] === key[0] ? 0 : 255;
        rgba = [to8(v[0]), to8(v[0]), to8(v[0]), alpha];
      } else if (channels === 2) rgba = [to8(v[0]), to8(v[0]), to8(v[0]), to8(v[1])];
      else if (channels === 3) {
        const alpha = key && v[0] === key[0] && v[1] === key[1] && v[2] === key[2] ? 0 : 255;
        rgba = [to8(v[0]), to8(v[1]), to8(v[2]), alpha];
      } else rgba = [to8(v[0]), to8(v[1]), to8(v[2]), to8(v[3])];
      data.set(rgba, (y * width + x) * 4);
    }
  }
  return { width, height, data };
}
