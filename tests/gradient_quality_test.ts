// The gradient-quality analysis (docs/math.md §6.4): the enumerated gradient is the derivative of the exact
// objective (central differences), the decoder's losses it enumerates are the oracle's, REINFORCE — which is
// unbiased — approaches it as the number of draws grows while ST keeps its bias, and the table's measures are
// those of the draws.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { forEachBackend, onSoftwareGpu } from "./backends.ts";
import * as oracle from "./reference/vae.ts";
import { assertClose, testRandom, uniformArray } from "./util.ts";
import {
  type Backend,
  CategoricalVae,
  compareGradients,
  estimator,
  estimatorGradientDraws,
  exactReconstructionGradient,
  gradientQuality,
  ReinmaxInputError,
} from "../mod.ts";
import { readF32, seedKey, TAG } from "./internals.ts";

const SHAPE = { inputSize: 6, hidden: [4], categories: 3, latents: 3 } as const;

function tiny(backend: Backend): CategoricalVae {
  return new CategoricalVae(backend, { ...SHAPE, batch: 4, seed: 21 });
}

/** Every code of L latents of C categories, latent 0 fastest. */
function allCodes(): Int32Array {
  const { categories: C, latents: L } = SHAPE;
  return Int32Array.from({ length: C ** L * L }, (_, j) => Math.floor(Math.floor(j / L) / C ** (j % L)) % C);
}

forEachBackend(
  "the enumerated gradient is the derivative of the exact expected reconstruction term",
  async (backend) => {
    const model = tiny(backend);
    try {
      const { categories: C, latents: L, inputSize: D } = SHAPE;
      const count = 2, codes = C ** L;
      const x = uniformArray(testRandom(6), count * D, 0, 1);
      const exact = await exactReconstructionGradient(model, x, count);
      const logits = Float64Array.from(await model.encode(x, count));
      // R of every code, for each image; they do not depend on the logits.
      const losses: Float32Array[] = [];
      for (let i = 0; i < count; i++) {
        const images = new Float32Array(codes * D);
        for (let k = 0; k < codes; k++) images.set(x.subarray(i * D, (i + 1) * D), k * D);
        losses.push(await model.reconstructionLoss(images, allCodes(), codes));
      }
      // The objective of image i as a function of its logits θ: Σ_z Π_l softmax(θ_l)[z_l]·R(z).
      const objective = (i: number, theta: Float64Array) => {
        const q = Array.from({ length: L }, (_, l) => {
          const row = Array.from({ length: C }, (_, c) => theta[(i * L + l) * C + c]);
          const e = row.map((v) => Math.exp(v - Math.max(...row)));
          const z = e.reduce((a, b) => a + b, 0);
          return e.map((v) => v / z);
        });
        let total = 0;
        for (let k = 0; k < codes; k++) {
          let p = 1;
          for (let l = 0; l < L; l++) p *= q[l][Math.floor(k / C ** l) % C];
          total += p * losses[i][k];
        }
        return total;
      };
      const h = 1e-4;
      for (let j = 0; j < exact.length; j++) {
        const plus = logits.slice(), minus = logits.slice();
        plus[j] += h;
        minus[j] -= h;
        const i = Math.floor(j / (L * C));
        const fd = (objective(i, plus) - objective(i, minus)) / (2 * h);
        assertClose([exact[j]], [fd], { atol: 1e-6, rtol: 1e-5, label: `logit ${j}` });
      }
      assert(exact.some((v) => Math.abs(v) > 1e-3), "the gradient is not trivially zero");
    } finally {
      model.destroy();
    }
  },
);

forEachBackend("reconstructionLoss is the oracle's Σ BCE of the decoder given the code", async (backend) => {
  const model = tiny(backend);
  try {
    const random = testRandom(7);
    const count = 3;
    const x = uniformArray(random, 4 * SHAPE.inputSize, 0, 1);
    const codes = Int32Array.from({ length: count * SHAPE.latents }, () => Math.floor(random() * 3));
    const got = await model.reconstructionLoss(x, codes, count);
    const params: oracle.Params = new Map();
    for (const p of model.parameters) {
      params.set(p.label, Float64Array.from(await readF32(backend, p.value.buffer)));
    }
    const spec = { name: "st" as const, tau: 1, key: seedKey(21), stream: 0, tag: TAG.estimator };
    const want = oracle.vaeStep(SHAPE, params, Float64Array.from(x), count, codes, spec).reconstruction;
    assertClose(got, want, { rtol: 1e-5 });
    await assertRejects(
      () => model.reconstructionLoss(x, new Int32Array(2), count),
      ReinmaxInputError,
      "codes",
    );
  } finally {
    model.destroy();
  }
});

