// The committed fixtures (fixtures/, src/data/fixtures.ts): every file against the size, SHA-256 and shape that
// fixtures/manifest.json records, the loaded sets against values read from their Debian sources, and a wrong
// digest, a missing file or a malformed manifest refused with a DatasetError naming it.
import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { Gunzip, gunzipSync } from "fflate";
import { fileReader } from "../examples/data_source.ts";
import { assertRejectsDataset, FIXTURES_DIR, sha256Hex, u32be } from "./data_helpers.ts";
import { type FileReader, FIXTURES, type ImageSet, loadFixture, ReinmaxInputError } from "../mod.ts";

const DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist";
const DEBIAN_DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

interface ManifestFileEntry {
  shape: number[];
  dtype: string;
  bytes: number;
  sha256: string;
}

async function readManifest(): Promise<
  { datasets: Record<string, { maxValue: number; files: Record<string, ManifestFileEntry> }> }
> {
  return JSON.parse(await Deno.readTextFile(new URL("manifest.json", FIXTURES_DIR)));
}

Deno.test("fixtures: every committed file has the size and SHA-256 its manifest records", async () => {
  const manifest = await readManifest();
  assertEquals(Object.keys(manifest.datasets).sort(), [...FIXTURES].sort());
  for (const [name, dataset] of Object.entries(manifest.datasets)) {
    assertEquals(Object.keys(dataset.files).length, 4);
    for (const [file, entry] of Object.entries(dataset.files)) {
      const bytes = await Deno.readFile(new URL(`${name}/${file}`, FIXTURES_DIR));
      assertEquals(bytes.length, entry.bytes, `${name}/${file}`);
      assertEquals(await sha256Hex(bytes), entry.sha256, `${name}/${file}`);
      // Deterministic gzip: no file name, mtime 0.
      assertEquals(Array.from(bytes.subarray(0, 8)), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0], `${name}/${file}`);
      // fflate's own decoder as an independent reading: the IDX header must match the recorded shape.
      const raw = gunzipSync(bytes);
      const rank = raw[3];
      assertEquals(raw[2], 0x08);
      assertEquals(Array.from({ length: rank }, (_, i) => u32be(raw, 4 + 4 * i)), entry.shape);
    }
  }
});

