// The TensorFlow.js adapter (adapters/tfjs.ts) against the SDK: on the same logits, samples and upstream
// gradients its gradients are those of the SDK's kernels, on every SDK backend and every TF.js backend present;
// with the same seed it draws the kernels' samples; it rejects what they reject; it works from the union
// package and from tfjs-core with a backend; and a small TF.js model trains through it.
import { assert, assertEquals, assertInstanceOf, assertNotEquals, assertThrows } from "@std/assert";
// The union package: its gradients for TF.js's own ops (sum, matMul, …) are what the losses below need; the
// adapter itself needs none (a program with tfjs-core alone is tested in a subprocess).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import * as sdk from "../mod.ts";
import * as adapter from "../adapters/tfjs.ts";
import { expF32, gumbelExponentials, logF32 } from "../adapters/host_sampling.ts";
import { forEachBackend } from "./backends.ts";
import * as ref from "./reference/estimators.ts";
import { streamWord, uniformFromWord } from "./reference/philox.ts";
import { assertClose, row, testRandom, uniformArray } from "./util.ts";
import type { Backend } from "../mod.ts";
import { readF32, seedKey, TAG } from "./internals.ts";

/** TF.js's backends, each null where it runs here or the reason it does not. */
const TF_BACKENDS = new Map<string, string | null>();
for (const name of ["cpu", "wasm", "webgpu"]) {
  try {
    TF_BACKENDS.set(name, await tf.setBackend(name) ? null : "TF.js could not initialise it");
  } catch (e) {
    TF_BACKENDS.set(name, (e as Error).message);
  }
}
await tf.setBackend("cpu");

/**
 * Registers `body` for every pair of an SDK backend (whose kernels are the reference) and a TF.js backend
 * (which runs the adapter); a TF.js backend that is not here is an ignored test that says why.
 */
function forEachTfBackend(name: string, body: (backend: Backend) => Promise<void>): void {
  for (const [tfName, unavailable] of TF_BACKENDS) {
    if (unavailable !== null) {
      Deno.test({ name: `${name} [TF.js ${tfName}: unavailable: ${unavailable}]`, ignore: true, fn() {} });
      continue;
    }
    forEachBackend(`${name} [TF.js ${tfName}]`, async (backend) => {
      await tf.setBackend(tfName);
      try {
        await body(backend);
      } finally {
        await tf.setBackend("cpu");
      }
    });
  }
}

type Name = "reinmax" | "st" | "stgs" | "gst";
const ADAPTER = { reinmax: adapter.reinmax, st: adapter.st, stgs: adapter.stgs, gst: adapter.gst };
const KERNELS = { reinmax: sdk.reinmax, st: sdk.st, stgs: sdk.stgs, gst: sdk.gst };

/** The temperatures (and gaps) where each estimator's τ matters: 1/τ factors, tempered softmaxes, gaps. */
const SETTINGS: Record<Name, { tau: number; gap?: number }[]> = {
  reinmax: [{ tau: 1 }, { tau: 1.3 }, { tau: 2 }],
  st: [{ tau: 0.7 }, { tau: 1.5 }],
  stgs: [{ tau: 0.5 }, { tau: 1.3 }],
  gst: [{ tau: 0.7 }, { tau: 0.5, gap: 0.4 }, { tau: 1.5, gap: 2 }],
};
const SHAPES = [{ n: 2, rows: 7, scale: 1 }, { n: 3, rows: 6, scale: 4 }, { n: 8, rows: 5, scale: 2 }];

/**
 * ∂/∂θ of Σ yHard⊙g + Σ ySoft⊙h through the adapter: the estimator's backward for upstream gradients g on
 * yHard and h on ySoft. Read asynchronously, as GPU backends require.
 */
