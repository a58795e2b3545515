// WASM and WebGPU agree: Philox words bit for bit, sampled categories exactly for the same seed, and every
// estimator's gradient to 1e-4 relative. Registered as ignored tests (with the reason in the name) when
// either backend is unavailable; REINMAX_REQUIRE_BACKENDS=webgpu turns that into a failure.
import { assertEquals } from "@std/assert";
import { openDataset } from "../examples/data_source.ts";
import { BACKENDS, onSoftwareGpu } from "./backends.ts";
import { assertClose, testRandom, uniformArray } from "./util.ts";
import {
  type Backend,
  CategoricalVae,
  type Elements,
  type EstimatorName,
  type KernelName,
  PolyProgramming,
  reinforce,
  sampleWithEstimator,
  trainVae,
} from "../mod.ts";
import { readF32, readI32, readU32, seedKey, TAG } from "./internals.ts";

const required = (Deno.env.get("REINMAX_REQUIRE_BACKENDS") ?? "").split(",").map((s) => s.trim());

function agreementTest(name: string, body: (wasm: Backend, gpu: Backend) => Promise<void>): void {
  const wasm = BACKENDS.get("wasm");
  const gpu = BACKENDS.get("webgpu");
  if (typeof wasm !== "object" || typeof gpu !== "object") {
    const why = typeof gpu !== "object" ? `webgpu unavailable: ${gpu}` : `wasm unavailable: ${wasm}`;
    Deno.test({
      name: `${name} [${why}]`,
      ignore: !required.includes("webgpu"),
      fn: () => {
        throw new Error(`REINMAX_REQUIRE_BACKENDS requires webgpu, but ${why}`);
      },
    });
    return;
  }
  Deno.test(`${name} [wasm vs webgpu]`, () => body(wasm, gpu));
}

/** Runs one kernel on a backend with fresh buffers holding `inputs`; returns every buffer's contents. */
async function runKernel(
  backend: Backend,
  kernel: KernelName,
  inputs: readonly Elements[],
  params: readonly number[],
): Promise<ArrayBuffer[]> {
  const buffers = inputs.map((data, i) => {
    const buffer = backend.alloc(data.length, `${kernel} argument ${i}`);
    backend.write(buffer, data);
    return buffer;
  });
  try {
    backend.run(kernel, buffers, params);
    backend.submit();
    return await Promise.all(buffers.map((b) => backend.read(b)));
  } finally {
    for (const b of buffers) backend.free(b);
  }
}

agreementTest("philox_fill is bit-identical on both backends", async (wasm, gpu) => {
  const count = 4 * 5000 + 3;
  const cases = [
    [0, 0, 0, 0, 0, 0],
    [0x12345678, 0x9abcdef0, 0xfffff000, 7, 0xffffffff, 42], // ctr0 wraps around mid-fill
    [0xffffffff, 0xffffffff, 1, 2, 3, TAG.estimator],
  ];
  for (const [key0, key1, ctr0, ctr1, ctr2, ctr3] of cases) {
    const params = [count, key0, key1, ctr0, ctr1, ctr2, ctr3];
    const [a] = await runKernel(wasm, "philox_fill", [new Uint32Array(count)], params);
    const [b] = await runKernel(gpu, "philox_fill", [new Uint32Array(count)], params);
    assertEquals(new Uint32Array(b), new Uint32Array(a), `key ${key0}, ${key1}, counter ${ctr0}`);
  }
});

agreementTest("uniform_fill gives the same uniforms on both backends", async (wasm, gpu) => {
  const count = 4099;
  for (const [low, high] of [[0, 1], [-1, 3]]) {
    const params = [count, low, high, 123, 456, 9, TAG.init];
    const [a] = await runKernel(wasm, "uniform_fill", [new Float32Array(count)], params);
    const [b] = await runKernel(gpu, "uniform_fill", [new Float32Array(count)], params);
    if (low === 0 && high === 1) {
      // u = (w >> 8)·2^-24 is exact in f32, so [0, 1) agrees bit for bit.
      assertEquals(new Float32Array(b), new Float32Array(a));
    } else {
      // low + (high − low)·u may be one fused multiply-add on the GPU: equal to 1 ulp.
      assertClose(new Float32Array(b), new Float32Array(a), {
        atol: 0,
        rtol: 2.4e-7,
        label: `[${low}, ${high})`,
      });
    }
  }
});

