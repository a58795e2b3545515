// Every estimator's forward and backward on every backend, against the float64 oracle.
import { assert, assertEquals } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import * as ref from "./reference/estimators.ts";
import { streamWord } from "./reference/philox.ts";
import { assertClose, row, testRandom, uniformArray } from "./util.ts";
import {
  type Backend,
  gst,
  type PathwiseEstimatorName as EstimatorName,
  sampleWithEstimator,
} from "../mod.ts";
import { readF32, seedKey, TAG } from "./internals.ts";

const CASES = [
  { n: 2, rows: 7, scale: 1 },
  { n: 3, rows: 5, scale: 4 },
  { n: 10, rows: 6, scale: 0.3 },
  { n: 64, rows: 3, scale: 3 },
];
const TAUS: Record<EstimatorName, number[]> = {
  reinmax: [1, 1.3, 2],
  st: [1, 1.5],
  stgs: [0.3, 0.7, 1.5],
  gst: [0.5, 1],
  grmck: [0.5, 1],
};

function oracle(
  name: EstimatorName,
  theta: number[],
  s: number,
  g: number[],
  h: number[],
  tau: number,
  gumbelDraws: () => number[][],
): number[] {
  switch (name) {
    case "reinmax":
      return ref.reinmaxBackward(theta, s, g, h, tau);
    case "st":
      return ref.stBackward(theta, s, g, h, tau);
    case "gst":
      return ref.gstBackward(theta, s, g, h, tau);
    case "stgs":
    case "grmck":
      return ref.gumbelBackward(theta, s, g, h, tau, gumbelDraws());
  }
}

forEachBackend("estimator backward matches the float64 oracle", async (backend) => {
  const random = testRandom(1);
  const seed = 12345;
  for (const name of Object.keys(TAUS) as EstimatorName[]) {
    for (const tau of TAUS[name]) {
      for (const { n, rows, scale } of CASES) {
        const logits = uniformArray(random, rows * n, -scale, scale);
        const gHard = uniformArray(random, rows * n);
        const gSoft = uniformArray(random, rows * n);
        const k = name === "grmck" ? 5 : 1;
        const r = await sampleWithEstimator(backend, name, logits, { n, tau, k, seed, stream: 3 });
        const grad = await r.backward(gHard, gSoft);
        for (let i = 0; i < rows; i++) {
          const theta = row(logits, i, n), s = r.sample[i];
          const draws = () =>
            Array.from(
              { length: k },
              (_, j) =>
                ref.conditionalPerturbed(
                  theta,
                  s,
                  ref.streamExponentials(n, j, i, seedKey(seed), 3, TAG.estimator),
                ),
            );
          const expected = oracle(name, theta, s, row(gHard, i, n), row(gSoft, i, n), tau, draws);
          assertClose(row(grad, i, n), expected, {
            atol: 2e-6,
            rtol: 1e-4,
            label: `${name} τ=${tau} n=${n} row ${i}`,
          });
        }
      }
    }
  }
});

forEachBackend("forward returns the one-hot sample and the softmax", async (backend) => {
  const random = testRandom(2);
  for (const name of Object.keys(TAUS) as EstimatorName[]) {
    const n = 6, rows = 9;
    const logits = uniformArray(random, rows * n, -3, 3);
    const r = await sampleWithEstimator(backend, name, logits, { n, tau: TAUS[name][0], seed: 5 });
    for (let i = 0; i < rows; i++) {
      assertEquals(row(r.yHard, i, n), ref.onehot(r.sample[i], n));
      assertClose(row(r.ySoft, i, n), ref.softmax(row(logits, i, n)), {
        atol: 1e-7,
        rtol: 1e-5,
        label: name,
      });
    }
  }
});

