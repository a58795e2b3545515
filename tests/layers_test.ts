// The layer kernels (asm/layers.ts, asm/bernoulli.ts) on every backend: each forward and backward against the
// float64 oracle (tests/reference/layers.ts) on seeded random inputs with tails, and each oracle backward
// against central differences of the oracle forward. Backward kernels accumulate, so their gradient buffers
// start random; written outputs start random too; binarisation and argmax_equals are compared exactly.
import { assert, assertEquals } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import * as ref from "./reference/layers.ts";
import { streamWord, uniformFromWord } from "./reference/philox.ts";
import { assertClose, runKernel, testRandom, uniformArray } from "./util.ts";
import { type Backend, type KernelName, KERNELS } from "../mod.ts";
import { TAG, WasmBackend } from "./internals.ts";

type F64 = Float64Array;
type OracleFn = (...args: (F64 | number)[]) => void;
interface Tolerance {
  atol: number;
  rtol: number;
}

/** The oracle of `kernel` on float64 copies; f32 parameters are rounded as the kernel receives them. */
function runOracle(
  kernel: KernelName,
  arrays: readonly (Float32Array | Int32Array)[],
  params: readonly number[],
): F64[] {
  const copies = arrays.map((a) => Float64Array.from(a));
  const p = params.map((v, i) => (KERNELS[kernel].params[i].type === "f32" ? Math.fround(v) : v));
  ((ref as unknown as Record<string, OracleFn>)[kernel])(...copies, ...p);
  return copies;
}

/** Runs kernel and oracle on the same inputs and compares every written buffer. */
async function checkKernel(
  backend: Backend,
  kernel: KernelName,
  arrays: readonly (Float32Array | Int32Array)[],
  params: readonly number[],
  tol: Tolerance,
): Promise<void> {
  const got = await runKernel(backend, kernel, arrays, params);
  const want = runOracle(kernel, arrays, params);
  KERNELS[kernel].buffers.forEach((arg, i) => {
    if (arg.written) assertClose(got[i], want[i], { ...tol, label: `${kernel}(${params}) ${arg.name}` });
  });
}

/**
 * Checks an oracle backward against central differences of L = Σ dOut ⊙ forward(vars), for every element
 * of every variable.
 */
function checkGradient(
  label: string,
  forward: (vars: F64[]) => F64,
  backward: (vars: F64[], dOut: F64) => F64[],
  vars: F64[],
  dOut: F64,
  { h = 1e-5, atol = 1e-7, rtol = 1e-6 } = {},
): void {
  const loss = () => forward(vars).reduce((s, v, i) => s + v * dOut[i], 0);
  const analytic = backward(vars, dOut);
  vars.forEach((v, k) => {
    const numeric = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      v[i] = x + h;
      const lp = loss();
      v[i] = x - h;
      const lm = loss();
      v[i] = x;
      numeric[i] = (lp - lm) / (2 * h);
    }
    assertClose(analytic[k], numeric, { atol, rtol, label: `${label}: d/d(variable ${k})` });
  });
}

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const zeros = (n: number) => new Float64Array(n);
/** Values uniform in [low, high) but at least `gap` away from 0 (for kinks at 0). */
const awayFromZero = (random: () => number, n: number, low: number, high: number, gap: number) =>
  uniformArray(random, n, low, high).map((v) => (Math.abs(v) < gap ? (v < 0 ? -gap : gap) : v));

// The build the registry did not pick (the plain SIMD build where relaxed SIMD is available) runs every
// test too, so both compiled variants are covered.
let otherVariant: Promise<WasmBackend> | undefined;
function forEachBuild(name: string, body: (backend: Backend) => Promise<void>): void {
  forEachBackend(name, body);
  Deno.test(`${name} [wasm simd build]`, async () => {
    otherVariant ??= WasmBackend.create("simd");
    await body(await otherVariant);
  });
}

// ------------------------------------------------------------------------------------------------------
// transpose and linear

forEachBuild("transpose matches the oracle exactly", async (backend) => {
  const random = testRandom(11);
  for (const [rows, cols] of [[1, 1], [1, 7], [3, 5], [4, 4], [7, 9], [33, 70], [64, 32], [5, 100]]) {
    const x = uniformArray(random, rows * cols);
    const [out] = await runKernel(backend, "transpose", [new Float32Array(rows * cols), x], [rows, cols]);
    assertEquals(
      out,
      Float32Array.from(runOracle("transpose", [out, x], [rows, cols])[0]),
      `${rows}x${cols}`,
    );
  }
});

const LINEAR_SHAPES = [[1, 1, 1], [3, 5, 7], [10, 17, 30], [7, 33, 4], [6, 16, 8], [13, 600, 9], [
  100,
  64,
  33,
]];

forEachBuild("linear_forward matches the oracle", async (backend) => {
  const random = testRandom(12);
  for (const [batch, inDim, outDim] of LINEAR_SHAPES) {
    const x = uniformArray(random, batch * inDim);
    const w = uniformArray(random, inDim * outDim);
    const b = uniformArray(random, outDim);
    // Each output is a sum of inDim + 1 terms of size ≤ 1: f32 error grows like √inDim·ε·(typical term).
    const atol = 2e-7 * (inDim + 1);
    await checkKernel(backend, "linear_forward", [uniformArray(random, batch * outDim), x, w, b], [
      batch,
      inDim,
      outDim,
    ], { atol, rtol: 1e-6 });
  }
});

forEachBuild("linear_backward accumulates xᵀ·dy, Σ dy and dy·wᵀ like the oracle", async (backend) => {
  const random = testRandom(13);
  for (const [batch, inDim, outDim] of LINEAR_SHAPES) {
    for (const needDx of [0, 1]) {
      const arrays = [
        uniformArray(random, batch * inDim), // dx
        uniformArray(random, inDim * outDim), // dw
        uniformArray(random, outDim), // db
        uniformArray(random, batch * outDim), // dy
        uniformArray(random, batch * inDim), // x
        uniformArray(random, inDim * outDim), // w
      ];
      const atol = 2e-7 * (Math.max(batch, outDim) + 1);
      await checkKernel(backend, "linear_backward", arrays, [batch, inDim, outDim, needDx], {
        atol,
        rtol: 1e-6,
      });
      if (!needDx) {
        const [dx] = await runKernel(backend, "linear_backward", arrays, [batch, inDim, outDim, 0]);
        assertEquals(dx, arrays[0], "needDx = 0 leaves dx alone");
      }
    }
  }
});

/**
 * Shapes for inputs that are mostly zeros (as ReLU outputs and images are), where WASM skips the zeros: more
 * than one block of rows (128) and of depth (128), and every column tail (48, 16, 4 and single columns).
 */
const SPARSE_LINEAR_SHAPES = [[3, 5, 7], [200, 150, 53], [100, 300, 70], [7, 600, 16], [130, 33, 1]];

/** batch·inDim values, a fraction `zeros` of them ±0 at random places, the rest uniform in ±1. */
function mostlyZeros(random: () => number, count: number, zeros: number): Float32Array {
  return uniformArray(random, count).map((v) => random() < zeros ? (v < 0 ? -0 : 0) : v);
}

