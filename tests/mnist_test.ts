// MNIST-like loading (src/data/mnist.ts): the four IDX files, .gz or not, become a train and a test ImageSet;
// every mismatch, missing file, HTTP error or corrupt file is a DatasetError naming the file. No backend, no I/O:
// the files are bytes in a map.
import { assertEquals, assertInstanceOf, assertMatch, assertRejects } from "@std/assert";
import { assertDatasetError, assertRejectsDataset, gz, idxBytes } from "./data_helpers.ts";
import { type FileReader, loadMnistLike, ReinmaxInputError } from "../mod.ts";
import { imageSetFromIdx } from "./internals.ts";

/** The four files of a tiny MNIST-like data set as a reader over a map (and the map, to alter it). */
function tinyMnist(
  overrides: Record<string, Uint8Array | Response | undefined> = {},
): { read: FileReader; files: Map<string, Uint8Array | Response | undefined> } {
  const trainPixels = Uint8Array.from({ length: 3 * 20 }, (_, i) => i * 4);
  const testPixels = Uint8Array.from({ length: 2 * 20 }, (_, i) => 255 - i);
  const files = new Map<string, Uint8Array | Response | undefined>([
    ["train-images-idx3-ubyte.gz", gz(idxBytes(0x08, [3, 4, 5], trainPixels))],
    ["train-labels-idx1-ubyte", idxBytes(0x08, [3], [1, 2, 3])],
    ["t10k-images-idx3-ubyte.gz", gz(idxBytes(0x08, [2, 4, 5], testPixels))],
    ["t10k-labels-idx1-ubyte.gz", gz(idxBytes(0x08, [2], [9, 8]))],
  ]);
  for (const [k, v] of Object.entries(overrides)) files.set(k, v);
  return { read: (name) => Promise.resolve(files.get(name)), files };
}

Deno.test("mnist: loads .gz and uncompressed files alike, with labels and maxValue", async () => {
  const { read } = tinyMnist();
  const data = await loadMnistLike(read, { name: "tiny" });
  assertEquals(data.name, "tiny");
  assertEquals([data.train.name, data.train.count, data.train.height, data.train.width], [
    "tiny train",
    3,
    4,
    5,
  ]);
  assertEquals([data.test.name, data.test.count, data.test.size], ["tiny test", 2, 20]);
  assertEquals(data.train.labels, Uint8Array.of(1, 2, 3));
  assertEquals(data.test.labels, Uint8Array.of(9, 8));
  assertEquals(data.train.pixels[59], 236);
  assertEquals(data.test.pixels[0], 255);
  assertEquals(data.train.maxValue, 255);
  // An ArrayBuffer and a 200 Response are byte sources too.
  const { read: mixed } = tinyMnist({
    "train-images-idx3-ubyte.gz": undefined,
    "train-images-idx3-ubyte": new Response(idxBytes(0x08, [3, 4, 5], new Uint8Array(60))),
  });
  assertEquals((await loadMnistLike(mixed, { name: "mixed" })).train.pixels.length, 60);
});