agreementTest("categorical_sample draws the same categories for the same seed", async (wasm, gpu) => {
  const random = testRandom(100);
  for (
    const { n, rows, scale, seed, stream } of [
      { n: 5, rows: 10000, scale: 2, seed: 1, stream: 0 },
      { n: 5, rows: 10000, scale: 2, seed: 2 ** 40 + 3, stream: 17 },
      { n: 2, rows: 4000, scale: 6, seed: 7, stream: 1 },
      { n: 64, rows: 500, scale: 3, seed: 8, stream: 2 },
    ]
  ) {
    const logits = uniformArray(random, rows * n, -scale, scale);
    const [key0, key1] = seedKey(seed);
    const params = [rows, n, key0, key1, stream, TAG.estimator];
    const [a] = await runKernel(wasm, "categorical_sample", [new Int32Array(rows), logits], params);
    const [b] = await runKernel(gpu, "categorical_sample", [new Int32Array(rows), logits], params);
    assertEquals(new Int32Array(b), new Int32Array(a), `n=${n}, seed ${seed}, stream ${stream}`);
  }
});

agreementTest("sampleWithEstimator returns the same samples and soft outputs", async (wasm, gpu) => {
  const random = testRandom(101);
  const n = 5, rows = 10000;
  const logits = uniformArray(random, rows * n, -3, 3);
  const a = await sampleWithEstimator(wasm, "reinmax", logits, { n, tau: 1.3, seed: 99, stream: 4 });
  const b = await sampleWithEstimator(gpu, "reinmax", logits, { n, tau: 1.3, seed: 99, stream: 4 });
  assertEquals(b.sample, a.sample);
  assertEquals(b.yHard, a.yHard);
  assertClose(b.ySoft, a.ySoft, { atol: 1e-7, rtol: 1e-5, label: "ySoft" });
});

const ESTIMATORS: { name: EstimatorName; taus: number[] }[] = [
  { name: "reinmax", taus: [1, 1.5] },
  { name: "st", taus: [1, 1.5] },
  { name: "stgs", taus: [0.5, 1] },
  { name: "gst", taus: [0.5, 1] },
  { name: "grmck", taus: [0.5, 1] },
];

agreementTest("every estimator's gradient agrees to 1e-4 relative", async (wasm, gpu) => {
  const random = testRandom(102);
  for (const { n, rows, scale } of [{ n: 2, rows: 300, scale: 2 }, { n: 10, rows: 200, scale: 3 }]) {
    const logits = uniformArray(random, rows * n, -scale, scale);
    const gHard = uniformArray(random, rows * n);
    const gSoft = uniformArray(random, rows * n);
    // The same forced categories on both backends, so the gradients are comparable row by row.
    const sample = Int32Array.from({ length: rows }, () => Math.floor(random() * n));
    for (const { name, taus } of ESTIMATORS) {
      for (const tau of taus) {
        const options = { n, tau, k: 4, seed: 5, stream: 3, sample };
        const a = await (await sampleWithEstimator(wasm, name, logits, options)).backward(gHard, gSoft);
        const b = await (await sampleWithEstimator(gpu, name, logits, options)).backward(gHard, gSoft);
        assertClose(b, a, { atol: 1e-6, rtol: 1e-4, label: `${name} τ=${tau} n=${n}` });
      }
    }
  }
});

agreementTest("REINFORCE (with the on-device mean baseline) agrees to 1e-4 relative", async (wasm, gpu) => {
  const random = testRandom(103);
  const n = 6, rows = 3000;
  const logits = uniformArray(random, rows * n, -2, 2);
  const reward = uniformArray(random, rows, 0, 5);
  const gSoft = uniformArray(random, rows * n);
  const sample = Int32Array.from({ length: rows }, () => Math.floor(random() * n));
  for (const baseline of [false, true]) {
    const a = await (await reinforce(wasm, logits, { n, sample, baseline })).backward(reward, gSoft);
    const b = await (await reinforce(gpu, logits, { n, sample, baseline })).backward(reward, gSoft);
    assertClose(b, a, { atol: 1e-6, rtol: 1e-4, label: `baseline ${baseline}` });
  }
});

