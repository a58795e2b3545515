// ImageSet (src/data/images.ts): construction checks every option, gather scales bytes by maxValue into the
// asked range of its output, slices share memory, and pixels changed after construction are refused.
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { DatasetError, ImageSet, ReinmaxInputError } from "../mod.ts";

Deno.test("ImageSet.gather scales by maxValue into the given range of out, without touching the rest", () => {
  const pixels = Uint8Array.from({ length: 3 * 4 }, (_, i) => i + 5); // 5..16
  const set = new ImageSet({ name: "s", count: 3, height: 2, width: 2, pixels, maxValue: 16 });
  assertEquals(set.size, 4);
  const out = new Float32Array(10).fill(-1);
  set.gather([9, 2, 0, 2, 9], out, 1, 2);
  // Image 2 is pixels 13..16, image 0 is 5..8; v / 16 is exact in f32.
  assertEquals(Array.from(out), [13, 14, 15, 16, 5, 6, 7, 8].map((v) => v / 16).concat([-1, -1]));
  const bytes = new ImageSet({ name: "b", count: 1, height: 1, width: 3, pixels: Uint8Array.of(0, 1, 255) });
  const scaled = new Float32Array(3);
  bytes.gather(Int32Array.of(0), scaled);
  assertEquals(Array.from(scaled), [0, Math.fround(1 / 255), 1]);

  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
  wrong("indices", () => set.gather([3], out));
  wrong("indices", () => set.gather([0.5], out));
  wrong("out", () => set.gather([0, 1, 2], new Float32Array(11)));
  wrong("count", () => set.gather([0, 1], out, 1, 2));
  wrong("start", () => set.gather([0, 1], out, 3));
});

Deno.test("ImageSet: construction validates every option; slice shares memory", () => {
  const pixels = Uint8Array.from({ length: 12 }, (_, i) => i);
  const wrong = (argument: string, options: Record<string, unknown>) =>
    assertEquals(
      assertThrows(
        () => new ImageSet({ name: "s", count: 3, height: 2, width: 2, pixels, maxValue: 16, ...options }),
        ReinmaxInputError,
      ).argument,
      argument,
    );
  wrong("pixels", { pixels: new Uint8Array(11) });
  wrong("pixels", { maxValue: 10 });
  wrong("labels", { labels: new Uint8Array(2) });
  wrong("maxValue", { maxValue: 256 });
  wrong("height", { height: 0 });
  wrong("name", { name: "" });
  const error = assertThrows(
    () => new ImageSet({ name: "s", count: 3, height: 2, width: 2, pixels, maxValue: 10 }),
    ReinmaxInputError,
  );
  assertMatch(error.message, /found 11 at index 11 \(image 2, row 1, column 1\)/);

  const set = new ImageSet({
    name: "s",
    count: 3,
    height: 2,
    width: 2,
    pixels,
    labels: Uint8Array.of(7, 8, 9),
  });
  const tail = set.slice(1, 3);
  assertEquals([tail.count, tail.labels, tail.pixels[0]], [2, Uint8Array.of(8, 9), 4]);
  assertEquals(tail.pixels.buffer, pixels.buffer);
  assertEquals(set.slice(3, 3).count, 0);
  assertThrows(() => set.slice(2, 1), ReinmaxInputError);
});

// The set keeps the caller's bytes without copying them (60,000 images are 47 MB), so the bytes can change under
// it after construction. Reading a detached buffer gives undefined per pixel, which gather used to turn into NaN
// inputs and a non-finite loss steps later; it must be refused where it happens, naming the set.
Deno.test("ImageSet.gather: a pixel buffer detached after construction is a DatasetError naming the set", () => {
  const detachments: [string, (buffer: ArrayBuffer) => void][] = [
    ["structuredClone with transfer", (buffer) => void structuredClone(buffer, { transfer: [buffer] })],
    ["ArrayBuffer.prototype.transfer", (buffer) => void buffer.transfer()],
  ];
  for (const [how, detach] of detachments) {
    const buffer = new ArrayBuffer(2 * 3);
    const pixels = new Uint8Array(buffer).fill(7);
    const set = new ImageSet({ name: "moved digits", count: 2, height: 1, width: 3, pixels, maxValue: 16 });
    const out = new Float32Array(3).fill(-1);
    set.gather([1], out);
    assertEquals(Array.from(out), [7 / 16, 7 / 16, 7 / 16], `${how}: before`);
    detach(buffer);
    assertEquals(buffer.byteLength, 0, `${how}: the buffer is detached`);
    out.fill(-1);
    const error = assertThrows(() => set.gather([1], out), DatasetError);
    assertEquals(error.source, "moved digits", how);
    assertMatch(error.message, /detached/, how);
    assert(out.every((v) => v === -1), `${how}: nothing was written (${out})`);
  }
});

// maxValue is checked at construction only; gather scales through a table that holds 0 above maxValue, so a
// byte above it written afterwards would silently become black and the model would train on other data than the
// set's. gather refuses the image that holds it, naming the set and where the byte is.
Deno.test("ImageSet.gather: a pixel above maxValue written after construction names the set and the image", () => {
  const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i); // 0..11, maxValue 16
  const set = new ImageSet({ name: "digits train", count: 3, height: 2, width: 2, pixels, maxValue: 16 });
  const tail = set.slice(1, 3); // shares the bytes
  pixels[2 * 4 + 3] = 200; // image 2, row 1, column 1
  const out = new Float32Array(4);
  // Images 0 and 1 are untouched and still gather exactly.
  set.gather([1, 0], new Float32Array(8));
  const error = assertThrows(() => set.gather([0, 2], new Float32Array(8)), DatasetError);
  assertEquals(error.source, "digits train");
  assertMatch(error.message, /pixel 200 above maxValue 16 at image 2, row 1, column 1/);
  // A slice names itself, and the image by its index within the slice.
  const sliced = assertThrows(() => tail.gather([1], out), DatasetError);
  assertEquals(sliced.source, "digits train [1, 3)");
  assertMatch(sliced.message, /at image 1, row 1, column 1/);
});
