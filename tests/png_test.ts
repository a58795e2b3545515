// PNG output (src/data/png.ts): what encodePng writes is read back by an independent decoder written from the
// PNG specification, and imageGrid lays out bands, padding and scaling as documented.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { unzlibSync } from "fflate";
import { crcBitwise } from "./reference/crc32.ts";
import { testRandom } from "./util.ts";
import { concat, u32be } from "./data_helpers.ts";
import { encodePng, imageGrid, ReinmaxInputError } from "../mod.ts";

/** A minimal PNG reader, written from the PNG specification: 8-bit greyscale or RGB, non-interlaced only. */
function decodePng(
  png: Uint8Array,
): { width: number; height: number; channels: number; pixels: Uint8Array; filters: number[] } {
  assertEquals(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let pos = 8; pos < png.length;) {
    const length = u32be(png, pos);
    const type = new TextDecoder().decode(png.subarray(pos + 4, pos + 8));
    const data = png.subarray(pos + 8, pos + 8 + length);
    assertEquals(
      u32be(png, pos + 8 + length),
      crcBitwise(png.subarray(pos + 4, pos + 8 + length)),
      `${type} CRC`,
    );
    chunks.push({ type, data });
    pos += 12 + length;
  }
  assertEquals(chunks[0].type, "IHDR");
  assertEquals(chunks.at(-1)!.type, "IEND");
  assertEquals(chunks.at(-1)!.data.length, 0);
  const ihdr = chunks[0].data;
  assertEquals(ihdr.length, 13);
  const width = u32be(ihdr, 0);
  const height = u32be(ihdr, 4);
  assert(ihdr[9] === 0 || ihdr[9] === 2, `colour type ${ihdr[9]}: greyscale (0) or RGB (2) expected`);
  assertEquals(
    [ihdr[8], ihdr[10], ihdr[11], ihdr[12]],
    [8, 0, 0, 0],
    "bit depth 8, deflate, no interlace",
  );
  const channels = ihdr[9] === 0 ? 1 : 3;
  // Filters predict a byte from the same channel of the pixel to the left: `channels` bytes back.
  const row = width * channels;
  const scanlines = unzlibSync(concat(...chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  assertEquals(scanlines.length, height * (row + 1));
  const pixels = new Uint8Array(row * height);
  const filters: number[] = [];
  for (let y = 0; y < height; y++) {
    const filter = scanlines[y * (row + 1)];
    filters.push(filter);
    for (let x = 0; x < row; x++) {
      const raw = scanlines[y * (row + 1) + 1 + x];
      const a = x >= channels ? pixels[y * row + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * row + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * row + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
        ? b
        : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      assert(predictor !== undefined, `unknown filter type ${filter}`);
      pixels[y * row + x] = (raw + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels, filters };
}

Deno.test("png: an independent decoder reads back exactly what encodePng wrote", () => {
  const random = testRandom(5);
  for (const channels of [1, 3]) {
    for (const [width, height] of [[1, 1], [7, 3], [64, 40]]) {
      const pixels = Uint8Array.from({ length: width * height * channels }, () => Math.floor(random() * 256));
      const png = decodePng(encodePng(pixels, width, height, channels));
      assertEquals([png.width, png.height, png.channels], [width, height, channels]);
      assertEquals(png.pixels, pixels);
      assert(png.filters.every((f) => f === 0));
    }
  }
  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
  wrong("pixels", () => encodePng(new Uint8Array(5), 2, 3));
  wrong("pixels", () => encodePng(new Uint8Array(6), 2, 3, 3));
  wrong("channels", () => encodePng(new Uint8Array(24), 2, 3, 4));
  wrong("width", () => encodePng(new Uint8Array(0), 0, 3));
  wrong("height", () => encodePng(new Uint8Array(3), 3, 1.5));
});

Deno.test("png: imageGrid puts each row-array in its own band, with padding between images", () => {
  const G = 128;
  // Three 1×1 images per row-array, two per grid row, padding 1: each band is two grid rows.
  const grid = imageGrid([Float32Array.of(0, 1, 0.2), Float32Array.of(0.4, 0.6, 0.8)], {
    count: 3,
    height: 1,
    width: 1,
    columns: 2,
    padding: 1,
  });
  assertEquals([grid.width, grid.height], [5, 9]);
  // round(255·0.2) = 51, round(255·0.4) = 102, round(255·0.6) = 153, round(255·0.8) = 204.
  // deno-fmt-ignore
  const expected = [
    G, G,   G, G,   G,
    G, 0,   G, 255, G,
    G, G,   G, G,   G,
    G, 51,  G, G,   G,
    G, G,   G, G,   G,
    G, 102, G, 153, G,
    G, G,   G, G,   G,
    G, 204, G, G,   G,
    G, G,   G, G,   G,
  ];
  assertEquals(Array.from(grid.pixels), expected);

  // Two 2×3 images, default padding 2 and columns min(count, 2) = 2: a 12×6 picture with image 0's top-left
  // pixel at (row 2, column 2) and image 1's at (2, 2 + 3 + 2 = 7).
  const images = Float32Array.from({ length: 2 * 6 }, (_, i) => i / 11);
  const wide = imageGrid([images], { count: 2, height: 2, width: 3 });
  assertEquals([wide.width, wide.height], [12, 6]);
  const at = (row: number, column: number) => wide.pixels[row * 12 + column];
  const value = (i: number) => Math.round(255 * Math.fround(i / 11));
  assertEquals([at(2, 2), at(2, 4), at(3, 2)], [value(0), value(2), value(3)]);
  assertEquals([at(2, 7), at(3, 8), at(3, 9)], [value(6), value(10), value(11)]);
  assertEquals([at(1, 2), at(2, 5), at(2, 6), at(4, 2), at(5, 11)], [G, G, G, G, G]);

  // scale 2: each pixel a 2×2 block; with padding 1 the 1×2 image [0.2, 0.8] fills rows 1–2, columns 1–4.
  const big = imageGrid([Float32Array.of(0.2, 0.8)], { count: 1, height: 1, width: 2, padding: 1, scale: 2 });
  assertEquals([big.width, big.height], [6, 4]);
  const lo = Math.round(255 * Math.fround(0.2)), hi = Math.round(255 * Math.fround(0.8));
  assertEquals(Array.from(big.pixels), [
    G,
    G,
    G,
    G,
    G,
    G,
    G,
    lo,
    lo,
    hi,
    hi,
    G,
    G,
    lo,
    lo,
    hi,
    hi,
    G,
    G,
    G,
    G,
    G,
    G,
    G,
  ]);

  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
  wrong("rows", () => imageGrid([], { count: 1, height: 1, width: 1 }));
  wrong(
    "rows[1]",
    () => imageGrid([new Float32Array(2), new Float32Array(3)], { count: 2, height: 1, width: 1 }),
  );
  wrong("rows[0]", () => imageGrid([Float32Array.of(0.5, Number.NaN)], { count: 2, height: 1, width: 1 }));
  wrong("rows[0]", () => imageGrid([Float32Array.of(0.5, 1.5)], { count: 2, height: 1, width: 1 }));
  wrong("columns", () => imageGrid([new Float32Array(2)], { count: 2, height: 1, width: 1, columns: 0 }));
  wrong("padding", () => imageGrid([new Float32Array(2)], { count: 2, height: 1, width: 1, padding: -1 }));
  wrong("scale", () => imageGrid([new Float32Array(2)], { count: 2, height: 1, width: 1, scale: 0 }));
});