forEachBackend(
  "every per-sample gradient sums to zero; with g = 0 the backward is J(π)h",
  async (backend) => {
    const random = testRandom(3);
    const n = 7, rows = 20;
    for (const name of Object.keys(TAUS) as EstimatorName[]) {
      const logits = uniformArray(random, rows * n, -4, 4);
      const r = await sampleWithEstimator(backend, name, logits, { n, tau: TAUS[name][0], seed: 9, k: 3 });
      const g = uniformArray(random, rows * n), h = uniformArray(random, rows * n);
      const grad = await r.backward(g, h);
      const softOnly = await r.backward(new Float32Array(rows * n), h);
      for (let i = 0; i < rows; i++) {
        const sum = row(grad, i, n).reduce((a, b) => a + b, 0);
        assert(Math.abs(sum) < 1e-5, `${name} row ${i} sums to ${sum}`);
        const expected = ref.jvp(ref.softmax(row(logits, i, n)), row(h, i, n));
        assertClose(row(softOnly, i, n), expected, { atol: 1e-6, rtol: 1e-5, label: `${name} g=0` });
      }
    }
  },
);

forEachBackend("the same seed and stream give the same samples and gradients", async (backend) => {
  const random = testRandom(4);
  const n = 5, rows = 50;
  const logits = uniformArray(random, rows * n, -2, 2);
  const g = uniformArray(random, rows * n);
  const a = await sampleWithEstimator(backend, "grmck", logits, { n, tau: 0.5, k: 4, seed: 77, stream: 1 });
  const b = await sampleWithEstimator(backend, "grmck", logits, { n, tau: 0.5, k: 4, seed: 77, stream: 1 });
  const c = await sampleWithEstimator(backend, "grmck", logits, { n, tau: 0.5, k: 4, seed: 77, stream: 2 });
  assertEquals(a.sample, b.sample);
  assertEquals(await a.backward(g), await b.backward(g));
  assert(a.sample.some((s, i) => s !== c.sample[i]), "another stream draws other samples");
});

forEachBackend("Gapped ST: argmax θ' = s with a margin of at least the gap", async (backend) => {
  const random = testRandom(5);
  const n = 8, rows = 200;
  const logits = uniformArray(random, rows * n, -3, 3);
  const sample = Int32Array.from({ length: rows }, () => Math.floor(random() * n));
  await assertGappedLogits(backend, logits, sample, n, [1]);
});

/** Runs gapped_logits at each gap: θ'_s must lead every other entry by the gap and match the oracle. */
async function assertGappedLogits(
  backend: Backend,
  logits: Float32Array,
  sample: Int32Array,
  n: number,
  gaps: readonly number[],
): Promise<void> {
  const rows = sample.length;
  const [lb, sb, out] = [
    backend.alloc(rows * n, "logits"),
    backend.alloc(rows, "sample"),
    backend.alloc(rows * n, "out"),
  ];
  backend.write(lb, logits);
  backend.write(sb, sample);
  for (const gap of gaps) {
    backend.run("gapped_logits", [out, lb, sb], [rows, n, gap]);
    const gapped = await readF32(backend, out);
    for (let i = 0; i < rows; i++) {
      const t = row(gapped, i, n), s = sample[i];
      const others = Math.max(...t.filter((_, j) => j !== s));
      assert(t[s] - others >= gap - 1e-6, `gap ${gap} row ${i}: margin ${t[s] - others}`);
      assertClose(t, ref.gappedLogits(row(logits, i, n), s, gap), {
        atol: 1e-6,
        rtol: 0,
        label: `gap ${gap} row ${i}`,
      });
    }
  }
  for (const b of [lb, sb, out]) backend.free(b);
}

