// examples/output_file.ts, how the command line writes its checkpoints and pictures: through a hidden temporary
// file and a rename, so that a write cut short (a full disk, a crash, Ctrl-C twice) never leaves half a file where
// the previous complete one was. The failure is made in-process, by a Deno.writeFile that writes half the bytes
// and throws, since a real full disk or crash cannot be arranged in a test.
import { assertEquals, assertRejects } from "@std/assert";
import { writeAtomically } from "../examples/output_file.ts";

/** The names in `dir`, sorted. */
async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Runs `body` with Deno.writeFile replaced by one that writes the first half of the bytes and throws. */
async function withHalfWrites(body: () => Promise<void>): Promise<void> {
  const original = Deno.writeFile;
  Deno.writeFile = async (path, data, options) => {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(0);
    await original(path, bytes.subarray(0, bytes.length >> 1), options);
    throw new Error("no space left on device (simulated after half the bytes)");
  };
  try {
    await body();
  } finally {
    Deno.writeFile = original;
  }
}

Deno.test("writeAtomically: a write that fails halfway leaves the old file whole and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  const target = `${dir}/run.safetensors`;
  const old = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const next = Uint8Array.from({ length: 1000 }, (_, i) => 255 - (i % 13));
  try {
    await Deno.writeFile(target, old);
    await withHalfWrites(async () => {
      await assertRejects(() => writeAtomically(target, next), Error, "simulated after half the bytes");
    });
    assertEquals(await Deno.readFile(target), old, "the previous checkpoint is intact");
    assertEquals(await listing(dir), ["run.safetensors"], "no temporary file is left behind");

    // Where there was no file yet, a failed write leaves none rather than a truncated one.
    const fresh = `${dir}/picture.png`;
    await withHalfWrites(async () => {
      await assertRejects(() => writeAtomically(fresh, next), Error, "simulated");
    });
    assertEquals(await listing(dir), ["run.safetensors"]);

    // A write that succeeds replaces the file whole, again with nothing left beside it.
    await writeAtomically(target, next);
    assertEquals(await Deno.readFile(target), next);
    assertEquals(await listing(dir), ["run.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