Deno.test("fixtures: fashion-mnist-10k loads as 10000/2000 images of 28×28 with known values", async () => {
  const data = await loadFixture("fashion-mnist-10k", fileReader(FIXTURES_DIR));
  assertEquals([data.train.count, data.train.height, data.train.width, data.train.maxValue], [
    10000,
    28,
    28,
    255,
  ]);
  assertEquals([data.test.count, data.test.height, data.test.width], [2000, 28, 28]);
  // Values read from the Debian package's files with an independent tool: the first and last labels of each
  // split (9 = ankle boot), and a few pixels of train image 0, train image 1 and test image 1999.
  assertEquals(Array.from(data.train.labels!.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assertEquals(Array.from(data.train.labels!.subarray(9995)), [7, 5, 0, 6, 6]);
  assertEquals(Array.from(data.test.labels!.subarray(0, 10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  assertEquals(Array.from(data.test.labels!.subarray(1995)), [1, 3, 3, 6, 0]);
  const px = (set: ImageSet, image: number, i: number) => set.pixels[image * 784 + i];
  assertEquals(
    [px(data.train, 0, 98), px(data.train, 0, 99), px(data.train, 0, 100), px(data.train, 0, 127)],
    [0, 13, 73, 136],
  );
  assertEquals([px(data.train, 1, 11), px(data.train, 1, 12)], [188, 103]);
  assertEquals([px(data.test, 1999, 11), px(data.test, 1999, 16)], [119, 177]);
  assert(data.train.labels!.every((l) => l <= 9));
});

Deno.test("fixtures: digits loads as 1500/297 8×8 images, maxValue 16, labels 0..9, known rows", async () => {
  const data = await loadFixture("digits", fileReader(FIXTURES_DIR));
  assertEquals([data.train.count, data.train.height, data.train.width, data.train.maxValue], [
    1500,
    8,
    8,
    16,
  ]);
  assertEquals([data.test.count, data.test.height, data.test.width, data.test.maxValue], [297, 8, 8, 16]);
  assert(data.train.labels!.every((l) => l <= 9) && data.test.labels!.every((l) => l <= 9));
  assert(data.train.pixels.every((v) => v <= 16) && data.test.pixels.every((v) => v <= 16));
  // Lines 1, 1500, 1501 and 1797 of digits.csv.gz in python3-sklearn 1.2.1+dfsg-1: 64 pixels, then the label.
  const line = (text: string) => text.split(",").map(Number);
  const rows: [ImageSet, number, string][] = [
    [
      data.train,
      0,
      "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0," +
      "0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0",
    ],
    [
      data.train,
      1499,
      "0,5,16,13,1,0,0,0,0,9,14,14,4,0,0,0,0,9,7,12,4,0,0,0,0,0,0,13,4,0,0,0," +
      "0,0,2,16,1,0,0,0,0,0,7,13,0,0,0,0,0,1,15,16,16,16,11,0,0,5,16,14,10,8,6,0,2",
    ],
    [
      data.test,
      0,
      "0,0,0,3,12,12,2,0,0,0,7,15,16,16,0,0,0,4,15,9,14,16,3,0,0,2,0,0,14,16,0,0," +
      "0,0,0,0,14,16,0,0,0,0,0,0,15,13,0,0,0,0,0,0,16,14,1,0,0,0,0,3,16,13,2,0,1",
    ],
    [
      data.test,
      296,
      "0,0,10,14,8,1,0,0,0,2,16,14,6,1,0,0,0,0,15,15,8,15,0,0,0,0,5,16,16,10,0,0," +
      "0,0,12,15,15,12,0,0,0,4,16,6,4,16,6,0,0,8,16,10,8,16,8,0,0,1,8,12,14,12,1,0,8",
    ],
  ];
  for (const [set, i, text] of rows) {
    const values = line(text);
    assertEquals(
      Array.from(set.pixels.subarray(i * 64, i * 64 + 64)),
      values.slice(0, 64),
      `${set.name} ${i}`,
    );
    assertEquals(set.labels![i], values[64], `${set.name} ${i}`);
  }
});

const hasDebianFashion = await Deno.stat(DEBIAN_FASHION).then(() => true, () => false);
const hasDebianDigits = await Deno.stat(DEBIAN_DIGITS).then(() => true, () => false);
if (!hasDebianFashion) {
  console.log(
    `skipping the comparison with ${DEBIAN_FASHION}: absent (apt-get install dataset-fashion-mnist)`,
  );
}
if (!hasDebianDigits) {
  console.log(`skipping the full comparison with ${DEBIAN_DIGITS}: absent (apt-get install python3-sklearn)`);
}

/** The first `bytes` bytes a gzip file decompresses to, by fflate's streaming decoder (reads only those). */
async function gunzipPrefix(path: string, bytes: number): Promise<Uint8Array> {
  const out = new Uint8Array(bytes);
  let filled = 0;
  const stream = new Gunzip((chunk) => {
    const n = Math.min(chunk.length, bytes - filled);
    out.set(chunk.subarray(0, n), filled);
    filled += n;
  });
  const file = await Deno.open(path);
  try {
    const buffer = new Uint8Array(1 << 16);
    while (filled < bytes) {
      const n = await file.read(buffer);
      if (n === null) break;
      stream.push(buffer.slice(0, n));
    }
  } finally {
    file.close();
  }
  assertEquals(filled, bytes, `${path} is shorter than expected`);
  return out;
}

Deno.test({
  name: `fixtures: fashion-mnist-10k is the first rows of ${DEBIAN_FASHION} (skipped when that is absent)`,
  ignore: !hasDebianFashion,
  fn: async () => {
    const data = await loadFixture("fashion-mnist-10k", fileReader(FIXTURES_DIR));
    for (const [prefix, set] of [["train", data.train], ["t10k", data.test]] as const) {
      const images = await gunzipPrefix(
        `${DEBIAN_FASHION}/${prefix}-images-idx3-ubyte.gz`,
        16 + set.count * 784,
      );
      assertEquals([u32be(images, 0), u32be(images, 8), u32be(images, 12)], [0x803, 28, 28]);
      assert(images.subarray(16).every((v, i) => v === set.pixels[i]), `${prefix} images differ`);
      const labels = await gunzipPrefix(`${DEBIAN_FASHION}/${prefix}-labels-idx1-ubyte.gz`, 8 + set.count);
      assertEquals(u32be(labels, 0), 0x801);
      assertEquals(labels.subarray(8), set.labels);
    }
  },
});

Deno.test({
  name: `fixtures: digits holds every row of ${DEBIAN_DIGITS} in order (skipped when that is absent)`,
  ignore: !hasDebianDigits,
  fn: async () => {
    const data = await loadFixture("digits", fileReader(FIXTURES_DIR));
    const lines = new TextDecoder().decode(gunzipSync(await Deno.readFile(DEBIAN_DIGITS))).trim().split("\n");
    assertEquals(lines.length, 1797);
    lines.forEach((text, r) => {
      const values = text.split(",").map(Number);
      const [set, i] = r < 1500 ? [data.train, r] : [data.test, r - 1500];
      assertEquals(Array.from(set.pixels.subarray(i * 64, i * 64 + 64)), values.slice(0, 64), `row ${r}`);
      assertEquals(set.labels![i], values[64], `row ${r}`);
    });
  },
});

Deno.test("fixtures: a wrong SHA-256, a missing file or a malformed manifest is refused", async () => {
  const base = fileReader(FIXTURES_DIR);
  const manifest = await readManifest();
  const target = "digits/train-labels-idx1-ubyte.gz";
  const original = await Deno.readFile(new URL(target, FIXTURES_DIR));
  const altered = original.slice();
  altered[original.length - 1] ^= 1; // the top byte of ISIZE: the SHA-256 must catch it before gzip does
  const tampered: FileReader = (name) => name === target ? Promise.resolve(altered) : base(name);
  const error = await assertRejectsDataset(() => loadFixture("digits", tampered), target, /SHA-256 mismatch/);
  assertMatch(error.message, new RegExp(manifest.datasets.digits.files["train-labels-idx1-ubyte.gz"].sha256));
  assertMatch(error.message, new RegExp(await sha256Hex(altered)));

  const missing: FileReader = (name) => name === target ? Promise.resolve(undefined) : base(name);
  await assertRejectsDataset(
    () => loadFixture("digits", missing),
    target,
    /not found, though manifest.json lists it/,
  );

  const withManifest = (text: string): FileReader => (name) =>
    name === "manifest.json" ? Promise.resolve(new TextEncoder().encode(text)) : base(name);
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest("{")),
    "manifest.json",
    /expected UTF-8 JSON/,
  );
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest("{}")),
    "manifest.json",
    /expected datasets to be an object, found nothing/,
  );
  const broken = structuredClone(manifest);
  broken.datasets.digits.files["t10k-images-idx3-ubyte.gz"].sha256 = "abc";
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest(JSON.stringify(broken))),
    "manifest.json",
    /files\["t10k-images-idx3-ubyte\.gz"\]\.sha256 to be 64 lowercase hex digits, found "abc"/,
  );
  const wrongMax = structuredClone(manifest);
  wrongMax.datasets.digits.maxValue = 0;
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest(JSON.stringify(wrongMax))),
    "manifest.json",
    /maxValue to be an integer in \[1, 255\], found 0/,
  );
  await assertRejectsDataset(
    () => loadFixture("digits", () => Promise.resolve(undefined)),
    "manifest.json",
    /not found/,
  );
  assertEquals(
    (await assertRejects(() => loadFixture("mnist" as never, base), ReinmaxInputError)).argument,
    "name",
  );
});

