/**
 * The image data sets committed under `fixtures/`, small enough to ship and to train on in tests and demos.
 * `fixtures/manifest.json` records where each file came from, its licence and its SHA-256; a file is loaded
 * only after its digest matches, so a damaged checkout fails loudly instead of training on altered data.
 * `tools/make_fixtures.ts` rebuilds everything from Debian packages.
 * @module
 */
import { DatasetError, ReinmaxInputError } from "../errors.ts";
import { describe } from "../validate.ts";
import type { ImageDataset } from "./images.ts";
import { type FileReader, loadMnistLike, MNIST_FILES, readOptional } from "./mnist.ts";

/**
 * The committed data sets: 10,000 + 2,000 Fashion-MNIST images (28×28), and the 1,797 8×8 digits.
 *
 * @example
 * ```ts
 * import { FIXTURES, FIXTURES_URL, loadFixture } from "@reinmax/reinmax";
 * for (const name of FIXTURES) {
 *   const data = await loadFixture(name, (file) => fetch(new URL(file, FIXTURES_URL)));
 *   console.log(name, data.train.count, data.train.size); // fashion-mnist-10k 10000 784, digits 1500 64
 * }
 * ```
 */
export const FIXTURES = ["fashion-mnist-10k", "digits"] as const;

/**
 * The `fixtures/` directory of this copy of the SDK, wherever mod.ts was imported from: a checkout (a
 * `file:` URL), deno.land/x or JSR (an `https:` URL). Reading from it is the caller's I/O, e.g.
 * `(name) => fetch(new URL(name, FIXTURES_URL))`, which needs read permission for a checkout and net
 * permission for a host. In dist/reinmax.js it is fixtures/ beside the bundle, where `deno task bundle`
 * copies them.
 *
 * @example
 * ```ts
 * import { FIXTURES_URL, loadFixture } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * ```
 */
export const FIXTURES_URL: URL = new URL("../../fixtures/", import.meta.url);

/**
 * The name of a committed data set.
 *
 * @example
 * ```ts
 * import { type FixtureName, loadFixture } from "@reinmax/reinmax";
 * const name: FixtureName = "digits";
 * const data = await loadFixture(name, (file) => fetch(`https://deno.land/x/reinmax/fixtures/${file}`));
 * ```
 */
export type FixtureName = typeof FIXTURES[number];

const MANIFEST = "manifest.json";

/** What the manifest records about one file; the loader needs only these fields. */
interface ManifestFile {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Loads the committed data set `name`. `read` resolves names relative to the repository's `fixtures/`
 * directory (`"manifest.json"`, `"digits/train-images-idx3-ubyte.gz"`, …). Each file's SHA-256 is checked
 * against the manifest before it is parsed; a mismatch, a missing file or a malformed manifest is a
 * {@link DatasetError} naming the file.
 *
 * @example
 * ```ts
 * import { FIXTURES_URL, loadFixture } from "@reinmax/reinmax";
 * // From a checkout: files under fixtures/. In a page: fetch them from wherever you serve that directory.
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * console.log(data.train.count, data.test.count); // 10000 2000
 * ```
 */
export async function loadFixture(name: FixtureName, read: FileReader): Promise<ImageDataset> {
  if (!(FIXTURES as readonly unknown[]).includes(name)) {
    throw new ReinmaxInputError("name", `expected one of ${FIXTURES.join(", ")}, got ${describe(name)}`);
  }
  if (typeof read !== "function") {
    throw new ReinmaxInputError(
      "read",
      `expected a function (name) => Promise<bytes>, got ${describe(read)}`,
    );
  }
  const manifestBytes = await readOptional(read, MANIFEST);
  if (manifestBytes === undefined) {
    throw new DatasetError(MANIFEST, `not found: expected it at the root of the fixtures directory`);
  }
  const { maxValue, files } = datasetEntry(manifestBytes, name);

  const verified = new Map<string, Uint8Array>();
  for (const [file, entry] of files) {
    const path = `${name}/${file}`;
    const bytes = await readOptional(read, path);
    if (bytes === undefined) throw new DatasetError(path, `not found, though ${MANIFEST} lists it`);
    const digest = await sha256Hex(bytes);
    if (digest !== entry.sha256) {
      throw new DatasetError(
        path,
        `SHA-256 mismatch: ${MANIFEST} records ${entry.sha256} (${entry.bytes} bytes), ` +
          `the file has ${digest} (${bytes.length} bytes)`,
      );
    }
    verified.set(file, bytes);
  }

  const dataset = await loadMnistLike((file) => Promise.resolve(verified.get(file)), {
    name,
    maxValue,
    location: `fixtures/${name}`,
  });
  // The manifest's shapes are documentation; make sure they do not drift from the files they describe.
  for (
    const [file, split, images] of [
      [`${MNIST_FILES.trainImages}.gz`, dataset.train, true],
      [`${MNIST_FILES.trainLabels}.gz`, dataset.train, false],
      [`${MNIST_FILES.testImages}.gz`, dataset.test, true],
      [`${MNIST_FILES.testLabels}.gz`, dataset.test, false],
    ] as const
  ) {
    const actual = images ? [split.count, split.height, split.width] : [split.count];
    const recorded = files.get(file)!.shape;
    if (actual.join("×") !== recorded.join("×")) {
      throw new DatasetError(
        MANIFEST,
        `expected the shape of ${name}/${file} to be recorded as ${actual.join("×")}, found ${
          recorded.join("×")
        }`,
      );
    }
  }
  return dataset;
}

/** The lowercase hex SHA-256 of `bytes`, by WebCrypto (no permissions needed in Deno or browsers). */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // digest() takes an ArrayBuffer-backed view; a copy only when the bytes live in a SharedArrayBuffer.
  const input = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The manifest's entry for `name`, checked field by field. */
function datasetEntry(
  manifestBytes: Uint8Array,
  name: FixtureName,
): { maxValue: number; files: Map<string, ManifestFile> } {
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes));
  } catch (e) {
    throw new DatasetError(MANIFEST, `expected UTF-8 JSON: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
  const datasets = field(manifest, "datasets", "an object", isObject, "");
  const entry = field(datasets, name, "an object", isObject, "datasets.");
  const at = `datasets["${name}"].`;
  const maxValue = field(entry, "maxValue", "an integer in [1, 255]", isMaxValue, at);
  const fileEntries = field(entry, "files", "an object", isObject, at);
  const files = new Map<string, ManifestFile>();
  for (const base of Object.values(MNIST_FILES)) {
    const file = `${base}.gz`;
    const where = `${at}files["${file}"].`;
    const f = field(fileEntries, file, "an object", isObject, `${at}files.`);
    files.set(file, {
      shape: field(f, "shape", "an array of positive integers", isShape, where),
      dtype: field(f, "dtype", `"u8"`, (v): v is string => v === "u8", where),
      bytes: field(f, "bytes", "a non-negative integer", isCount, where),
      sha256: field(f, "sha256", "64 lowercase hex digits", isSha256, where),
    });
  }
  return { maxValue, files };
}

function field<T>(
  object: unknown,
  key: string,
  expected: string,
  check: (v: unknown) => v is T,
  path: string,
): T {
  const value = isObject(object) ? object[key] : undefined;
  if (!check(value)) {
    throw new DatasetError(
      MANIFEST,
      `expected ${path}${key} to be ${expected}, found ${value === undefined ? "nothing" : describe(value)}`,
    );
  }
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isMaxValue(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 255;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((d) => Number.isSafeInteger(d) && d > 0);
}

function isSha256(v: unknown): v is string {
  return typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
}
