import { assertEquals } from "@std/assert";
import { philox4x32 } from "./reference/philox.ts";
import { forEachBackend } from "./backends.ts";
import { readU32 } from "../src/backend.ts";

// Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter, key, expected output.
const KNOWN_ANSWERS: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  ],
  [
    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    [0xa4093822, 0x299f31d0],
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  ],
];

Deno.test("philox reference matches the Random123 known answers", () => {
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