forEachBuild(
  "linear_forward and linear_backward with mostly-zero inputs match the oracle",
  async (backend) => {
    const random = testRandom(18);
    for (const [batch, inDim, outDim] of SPARSE_LINEAR_SHAPES) {
      for (const zeros of [0.5, 0.9]) {
        const x = mostlyZeros(random, batch * inDim, zeros);
        const w = uniformArray(random, inDim * outDim), b = uniformArray(random, outDim);
        const tol = { atol: 2e-7 * (Math.max(batch, inDim, outDim) + 1), rtol: 1e-6 };
        await checkKernel(backend, "linear_forward", [uniformArray(random, batch * outDim), x, w, b], [
          batch,
          inDim,
          outDim,
        ], tol);
        const arrays = [
          uniformArray(random, batch * inDim),
          uniformArray(random, inDim * outDim),
          uniformArray(random, outDim),
          uniformArray(random, batch * outDim),
          x,
          w,
        ];
        await checkKernel(backend, "linear_backward", arrays, [batch, inDim, outDim, 1], tol);
      }
    }
  },
);

Deno.test("linear oracle backward equals central differences", () => {
  const random = testRandom(14);
  const [batch, inDim, outDim] = [3, 5, 4];
  const vars = [
    uniformArray(random, batch * inDim),
    uniformArray(random, inDim * outDim),
    uniformArray(random, outDim),
  ]
    .map(f64);
  checkGradient(
    "linear",
    ([x, w, b]) => {
      const out = zeros(batch * outDim);
      ref.linear_forward(out, x, w, b, batch, inDim, outDim);
      return out;
    },
    ([x, w], dy) => {
      const [dx, dw, db] = [zeros(batch * inDim), zeros(inDim * outDim), zeros(outDim)];
      ref.linear_backward(dx, dw, db, dy, x, w, batch, inDim, outDim, 1);
      return [dx, dw, db];
    },
    vars,
    f64(uniformArray(random, batch * outDim)),
  );
});

// ------------------------------------------------------------------------------------------------------
// one-hot inputs: the decoder's first layer as a gather and a scatter-add

/** (batch, latents, categories, outDim): tails of the f32x4 rows, one latent, one category per row, 10×30. */
const ONEHOT_SHAPES = [[1, 1, 2, 1], [3, 2, 3, 7], [5, 4, 8, 33], [4, 1, 5, 8], [7, 30, 10, 19], [
  100,
  30,
  10,
  256,
]];

/** Categories with repeats within a latent across images (so the scatter-add adds several rows into one). */
function categories(random: () => number, batch: number, latents: number, n: number): Int32Array {
  return Int32Array.from({ length: batch * latents }, () => Math.min(n - 1, Math.floor(random() * n)));
}

forEachBuild("onehot_linear_forward equals linear_forward of the one-hot codes", async (backend) => {
  const random = testRandom(15);
  for (const [batch, latents, n, outDim] of ONEHOT_SHAPES) {
    const sample = categories(random, batch, latents, n);
    const w = uniformArray(random, latents * n * outDim), b = uniformArray(random, outDim);
    const params = [batch, latents, n, outDim];
    // A sum of latents + 1 terms in order: the f32 rounding of each partial sum.
    const tol = { atol: 2e-7 * (latents + 1), rtol: 1e-6 };
    await checkKernel(
      backend,
      "onehot_linear_forward",
      [uniformArray(random, batch * outDim), w, b, sample],
      params,
      tol,
    );
    // The same layer through the dense kernel on the one-hot matrix.
    const codes = Float32Array.from(ref.onehotMatrix(Float64Array.from(sample), batch, latents, n));
    const [dense] = await runKernel(backend, "linear_forward", [
      new Float32Array(batch * outDim),
      codes,
      w,
      b,
    ], [
      batch,
      latents * n,
      outDim,
    ]);
    const [gathered] = await runKernel(backend, "onehot_linear_forward", [
      new Float32Array(batch * outDim),
      w,
      b,
      sample,
    ], params);
    assertClose(gathered, dense, { ...tol, label: `gather = dense product, ${params}` });
  }
});

forEachBuild(
  "onehot_linear_backward scatter-adds dy into the sampled rows of dw and Σ dy into db",
  async (backend) => {
    const random = testRandom(16);
    for (const [batch, latents, n, outDim] of ONEHOT_SHAPES) {
      const sample = categories(random, batch, latents, n);
      const arrays = [
        uniformArray(random, latents * n * outDim), // dw, accumulated into
        uniformArray(random, outDim), // db
        uniformArray(random, batch * outDim), // dy
        sample,
      ];
      await checkKernel(backend, "onehot_linear_backward", arrays, [batch, latents, n, outDim], {
        atol: 2e-7 * (batch + 1),
        rtol: 1e-6,
      });
    }
  },
);

Deno.test("one-hot oracle backward equals central differences of its forward in w and b", () => {
  const random = testRandom(17);
  const [batch, latents, n, outDim] = [4, 3, 3, 5];
  const sample = Float64Array.from(categories(random, batch, latents, n));
  checkGradient(
    "onehot_linear",
    ([w, b]) => {
      const out = zeros(batch * outDim);
      ref.onehot_linear_forward(out, w, b, sample, batch, latents, n, outDim);
      return out;
    },
    (_, dy) => {
      const [dw, db] = [zeros(latents * n * outDim), zeros(outDim)];
      ref.onehot_linear_backward(dw, db, dy, sample, batch, latents, n, outDim);
      return [dw, db];
    },
    [f64(uniformArray(random, latents * n * outDim)), f64(uniformArray(random, outDim))],
    f64(uniformArray(random, batch * outDim)),
  );
});

// ------------------------------------------------------------------------------------------------------
// activations

const COUNTS = [1, 3, 4, 7, 64, 1001];
const ELEMENTWISE: Tolerance = { atol: 1e-7, rtol: 2e-6 };

forEachBuild("relu and leaky relu forward/backward match the oracle", async (backend) => {
  const random = testRandom(21);
  for (const count of COUNTS) {
    const x = uniformArray(random, count, -3, 3);
    x[0] = 0; // the kink: relu'(0) = 0, leaky'(0) = slope by convention
    const dx = uniformArray(random, count), dy = uniformArray(random, count);
    const out = new Float32Array(count);
    await checkKernel(backend, "relu_forward", [out, x], [count], { atol: 0, rtol: 0 });
    await checkKernel(backend, "relu_backward", [dx, dy, x], [count], ELEMENTWISE);
    for (const slope of [0.3, 0.01]) {
      await checkKernel(backend, "leaky_relu_forward", [out, x], [count, slope], ELEMENTWISE);
      await checkKernel(backend, "leaky_relu_backward", [dx, dy, x], [count, slope], ELEMENTWISE);
    }
  }
});

forEachBuild("sigmoid forward/backward match the oracle, also at extreme logits", async (backend) => {
  const random = testRandom(22);
  for (const count of COUNTS) {
    const x = uniformArray(random, count, -20, 20);
    const extremes = [-200, -104, -90, -87.5, -40, -1e-8, 0, 1e-8, 17, 40, 88, 90, 200];
    extremes.slice(0, count).forEach((v, i) => (x[i] = v));
    await checkKernel(backend, "sigmoid_forward", [new Float32Array(count), x], [count], {
      atol: 1e-30, // σ(−104) ≈ 7e-46 underflows in f32
      rtol: 2e-6,
    });
    const y = uniformArray(random, count, 0, 1);
    await checkKernel(backend, "sigmoid_backward", [
      uniformArray(random, count),
      uniformArray(random, count),
      y,
    ], [
      count,
    ], ELEMENTWISE);
  }
});