forEachBackend(
  "Gumbel-Rao: every conditional draw has argmax = s and matches the oracle",
  async (backend) => {
    const random = testRandom(6);
    const n = 6, rows = 100, k = 8, seed = 2024;
    const logits = uniformArray(random, rows * n, -5, 5);
    const sample = Int32Array.from({ length: rows }, () => Math.floor(random() * n));
    const [lb, sb, out] = [
      backend.alloc(rows * n, "logits"),
      backend.alloc(rows, "sample"),
      backend.alloc(rows * k * n, "out"),
    ];
    backend.write(lb, logits);
    backend.write(sb, sample);
    const [key0, key1] = seedKey(seed);
    backend.run("gumbel_perturbations", [out, lb, sb], [rows, n, k, key0, key1, 11, TAG.estimator]);
    const perturbed = await readF32(backend, out);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < k; j++) {
        const z = row(perturbed, i * k + j, n);
        const argmax = z.indexOf(Math.max(...z));
        assertEquals(argmax, sample[i], `row ${i} draw ${j}`);
        const expected = ref.conditionalPerturbed(
          row(logits, i, n),
          sample[i],
          ref.streamExponentials(n, j, i, [key0, key1], 11, TAG.estimator),
        );
        assertClose(z, expected, { atol: 1e-4, rtol: 1e-4, label: `row ${i} draw ${j}` });
      }
    }
    for (const b of [lb, sb, out]) backend.free(b);
  },
);

forEachBackend("Gumbel-Rao's mean gradient equals Gumbel-softmax ST's at the same τ", async (backend) => {
  // Same logits in every row: the row mean estimates the expectation; both must agree within their noise.
  const n = 4, rows = 40000, tau = 0.7;
  const theta = [0.5, -1, 1.2, 0];
  const logits = Float32Array.from({ length: rows * n }, (_, i) => theta[i % n]);
  const g = Float32Array.from({ length: rows * n }, (_, i) => [1, -2, 0.5, 3][i % n]);
  const means: number[][] = [];
  const sems: number[][] = [];
  for (const [name, seed] of [["stgs", 1], ["grmck", 2]] as const) {
    const r = await sampleWithEstimator(backend, name, logits, { n, tau, k: 10, seed });
    const grad = await r.backward(g);
    const mean = Array(n).fill(0), sq = Array(n).fill(0);
    for (let i = 0; i < rows * n; i++) {
      mean[i % n] += grad[i] / rows;
      sq[i % n] += grad[i] * grad[i] / rows;
    }
    means.push(mean);
    sems.push(mean.map((m, i) => Math.sqrt((sq[i] - m * m) / rows)));
  }
  for (let i = 0; i < n; i++) {
    const tolerance = 5 * Math.hypot(sems[0][i], sems[1][i]);
    assert(
      Math.abs(means[0][i] - means[1][i]) < tolerance,
      `component ${i}: ${means[0][i]} vs ${means[1][i]}`,
    );
  }
});

forEachBackend("the Gumbel draws stay finite for a word whose top 24 bits are all ones", async (backend) => {
  // Under key 0 and the estimator tag, word 1 of row 0 in stream 4847881 is 0xffffff9d (found by search with
  // the reference Philox): the exponential of category 0 in the first draw. A uniform built from its top 24
  // bits plus one half rounds to 1 in f32, which would make that exponential 0 and ℓ_s infinite.
  const stream = 4847881;
  assertEquals(streamWord(1, 0, [0, 0], stream, TAG.estimator) >>> 8, 0xffffff);
  for (const name of ["stgs", "grmck"] as const) {
    const r = await sampleWithEstimator(backend, name, new Float32Array([0.3, -0.2]), {
      n: 2,
      tau: 0.5,
      k: 2,
      seed: 0,
      stream,
      sample: new Int32Array([0]),
    });
    const d = await r.backward(new Float32Array([1, -2]));
    assert(d.every(Number.isFinite), `${name}: ${d}`);
  }
});

// Gapped ST with gaps other than the default 1: a gap that is lost on the way (the option, the kernel
// argument, the kernel's use of it) leaves every test at gap 1 green, so these run at 2.5 (most logits
// capped) and 0.3 (few capped) and first check that the oracle itself tells the gaps apart.
const GAPS = [2.5, 0.3];

/** Rows of logits, upstream gradients and forced categories (every category, not only the argmax). */
function gstInputs(seed: number, rows: number, n: number) {
  const random = testRandom(seed);
  return {
    logits: uniformArray(random, rows * n, -3, 3),
    gHard: uniformArray(random, rows * n),
    gSoft: uniformArray(random, rows * n),
    sample: Int32Array.from({ length: rows }, (_, i) => i % n),
  };
}