forEachBackend(
  "REINFORCE's mean approaches the exact gradient as M grows; ST's bias stays",
  async (backend) => {
    const model = tiny(backend);
    try {
      const count = 2;
      const x = uniformArray(testRandom(8), count * SHAPE.inputSize, 0, 1);
      const exact = await exactReconstructionGradient(model, x, count);
      // 16× the draws either way; a GPU emulated by the CPU takes half as many (the draws are seeded, so the
      // outcome is fixed, not a matter of luck).
      const [M, M16] = onSoftwareGpu(backend) ? [8, 128] : [16, 256];
      const few = await estimatorGradientDraws(model, x, count, "reinforce", M);
      const many = await estimatorGradientDraws(model, x, count, "reinforce", M16);
      const errors = [
        compareGradients(exact, few).relativeError,
        compareGradients(exact, many).relativeError,
      ];
      // An unbiased mean's error shrinks like 1/√M: 16× the draws, about a quarter of the error.
      assert(errors[1] < errors[0] / 2, `REINFORCE's relative error ${errors}`);
      const st = estimator("st", { tau: 1 });
      const stErrors = [
        compareGradients(exact, await estimatorGradientDraws(model, x, count, st, M)).relativeError,
        compareGradients(exact, await estimatorGradientDraws(model, x, count, st, M16)).relativeError,
      ];
      assert(stErrors[1] > stErrors[0] / 2, `ST's bias does not average away: ${stErrors}`);
      assertEquals(many.draws, M16);
    } finally {
      model.destroy();
    }
  },
);

/** ‖v‖₂. */
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

// The table's three measures, recomputed here from the M draws taken one by one (draw m is stream m of the
// analysis tag, as estimatorGradientDraws documents) with a two-pass mean and sample standard deviation, rather
// than the analysis's running (Welford) sums. The spread is relative to the mean of the draws, not to the exact
// gradient, and uses M − 1: with M = 8 either mistake moves it by several per cent.
forEachBackend(
  "gradientQuality's relative spread, error and cosine equal those recomputed from each draw",
  async (backend) => {
    const model = tiny(backend);
    try {
      const count = 2, draws = 8;
      const x = uniformArray(testRandom(9), count * SHAPE.inputSize, 0, 1);
      const st = estimator("st", { tau: 1 });
      const each: Float64Array[] = [];
      for (let m = 0; m < draws; m++) {
        const { gradient } = await model.reconstructionGradient(x, count, { estimator: st, stream: m });
        each.push(Float64Array.from(gradient));
      }
      const size = each[0].length;
      const mean = new Float64Array(size), std = new Float64Array(size);
      for (let j = 0; j < size; j++) {
        mean[j] = each.reduce((s, g) => s + g[j], 0) / draws;
        std[j] = Math.sqrt(each.reduce((s, g) => s + (g[j] - mean[j]) ** 2, 0) / (draws - 1));
      }
      const exact = await exactReconstructionGradient(model, x, count);
      const dot = exact.reduce((s, e, j) => s + e * mean[j], 0);
      const expected = {
        relativeError: norm(exact.map((e, j) => e - mean[j])) / norm(exact),
        relativeStd: norm(std) / norm(mean),
        cosine: dot / (norm(exact) * norm(mean)),
      };
      // ST is biased, so ‖mean‖ and ‖exact‖ differ: a spread taken relative to the wrong one would show.
      assert(Math.abs(norm(mean) / norm(exact) - 1) > 0.01, `‖mean‖ ${norm(mean)}, ‖exact‖ ${norm(exact)}`);
      assert(expected.relativeStd > 0.01, `the draws differ: ${expected.relativeStd}`);

      const drawn = await estimatorGradientDraws(model, x, count, st, draws);
      assertClose(drawn.mean, mean, { atol: 1e-12, rtol: 1e-9, label: "mean" });
      assertClose(drawn.std, std, { atol: 1e-12, rtol: 1e-9, label: "std" });
      const [row] = await gradientQuality(model, x, count, [st], draws);
      assertEquals([row.estimator, row.tau, row.draws], ["st", 1, draws]);
      for (const key of ["relativeStd", "relativeError", "cosine"] as const) {
        assertClose([row[key]], [expected[key]], { atol: 0, rtol: 1e-9, label: key });
        assertClose([compareGradients(exact, drawn)[key]], [expected[key]], {
          atol: 0,
          rtol: 1e-9,
          label: key,
        });
      }
    } finally {
      model.destroy();
    }
  },
);
