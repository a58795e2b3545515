/**
 * The I/O side of the data layer, for the command-line examples: the SDK's loaders take a reader function
 * and never touch files or the network themselves, so this module supplies readers over a directory, a
 * `file:` URL or an `http(s):` base URL, and turns a `--data` value into a loaded data set.
 *
 *   const data = await openDataset("fixture");          // committed Fashion-MNIST subset
 *   const data = await openDataset("/data/fashion");     // the four MNIST-like files, .gz or not
 *   const data = await openDataset("https://example.org/mnist/");
 * @module
 */
import {
  DatasetError,
  type FileReader,
  type ImageDataset,
  loadFixture,
  loadMnistLike,
  ReinmaxInputError,
} from "../mod.ts";

const FIXTURES_DIR = new URL("../fixtures/", import.meta.url);
const SPECS = "fixture, digits, a directory or an http(s) URL";

/**
 * A reader of names relative to `base`: a directory path, a `file:` URL or an `http(s):` base URL (a missing
 * trailing slash is added, so `base` always names a directory). Files are read with `Deno.readFile` (absent:
 * undefined) and URLs with `fetch` (the loaders treat a 404 as absent). Failures are {@link DatasetError}s
 * naming the path or URL.
 */
export function fileReader(base: string | URL): FileReader {
  const url = asUrl(base);
  if (url === undefined) {
    // Without its trailing separators; "/" becomes "", which still joins to "/name".
    const dir = (base as string).replace(/[\\/]+$/, "");
    return (name) => readFile(`${dir}/${name}`, `${dir}/${name}`);
  }
  const dirUrl = new URL(url.href.endsWith("/") ? url.href : `${url.href}/`);
  if (dirUrl.protocol === "file:") {
    return (name) => readFile(new URL(name, dirUrl), new URL(name, dirUrl).href);
  }
  if (dirUrl.protocol === "http:" || dirUrl.protocol === "https:") {
    return async (name) => {
      const target = new URL(name, dirUrl);
      try {
        return await fetch(target);
      } catch (e) {
        throw new DatasetError(target.href, `fetch failed: ${e instanceof Error ? e.message : e}`, {
          cause: e,
        });
      }
    };
  }
  throw new ReinmaxInputError("base", `expected a directory, a file: URL or an http(s) URL, got ${url.href}`);
}

/**
 * Loads the data set that a `--data` value names: `fixture` (the committed Fashion-MNIST subset), `digits`
 * (the committed 8×8 digits), a directory, or an http(s) URL holding the four MNIST-like files. The fixtures
 * are found relative to this module, so they load from a checkout and from a URL alike. An unusable value is
 * a {@link ReinmaxInputError} naming `--data`; a bad data set is a {@link DatasetError}.
 */
export async function openDataset(spec: string): Promise<ImageDataset> {
  // Every file read is freed once loaded unless the data set keeps it (a raw IDX file is kept as is; a
  // gzip file is decompressed into new memory). V8 frees an ArrayBuffer only when a garbage collection finds
  // it unreachable, and training allocates too little on the JavaScript heap to start one: the 31 MB of
  // compressed Fashion-MNIST would otherwise stay resident through the whole run.
  const reads: Uint8Array[] = [];
  const data = await loadDataset(spec, (read) => async (name) => {
    const bytes = await read(name);
    if (bytes instanceof Uint8Array) reads.push(bytes);
    return bytes;
  });
  const kept = new Set<ArrayBufferLike | undefined>(
    [data.train, data.test].flatMap((set) => [set.pixels.buffer, set.labels?.buffer]),
  );
  for (const bytes of reads) if (!kept.has(bytes.buffer)) (bytes.buffer as ArrayBuffer).transfer(0);
  return data;
}

async function loadDataset(spec: string, tracked: (read: FileReader) => FileReader): Promise<ImageDataset> {
  if (typeof spec !== "string" || spec.trim() === "") {
    throw new ReinmaxInputError("--data", `expected ${SPECS}, got ${JSON.stringify(spec)}`);
  }
  if (spec === "fixture") return await loadFixture("fashion-mnist-10k", tracked(fileReader(FIXTURES_DIR)));
  if (spec === "digits") return await loadFixture("digits", tracked(fileReader(FIXTURES_DIR)));
  const url = asUrl(spec);
  if (url !== undefined) {
    if (url.protocol !== "http:" && url.protocol !== "https:" && url.protocol !== "file:") {
      throw new ReinmaxInputError("--data", `expected ${SPECS}, got the ${url.protocol} URL ${spec}`);
    }
    return await loadMnistLike(tracked(fileReader(url)), {
      name: lastSegment(url.pathname) || url.host,
      location: spec,
    });
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(spec);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ReinmaxInputError("--data", `no directory ${JSON.stringify(spec)} (expected ${SPECS})`);
    }
    throw new DatasetError(spec, `cannot read: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  if (!info.isDirectory) {
    throw new ReinmaxInputError("--data", `${JSON.stringify(spec)} is not a directory (expected ${SPECS})`);
  }
  return await loadMnistLike(tracked(fileReader(spec)), { name: lastSegment(spec) || spec, location: spec });
}

async function readFile(path: string | URL, label: string): Promise<Uint8Array | undefined> {
  try {
    using file = await Deno.open(path);
    return await readWhole(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    const hint = e instanceof Deno.errors.NotCapable ? " (run with --allow-read)" : "";
    throw new DatasetError(label, `cannot read: ${e instanceof Error ? e.message : e}${hint}`, { cause: e });
  }
}

/**
 * The rest of `file`, read into a buffer of the size its metadata gives: `Deno.readFile` reads into memory of
 * its own and then copies, so for a moment it holds the file twice (47 MB more for the training images).
 * A file longer than its metadata says (a FIFO, or a file being written) still comes back whole.
 */
async function readWhole(file: Deno.FsFile): Promise<Uint8Array> {
  let buffer = new Uint8Array((await file.stat()).size);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const more = new Uint8Array(65536);
      const n = await file.read(more);
      if (n === null) return buffer;
      const grown = new Uint8Array(Math.max(2 * buffer.length, length + n));
      grown.set(buffer);
      grown.set(more.subarray(0, n), length);
      buffer = grown;
      length += n;
      continue;
    }
    const n = await file.read(buffer.subarray(length));
    if (n === null) return buffer.subarray(0, length);
    length += n;
  }
}

/** `value` as a URL when it has a scheme of two or more letters (`C:\data` stays a path); else undefined. */
function asUrl(value: string | URL): URL | undefined {
  if (value instanceof URL) return value;
  if (!/^[a-z][a-z0-9+.-]+:/i.test(value)) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function lastSegment(path: string): string {
  return path.split(/[\\/]/).filter((s) => s !== "").at(-1) ?? "";
}