Deno.test("mnist: count, type and size mismatches, missing files and HTTP errors name the file", async () => {
  const labels = tinyMnist({ "t10k-labels-idx1-ubyte.gz": gz(idxBytes(0x08, [1], [9])) });
  await assertRejectsDataset(
    () => loadMnistLike(labels.read, { name: "t" }),
    "t10k-labels-idx1-ubyte.gz",
    /expected 2 labels to match the images \(t10k-images-idx3-ubyte.gz\), found 1/,
  );
  const size = tinyMnist({ "t10k-images-idx3-ubyte.gz": gz(idxBytes(0x08, [2, 5, 4], new Uint8Array(40))) });
  await assertRejectsDataset(
    () => loadMnistLike(size.read, { name: "t" }),
    "t10k-images-idx3-ubyte.gz",
    /expected test images of 4×5 like the training images \(train-images-idx3-ubyte.gz\), found 5×4/,
  );
  const wide = tinyMnist({
    "train-images-idx3-ubyte.gz": gz(idxBytes(0x0b, [3, 4, 5], new Uint8Array(120))),
  });
  await assertRejectsDataset(
    () => loadMnistLike(wide.read, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /expected u8 images of rank 3 \(count×height×width\), found i16 of rank 3 \(shape 3×4×5\)/,
  );
  const flat = tinyMnist({ "train-images-idx3-ubyte.gz": gz(idxBytes(0x08, [3, 20], new Uint8Array(60))) });
  await assertRejectsDataset(
    () => loadMnistLike(flat.read, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /found u8 of rank 2/,
  );
  const rank2Labels = tinyMnist({ "train-labels-idx1-ubyte": idxBytes(0x08, [3, 1], [1, 2, 3]) });
  await assertRejectsDataset(
    () => loadMnistLike(rank2Labels.read, { name: "t" }),
    "train-labels-idx1-ubyte",
    /expected u8 labels of rank 1, found u8 of rank 2/,
  );
  const bright = tinyMnist();
  await assertRejectsDataset(
    () => loadMnistLike(bright.read, { name: "t", maxValue: 16 }),
    "train-images-idx3-ubyte.gz",
    /expected pixel values in \[0, 16\], found 20 \(image 0, row 1, column 0\)/,
  );
  const missing = tinyMnist({ "t10k-labels-idx1-ubyte.gz": undefined });
  const error = await assertRejectsDataset(
    () => loadMnistLike(missing.read, { name: "t", location: "/data/tiny" }),
    "t10k-labels-idx1-ubyte",
    /not found in \/data\/tiny: tried t10k-labels-idx1-ubyte.gz and t10k-labels-idx1-ubyte/,
  );
  assertMatch(error.message, /t10k-labels-idx1-ubyte\.gz/);
  // A 404 counts as absent, so the uncompressed name is tried next; a 500 is an error naming the status.
  const notFound = tinyMnist({ "t10k-labels-idx1-ubyte.gz": new Response("no", { status: 404 }) });
  await assertRejectsDataset(
    () => loadMnistLike(notFound.read, { name: "t" }),
    "t10k-labels-idx1-ubyte",
    /tried/,
  );
  const serverError = tinyMnist({
    "train-images-idx3-ubyte.gz": new Response("oops", { status: 500, statusText: "Internal Server Error" }),
  });
  await assertRejectsDataset(
    () => loadMnistLike(serverError.read, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /expected HTTP status 200, got 500 Internal Server Error/,
  );
  const throwing: FileReader = () => Promise.reject(new Error("disk on fire"));
  const cause = await assertRejectsDataset(
    () => loadMnistLike(throwing, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /reading failed: disk on fire/,
  );
  assertInstanceOf(cause.cause, Error);
  const weird = (() => Promise.resolve("bytes")) as unknown as FileReader;
  await assertRejectsDataset(
    () => loadMnistLike(weird, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /expected the reader to give a Uint8Array/,
  );
  assertEquals(
    (await assertRejects(() => loadMnistLike(bright.read, { name: "" }), ReinmaxInputError)).argument,
    "name",
  );
});

Deno.test("mnist: imageSetFromIdx reads one pair and names its sources", () => {
  const set = imageSetFromIdx(idxBytes(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), undefined, {
    name: "pair",
    maxValue: 11,
  });
  assertEquals([set.count, set.height, set.width, set.maxValue, set.labels], [2, 2, 3, 11, undefined]);
  assertDatasetError(
    () =>
      imageSetFromIdx(idxBytes(0x08, [2, 1, 1], [0, 1]), idxBytes(0x08, [3], [0, 1, 2]), {
        name: "pair",
        imagesSource: "a.idx",
        labelsSource: "b.idx",
      }),
    "b.idx",
    /expected 2 labels to match the images \(a.idx\), found 3/,
  );
});

// Two data sets have files of the same four names, so an error naming only "train-images-idx3-ubyte.gz" does
// not say which one is corrupt: with a location, every error about a file's bytes names it inside it.
Deno.test("mnist: with a location, a corrupt file's DatasetError names it inside that directory or URL", async () => {
  const truncated = gz(idxBytes(0x08, [3, 4, 5], new Uint8Array(60)));
  const corrupt = tinyMnist({ "train-images-idx3-ubyte.gz": truncated.subarray(0, truncated.length - 3) });
  for (
    const [location, source] of [
      ["/data/tiny", "/data/tiny/train-images-idx3-ubyte.gz"],
      ["/data/tiny/", "/data/tiny/train-images-idx3-ubyte.gz"],
      ["https://example.org/mnist", "https://example.org/mnist/train-images-idx3-ubyte.gz"],
    ]
  ) {
    await assertRejectsDataset(
      () => loadMnistLike(corrupt.read, { name: "t", location }),
      source,
      /truncated|corrupt/,
    );
  }
  // An uncompressed file is named as found, and an error about two files names both inside the location.
  const labels = tinyMnist({ "train-labels-idx1-ubyte": idxBytes(0x08, [3], [1, 2]) });
  await assertRejectsDataset(
    () => loadMnistLike(labels.read, { name: "t", location: "/data/tiny" }),
    "/data/tiny/train-labels-idx1-ubyte",
    /truncated IDX/,
  );
  const count = tinyMnist({ "t10k-labels-idx1-ubyte.gz": gz(idxBytes(0x08, [1], [9])) });
  await assertRejectsDataset(
    () => loadMnistLike(count.read, { name: "t", location: "/data/tiny" }),
    "/data/tiny/t10k-labels-idx1-ubyte.gz",
    /expected 2 labels to match the images \(\/data\/tiny\/t10k-images-idx3-ubyte\.gz\), found 1/,
  );
});
