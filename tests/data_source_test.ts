// examples/data_source.ts, the readers that do the command line's I/O: a directory, a file: URL, a FIFO and
// HTTP from a local server load the same data sets, and what cannot be read is named with where it was looked for.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { gunzipSync } from "fflate";
import { fileReader, openDataset } from "../examples/data_source.ts";
import { assertRejectsDataset, FIXTURES_DIR } from "./data_helpers.ts";
import { loadFixture, ReinmaxInputError } from "../mod.ts";

Deno.test("data_source: openDataset reads the digits fixture, a directory and a file: URL", async () => {
  const digits = await openDataset("digits");
  assertEquals([digits.name, digits.train.count, digits.test.count, digits.train.maxValue], [
    "digits",
    1500,
    297,
    16,
  ]);

  // A directory path and a file: URL to it (the test task may not write, so the fixture directory serves).
  const dir = new URL("digits/", FIXTURES_DIR).pathname;
  const fromDir = await openDataset(dir);
  assertEquals([fromDir.name, fromDir.train.count, fromDir.test.count], ["digits", 1500, 297]);
  assertEquals(fromDir.train.pixels, digits.train.pixels);
  const fromUrl = await openDataset(new URL("digits/", FIXTURES_DIR).href);
  assertEquals(fromUrl.test.labels, digits.test.labels);
  assertEquals(await fileReader(dir)("nothing-here"), undefined);
  // A file read whole is its bytes exactly, also one longer than its metadata says: a FIFO reports size 0.
  const labelsPath = `${dir}train-labels-idx1-ubyte.gz`;
  assertEquals(await fileReader(dir)("train-labels-idx1-ubyte.gz"), await Deno.readFile(labelsPath));
  if (Deno.build.os !== "windows") {
    const temp = await Deno.makeTempDir();
    try {
      assert((await new Deno.Command("mkfifo", { args: [`${temp}/pipe`] }).output()).success);
      const sent = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) >> 3);
      const writing = (async () => {
        using pipe = await Deno.open(`${temp}/pipe`, { write: true });
        for (let at = 0; at < sent.length;) at += await pipe.write(sent.subarray(at, at + 50_000));
      })();
      const received = await fileReader(temp)("pipe");
      await writing;
      assertEquals(received, sent);
    } finally {
      await Deno.remove(temp, { recursive: true });
    }
  }
  // The fixtures root holds no MNIST files: the error names both names tried and the directory.
  const root = FIXTURES_DIR.pathname;
  const error = await assertRejectsDataset(
    () => openDataset(root),
    "train-images-idx3-ubyte",
    /tried train-images-idx3-ubyte.gz and train-images-idx3-ubyte/,
  );
  assert(error.message.includes(root), error.message);
  for (const spec of ["", "ftp://example.org/mnist/", "./no-such-directory-here"]) {
    assertEquals((await assertRejects(() => openDataset(spec), ReinmaxInputError)).argument, "--data", spec);
  }
});

Deno.test("data_source: loads over HTTP from a local server; a 500 names the URL and status", async () => {
  const digitsDir = new URL("digits/", FIXTURES_DIR);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/broken/")) {
      return new Response("failed", { status: 500, statusText: "Internal Server Error" });
    }
    const name = path.replace(/^\/(digits|partial)\//, "");
    if (path.startsWith("/partial/") && name.startsWith("t10k-labels")) {
      return new Response("", { status: 404 });
    }
    if (!/^[a-z0-9-]+(\.gz)?$/.test(name)) return new Response("", { status: 404 });
    try {
      return new Response(await Deno.readFile(new URL(name, digitsDir)));
    } catch {
      return new Response("", { status: 404 });
    }
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const data = await openDataset(`${base}/digits/`);
    const local = await loadFixture("digits", fileReader(FIXTURES_DIR));
    assertEquals([data.name, data.train.count, data.test.count], ["digits", 1500, 297]);
    assertEquals(data.train.pixels, local.train.pixels);
    assertEquals(data.test.labels, local.test.labels);
    // Without a trailing slash the last segment is still a directory.
    assertEquals((await openDataset(`${base}/digits`)).test.count, 297);
    await assertRejectsDataset(
      () => openDataset(`${base}/broken/`),
      `${base}/broken/train-images-idx3-ubyte.gz`,
      /expected HTTP status 200, got 500 Internal Server Error/,
    );
    const missing = await assertRejectsDataset(
      () => openDataset(`${base}/partial/`),
      "t10k-labels-idx1-ubyte",
      /tried t10k-labels-idx1-ubyte.gz and t10k-labels-idx1-ubyte/,
    );
    assert(missing.message.includes(`${base}/partial/`), missing.message);
  } finally {
    await server.shutdown();
  }
});

/** A temporary directory holding the digits fixture's four files, each passed through `transform`. */
async function digitsDirectory(
  transform: (name: string, bytes: Uint8Array) => [string, Uint8Array],
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "digits-" });
  for await (const entry of Deno.readDir(new URL("digits/", FIXTURES_DIR))) {
    const [name, bytes] = transform(
      entry.name,
      await Deno.readFile(new URL(`digits/${entry.name}`, FIXTURES_DIR)),
    );
    await Deno.writeFile(`${dir}/${name}`, bytes);
  }
  return dir;
}

// openDataset frees the files it read once loaded, except the ones the data set keeps: an uncompressed IDX file
// is parsed in place, so its bytes are the set's pixels and labels. Freeing those too would leave a data set of
// detached (empty) arrays, so this compares every image and label with the gzipped fixture's.
Deno.test("data_source: a directory of the four uncompressed IDX files loads as the .gz fixture does", async () => {
  // fflate's decoder, not the SDK's, writes the uncompressed files.
  const dir = await digitsDirectory((name, bytes) => [name.replace(/\.gz$/, ""), gunzipSync(bytes)]);
  try {
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assertEquals(names.sort(), [
      "t10k-images-idx3-ubyte",
      "t10k-labels-idx1-ubyte",
      "train-images-idx3-ubyte",
      "train-labels-idx1-ubyte",
    ]);
    const raw = await openDataset(dir);
    const gzipped = await loadFixture("digits", fileReader(FIXTURES_DIR));
    for (const split of ["train", "test"] as const) {
      const [a, b] = [raw[split], gzipped[split]];
      assertEquals([a.count, a.height, a.width], [b.count, b.height, b.width], split);
      assertEquals(a.pixels, b.pixels, `${split} pixels`);
      assertEquals(a.labels, b.labels, `${split} labels`);
      // The bytes stay usable for training: the last image gathers as in the fixture (raw maxValue is 255).
      const [x, y] = [new Float32Array(a.size), new Float32Array(b.size)];
      a.gather([a.count - 1], x);
      b.gather([b.count - 1], y);
      assertEquals(
        Array.from(x, (v) => Math.round(v * 255)),
        Array.from(y, (v) => Math.round(v * 16)),
        split,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data_source: a corrupt file in a directory is a DatasetError naming it with its directory", async () => {
  const dir = await digitsDirectory((name, bytes) => [
    name,
    name === "train-labels-idx1-ubyte.gz" ? bytes.subarray(0, bytes.length - 4) : bytes,
  ]);
  try {
    await assertRejectsDataset(
      () => openDataset(dir),
      `${dir}/train-labels-idx1-ubyte.gz`,
      /truncated|corrupt/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