function gstOracle(
  { logits, gHard, gSoft }: ReturnType<typeof gstInputs>,
  sample: Int32Array,
  n: number,
  tau: number,
  gap: number,
): number[][] {
  return Array.from(
    sample,
    (s, i) => ref.gstBackward(row(logits, i, n), s, row(gHard, i, n), row(gSoft, i, n), tau, gap),
  );
}

function assertGapMatters(inputs: ReturnType<typeof gstInputs>, sample: Int32Array, n: number, tau: number) {
  for (const gap of GAPS) {
    const at = gstOracle(inputs, sample, n, tau, gap).flat(),
      atOne = gstOracle(inputs, sample, n, tau, 1).flat();
    const diff = Math.max(...at.map((v, i) => Math.abs(v - atOne[i])));
    assert(diff > 1e-2, `gap ${gap} changes the oracle's gradient by only ${diff}`);
  }
}

forEachBackend("Gapped ST with gap ≠ 1: gst() matches the oracle, sampled and forced", async (backend) => {
  const n = 5, rows = 10;
  const inputs = gstInputs(7, rows, n);
  for (const tau of [0.5, 1]) {
    assertGapMatters(inputs, inputs.sample, n, tau);
    for (const gap of GAPS) {
      for (const forced of [true, false]) {
        const r = await gst(backend, inputs.logits, {
          n,
          tau,
          gap,
          seed: 31,
          stream: 2,
          sample: forced ? inputs.sample : undefined,
        });
        if (forced) assertEquals(r.sample, inputs.sample);
        const grad = await r.backward(inputs.gHard, inputs.gSoft);
        const expected = gstOracle(inputs, r.sample, n, tau, gap);
        for (let i = 0; i < rows; i++) {
          assertClose(row(grad, i, n), expected[i], {
            atol: 2e-6,
            rtol: 1e-4,
            label: `gap ${gap} τ=${tau} ${forced ? "forced" : "sampled"} row ${i}`,
          });
        }
      }
    }
  }
});

forEachBackend("Gapped ST with gap ≠ 1: the gst_backward kernel matches the oracle", async (backend) => {
  const n = 6, rows = 12, tau = 0.7;
  const inputs = gstInputs(8, rows, n);
  assertGapMatters(inputs, inputs.sample, n, tau);
  const [dLogits, lb, sb, gb, hb] = [
    backend.alloc(rows * n, "dLogits"),
    backend.alloc(rows * n, "logits"),
    backend.alloc(rows, "sample"),
    backend.alloc(rows * n, "gHard"),
    backend.alloc(rows * n, "gSoft"),
  ];
  backend.write(lb, inputs.logits);
  backend.write(sb, inputs.sample);
  backend.write(gb, inputs.gHard);
  backend.write(hb, inputs.gSoft);
  for (const gap of GAPS) {
    backend.write(dLogits, new Float32Array(rows * n).fill(9)); // written, not accumulated
    backend.run("gst_backward", [dLogits, lb, sb, gb, hb], [rows, n, tau, gap]);
    backend.submit();
    const grad = await readF32(backend, dLogits);
    const expected = gstOracle(inputs, inputs.sample, n, tau, gap);
    for (let i = 0; i < rows; i++) {
      assertClose(row(grad, i, n), expected[i], { atol: 2e-6, rtol: 1e-4, label: `gap ${gap} row ${i}` });
    }
  }
  for (const b of [dLogits, lb, sb, gb, hb]) backend.free(b);
});

forEachBackend(
  "Gapped ST with gap ≠ 1: gapped_logits has the margin and matches the oracle",
  async (backend) => {
    const n = 7, rows = 21;
    const { logits, sample } = gstInputs(9, rows, n);
    await assertGappedLogits(backend, logits, sample, n, GAPS);
  },
);