async function adapterGradient(
  name: Name,
  logits: Float32Array,
  n: number,
  tau: number,
  options: adapter.GstOptions,
  g: Float32Array,
  h: Float32Array,
): Promise<Float32Array> {
  const rows = logits.length / n;
  const grad = tf.tidy(() => {
    const gHard = tf.tensor2d(g, [rows, n]), gSoft = tf.tensor2d(h, [rows, n]);
    return tf.grad((theta: tf.Tensor) => {
      const { yHard, ySoft } = ADAPTER[name](theta as tf.Tensor2D, tau, options);
      return tf.add(tf.sum(tf.mul(yHard, gHard)), tf.sum(tf.mul(ySoft, gSoft)));
    })(tf.tensor2d(logits, [rows, n]));
  });
  const values = await grad.data() as Float32Array;
  grad.dispose();
  return values;
}

/**
 * ‖actual − expected‖∞ ≤ 1e-5·‖expected‖∞: relative to the gradient as a whole, since an entry that is the
 * difference of nearly equal terms (a peaked row) carries the terms' rounding, not its own.
 */
function assertGradientClose(actual: Float32Array, expected: Float32Array, label: string): void {
  const scale = Math.max(...expected.map(Math.abs));
  assert(scale > 1e-3, `${label}: the reference gradient is ${expected}, too small to tell anything`);
  assertClose(actual, expected, { atol: 1e-5 * scale, rtol: 0, label });
}

forEachTfBackend(
  "the adapter's samples and gradients are the SDK kernels' for every estimator",
  async (backend) => {
    const random = testRandom(17);
    const seed = 4242, stream = 5;
    for (const name of Object.keys(SETTINGS) as Name[]) {
      for (const { tau, gap } of SETTINGS[name]) {
        for (const { n, rows, scale } of SHAPES) {
          const logits = uniformArray(random, rows * n, -scale, scale);
          const g = uniformArray(random, rows * n), h = uniformArray(random, rows * n);
          const kernel = await KERNELS[name](backend, logits, { n, tau, gap, seed, stream });
          const label = `${name} τ=${tau}${gap ? ` gap=${gap}` : ""} n=${n}`;
          const theta = tf.tensor2d(logits, [rows, n]);
          const drawn = ADAPTER[name](theta, tau, { seed, stream, gap });
          assertEquals(drawn.sample, kernel.sample, `${label}: the samples of the seed`);
          assertEquals(await drawn.yHard.data(), kernel.yHard, `${label}: yHard`);
          tf.dispose([theta, drawn.yHard, drawn.ySoft]);
          // The kernels' sample is given, so these compare the backward alone.
          const options = { sample: kernel.sample, seed, stream, gap };
          assertGradientClose(
            await adapterGradient(name, logits, n, tau, options, g, h),
            await kernel.backward(g, h),
            label,
          );
          // The hard path alone (h = 0) and the soft path alone (g = 0), so neither hides behind the other.
          const zero = new Float32Array(rows * n);
          assertGradientClose(
            await adapterGradient(name, logits, n, tau, options, g, zero),
            await kernel.backward(g),
            `${label} h=0`,
          );
          assertGradientClose(
            await adapterGradient(name, logits, n, tau, options, zero, h),
            await kernel.backward(zero, h),
            `${label} g=0`,
          );
        }
      }
    }
  },
);

Deno.test("the adapter's ReinMax gradient is the float64 closed form (docs/math.md §2.1)", async () => {
  const random = testRandom(18);
  const n = 5, rows = 40;
  for (const tau of [1, 1.3, 2]) {
    const logits = uniformArray(random, rows * n, -3, 3);
    const g = uniformArray(random, rows * n), h = uniformArray(random, rows * n);
    const sample = Int32Array.from({ length: rows }, () => Math.floor(random() * n));
    const grad = await adapterGradient("reinmax", logits, n, tau, { sample }, g, h);
    const expected = Array.from(
      { length: rows },
      (_, r) => ref.reinmaxBackward(row(logits, r, n), sample[r], row(g, r, n), row(h, r, n), tau),
    ).flat();
    assertGradientClose(grad, Float32Array.from(expected), `τ=${tau}`);
  }
});