forEachBuild(
  "tanh forward matches the oracle to 1.5 ulp, odd bit for bit, at every magnitude",
  async (backend) => {
    const random = testRandom(24);
    // Both sides of the switch to exp at 0.75, saturation (tanh rounds to 1 from about 9.01), ±0, ±∞.
    const extremes = [
      -1e30,
      -200,
      -9.1,
      -0.75,
      -0.7499999,
      -1e-8,
      -0,
      0,
      1e-30,
      1e-4,
      0.5,
      0.75,
      0.7592115,
      3,
      10,
      44.4,
      89,
      1e30,
      Infinity,
      -Infinity,
    ];
    for (const count of [...COUNTS, extremes.length]) {
      const x = uniformArray(random, count, -6, 6);
      extremes.slice(0, count).forEach((v, i) => (x[i] = v));
      // 1.5 ulp (docs/math.md §4.12) is at most a relative 1.5·2⁻²³ of the exact value.
      await checkKernel(backend, "tanh_forward", [uniformArray(random, count), x], [count], {
        atol: 0,
        rtol: 1.5 * 2 ** -23,
      });
      const [y] = await runKernel(backend, "tanh_forward", [new Float32Array(count), x], [count]);
      const [yNeg] = await runKernel(backend, "tanh_forward", [new Float32Array(count), x.map((v) => -v)], [
        count,
      ]);
      y.forEach((v, i) =>
        assert(Object.is(yNeg[i], -v), `tanh(${-x[i]}) = ${yNeg[i]}, not −tanh(${x[i]}) = ${-v}`)
      );
      assert(y.every((v) => Math.abs(v) <= 1), `|tanh| ≤ 1 and never NaN: ${y}`);
    }
  },
);

forEachBuild(
  "tanh backward matches the oracle and keeps saturated units' derivatives relative",
  async (backend) => {
    const random = testRandom(25);
    for (const count of COUNTS) {
      // Accumulating into random dx, from outputs of the forward, so y ∈ (−1, 1).
      const y = uniformArray(random, count, -1, 1);
      await checkKernel(
        backend,
        "tanh_backward",
        [uniformArray(random, count), uniformArray(random, count), y],
        [count],
        ELEMENTWISE,
      );
    }
    // Near |y| = 1, 1 − y² is small: y = ±(1 − k·2⁻²⁴) gives 1 − y² ≈ k·2⁻²³, which f32 y·y rounded near 1
    // would get wrong by up to k·2⁻²⁵ of itself. From dx = 0, each entry is dy·(1 − y²) alone.
    const y = Float32Array.from(
      [1, 3, 100, 1000, 3000, 40000, 1 << 22].flatMap((k) => [1 - k * 2 ** -24, k * 2 ** -24 - 1]),
    );
    const count = y.length;
    const dy = uniformArray(random, count, 0.5, 2);
    await checkKernel(backend, "tanh_backward", [new Float32Array(count), dy, y], [count], {
      atol: 0,
      rtol: 1e-6,
    });
  },
);

Deno.test("activation oracle backwards equal central differences", () => {
  const random = testRandom(23);
  const n = 9;
  const x = f64(awayFromZero(random, n, -3, 3, 1e-3));
  const dOut = f64(uniformArray(random, n));
  const unary = (fwd: (o: F64, x: F64) => void) => ([v]: F64[]) => {
    const o = zeros(n);
    fwd(o, v);
    return o;
  };
  checkGradient(
    "relu",
    unary((o, v) => ref.relu_forward(o, v, n)),
    ([v], dy) => {
      const d = zeros(n);
      ref.relu_backward(d, dy, v, n);
      return [d];
    },
    [x],
    dOut,
  );
  checkGradient(
    "leaky_relu",
    unary((o, v) => ref.leaky_relu_forward(o, v, n, 0.3)),
    ([v], dy) => {
      const d = zeros(n);
      ref.leaky_relu_backward(d, dy, v, n, 0.3);
      return [d];
    },
    [x],
    dOut,
  );
  checkGradient(
    "sigmoid",
    unary((o, v) => ref.sigmoid_forward(o, v, n)),
    ([v], dy) => {
      const y = zeros(n), d = zeros(n);
      ref.sigmoid_forward(y, v, n);
      ref.sigmoid_backward(d, dy, y, n);
      return [d];
    },
    [x],
    dOut,
  );
  checkGradient(
    "tanh",
    unary((o, v) => ref.tanh_forward(o, v, n)),
    ([v], dy) => {
      const y = zeros(n), d = zeros(n);
      ref.tanh_forward(y, v, n);
      ref.tanh_backward(d, dy, y, n);
      return [d];
    },
    [x],
    dOut,
  );
});

// ------------------------------------------------------------------------------------------------------
// BCE with logits

const BCE_SHAPES = [[1, 1], [3, 7], [2, 13], [4, 64], [2, 784]];

forEachBuild("bce_logits forward/backward match the oracle, stable at extreme logits", async (backend) => {
  const random = testRandom(31);
  for (const [batch, dim] of BCE_SHAPES) {
    const count = batch * dim;
    const z = uniformArray(random, count, -12, 12);
    const t = uniformArray(random, count, 0, 1);
    const extremes = [-300, -100, -50, 0, 30, 100, 300];
    extremes.slice(0, count).forEach((v, i) => {
      z[i] = v;
      t[i] = i % 2; // exact 0/1 targets, as binarised images give
    });
    // A row sums dim terms of size up to |z|: relative accuracy of the sum, plus ε per term.
    await checkKernel(backend, "bce_logits_forward", [new Float32Array(batch), z, t], [batch, dim], {
      atol: 1e-6 * dim,
      rtol: 1e-5,
    });
    const logits = await runKernel(backend, "bce_logits_forward", [new Float32Array(batch), z, t], [
      batch,
      dim,
    ]);
    assert(logits[0].every(Number.isFinite), "loss is finite at extreme logits");
    for (const scale of [1, 0.01]) {
      await checkKernel(backend, "bce_logits_backward", [uniformArray(random, count), z, t], [count, scale], {
        atol: 1e-7,
        rtol: 2e-6,
      });
    }
  }
});

forEachBuild(
  "bce_logits_forward keeps relative accuracy for confident correct predictions",
  async (backend) => {
    // t = 0 with z ≪ 0, or t = 1 with z ≫ 0: the loss is log(1 + e^{−|z|}) ≈ e^{−|z|}, far below 1 ulp of 1.
    const random = testRandom(33);
    const count = 61;
    const z = uniformArray(random, count, 8, 80).map((v, i) => (i % 2 ? v : -v));
    const t = Float32Array.from({ length: count }, (_, i) => i % 2);
    await checkKernel(backend, "bce_logits_forward", [new Float32Array(count), z, t], [count, 1], {
      atol: 0,
      rtol: 1e-5,
    });
  },
);

Deno.test("bce_logits oracle backward equals central differences", () => {
  const random = testRandom(32);
  const [batch, dim] = [2, 5];
  const z = f64(uniformArray(random, batch * dim, -6, 6));
  const t = f64(uniformArray(random, batch * dim, 0, 1));
  const scale = 0.7;
  checkGradient(
    "bce_logits",
    ([v]) => {
      const loss = zeros(batch);
      ref.bce_logits_forward(loss, v, t, batch, dim);
      return loss;
    },
    ([v]) => {
      const d = zeros(batch * dim);
      ref.bce_logits_backward(d, v, t, batch * dim, scale);
      return [d];
    },
    [z],
    new Float64Array(batch).fill(scale),
  );
});

