// Your pictures from a directory, for the command-line examples: every PNG and JPEG file in it, decoded to
// RGBA pixels by two pure-JavaScript decoders from npm (fast-png of the image-js project, which inflates with
// fflate as the SDK does, and jpeg-js), so nothing native is installed and the SDK itself still reads no file.
// docs/data.md says why these two.
import { decode as decodePng } from "fast-png";
import jpeg from "jpeg-js";
import { DatasetError, ReinmaxInputError, type RgbaPicture } from "../mod.ts";

/** The pictures of a directory, in file-name order, with their file names. */
export interface PictureFiles {
  readonly files: readonly string[];
  readonly pictures: readonly RgbaPicture[];
}

const PNG = /\.png$/i, JPEG = /\.jpe?g$/i;

/** Reads and decodes every .png, .jpg and .jpeg file of `dir` (not its subdirectories). */
export async function readPictureFiles(dir: string): Promise<PictureFiles> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    throw new ReinmaxInputError("images", `cannot read the directory ${dir} (${(e as Error).message})`, {
      cause: e,
    });
  }
  const files = entries.filter((e) => e.isFile && (PNG.test(e.name) || JPEG.test(e.name))).map((e) => e.name)
    .sort();
  if (files.length === 0) {
    throw new ReinmaxInputError("images", `${dir} holds no .png, .jpg or .jpeg file`);
  }
  const pictures: RgbaPicture[] = [];
  for (const name of files) {
    const path = `${dir.replace(/[\\/]+$/, "")}/${name}`;
    const bytes = await Deno.readFile(path);
    try {
      pictures.push(PNG.test(name) ? pngToRgba(bytes) : jpegToRgba(bytes));
    } catch (e) {
      throw new DatasetError(path, `is not a picture this program can decode (${(e as Error).message})`, {
        cause: e,
      });
    }
  }
  return { files, pictures };
}

function jpegToRgba(bytes: Uint8Array): RgbaPicture {
  // jpeg-js decodes to RGBA with alpha 255; its size limits guard against a hostile header.
  const { width, height, data } = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxMemoryUsageInMB: 512,
  });
  return { width, height, data };
}

/** Any PNG (grey, grey and alpha, RGB, RGBA, palette; 1 to 16 bits) as 8-bit RGBA. */
function pngToRgba(bytes: Uint8Array): RgbaPicture {
  const png = decodePng(bytes);
  const { width, height, depth } = png;
  const palette = png.palette;
  const channels = palette ? 1 : png.channels;
  // fast-png leaves samples of fewer than 8 bits packed, each row starting on a byte; 16-bit samples come as
  // a Uint16Array and keep their high byte; fewer than 8 bits of grey are scaled up (palette indices are not).
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const sample = (y: number, x: number, c: number) => {
    const i = x * channels + c;
    if (depth >= 8) {
      const v = png.data[y * width * channels + i];
      return depth === 16 ? v >> 8 : v;
    }
    const bit = i * depth;
    const v = (png.data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    return palette ? v : Math.round((v * 255) / ((1 << depth) - 1));
  };
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (c: number) => sample(y, x, c);
      let rgba: number[];
      if (palette) {
        const entry = palette[s(0)] ?? [0, 0, 0];
        rgba = [entry[0], entry[1], entry[2], entry[3] ?? 255];
      } else if (channels === 1) rgba = [s(0), s(0), s(0), 255];
      else if (channels === 2) rgba = [s(0), s(0), s(0), s(1)];
      else if (channels === 3) rgba = [s(0), s(1), s(2), 255];
      else rgba = [s(0), s(1), s(2), s(3)];
      data.set(rgba, (y * width + x) * 4);
    }
  }
  return { width, height, data };
}
