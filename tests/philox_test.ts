import { assertEquals } from "@std/assert";
import { philox4x32 } from "./reference/philox.ts";
import { forEachBackend } from "./backends.ts";
import { readU32 } from "./internals.ts";

// Random123's known answers (fixtures/philox4x32_10_kat.txt): counter, key, expected output.
const KNOWN_ANSWERS: [number[], number[], number[]][] = (await Deno.readTextFile(
  new URL("../fixtures/philox4x32_10_kat.txt", import.meta.url),
)).split("\n").filter((line) => line.startsWith("philox4x32 10 ")).map((line) => {
  const words = line.trim().split(/\s+/).slice(2).map((hex) => parseInt(hex, 16));
  return [words.slice(0, 4), words.slice(4, 6), words.slice(6, 10)];
});

Deno.test("philox reference matches the Random123 known answers", () => {
  assertEquals(KNOWN_ANSWERS.length, 3);
  for (const [ctr, key, expected] of KNOWN_ANSWERS) assertEquals(philox4x32(ctr, key), expected);
});

forEachBackend("philox_fill matches the Random123 known answers", async (backend) => {
  const out = backend.alloc(4, "philox");
  for (const [ctr, key, expected] of KNOWN_ANSWERS) {
    backend.run("philox_fill", [out], [4, key[0], key[1], ctr[0], ctr[1], ctr[2], ctr[3]]);
    assertEquals([...await readU32(backend, out)], expected);
  }
  backend.free(out);
});

forEachBackend("philox_fill equals the reference word for word over many blocks", async (backend) => {
  const count = 4 * 300 + 3; // a partial last block
  const out = backend.alloc(count, "philox");
  const key = [0x12345678, 0x9abcdef0];
  backend.run("philox_fill", [out], [count, key[0], key[1], 0xfffffff0, 7, 0xffffffff, 42]);
  const words = await readU32(backend, out);
  for (let i = 0; i < count; i++) {
    assertEquals(
      words[i],
      philox4x32([(0xfffffff0 + (i >> 2)) >>> 0, 7, 0xffffffff, 42], key)[i & 3],
      `word ${i}`,
    );
  }
  backend.free(out);
});

Deno.test("the host Philox (data order) matches the known answers and the reference", async () => {
  const { philoxBlock } = await import("../src/random.ts");
  const out = new Uint32Array(4);
  for (const [ctr, key, expected] of KNOWN_ANSWERS) {
    philoxBlock(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
    assertEquals([...out], expected);
  }
  const random = (i: number) => (Math.imul(i + 1, 0x9e3779b1) ^ (i >>> 3)) >>> 0;
  for (let i = 0; i < 200; i++) {
    const ctr = [random(i), random(i + 1000), random(i + 2000), random(i + 3000)];
    const key = [random(i + 4000), random(i + 5000)];
    philoxBlock(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
    assertEquals([...out], philox4x32(ctr, key), `block ${i}`);
  }
});