// ------------------------------------------------------------------------------------------------------
// Gaussian negative log-likelihood

const GAUSSIAN_SHAPES = [[1, 1], [3, 7], [2, 13], [4, 64], [2, 785]];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

forEachBuild(
  "gaussian_nll forward/backward match the oracle for σ = 1, σ ≠ 1 and σ² beyond f32",
  async (backend) => {
    const random = testRandom(34);
    for (const [batch, dim] of GAUSSIAN_SHAPES) {
      const count = batch * dim;
      for (const sigma of [1, 0.3, 2.5, 1e-3, 40]) {
        const mean = uniformArray(random, count, -2, 2), target = uniformArray(random, count, -2, 2);
        // A row sums dim terms of size ≤ (4/σ)²/2 + |log σ + ½ log 2π|: f32 accumulation error ~ ε per term.
        const term = 8 / (sigma * sigma) + Math.abs(Math.log(sigma) + HALF_LOG_2PI);
        await checkKernel(backend, "gaussian_nll_forward", [uniformArray(random, batch), mean, target], [
          batch,
          dim,
          sigma,
        ], { atol: 2e-7 * dim * term, rtol: 1e-6 });
        for (const scale of [1, 0.01]) {
          await checkKernel(
            backend,
            "gaussian_nll_backward",
            [uniformArray(random, count), mean, target],
            [count, scale, sigma],
            { atol: 1e-7, rtol: 2e-6 },
          );
        }
      }
      // σ² out of the f32 range (σ below about 10⁻¹⁹ or above 10¹⁹) with residuals of the size of σ: both kernels
      // must scale by 1/σ without forming σ².
      for (const sigma of [1e-25, 1e25]) {
        const mean = uniformArray(random, count, -2, 2).map((v) => v * sigma);
        const target = uniformArray(random, count, -2, 2).map((v) => v * sigma);
        const term = 8 + Math.abs(Math.log(sigma) + HALF_LOG_2PI);
        await checkKernel(backend, "gaussian_nll_forward", [uniformArray(random, batch), mean, target], [
          batch,
          dim,
          sigma,
        ], { atol: 2e-7 * dim * term, rtol: 1e-6 });
        await checkKernel(
          backend,
          "gaussian_nll_backward",
          [new Float32Array(count), mean, target],
          [count, 0.5, sigma],
          { atol: 0, rtol: 2e-6 },
        );
      }
    }
  },
);

forEachBuild(
  "gaussian_nll at mean = target is dim·(log σ + ½ log 2π), and its gradient 0",
  async (backend) => {
    const random = testRandom(35);
    for (const [batch, dim] of GAUSSIAN_SHAPES) {
      const count = batch * dim;
      const x = uniformArray(random, count, -3, 3);
      for (const sigma of [1, 0.3, 2.5, 1e-3, 40]) {
        const [loss] = await runKernel(backend, "gaussian_nll_forward", [uniformArray(random, batch), x, x], [
          batch,
          dim,
          sigma,
        ]);
        const want = new Float64Array(batch).fill(dim * (Math.log(Math.fround(sigma)) + HALF_LOG_2PI));
        assertClose(loss, want, { atol: 1e-6 * dim, rtol: 1e-6, label: `loss at the mean, σ = ${sigma}` });
        const dMean = uniformArray(random, count);
        const [d] = await runKernel(backend, "gaussian_nll_backward", [dMean, x, x], [count, 1, sigma]);
        assertEquals(d, dMean, "no gradient at the mean");
      }
    }
  },
);

Deno.test("gaussian_nll oracle backward equals central differences", () => {
  const random = testRandom(36);
  const [batch, dim] = [3, 5];
  const target = f64(uniformArray(random, batch * dim, -2, 2));
  for (const sigma of [1, 0.4]) {
    const scale = 0.7;
    checkGradient(
      `gaussian_nll σ = ${sigma}`,
      ([m]) => {
        const loss = zeros(batch);
        ref.gaussian_nll_forward(loss, m, target, batch, dim, sigma);
        return loss;
      },
      ([m]) => {
        const d = zeros(batch * dim);
        ref.gaussian_nll_backward(d, m, target, batch * dim, scale, sigma);
        return [d];
      },
      [f64(uniformArray(random, batch * dim, -2, 2))],
      new Float64Array(batch).fill(scale),
    );
  }
});

// ------------------------------------------------------------------------------------------------------
// softmax and log-softmax

const ROW_SHAPES = [[1, 1], [3, 2], [5, 10], [4, 64], [2, 7], [30, 3]];

forEachBuild("softmax and log_softmax forward/backward match the oracle", async (backend) => {
  const random = testRandom(41);
  for (const [rows, n] of ROW_SHAPES) {
    for (const scale of [1, 8]) {
      const x = uniformArray(random, rows * n, -scale, scale);
      const out = new Float32Array(rows * n);
      await checkKernel(backend, "softmax_forward", [out, x], [rows, n], { atol: 1e-7, rtol: 1e-5 });
      await checkKernel(backend, "log_softmax_forward", [out, x], [rows, n], { atol: 1e-6, rtol: 1e-6 });
      const [y] = await runKernel(backend, "softmax_forward", [out, x], [rows, n]);
      const [ly] = await runKernel(backend, "log_softmax_forward", [out, x], [rows, n]);
      for (let r = 0; r < rows; r++) {
        const sum = y.subarray(r * n, (r + 1) * n).reduce((a, v) => a + v, 0);
        assert(Math.abs(sum - 1) < 1e-5, `softmax row ${r} sums to ${sum}`);
      }
      const grads = [uniformArray(random, rows * n), uniformArray(random, rows * n)];
      await checkKernel(backend, "softmax_backward", [...grads, y], [rows, n], { atol: 1e-6, rtol: 1e-5 });
      await checkKernel(backend, "log_softmax_backward", [...grads, ly], [rows, n], {
        atol: 1e-6,
        rtol: 1e-5,
      });
    }
  }
});

forEachBuild("softmax gives exact zeros and finite gradients for masked (−∞) logits", async (backend) => {
  const x = Float32Array.from([0.5, -Infinity, 2, -Infinity, 1, 0]);
  const [y] = await runKernel(backend, "softmax_forward", [new Float32Array(6), x], [2, 3]);
  assertEquals([y[1], y[3]], [0, 0]);
  assertClose(y, runOracle("softmax_forward", [y, x], [2, 3])[0], { atol: 1e-7, rtol: 1e-6 });
  const [d] = await runKernel(backend, "softmax_backward", [
    new Float32Array(6),
    Float32Array.of(1, 2, 3, 4, 5, 6),
    y,
  ], [
    2,
    3,
  ]);
  assert(d.every(Number.isFinite));
  assertEquals([d[1], d[3]], [0, 0]);
});

Deno.test("softmax and log_softmax oracle backwards equal central differences", () => {
  const random = testRandom(42);
  const [rows, n] = [3, 5];
  const x = f64(uniformArray(random, rows * n, -2, 2));
  const dOut = f64(uniformArray(random, rows * n));
  for (
    const [name, fwd, bwd] of [
      ["softmax", ref.softmax_forward, ref.softmax_backward],
      ["log_softmax", ref.log_softmax_forward, ref.log_softmax_backward],
    ] as const
  ) {
    checkGradient(
      name,
      ([v]) => {
        const y = zeros(rows * n);
        fwd(y, v, rows, n);
        return y;
      },
      ([v], dy) => {
        const y = zeros(rows * n), d = zeros(rows * n);
        fwd(y, v, rows, n);
        bwd(d, dy, y, rows, n);
        return [d];
      },
      [x],
      dOut,
    );
  }
});