forEachBackend("the same seed and stream draw the kernels' samples on many rows", async (backend) => {
  const random = testRandom(19);
  const cases = [
    { n: 2, rows: 3000, scale: 2 },
    { n: 5, rows: 2000, scale: 4 },
    { n: 8, rows: 1500, scale: 1 },
    { n: 33, rows: 300, scale: 60 }, // exponentials down to the clamp of exp, and subnormal
  ];
  for (const { n, rows, scale } of cases) {
    const logits = uniformArray(random, rows * n, -scale, scale);
    for (const [seed, stream] of [[0, 0], [2 ** 40 + 3, 7], [123456789, 2 ** 32 - 1]]) {
      const kernel = await sdk.reinmax(backend, logits, { n, seed, stream, tau: 1 });
      const theta = tf.tensor2d(logits, [rows, n]);
      const label = `n=${n} seed=${seed} stream=${stream}`;
      for (const name of Object.keys(ADAPTER) as Name[]) {
        const drawn = ADAPTER[name](theta, undefined, { seed, stream });
        assertEquals(drawn.sample, kernel.sample, `${name} ${label}`);
        assertClose(drawn.ySoft.dataSync(), kernel.ySoft, { atol: 1e-7, rtol: 1e-5, label: `${name} ySoft` });
        tf.dispose([drawn.yHard, drawn.ySoft]);
      }
      assertEquals(await adapter.sampleCategories(theta, { seed, stream }), kernel.sample, `async ${label}`);
      const otherStream = adapter.st(theta, 1, { seed, stream: stream === 0 ? 1 : stream - 1 });
      assertNotEquals(otherStream.sample, kernel.sample, "another stream draws other samples");
      tf.dispose([theta, otherStream.yHard, otherStream.ySoft]);
    }
  }
});

forEachBackend(
  "rows on the edge between two categories are drawn as the kernels draw them",
  async (backend) => {
    // Row r = (0, x_r) with x_r within a few float32 steps of log((1 − u_r)/u_r), u_r its stream's uniform: the
    // category then hangs on the last bits of exp and of the float32 sums, so only bit-identical arithmetic
    // agrees with the kernels on every row.
    const rows = 4000, n = 2, seed = 99, stream = 3;
    const logits = new Float32Array(rows * n);
    const key = seedKey(seed);
    for (let r = 0; r < rows; r++) {
      const u = Math.max(uniformFromWord(streamWord(0, r, key, stream, TAG.estimator)), 2 ** -24);
      const edge = Math.fround(Math.log((1 - u) / u));
      logits[r * n + 1] = edge + (((r % 9) - 4) * Math.max(Math.abs(edge), 1)) * 2 ** -23;
    }
    const kernel = await sdk.st(backend, logits, { n, seed, stream, tau: 1 });
    const theta = tf.tensor2d(logits, [rows, n]);
    const drawn = adapter.st(theta, 1, { seed, stream });
    assertEquals(drawn.sample, kernel.sample);
    const firsts = kernel.sample.filter((s) => s === 0).length;
    assert(
      firsts > rows / 4 && firsts < (3 * rows) / 4,
      `the rows sit on both sides of their edges: ${firsts}`,
    );
    tf.dispose([theta, drawn.yHard, drawn.ySoft]);
  },
);

Deno.test("without a seed every call draws afresh", () => {
  const theta = tf.zeros([500, 4]) as tf.Tensor2D;
  const a = adapter.reinmax(theta, 1), b = adapter.reinmax(theta, 1);
  assertNotEquals(a.sample, b.sample);
  tf.dispose([theta, a.yHard, a.ySoft, b.yHard, b.ySoft]);
});

/** The kernels' exp or log (vmath_apply) of every value of `x`. */
async function kernelMath(backend: Backend, which: 0 | 1, x: Float32Array): Promise<Float32Array> {
  const [input, out] = [backend.alloc(x.length, "x"), backend.alloc(x.length, "out")];
  try {
    backend.write(input, x);
    backend.run("vmath_apply", [out, input], [x.length, which]);
    backend.submit();
    return await readF32(backend, out);
  } finally {
    backend.free(input);
    backend.free(out);
  }
}

