import { assertEquals } from "@std/assert";
import { conditionalPerturbed, streamExponentials } from "./reference/estimators.ts";
import { philox4x32, streamWord, uniformFromWord } from "./reference/philox.ts";
import { BACKENDS, forEachBackend } from "./backends.ts";
import { assertClose } from "./util.ts";
import { type Backend, ESTIMATORS, selectBackend } from "../mod.ts";
import { hostPhiloxBlock, readF32, readI32, readU32, TAG } from "./internals.ts";

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

Deno.test("the host Philox (data order) matches the known answers and the reference", () => {
  const out = new Uint32Array(4);
  for (const [ctr, key, expected] of KNOWN_ANSWERS) {
    hostPhiloxBlock(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
    assertEquals([...out], expected);
  }
  const random = (i: number) => (Math.imul(i + 1, 0x9e3779b1) ^ (i >>> 3)) >>> 0;
  for (let i = 0; i < 200; i++) {
    const ctr = [random(i), random(i + 1000), random(i + 2000), random(i + 3000)];
    const key = [random(i + 4000), random(i + 5000)];
    hostPhiloxBlock(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
    assertEquals([...out], philox4x32(ctr, key), `block ${i}`);
  }
});

// ---------------------------------------------------------------------------------------------------------
// The WASM kernels keep the last Philox block they computed (asm/philox.ts streamWord), keyed by block, row,
// stream, tag and both key words, in module globals that outlive a launch. A key part missing from that key makes
// the next launch that asks the same block and row reuse the previous launch's words: its draws would depend on
// what ran before it. Each launch below differs from the one before in exactly one of key0, key1, stream and
// tag, and reads block 0 of row 0 (the first four words of the stream), as the previous one did.

interface Launch {
  readonly key: readonly [number, number];
  readonly stream: number;
  readonly tag: number;
}

const BACK_TO_BACK: readonly Launch[] = [
  { key: [7, 0], stream: 11, tag: TAG.estimator },
  { key: [8, 0], stream: 11, tag: TAG.estimator }, // another seed: key0
  { key: [8, 1], stream: 11, tag: TAG.estimator }, // a seed ≥ 2^32: key1
  { key: [8, 1], stream: 12, tag: TAG.estimator }, // another stream (step)
  { key: [8, 1], stream: 12, tag: TAG.analysis }, // another purpose
  { key: [7, 0], stream: 11, tag: TAG.estimator }, // the first again
];

const describeLaunch = (l: Launch) => `key ${l.key}, stream ${l.stream}, tag ${l.tag}`;

forEachBackend(
  "uniform_fill: launches back to back with another seed, stream or tag draw their own words",
  async (backend) => {
    const out = backend.alloc(4, "uniforms");
    try {
      for (const launch of BACK_TO_BACK) {
        backend.run("uniform_fill", [out], [4, 0, 1, ...launch.key, launch.stream, launch.tag]);
        // u = (word >>> 8)·2⁻²⁴ is exact in f32, and low + (high − low)·u = u for [0, 1): equality is exact.
        const expected = [0, 1, 2, 3].map((w) =>
          uniformFromWord(streamWord(w, 0, launch.key, launch.stream, launch.tag))
        );
        assertEquals([...await readF32(backend, out)], expected, describeLaunch(launch));
      }
    } finally {
      backend.free(out);
    }
  },
);

/** The conditional perturbations of one row of three logits (words 1..3 of row 0: block 0) under `launch`. */
async function perturbations(backend: Backend, launch: Launch): Promise<Float32Array> {
  const [out, logits, sample] = [
    backend.alloc(3, "perturbed"),
    backend.alloc(3, "logits"),
    backend.alloc(1, "s"),
  ];
  try {
    backend.write(logits, Float32Array.of(0.3, -1.2, 0.8));
    backend.write(sample, Int32Array.of(2));
    backend.run("gumbel_perturbations", [out, logits, sample], [
      1,
      3,
      1,
      ...launch.key,
      launch.stream,
      launch.tag,
    ]);
    return await readF32(backend, out);
  } finally {
    for (const b of [out, logits, sample]) backend.free(b);
  }
}

forEachBackend(
  "Gumbel draws back to back with another seed, stream or tag are each their own stream's",
  async (backend) => {
    for (const launch of BACK_TO_BACK) {
      const e = streamExponentials(3, 0, 0, launch.key, launch.stream, launch.tag);
      const expected = conditionalPerturbed([0.3, -1.2, 0.8], 2, e);
      assertClose(await perturbations(backend, launch), expected, {
        atol: 1e-4,
        label: describeLaunch(launch),
      });
    }
  },
);

/** One fused poly step of the Gumbel family (k = 2: words 1..4, blocks 0 and 1 of each row) under `launch`. */
async function polyStep(backend: Backend, launch: Launch): Promise<Float32Array[]> {
  const latents = 5, batch = 3;
  const buffers = [
    backend.alloc(batch * latents, "sample"),
    backend.alloc(latents, "loss"),
    backend.alloc(2 * latents, "dTheta"),
    backend.alloc(2 * latents, "theta"),
    backend.alloc(latents, "c"),
  ];
  try {
    backend.write(buffers[3], Float32Array.from({ length: 2 * latents }, (_, i) => Math.sin(i) * 0.7));
    backend.write(buffers[4], Float32Array.from({ length: latents }, (_, i) => 0.2 + 0.1 * i));
    // p = 2, Gumbel-Rao's code in the estimator table, τ = 0.9, gap 1 (unused), k = 2.
    const scalars = [batch, latents, 2, ESTIMATORS.grmck.polyStep!, 0.9, 1, 2];
    backend.run("poly_step", buffers, [...scalars, ...launch.key, launch.stream, launch.tag]);
    return [
      Float32Array.from(await readI32(backend, buffers[0])),
      await readF32(backend, buffers[1]),
      await readF32(backend, buffers[2]),
    ];
  } finally {
    for (const b of buffers) backend.free(b);
  }
}

// The fused poly step keeps a block cache of its own (asm/poly.ts) across the rows of a launch. WebGPU keeps no
// state between launches, and a fresh WebGPU device costs seconds of shader compilation, so this runs on WASM.
const wasm = BACKENDS.get("wasm");
Deno.test({
  name: "poly_step on WASM back to back with another seed, stream or tag equals a fresh backend's",
  ignore: typeof wasm !== "object",
  fn: async () => {
    const backend = wasm as Backend;
    for (const launch of BACK_TO_BACK) {
      const fresh = await selectBackend({ prefer: "wasm" });
      try {
        assertEquals(await polyStep(backend, launch), await polyStep(fresh, launch), describeLaunch(launch));
      } finally {
        fresh.destroy();
      }
    }
  },
});