// ------------------------------------------------------------------------------------------------------
// softmax cross-entropy with integer labels, and accuracy

/** (batch, classes): one class, pairs, f32x4 tails, a row longer than the WASM kernels' exp chunk (1024). */
const CE_SHAPES = [[1, 1], [3, 2], [5, 10], [4, 64], [2, 7], [30, 3], [3, 1029]];

/** Random labels, with the first two rows at 0 and classes − 1. */
function labelsFor(random: () => number, batch: number, classes: number): Int32Array {
  const labels = Int32Array.from(
    { length: batch },
    () => Math.min(classes - 1, Math.floor(random() * classes)),
  );
  labels[0] = 0;
  if (batch > 1) labels[1] = classes - 1;
  return labels;
}

forEachBuild(
  "softmax_cross_entropy forward/backward match the oracle, labels at 0 and classes − 1, large logits",
  async (backend) => {
    const random = testRandom(43);
    for (const [batch, classes] of CE_SHAPES) {
      const count = batch * classes;
      const labels = labelsFor(random, batch, classes);
      // Logits near 5·10⁴ overflow e^z unless the row maximum is subtracted first.
      for (const [spread, shift] of [[1, 0], [8, 0], [40, 0], [8, 5e4], [8, -5e4]]) {
        const logits = uniformArray(random, count, shift - spread, shift + spread);
        await checkKernel(backend, "softmax_cross_entropy_forward", [
          uniformArray(random, batch),
          logits,
          labels,
        ], [
          batch,
          classes,
        ], { atol: 1e-6, rtol: 1e-5 });
        for (const scale of [1, 0.01]) {
          await checkKernel(
            backend,
            "softmax_cross_entropy_backward",
            [uniformArray(random, count), logits, labels],
            [batch, classes, scale],
            { atol: 1e-7, rtol: 1e-5 },
          );
        }
        // softmax − onehot sums to 0 over each row.
        const [d] = await runKernel(backend, "softmax_cross_entropy_backward", [
          new Float32Array(count),
          logits,
          labels,
        ], [batch, classes, 1]);
        for (let b = 0; b < batch; b++) {
          const sum = d.subarray(b * classes, (b + 1) * classes).reduce((a, v) => a + v, 0);
          // Each of the classes entries is rounded once, by at most 2⁻²⁴ of its size ≤ 1.
          assert(
            Math.abs(sum) <= classes * 2 ** -23,
            `row ${b} of ${batch}×${classes}: gradient sums to ${sum}`,
          );
        }
      }
    }
  },
);

forEachBuild(
  "softmax_cross_entropy keeps relative accuracy for confident correct predictions",
  async (backend) => {
    // The label's logit 12 to 60 above the rest: the loss is about Σ e^{−gap}, far below 1 ulp of 1, and so are
    // the gradient's entries, the label's −Σ_{j ≠ label} softmax_j included.
    const random = testRandom(44);
    const [batch, classes] = [9, 7];
    const labels = labelsFor(random, batch, classes);
    const logits = uniformArray(random, batch * classes);
    for (let b = 0; b < batch; b++) logits[b * classes + labels[b]] = 1 + 12 + 48 * random();
    await checkKernel(backend, "softmax_cross_entropy_forward", [new Float32Array(batch), logits, labels], [
      batch,
      classes,
    ], { atol: 0, rtol: 1e-5 });
    await checkKernel(
      backend,
      "softmax_cross_entropy_backward",
      [new Float32Array(batch * classes), logits, labels],
      [batch, classes, 1],
      { atol: 0, rtol: 1e-5 },
    );
  },
);

Deno.test("softmax_cross_entropy oracle backward equals central differences", () => {
  const random = testRandom(45);
  const [batch, classes] = [3, 5];
  const labels = Float64Array.from(labelsFor(random, batch, classes));
  const scale = 0.6;
  checkGradient(
    "softmax_cross_entropy",
    ([z]) => {
      const loss = zeros(batch);
      ref.softmax_cross_entropy_forward(loss, z, labels, batch, classes);
      return loss;
    },
    ([z]) => {
      const d = zeros(batch * classes);
      ref.softmax_cross_entropy_backward(d, z, labels, batch, classes, scale);
      return [d];
    },
    [f64(uniformArray(random, batch * classes, -3, 3))],
    new Float64Array(batch).fill(scale),
  );
});

forEachBuild("argmax_equals takes the first largest logit: ties go to the lowest index", async (backend) => {
  const random = testRandom(46);
  for (const [batch, classes] of [[1, 1], [3, 2], [7, 5], [9, 10], [5, 64], [3, 1030]]) {
    // Logits from {0, 1, 2}: most rows have a tied maximum. Labels: the first maximum, a later tied one, 0,
    // classes − 1 or a random class, in turn.
    const logits = Float32Array.from({ length: batch * classes }, () => Math.floor(random() * 3));
    const labels = Int32Array.from({ length: batch }, (_, b) => {
      const row = logits.subarray(b * classes, (b + 1) * classes);
      const top = Math.max(...row);
      const tied = [...row.keys()].filter((j) => row[j] === top);
      return [tied[0], tied.at(-1) as number, 0, classes - 1, Math.floor(random() * classes)][b % 5];
    });
    const arrays = [uniformArray(random, batch), logits, labels];
    const [out] = await runKernel(backend, "argmax_equals", arrays, [batch, classes]);
    assertEquals(
      out,
      Float32Array.from(runOracle("argmax_equals", arrays, [batch, classes])[0]),
      `${batch}×${classes}`,
    );
  }
  // Written out: −0 and +0 tie, a tie at the maximum after a smaller entry, −∞ rows, a large logit at the end.
  const rows: [number[], number, number][] = [
    [[-0, 0], 0, 1],
    [[-0, 0], 1, 0],
    [[1, 5, 5], 1, 1],
    [[1, 5, 5], 2, 0],
    [[-Infinity, -Infinity], 0, 1],
    [[3e38, -3e38, 3.1e38], 2, 1],
    [[2, 1, 0], 0, 1],
  ];
  for (const [row, label, hit] of rows) {
    const [out] = await runKernel(backend, "argmax_equals", [
      Float32Array.of(0.5),
      Float32Array.from(row),
      Int32Array.of(label),
    ], [1, row.length]);
    assertEquals(out[0], hit, `row ${row}, label ${label}`);
  }
});

// ------------------------------------------------------------------------------------------------------
// KL terms

const CATEGORICAL_SHAPES = [[1, 1, 2], [3, 4, 8], [2, 30, 10], [5, 3, 64], [2, 5, 3]];

