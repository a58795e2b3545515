// Pictures as image sets (src/data/pictures.ts): the box filter's area weights at whole and fractional ratios,
// alpha composited over the background, Rec. 601 luma for grey and the channel order for RGB — each expected
// value worked out by hand — and every bad picture or option refused naming it.
import { assertEquals, assertThrows } from "@std/assert";
import { imageSetFromPictures, imageSetFromSources, ReinmaxInputError, type RgbaPicture } from "../mod.ts";

/** An opaque picture from grey levels, row after row. */
function grey(width: number, height: number, levels: number[]): RgbaPicture {
  return { width, height, data: Uint8Array.from(levels.flatMap((v) => [v, v, v, 255])) };
}

Deno.test("pictures: the box filter averages the source area under each target pixel", () => {
  // 2×2 black and white to 1×1: the mean 127.5 rounds to 128.
  const checker = grey(2, 2, [0, 255, 255, 0]);
  assertEquals([...imageSetFromPictures([checker], { name: "c", height: 1, width: 1 }).pixels], [128]);
  // 3 columns to 2: pixel 0 covers [0, 1.5) = 1·0 + ½·90 over 1.5 = 30; pixel 1 covers [1.5, 3) =
  // ½·90 + 1·255 over 1.5 = 200.
  const row = grey(3, 1, [0, 90, 255]);
  assertEquals([...imageSetFromPictures([row], { name: "r", height: 1, width: 2 }).pixels], [30, 200]);
  // 3 rows to 2, the same weights down a column.
  const column = grey(1, 3, [0, 90, 255]);
  assertEquals([...imageSetFromPictures([column], { name: "k", height: 2, width: 1 }).pixels], [30, 200]);
  // Enlarging repeats a pixel: 1×1 to 2×3.
  const dot = grey(1, 1, [77]);
  assertEquals(
    [...imageSetFromPictures([dot], { name: "d", height: 2, width: 3 }).pixels],
    new Array(6).fill(77),
  );
});

Deno.test("pictures: alpha over the background, Rec. 601 luma for grey, the channel order for RGB", () => {
  const rgba = (...px: number[][]): RgbaPicture => ({
    width: px.length,
    height: 1,
    data: Uint8Array.from(px.flat()),
  });
  // Opaque red, green, blue: luma 0.299·255 = 76.2, 0.587·255 = 149.7, 0.114·255 = 29.1.
  const primaries = rgba([255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]);
  assertEquals([...imageSetFromPictures([primaries], { name: "p", height: 1, width: 3 }).pixels], [
    76,
    150,
    29,
  ]);
  const rgb = imageSetFromPictures([primaries], { name: "p", height: 1, width: 3, channels: 3 });
  assertEquals([...rgb.pixels], [255, 0, 0, 0, 255, 0, 0, 0, 255]);
  assertEquals([rgb.channels, rgb.size], [3, 9]);
  // Transparent red shows the background; alpha 51/255 = 0.2 of red over black gives 0.2·255 = 51.
  const faded = rgba([255, 0, 0, 0], [255, 0, 0, 51]);
  assertEquals(
    [
      ...imageSetFromPictures([faded], { name: "f", height: 1, width: 2, channels: 3, background: 200 })
        .pixels,
    ],
    [200, 200, 200, 211, 160, 160], // red: 0.2·255 + 0.8·200 = 211; green, blue: 0.8·200
  );
  assertEquals(
    [...imageSetFromPictures([faded], { name: "f", height: 1, width: 2, channels: 3, background: 0 }).pixels],
    [0, 0, 0, 51, 0, 0],
  );
  // Uint8ClampedArray (ImageData's) is taken as it is; labels go with the pictures.
  const clamped = { width: 1, height: 1, data: Uint8ClampedArray.of(10, 10, 10, 255) };
  const labelled = imageSetFromPictures([clamped, clamped], {
    name: "l",
    height: 1,
    width: 1,
    labels: Uint8Array.of(3, 4),
  });
  assertEquals([...labelled.pixels], [10, 10]);
  assertEquals([...labelled.labels!], [3, 4]);
});

Deno.test("pictures: each bad picture or option is a ReinmaxInputError naming it", () => {
  const ok = grey(2, 2, [0, 0, 0, 0]);
  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals((assertThrows(fn, ReinmaxInputError) as ReinmaxInputError).argument, argument);
  const options = { name: "s", height: 2, width: 2 };
  wrong(
    "pictures[1].data",
    () => imageSetFromPictures([ok, { width: 2, height: 2, data: new Uint8Array(15) }], options),
  );
  wrong(
    "pictures[0].width",
    () => imageSetFromPictures([{ width: 0, height: 2, data: new Uint8Array(0) }], options),
  );
  wrong("pictures[0]", () => imageSetFromPictures([null as unknown as RgbaPicture], options));
  wrong("pictures", () => imageSetFromPictures("a.png" as unknown as RgbaPicture[], options));
  wrong("channels", () => imageSetFromPictures([ok], { ...options, channels: 2 as 1 }));
  wrong("height", () => imageSetFromPictures([ok], { ...options, height: 0 }));
  wrong("background", () => imageSetFromPictures([ok], { ...options, background: 256 }));
  // Without OffscreenCanvas (Deno), only RGBA pixels can be taken; a bitmap-like source is refused by index.
  assertEquals([...imageSetFromSources([ok], options).pixels], [0, 0, 0, 0]);
  wrong("sources[1]", () => imageSetFromSources([ok, { width: 2, height: 2 }], options));
});