forEachBackend("the host's exp and log are the kernels' bit for bit", async (backend) => {
  const random = testRandom(20);
  // exp over the arguments the sampler gives it (θ − max θ ≤ 0, down to the clamp and beyond) and above.
  const expArgs = Float32Array.from(
    { length: 60000 },
    (_, i) => i < 50000 ? -110 * random() ** 2 : 90 * random(),
  );
  const expected = await kernelMath(backend, 0, expArgs);
  for (let i = 0; i < expArgs.length; i++) {
    if (!Object.is(expF32(expArgs[i]), expected[i])) {
      throw new Error(`exp(${expArgs[i]}): host ${expF32(expArgs[i])}, kernel ${expected[i]}`);
    }
  }
  // log over the midpoint uniforms behind the exponentials, and the whole positive range.
  const logArgs = Float32Array.from(
    { length: 60000 },
    (_, i) => i < 30000 ? (Math.floor(random() * 2 ** 23) + 0.5) * 2 ** -23 : 2 ** (-149 + 277 * random()),
  );
  const logs = await kernelMath(backend, 1, logArgs);
  for (let i = 0; i < logArgs.length; i++) {
    if (!Object.is(logF32(logArgs[i]), logs[i])) {
      throw new Error(`log(${logArgs[i]}): host ${logF32(logArgs[i])}, kernel ${logs[i]}`);
    }
  }
});

Deno.test("the host's Gumbel exponentials are words 1 … n of each row's stream", () => {
  const n = 7, rows = 9, seed = 2 ** 33 + 11, stream = 4;
  const [key0, key1] = seedKey(seed);
  const host = gumbelExponentials(rows, n, { key0, key1, stream, tag: TAG.estimator });
  for (let r = 0; r < rows; r++) {
    const expected = ref.streamExponentials(n, 0, r, [key0, key1], stream, TAG.estimator);
    assertClose(row(host, r, n), expected, { atol: 0, rtol: 1e-6, label: `row ${r}` });
  }
});

Deno.test("yHard and ySoft are the one-hot samples and the softmax, and nothing leaks", () => {
  const random = testRandom(21);
  const n = 6, rows = 10;
  const logits = uniformArray(random, rows * n, -3, 3);
  const theta = tf.tensor2d(logits, [rows, n]);
  const g = tf.tensor2d(uniformArray(random, rows * n), [rows, n]);
  for (const name of Object.keys(ADAPTER) as Name[]) {
    const before = tf.memory().numTensors;
    const r = ADAPTER[name](theta, undefined, { seed: 3 });
    assertEquals(r.yHard.dtype, "float32");
    assertEquals(r.yHard.shape, [rows, n]);
    const hard = r.yHard.dataSync(), soft = r.ySoft.dataSync();
    for (let i = 0; i < rows; i++) {
      assertEquals(row(hard, i, n), ref.onehot(r.sample[i], n), `${name} row ${i}`);
      assertClose(row(soft, i, n), ref.softmax(row(logits, i, n)), { atol: 1e-7, rtol: 1e-5, label: name });
    }
    tf.dispose([r.yHard, r.ySoft]);
    const loss = (x: tf.Tensor) => tf.sum(tf.mul(ADAPTER[name](x as tf.Tensor2D, undefined).yHard, g));
    tf.grad(loss)(theta).dispose();
    assertEquals(tf.memory().numTensors, before, `${name} left tensors behind`);
  }
  tf.dispose([theta, g]);
});

/** The ReinmaxInputError `action` throws, checked to name `argument`. */
function inputError(action: () => unknown, argument: string): sdk.ReinmaxInputError {
  const error = assertThrows(action, sdk.ReinmaxInputError);
  assertEquals(error.argument, argument, error.message);
  return error;
}

Deno.test("τ has the SDK's domain for every estimator, with the SDK's errors", () => {
  const theta = tf.zeros([2, 3]) as tf.Tensor2D;
  const cases: [Name, number | undefined, number | undefined][] = [
    ["reinmax", 0.9, undefined],
    ["reinmax", 0.5, undefined],
    ["st", 0, undefined],
    ["st", -1, undefined],
    ["stgs", Number.NaN, undefined],
    ["gst", Infinity, undefined],
    ["gst", 0.7, 0],
    ["gst", 0.7, -1],
  ];
  for (const [name, tau, gap] of cases) {
    const expected = assertThrows(() => sdk.estimator(name, { tau, gap }), sdk.ReinmaxInputError);
    const error = inputError(() => ADAPTER[name](theta, tau, { gap, seed: 1 }), expected.argument);
    assertEquals(error.message, expected.message);
  }
  // The domain's edges are accepted.
  for (const [name, tau] of [["reinmax", 1], ["stgs", 0.3], ["st", 2]] as const) {
    const r = ADAPTER[name](theta, tau, { seed: 1 });
    tf.dispose([r.yHard, r.ySoft]);
  }
  inputError(() => adapter.reinmax(theta, "1.3" as unknown as number), "tau");
  theta.dispose();
});