forEachBuild("kl_categorical forward/backward match the oracle; KL ≥ 0 and 0 at uniform", async (backend) => {
  const random = testRandom(51);
  for (const [batch, latents, categories] of CATEGORICAL_SHAPES) {
    const rows = batch * latents, count = rows * categories;
    for (const scale of [0.5, 6]) {
      const logits = uniformArray(random, count, -scale, scale);
      // Σ_l of per-row terms ≤ log C each, with f32 error ~ ε·log C per row.
      await checkKernel(backend, "kl_categorical_forward", [new Float32Array(batch), logits], [
        batch,
        latents,
        categories,
      ], { atol: 2e-6 * latents * Math.log(categories + 1), rtol: 1e-5 });
      const [kl] = await runKernel(backend, "kl_categorical_forward", [new Float32Array(batch), logits], [
        batch,
        latents,
        categories,
      ]);
      assert(kl.every((v) => v >= -1e-5), `KL ≥ 0: ${kl}`);
      for (const s of [1, 0.01]) {
        await checkKernel(backend, "kl_categorical_backward", [uniformArray(random, count), logits], [
          rows,
          categories,
          s,
        ], { atol: 1e-6, rtol: 1e-5 });
      }
    }
    const [kl] = await runKernel(backend, "kl_categorical_forward", [
      new Float32Array(batch),
      new Float32Array(count).fill(0.25),
    ], [batch, latents, categories]);
    assertClose(kl, new Float64Array(batch), { atol: 2e-6 * latents, rtol: 0, label: "KL at uniform" });
  }
});

forEachBuild("kl_categorical ignores masked (−∞) categories", async (backend) => {
  const logits = Float32Array.from([0, -Infinity, 1, -Infinity, 0.5, 0.5]);
  const [kl] = await runKernel(backend, "kl_categorical_forward", [new Float32Array(1), logits], [1, 2, 3]);
  assertClose(kl, runOracle("kl_categorical_forward", [kl, logits], [1, 2, 3])[0], {
    atol: 1e-6,
    rtol: 1e-6,
  });
  const [d] = await runKernel(backend, "kl_categorical_backward", [new Float32Array(6), logits], [2, 3, 1]);
  assert(d.every(Number.isFinite), `finite gradient: ${d}`);
  assertEquals([d[1], d[3]], [0, 0]);
});

Deno.test("kl_categorical oracle backward equals central differences", () => {
  const random = testRandom(52);
  const [batch, latents, categories] = [2, 3, 4];
  const scale = 0.8;
  checkGradient(
    "kl_categorical",
    ([v]) => {
      const kl = zeros(batch);
      ref.kl_categorical_forward(kl, v, batch, latents, categories);
      return kl;
    },
    ([v]) => {
      const d = zeros(v.length);
      ref.kl_categorical_backward(d, v, batch * latents, categories, scale);
      return [d];
    },
    [f64(uniformArray(random, batch * latents * categories, -2, 2))],
    new Float64Array(batch).fill(scale),
  );
});

/** (batch, latents, categories) of the learned-prior KL: CATEGORICAL_SHAPES and a row longer than 1024. */
const PRIOR_SHAPES = [...CATEGORICAL_SHAPES, [2, 2, 1030]];

forEachBuild("kl_categorical_prior forward/backward match the oracle; KL ≥ 0", async (backend) => {
  const random = testRandom(53);
  for (const [batch, latents, categories] of PRIOR_SHAPES) {
    const rows = batch * latents, count = rows * categories, priorCount = latents * categories;
    // Spreads of the logits up to 30: posteriors and priors with entries that underflow in f32.
    for (const spread of [0.5, 6, 30]) {
      const logits = uniformArray(random, count, -spread, spread);
      const prior = uniformArray(random, priorCount, -spread, spread);
      // A row's terms q·(log q − log p) have |log q − log p| ≲ 4·spread + log C, each rounded to f32.
      const size = latents * (4 * spread + Math.log(categories + 1));
      await checkKernel(
        backend,
        "kl_categorical_prior_forward",
        [uniformArray(random, batch), logits, prior],
        [
          batch,
          latents,
          categories,
        ],
        { atol: 1e-6 * size, rtol: 1e-5 },
      );
      const [kl] = await runKernel(backend, "kl_categorical_prior_forward", [
        new Float32Array(batch),
        logits,
        prior,
      ], [
        batch,
        latents,
        categories,
      ]);
      assert(kl.every((v) => v >= -1e-5), `KL ≥ 0: ${kl}`);
      for (const scale of [1, 0.01]) {
        await checkKernel(
          backend,
          "kl_categorical_prior_backward",
          [uniformArray(random, count), uniformArray(random, priorCount), logits, prior],
          [batch, latents, categories, scale],
          { atol: 1e-6 * (batch + 4 * spread), rtol: 1e-5 },
        );
      }
      // Each row of dLogits (⟨q, d − ⟨q, d⟩⟩ = 0) and each latent's dPrior (Σ (p − q) = 0) sums to 0.
      const [dLogits, dPrior] = await runKernel(backend, "kl_categorical_prior_backward", [
        new Float32Array(count),
        new Float32Array(priorCount),
        logits,
        prior,
      ], [batch, latents, categories, 1]);
      const rowSums = (a: Float32Array) =>
        Array.from(
          { length: a.length / categories },
          (_, r) => a.subarray(r * categories, (r + 1) * categories).reduce((x, v) => x + v, 0),
        );
      rowSums(dLogits).forEach((v, r) =>
        assert(Math.abs(v) < 1e-5 * (1 + spread), `dLogits row ${r} sums to ${v}`)
      );
      rowSums(dPrior).forEach((v, l) => assert(Math.abs(v) < 1e-5 * batch, `dPrior row ${l} sums to ${v}`));
    }
  }
});

forEachBuild(
  "kl_categorical_prior is 0 where q = p, and kl_categorical's KL and gradient at a uniform prior",
  async (backend) => {
    const random = testRandom(54);
    for (const [batch, latents, categories] of PRIOR_SHAPES) {
      const rows = batch * latents, count = rows * categories, priorCount = latents * categories;
      const shape = [batch, latents, categories];
      // Every posterior row equal to its latent's prior row.
      const prior = uniformArray(random, priorCount, -5, 5);
      const same = Float32Array.from({ length: count }, (_, i) => prior[i % priorCount]);
      const [kl] = await runKernel(backend, "kl_categorical_prior_forward", [
        uniformArray(random, batch),
        same,
        prior,
      ], shape);
      assertClose(kl, new Float64Array(batch), { atol: 1e-6 * latents, rtol: 0, label: "KL(p ‖ p)" });
      const [dLogits, dPrior] = await runKernel(backend, "kl_categorical_prior_backward", [
        new Float32Array(count),
        new Float32Array(priorCount),
        same,
        prior,
      ], [...shape, 1]);
      assertClose(dLogits, new Float64Array(count), { atol: 1e-6, rtol: 0, label: "∂KL/∂logits at q = p" });
      assertClose(dPrior, new Float64Array(priorCount), {
        atol: 1e-6 * batch,
        rtol: 0,
        label: "∂KL/∂prior at q = p",
      });

      // A constant prior row is the uniform prior: the kernels of docs/math.md §4.7 give the same values.
      const logits = uniformArray(random, count, -6, 6);
      const flat = new Float32Array(priorCount).fill(0.7);
      const [klPrior] = await runKernel(backend, "kl_categorical_prior_forward", [
        new Float32Array(batch),
        logits,
        flat,
      ], shape);
      const [klUniform] = await runKernel(backend, "kl_categorical_forward", [
        new Float32Array(batch),
        logits,
      ], shape);
      assertClose(klPrior, klUniform, {
        atol: 2e-6 * latents * Math.log(categories + 1),
        rtol: 1e-5,
        label: "uniform prior",
      });
      const start = uniformArray(random, count);
      const [dPriorKl] = await runKernel(backend, "kl_categorical_prior_backward", [
        start,
        new Float32Array(priorCount),
        logits,
        flat,
      ], [...shape, 0.5]);
      const [dUniform] = await runKernel(backend, "kl_categorical_backward", [start, logits], [
        rows,
        categories,
        0.5,
      ]);
      assertClose(dPriorKl, dUniform, { atol: 1e-6, rtol: 1e-5, label: "uniform prior: dLogits" });
    }
  },
);