// The manifest documents each file's shape beside its digest; the digest pins the bytes, so only a check against
// the parsed files keeps the recorded shapes true (an edited manifest, or a rebuilt fixture whose entry was not
// regenerated). The message gives the shape the file has, so the fix is to write that in.
Deno.test("fixtures: a manifest whose recorded shape differs from its file is refused", async () => {
  const base = fileReader(FIXTURES_DIR);
  const manifest = await readManifest();
  const files = manifest.datasets.digits.files;
  assertEquals(files["train-images-idx3-ubyte.gz"].shape, [1500, 8, 8], "the committed manifest is right");
  for (
    const [file, shape, actual] of [
      ["train-images-idx3-ubyte.gz", [1500, 8, 9], "1500×8×8"],
      ["train-images-idx3-ubyte.gz", [1500, 64], "1500×8×8"],
      ["t10k-images-idx3-ubyte.gz", [297, 9, 8], "297×8×8"],
      ["train-labels-idx1-ubyte.gz", [1499], "1500"],
      ["t10k-labels-idx1-ubyte.gz", [297, 1], "297"],
    ] as const
  ) {
    const edited = structuredClone(manifest);
    edited.datasets.digits.files[file].shape = [...shape];
    const text = new TextEncoder().encode(JSON.stringify(edited));
    const read: FileReader = (name) => name === "manifest.json" ? Promise.resolve(text) : base(name);
    await assertRejectsDataset(
      () => loadFixture("digits", read),
      "manifest.json",
      new RegExp(
        `expected the shape of digits/${file.replaceAll(".", "\\.")} to be recorded as ${actual}, ` +
          `found ${shape.join("×")}`,
      ),
    );
  }
});
