// docs/math.md §2.8: the expectations of ST and ReinMax by exact enumeration (each category forced, weighted by π_s),
// against the Euler (first-order) and Heun (second-order) approximations and the true gradient; REINFORCE
// is unbiased by the same enumeration.
import { assert } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { jvp, onehot, reinforceBackward, softmax } from "./reference/estimators.ts";
import { assertClose, row, testRandom, uniformArray } from "./util.ts";
import { type Backend, type EstimatorName, reinforce, sampleWithEstimator } from "../mod.ts";

interface TestFunction {
  f(x: number[]): number;
  grad(x: number[]): number[];
}

function quadratic(n: number, random: () => number): TestFunction {
  const a = Array.from({ length: n }, () => Array.from({ length: n }, () => 2 * random() - 1));
  const b = Array.from({ length: n }, () => 2 * random() - 1);
  return {
    f: (x) => x.reduce((acc, xi, i) => acc + b[i] * xi + xi * x.reduce((s, xj, j) => s + a[i][j] * xj, 0), 0),
    grad: (x) => x.map((_, i) => b[i] + x.reduce((s, xj, j) => s + (a[i][j] + a[j][i]) * xj, 0)),
  };
}

function smooth(n: number, random: () => number): TestFunction {
  const w = Array.from({ length: n }, () => 2 * random() - 1);
  const v = Array.from({ length: n }, () => 2 * random() - 1);
  const dot = (p: number[], x: number[]) => p.reduce((acc, pi, i) => acc + pi * x[i], 0);
  return {
    f: (x) => Math.sin(3 * dot(w, x)) + Math.exp(dot(v, x)),
    grad: (x) => x.map((_, i) => 3 * Math.cos(3 * dot(w, x)) * w[i] + Math.exp(dot(v, x)) * v[i]),
  };
}

/** E_s[estimator gradient] = Σ_s π_s · backward(sample = s, gHard = ∇f(I_s)). */
async function expectation(backend: Backend, name: EstimatorName, theta: number[], fn: TestFunction) {
  const n = theta.length;
  const logits = Float32Array.from({ length: n * n }, (_, i) => theta[i % n]);
  const sample = Int32Array.from({ length: n }, (_, s) => s);
  const gHard = Float32Array.from({ length: n * n }, (_, i) => fn.grad(onehot(Math.floor(i / n), n))[i % n]);
  const r = await sampleWithEstimator(backend, name, Float32Array.from(logits), { n, tau: 1, sample });
  const grad = await r.backward(gHard);
  const pi = softmax(theta);
  return Array.from({ length: n }, (_, k) => pi.reduce((acc, ps, s) => acc + ps * grad[s * n + k], 0));
}

/** Σ_i c_i·π_i(e_i − π) for per-category coefficients c. */
function scoreCombination(pi: number[], c: (i: number) => number): number[] {
  const n = pi.length;
  const out = Array(n).fill(0);
  for (let i = 0; i < n; i++) {
    const ci = c(i);
    for (let k = 0; k < n; k++) out[k] += ci * pi[i] * ((i === k ? 1 : 0) - pi[k]);
  }
  return out;
}

function references(theta: number[], fn: TestFunction) {
  const n = theta.length, pi = softmax(theta);
  const I = (i: number) => onehot(i, n);
  const g = Array.from({ length: n }, (_, j) => fn.grad(I(j)));
  const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i], 0);
  const diff = (i: number, j: number) => I(i).map((x, k) => x - I(j)[k]);
  return {
    exact: scoreCombination(pi, (i) => fn.f(I(i))),
    euler: scoreCombination(pi, (i) => pi.reduce((acc, pj, j) => acc + pj * dot(g[j], diff(i, j)), 0)),
    heun: scoreCombination(
      pi,
      (i) => pi.reduce((acc, pj, j) => acc + pj * 0.5 * dot(g[i].map((x, k) => x + g[j][k]), diff(i, j)), 0),
    ),
  };
}

const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

forEachBackend("A: E[ST at τ=1] equals the first-order (Euler) approximation", async (backend) => {
  const random = testRandom(10);
  for (const n of [2, 3, 5, 8]) {
    const theta = Array.from({ length: n }, () => 2 * random() - 1);
    for (const fn of [quadratic(n, random), smooth(n, random)]) {
      assertClose(await expectation(backend, "st", theta, fn), references(theta, fn).euler, {
        ...TOLERANCE,
        label: `n=${n}`,
      });
    }
  }
});

forEachBackend("B: E[ReinMax at τ=1] equals the second-order (Heun) approximation", async (backend) => {
  const random = testRandom(11);
  for (const n of [2, 3, 5, 8]) {
    const theta = Array.from({ length: n }, () => 2 * random() - 1);
    for (const fn of [quadratic(n, random), smooth(n, random)]) {
      assertClose(await expectation(backend, "reinmax", theta, fn), references(theta, fn).heun, {
        ...TOLERANCE,
        label: `n=${n}`,
      });
    }
  }
});