forEachBuild("kl_categorical_prior ignores masked (−∞) posterior categories", async (backend) => {
  const logits = Float32Array.from([0, -Infinity, 1, -Infinity, 0.5, 0.5]);
  const prior = Float32Array.from([0.2, -1, 0.4]);
  const [kl] = await runKernel(
    backend,
    "kl_categorical_prior_forward",
    [new Float32Array(2), logits, prior],
    [2, 1, 3],
  );
  assertClose(kl, runOracle("kl_categorical_prior_forward", [kl, logits, prior], [2, 1, 3])[0], {
    atol: 1e-6,
    rtol: 1e-6,
  });
  const arrays = [new Float32Array(6), new Float32Array(3), logits, prior];
  const [d, dPrior] = await runKernel(backend, "kl_categorical_prior_backward", arrays, [2, 1, 3, 1]);
  assert([...d, ...dPrior].every(Number.isFinite), `finite gradients: ${d} ${dPrior}`);
  assertEquals([d[1], d[3]], [0, 0]);
  await checkKernel(backend, "kl_categorical_prior_backward", arrays, [2, 1, 3, 1], {
    atol: 1e-6,
    rtol: 1e-5,
  });
});

Deno.test("kl_categorical_prior oracle backward equals central differences in logits and prior", () => {
  const random = testRandom(55);
  const [batch, latents, categories] = [3, 2, 4];
  const scale = 0.8;
  checkGradient(
    "kl_categorical_prior",
    ([v, prior]) => {
      const kl = zeros(batch);
      ref.kl_categorical_prior_forward(kl, v, prior, batch, latents, categories);
      return kl;
    },
    ([v, prior]) => {
      const d = zeros(v.length), dPrior = zeros(prior.length);
      ref.kl_categorical_prior_backward(d, dPrior, v, prior, batch, latents, categories, scale);
      return [d, dPrior];
    },
    [
      f64(uniformArray(random, batch * latents * categories, -2, 2)),
      f64(uniformArray(random, latents * categories, -2, 2)),
    ],
    new Float64Array(batch).fill(scale),
  );
});

const BERNOULLI_SHAPES = [[1, 1], [3, 5], [4, 200], [2, 7], [1, 4]];

forEachBuild("kl_bernoulli forward/backward match the oracle; KL = 0 where q = p", async (backend) => {
  const random = testRandom(61);
  for (const [batch, latents] of BERNOULLI_SHAPES) {
    const count = batch * latents;
    for (const spread of [2, 12]) {
      const a = uniformArray(random, count, 0.5 - spread / 2, 0.5 + spread / 2);
      const prior = uniformArray(random, latents, -spread / 2, spread / 2);
      await checkKernel(backend, "kl_bernoulli_forward", [new Float32Array(batch), a, prior], [
        batch,
        latents,
      ], {
        atol: 2e-6 * latents,
        rtol: 1e-5,
      });
      for (const s of [1, 0.01]) {
        await checkKernel(
          backend,
          "kl_bernoulli_backward",
          [uniformArray(random, count), uniformArray(random, latents), a, prior],
          [batch, latents, s],
          { atol: 2e-6 * batch, rtol: 1e-5 },
        );
      }
    }
    // 2a − 1 = ρ makes q = p.
    const prior = uniformArray(random, latents, -3, 3);
    const a = Float32Array.from({ length: count }, (_, i) => (prior[i % latents] + 1) / 2);
    const [kl] = await runKernel(backend, "kl_bernoulli_forward", [new Float32Array(batch), a, prior], [
      batch,
      latents,
    ]);
    assertClose(kl, new Float64Array(batch), { atol: 1e-6 * latents, rtol: 0, label: "KL(p ‖ p)" });
  }
});

Deno.test("kl_bernoulli oracle backward equals central differences", () => {
  const random = testRandom(62);
  const [batch, latents] = [3, 4];
  const scale = 1.3;
  checkGradient(
    "kl_bernoulli",
    ([a, prior]) => {
      const kl = zeros(batch);
      ref.kl_bernoulli_forward(kl, a, prior, batch, latents);
      return kl;
    },
    ([a, prior]) => {
      const dA = zeros(batch * latents), dPrior = zeros(latents);
      ref.kl_bernoulli_backward(dA, dPrior, a, prior, batch, latents, scale);
      return [dA, dPrior];
    },
    [f64(uniformArray(random, batch * latents, -2, 3)), f64(uniformArray(random, latents, -3, 3))],
    new Float64Array(batch).fill(scale),
  );
});

// ------------------------------------------------------------------------------------------------------
// Bernoulli VAE: logit pairs, their first entries, binarisation

forEachBuild("bernoulli_logits and first_of_pairs forward/backward match the oracle", async (backend) => {
  const random = testRandom(71);
  for (const count of COUNTS) {
    const a = uniformArray(random, count, -3, 4);
    const pairs = uniformArray(random, 2 * count);
    const dOut = uniformArray(random, count);
    // Outputs start random, so a "written" kernel must overwrite every entry. 1 − a is one correctly rounded
    // f32 subtraction and the rest are copies: the oracle rounded to f32 is exact.
    for (
      const [kernel, arrays] of [
        ["bernoulli_logits", [uniformArray(random, 2 * count), a]],
        ["first_of_pairs", [uniformArray(random, count), pairs]],
        ["first_of_pairs_backward", [uniformArray(random, 2 * count), dOut]],
      ] as const
    ) {
      const [out] = await runKernel(backend, kernel, arrays, [count]);
      assertEquals(out, Float32Array.from(runOracle(kernel, arrays, [count])[0]), `${kernel}(${count})`);
    }
    // Accumulating: dA starts at non-zero gradients.
    await checkKernel(backend, "bernoulli_logits_backward", [uniformArray(random, count), pairs], [count], {
      atol: 2e-7,
      rtol: 2e-6,
    });
  }
});

forEachBuild("the row (a, 1 − a) has P(category 0) = σ(2a − 1)", async (backend) => {
  // bernoulli_logits, softmax over rows of two, first_of_pairs: docs/math.md §4.8's q, kernel by kernel.
  const random = testRandom(72);
  const count = 203;
  const a = uniformArray(random, count, -4, 5);
  const [logits] = await runKernel(backend, "bernoulli_logits", [new Float32Array(2 * count), a], [count]);
  const [soft] = await runKernel(backend, "softmax_forward", [new Float32Array(2 * count), logits], [
    count,
    2,
  ]);
  const [q] = await runKernel(backend, "first_of_pairs", [new Float32Array(count), soft], [count]);
  assertClose(q, Float64Array.from(a, (v) => ref.sigmoid(2 * v - 1)), { atol: 1e-7, rtol: 1e-5, label: "q" });
});

Deno.test("bernoulli_logits and first_of_pairs oracle backwards equal central differences", () => {
  const random = testRandom(73);
  const count = 7;
  checkGradient(
    "bernoulli_logits",
    ([a]) => {
      const logits = zeros(2 * count);
      ref.bernoulli_logits(logits, a, count);
      return logits;
    },
    (_, dLogits) => {
      const dA = zeros(count);
      ref.bernoulli_logits_backward(dA, dLogits, count);
      return [dA];
    },
    [f64(uniformArray(random, count, -2, 3))],
    f64(uniformArray(random, 2 * count)),
  );
  checkGradient(
    "first_of_pairs",
    ([pairs]) => {
      const out = zeros(count);
      ref.first_of_pairs(out, pairs, count);
      return out;
    },
    (_, dOut) => {
      const dPairs = zeros(2 * count);
      ref.first_of_pairs_backward(dPairs, dOut, count);
      return [dPairs];
    },
    [f64(uniformArray(random, 2 * count))],
    f64(uniformArray(random, count)),
  );
});