agreementTest("the conditional Gumbel perturbations agree to 1e-5 relative", async (wasm, gpu) => {
  const random = testRandom(104);
  const n = 7, rows = 500, k = 6;
  const logits = uniformArray(random, rows * n, -4, 4);
  const sample = Int32Array.from({ length: rows }, () => Math.floor(random() * n));
  const params = [rows, n, k, ...seedKey(31), 2, TAG.estimator];
  const inputs = () => [new Float32Array(rows * k * n), logits, sample];
  const [a] = await runKernel(wasm, "gumbel_perturbations", inputs(), params);
  const [b] = await runKernel(gpu, "gumbel_perturbations", inputs(), params);
  assertClose(new Float32Array(b), new Float32Array(a), { atol: 1e-5, rtol: 1e-5 });
});

agreementTest("both backends read back what they were given", async (wasm, gpu) => {
  const random = testRandom(105);
  const values = uniformArray(random, 1001, -1e3, 1e3);
  for (const backend of [wasm, gpu]) {
    const buffer = backend.alloc(values.length, "round trip");
    backend.write(buffer, values);
    assertEquals(await readF32(backend, buffer), values);
    backend.write(buffer, new Int32Array([-7, 8]), 3);
    assertEquals([...(await readI32(backend, buffer)).subarray(3, 5)], [-7, 8]);
    backend.write(buffer, new Uint32Array([0xffffffff]), 1000);
    assertEquals((await readU32(backend, buffer))[1000], 0xffffffff);
    backend.free(buffer);
  }
});

agreementTest("one poly training run: the first 50 step losses and θ agree", async (wasm, gpu) => {
  // Same seed, same Philox words, same comparisons: the samples match, so the losses match up to the f32
  // rounding of θ's updates (a sample flipped by that rounding would move a loss by about 1e-5).
  const trajectory = async (backend: Backend) => {
    const task = new PolyProgramming(backend, { latents: 128, batch: 64, seed: 42, readEvery: 50 });
    for (let s = 0; s < 50; s++) task.step();
    const losses = await task.readLosses();
    const theta = await task.readTheta();
    task.destroy();
    return { losses, theta };
  };
  const a = await trajectory(wasm), b = await trajectory(gpu);
  assertEquals(a.losses.length, 50);
  assertClose(b.losses, a.losses, { atol: 1e-4, rtol: 1e-4, label: "step losses" });
  assertClose(b.theta, a.theta, { atol: 1e-5, rtol: 1e-4, label: "θ after 50 steps" });
});

agreementTest(
  "the 10×30 VAE on the fixture: the first steps draw the same samples and agree in loss",
  async (wasm, gpu) => {
    const data = await openDataset("fixture");
    // 20 steps; on a GPU emulated by the CPU, 8 (each takes a second there).
    const steps = onSoftwareGpu(gpu) ? 8 : 20;
    const trajectory = async (backend: Backend) => {
      const model = new CategoricalVae(backend, { config: "10x30", seed: 5, readEvery: 10 });
      try {
        const losses: number[] = [];
        const run = trainVae(model, data.train, { steps, onProgress: (p) => losses.push(...p.losses) });
        for await (const _ of run) { /* the steps */ }
        const sample = await readI32(backend, model.plan.get("latent.sample").buffer);
        const weight = await readF32(backend, model.plan.get("decoder.fc3.weight").buffer);
        return { losses, sample, weight };
      } finally {
        model.destroy();
      }
    };
    const a = await trajectory(wasm), b = await trajectory(gpu);
    assertEquals(a.losses.length, steps);
    // The 3,000 categories of the last step were drawn from logits that went through every update before it
    // on each backend.
    assertEquals(b.sample, a.sample, `step ${steps}'s samples`);
    assertClose(b.losses, a.losses, { atol: 0, rtol: 2e-5, label: "−ELBO of each step" });
    assertClose(b.weight, a.weight, {
      atol: 1e-6,
      rtol: 1e-4,
      label: `decoder.fc3.weight after ${steps} steps`,
    });
  },
);