Deno.test("bad logits, samples, seeds and options are ReinmaxInputErrors naming the argument", () => {
  const theta = tf.zeros([2, 3]) as tf.Tensor2D;
  const logits = (t: unknown) => t as tf.Tensor2D;
  inputError(() => adapter.reinmax(logits(new Float32Array(6)), 1), "logits");
  inputError(() => adapter.reinmax(logits(tf.zeros([6])), 1), "logits");
  inputError(() => adapter.reinmax(logits(tf.zeros([2, 3, 1])), 1), "logits");
  inputError(() => adapter.reinmax(logits(tf.zeros([2, 3], "int32")), 1), "logits");
  inputError(() => adapter.reinmax(logits(tf.zeros([2, 1])), 1), "logits");
  inputError(() => adapter.reinmax(logits(tf.zeros([0, 3])), 1), "logits");
  const disposed = tf.zeros([2, 3]) as tf.Tensor2D;
  disposed.dispose();
  inputError(() => adapter.reinmax(disposed, 1), "logits");
  const nonFinite = tf.tensor2d([[0, 1, 2], [0, NaN, 1]]);
  assert(inputError(() => adapter.st(nonFinite, 1), "logits").message.includes("row 1"));

  inputError(() => adapter.gst(theta, 1, { sample: new Int32Array(3) }), "sample");
  inputError(() => adapter.gst(theta, 1, { sample: new Int32Array([0, 3]) }), "sample");
  inputError(() => adapter.gst(theta, 1, { sample: new Int32Array([-1, 0]) }), "sample");
  inputError(() => adapter.gst(theta, 1, { sample: [0, 1] as unknown as Int32Array }), "sample");

  for (const seed of [-1, 1.5, 2 ** 53, "7", NaN]) {
    inputError(() => adapter.stgs(theta, 0.5, { seed: seed as number }), "seed");
  }
  for (const stream of [-1, 0.5, 2 ** 32]) {
    inputError(() => adapter.st(theta, 1, { seed: 0, stream }), "stream");
  }
  inputError(() => adapter.st(theta, 1, null as unknown as adapter.SampleSource), "options");
  tf.dispose([theta, nonFinite]);
});

Deno.test("a backend that cannot read the logits back fails with its cause and the way around it", async () => {
  const failure = new Error("no synchronous read on this backend");
  const theta = Object.assign(tf.tensor2d([[0, 1, 2], [2, 1, 0]]), {
    dataSync: (): never => {
      throw failure;
    },
  });
  const error = assertThrows(() => adapter.reinmax(theta, 1.3, { seed: 1 }));
  assertInstanceOf(error, Error);
  assertEquals(error.cause, failure);
  assert(error.message.includes("sampleCategories"), error.message);
  // The asynchronous read draws the same samples, and a given sample needs no read at all.
  const sample = await adapter.sampleCategories(theta, { seed: 1 });
  const drawn = adapter.reinmax(theta, 1.3, { sample });
  assertEquals(drawn.sample, sample);
  tf.dispose([theta, drawn.yHard, drawn.ySoft]);
});