forEachBackend("C: on quadratics E[ReinMax] is the true gradient and E[ST] is not", async (backend) => {
  const random = testRandom(12);
  for (const n of [2, 4, 6]) {
    const theta = Array.from({ length: n }, () => 2 * random() - 1);
    const fn = quadratic(n, random);
    const { exact } = references(theta, fn);
    assertClose(await expectation(backend, "reinmax", theta, fn), exact, { ...TOLERANCE, label: `n=${n}` });
    const st = await expectation(backend, "st", theta, fn);
    const bias = Math.hypot(...st.map((x, i) => x - exact[i]));
    assert(bias > 1e-3 * Math.hypot(...exact), `ST should be biased on a quadratic (bias ${bias})`);
  }
});

// The χ² critical value for 4 degrees of freedom at p = 1e-4.
const CHI2_CRITICAL_DF4 = 23.51;

function chiSquare(counts: number[], probabilities: number[], total: number): number {
  return counts.reduce(
    (acc, c, i) => acc + (c - total * probabilities[i]) ** 2 / (total * probabilities[i]),
    0,
  );
}

forEachBackend("samples follow Cat(π) whatever τ is, for every estimator (χ²)", async (backend) => {
  const theta = [1.0, -0.5, 0.3, 2.0, -1.5];
  const n = theta.length, rows = 20000;
  const logits = Float32Array.from({ length: rows * n }, (_, i) => theta[i % n]);
  const pi = softmax(theta);
  let seed = 100;
  for (const name of ["reinmax", "st", "stgs", "gst", "grmck"] as const) {
    for (const tau of name === "reinmax" ? [1, 2] : [0.5, 1, 2]) {
      const r = await sampleWithEstimator(backend, name, logits, { n, tau, seed: seed++ });
      const counts = Array(n).fill(0);
      for (const s of r.sample) counts[s]++;
      const statistic = chiSquare(counts, pi, rows);
      assert(
        statistic < CHI2_CRITICAL_DF4,
        `${name} τ=${tau}: χ² = ${statistic.toFixed(2)} (counts ${counts})`,
      );
      // The test has power: the same counts are far from the tempered distribution.
      if (tau !== 1) {
        const tempered = chiSquare(counts, softmax(theta, tau), rows);
        assert(
          tempered > 10 * CHI2_CRITICAL_DF4,
          `${name} τ=${tau}: χ² against softmax(θ/τ) only ${tempered}`,
        );
      }
    }
  }
});

Deno.test("the score-function identity the references use: Σ_i π_i(e_i − π) sums to zero", () => {
  const pi = softmax([0.2, -1, 3]);
  assertClose(scoreCombination(pi, () => 1), [0, 0, 0], { atol: 1e-15 });
  assertClose(jvp(pi, [1, 1, 1]), [0, 0, 0], { atol: 1e-15 });
});

forEachBackend(
  "REINFORCE is unbiased: E[(f(D) − b)(e_s − π)] is the true gradient, with or without a baseline",
  async (backend) => {
    // The mean baseline over the enumerated rows is one constant b, and Σ_s π_s (e_s − π) = 0, so it
    // changes the variance, not the expectation.
    const random = testRandom(13);
    for (const n of [2, 5]) {
      const theta = Array.from({ length: n }, () => 2 * random() - 1);
      const fn = smooth(n, random);
      const logits = Float32Array.from({ length: n * n }, (_, i) => theta[i % n]);
      const sample = Int32Array.from({ length: n }, (_, s) => s);
      const reward = Float32Array.from({ length: n }, (_, s) => fn.f(onehot(s, n)));
      const pi = softmax(theta);
      for (const baseline of [false, true]) {
        const r = await reinforce(backend, logits, { n, sample, baseline });
        const grad = await r.backward(reward);
        const mean = Array.from(
          { length: n },
          (_, k) => pi.reduce((acc, ps, s) => acc + ps * grad[s * n + k], 0),
        );
        assertClose(mean, references(theta, fn).exact, {
          ...TOLERANCE,
          label: `n=${n} baseline=${baseline}`,
        });
      }
    }
  },
);

forEachBackend("REINFORCE's per-sample gradient matches the float64 oracle", async (backend) => {
  const random = testRandom(14);
  const n = 6, rows = 9;
  const logits = uniformArray(random, rows * n, -2, 2);
  const reward = uniformArray(random, rows, -3, 3);
  const gSoft = uniformArray(random, rows * n);
  for (const baseline of [false, true]) {
    const r = await reinforce(backend, logits, { n, seed: 4, baseline });
    const grad = await r.backward(reward, gSoft);
    const b = baseline ? reward.reduce((a, x) => a + x, 0) / rows : 0;
    for (let i = 0; i < rows; i++) {
      const expected = reinforceBackward(row(logits, i, n), r.sample[i], reward[i] - b, row(gSoft, i, n));
      assertClose(row(grad, i, n), expected, {
        atol: 2e-6,
        rtol: 1e-4,
        label: `row ${i} baseline=${baseline}`,
      });
    }
  }
});