const BINARIZE_KEY = [0x5eed, 0] as const;
const binarizeParams = (rows: number, dim: number, stream: number, key: readonly number[] = BINARIZE_KEY) => [
  rows,
  dim,
  key[0],
  key[1],
  stream,
  TAG.binarize,
];

forEachBuild(
  "binarize matches the oracle bit for bit, for row ids that are not 0..rows−1",
  async (backend) => {
    const random = testRandom(81);
    // Images' indices in a set: unordered, repeated, large, and −1 (whose bits are the counter word 2³² − 1).
    const ids = [59999, 3, -1, 3, 1234567, 0, 60000];
    for (const [rows, dim] of [[1, 1], [3, 5], [2, 7], [4, 4], [7, 13], [3, 784], [2, 787]]) {
      const x = uniformArray(random, rows * dim, 0, 1);
      const rowIds = Int32Array.from({ length: rows }, (_, r) => ids[r % ids.length]);
      for (
        const [stream, key] of [[0, BINARIZE_KEY], [17, BINARIZE_KEY], [0xffffffff, [
          0xdeadbeef,
          0x1234,
        ]]] as const
      ) {
        const params = binarizeParams(rows, dim, stream, key);
        const arrays = [uniformArray(random, rows * dim), x, rowIds];
        const [out] = await runKernel(backend, "binarize", arrays, params);
        assertEquals(
          out,
          Float32Array.from(runOracle("binarize", arrays, params)[0]),
          `${rows}x${dim} ${params}`,
        );
      }
    }
  },
);

forEachBuild("binarize compares strictly: x = u gives 0, the next f32 above u gives 1", async (backend) => {
  // Word 3 of rows 2092517 and 4627517 of this stream has u = 0 and u = 1 − 2⁻²⁴, the extremes of the
  // uniform (found by search): there x = 0 must still give 0 and x = 1 must still give 1.
  const rowIds = Int32Array.of(2092517, 4627517, 41);
  const [rows, dim, stream] = [rowIds.length, 21, 0];
  const u = (r: number, j: number) =>
    uniformFromWord(streamWord(j, rowIds[r], BINARIZE_KEY, stream, TAG.binarize));
  assertEquals([u(0, 3), u(1, 3)], [0, 1 - 2 ** -24]);
  const each = (f: (u: number) => number) =>
    Float32Array.from({ length: rows * dim }, (_, k) => f(u(Math.floor(k / dim), k % dim)));
  const nextUp = (v: number) => {
    const bits = new Uint32Array(Float32Array.of(v).buffer);
    bits[0]++;
    return new Float32Array(bits.buffer)[0];
  };
  const params = binarizeParams(rows, dim, stream);
  const cases: [string, Float32Array, number][] = [
    ["x = u", each((v) => v), 0],
    // For u = 0 the next f32 is subnormal, which a GPU may flush to 0; the smallest normal stands in.
    ["x = next f32 above u", each((v) => (v === 0 ? 2 ** -126 : nextUp(v))), 1],
    ["x = 0", each(() => 0), 0],
    ["x = 1", each(() => 1), 1],
  ];
  for (const [label, x, bit] of cases) {
    const [out] = await runKernel(
      backend,
      "binarize",
      [new Float32Array(rows * dim).fill(0.5), x, rowIds],
      params,
    );
    assertEquals(out, new Float32Array(rows * dim).fill(bit), label);
  }
});

forEachBuild(
  "binarize gives an image the same bits for the same (row id, stream), others otherwise",
  async (backend) => {
    const random = testRandom(82);
    const dim = 785;
    const image = (id: number) => uniformArray(testRandom(1000 + id), dim, 0, 1);
    // Image 42 first in one batch, second in another: its position in the batch must not matter.
    const run = async (ids: number[], stream: number, images = ids.map(image)) => {
      const x = new Float32Array(ids.length * dim);
      images.forEach((v, r) => x.set(v, r * dim));
      const [out] = await runKernel(backend, "binarize", [
        uniformArray(random, ids.length * dim),
        x,
        Int32Array.from(ids),
      ], binarizeParams(ids.length, dim, stream));
      return ids.map((_, r) => out.subarray(r * dim, (r + 1) * dim));
    };
    const [, first] = await run([7, 42, 10], 5);
    const [again] = await run([42, 99], 5);
    assertEquals(again, first, "same id, same stream: same bits");
    const differences = (p: Float32Array, q: Float32Array) => p.filter((v, j) => v !== q[j]).length;
    const [other] = await run([42], 6);
    assert(differences(other, first) > dim / 10, "another stream redraws the bits");
    const [otherId] = await run([43], 5, [image(42)]);
    assert(differences(otherId, first) > dim / 10, "another id, even with the same pixels, draws other bits");
  },
);

forEachBuild("binarize sets a pixel with probability x", async (backend) => {
  const [rows, dim] = [8, 501];
  for (const p of [0.05, 0.3, 0.9]) {
    const ids = Int32Array.from({ length: rows }, (_, r) => 1000 * r + 3);
    const [out] = await runKernel(backend, "binarize", [
      new Float32Array(rows * dim),
      new Float32Array(rows * dim).fill(p),
      ids,
    ], binarizeParams(rows, dim, 11));
    const mean = out.reduce((s, v) => s + v, 0) / out.length;
    const sigma = Math.sqrt(p * (1 - p) / out.length);
    assert(Math.abs(mean - p) < 5 * sigma, `mean ${mean} for x = ${p} (σ ${sigma})`);
  }
});

const LAYER_KERNELS: readonly KernelName[] = [
  "matmul",
  "matmul_bt",
  "transpose",
  "linear_forward",
  "linear_backward",
  "relu_forward",
  "relu_backward",
  "leaky_relu_forward",
  "leaky_relu_backward",
  "sigmoid_forward",
  "sigmoid_backward",
  "tanh_forward",
  "tanh_backward",
  "bce_logits_forward",
  "bce_logits_backward",
  "gaussian_nll_forward",
  "gaussian_nll_backward",
  "softmax_cross_entropy_forward",
  "softmax_cross_entropy_backward",
  "argmax_equals",
  "softmax_forward",
  "softmax_backward",
  "log_softmax_forward",
  "log_softmax_backward",
  "kl_categorical_forward",
  "kl_categorical_backward",
  "kl_categorical_prior_forward",
  "kl_categorical_prior_backward",
  "kl_bernoulli_forward",
  "kl_bernoulli_backward",
  "bernoulli_logits",
  "bernoulli_logits_backward",
  "first_of_pairs",
  "first_of_pairs_backward",
  "binarize",
  "onehot_linear_forward",
  "onehot_linear_backward",
];

Deno.test("every layer kernel has an oracle taking the same number of arguments", () => {
  for (const k of LAYER_KERNELS) {
    const fn = (ref as unknown as Record<string, OracleFn>)[k];
    assert(typeof fn === "function", `no oracle for ${k}`);
    assertEquals(fn.length, KERNELS[k].buffers.length + KERNELS[k].params.length, k);
  }
});