/** Runs `program` (TypeScript) in a fresh Deno process from the repository root and parses what it printed. */
async function runProgram(program: string): Promise<{ backend: string; grad: number[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--ext=ts", program],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const ADAPTER_URL = new URL("../adapters/tfjs.ts", import.meta.url).href;
const LOGITS = [[0.3, -1.2, 2.0], [1.0, 1.0, -0.5]], SAMPLE = [0, 2];
const G = [[1, -2, 0.5], [0.25, 0, -1]], H = [[0.5, 0.5, -1], [-2, 1, 0]];
const PROGRAM_START = `
  import { reinmax } from "${ADAPTER_URL}";
  await tf.ready();
  const logits = tf.tensor2d(${JSON.stringify(LOGITS)});
  const g = tf.tensor2d(${JSON.stringify(G)}), h = tf.tensor2d(${JSON.stringify(H)});
  const draw = (theta) => reinmax(theta, 1.3, { sample: new Int32Array(${JSON.stringify(SAMPLE)}) });
`;
const PROGRAM_END =
  `console.log(JSON.stringify({ backend: tf.getBackend(), grad: Array.from(await grad.data()) }));`;

Deno.test("programs importing the union package, or tfjs-core and a backend, get ReinMax's gradient", async () => {
  const expected = LOGITS.flatMap((theta, r) => ref.reinmaxBackward(theta, SAMPLE[r], G[r], H[r], 1.3));
  const programs = {
    // The union package registers the gradients of TF.js's ops: a scalar loss of both outputs, as in training.
    union: `import * as tf from "npm:@tensorflow/tfjs@4.22.0";
      ${PROGRAM_START}
      const loss = (theta) => { const r = draw(theta); return tf.add(tf.sum(tf.mul(r.yHard, g)), tf.sum(tf.mul(r.ySoft, h))); };
      const grad = tf.grad(loss)(logits);
      ${PROGRAM_END}`,
    // tfjs-core alone registers no op gradients in Deno, so each output is pulled back by its own upstream
    // gradient: what reaches the logits is the adapter's custom gradients alone.
    core: `import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
      import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
      ${PROGRAM_START}
      const hard = tf.grad((theta) => draw(theta).yHard)(logits, g);
      const soft = tf.grad((theta) => draw(theta).ySoft)(logits, h);
      const grad = tf.tensor2d(Float32Array.from(hard.dataSync(), (v, i) => v + soft.dataSync()[i]), [2, 3]);
      ${PROGRAM_END}`,
  };
  for (const [name, program] of Object.entries(programs)) {
    const result = await runProgram(program);
    assertEquals(result.backend, "cpu", name);
    assertGradientClose(Float32Array.from(result.grad), Float32Array.from(expected), name);
  }
});

Deno.test("a TF.js autoencoder with a ReinMax bottleneck learns to reconstruct its inputs", () => {
  // 8 one-hot inputs through 3 binary latents (8 codes) and back: the loss can only fall if the gradient
  // through the samples teaches the encoder a distinct code for every input.
  const classes = 8, latents = 3, categories = 2, batch = 32, steps = 150;
  const weights = (shape: [number, number], seed: number) =>
    tf.variable(tf.randomNormal(shape, 0, 0.5, "float32", seed));
  const encoder = weights([classes, latents * categories], 1);
  const decoder = weights([latents * categories, classes], 2);
  const bias = tf.variable(tf.zeros([classes]));
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), "int32");
  const inputs = tf.oneHot(labels, classes, 1, 0, "float32");
  const optimizer = tf.train.adam(0.05);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = optimizer.minimize(() => {
      const logits = tf.reshape(tf.matMul(inputs, encoder), [batch * latents, categories]) as tf.Tensor2D;
      const { yHard } = adapter.reinmax(logits, 1.3, { seed: 11, stream: step });
      const decoded = tf.add(tf.matMul(tf.reshape(yHard, [batch, latents * categories]), decoder), bias);
      return tf.losses.softmaxCrossEntropy(inputs, decoded) as tf.Scalar;
    }, true)!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-10));
  assert(first > 1.5, `the untrained loss ${first} should be near log 8`);
  assert(last < 0.25 * first, `loss fell only from ${first} to ${last}`);
  tf.dispose([encoder, decoder, bias, labels, inputs]);
  optimizer.dispose();
});

Deno.test("the adapter is a separate entry point: mod.ts never imports it", async () => {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "mod.ts"],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
  }).output();
  const modules = (JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: { specifier: string }[] })
    .modules.map((m) => m.specifier);
  assert(modules.length > 10, `module graph of mod.ts: ${modules}`);
  assertEquals(modules.filter((s) => s.includes("adapters/") || s.includes("tensorflow")), []);
});
