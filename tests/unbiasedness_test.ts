// Unbiasedness, measured (docs/math.md §6.4): on a Bernoulli VAE of 12 latents, whose 4,096 codes can be
// enumerated, the enumerated gradient is the derivative of the exact expected reconstruction term; the mean of
// M draws of every score-function estimator approaches it within the χ² bound of M unbiased draws, its error
// falling like 1/√M, while ReinMax's and ST's error stays — at K = 1 (RELAX), 2 and 3 codes per image.
import { assert, assertRejects } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { setLearnedWeights, testRandom, uniformArray } from "./util.ts";
import {
  type Backend,
  BernoulliVae,
  chiSquareBound,
  compareGradients,
  type Estimator,
  estimator,
  estimatorGradientDraws,
  type EstimatorName,
  exactReconstructionGradient,
  ReinmaxInputError,
  SCORE_ESTIMATOR_NAMES,
  takesEvaluations,
} from "../mod.ts";

const SHAPE = { inputSize: 10, hidden: [8], latents: 12 } as const;
const COUNT = 2;

function model(backend: Backend, evaluations: number): BernoulliVae {
  return new BernoulliVae(backend, { ...SHAPE, evaluations, batch: 512, seed: 5, binarize: "none" });
}

forEachBackend(
  "the enumerated Bernoulli gradient is the derivative of the exact expected loss",
  async (backend) => {
    const vae = model(backend, 2);
    try {
      const L = SHAPE.latents, codes = 2 ** L;
      const images = uniformArray(testRandom(41), COUNT * SHAPE.inputSize, 0, 1);
      const exact = await exactReconstructionGradient(vae, images, COUNT);
      const a = await vae.latentLogits(images, COUNT);
      const bits = Int32Array.from({ length: codes * L }, (_, j) => (Math.floor(j / L) >> (j % L)) & 1);
      for (let i = 0; i < COUNT; i++) {
        const replicated = new Float32Array(codes * SHAPE.inputSize);
        for (let k = 0; k < codes; k++) {
          replicated.set(
            images.subarray(i * SHAPE.inputSize, (i + 1) * SHAPE.inputSize),
            k * SHAPE.inputSize,
          );
        }
        const losses = await vae.reconstructionLoss(replicated, bits, codes);
        // E(a) = Σ_z P_a(z)·R(z) in float64, differentiated by central differences in each a_l.
        const expected = (values: Float64Array) => {
          let e = 0;
          for (let k = 0; k < codes; k++) {
            let p = 1;
            for (let l = 0; l < L; l++) {
              const one = 1 / (1 + Math.exp(-(2 * values[l] - 1)));
              p *= bits[k * L + l] ? one : 1 - one;
            }
            e += p * losses[k];
          }
          return e;
        };
        for (let l = 0; l < L; l++) {
          const h = 1e-4, at = Float64Array.from(a.subarray(i * L, (i + 1) * L));
          at[l] += h;
          const up = expected(at);
          at[l] -= 2 * h;
          const numeric = (up - expected(at)) / (2 * h);
          const got = exact[i * L + l];
          assert(
            Math.abs(got - numeric) <= 1e-6 * (1 + Math.abs(numeric)),
            `image ${i}, a_${l}: ${got} vs ${numeric}`,
          );
        }
      }
    } finally {
      vae.destroy();
    }
  },
);

/** Draws of `est` at M and at M/16, compared with the exact gradient. */
async function measure(
  vae: BernoulliVae,
  images: Float32Array,
  exact: Float64Array,
  est: Estimator,
  M: number,
) {
  const few = compareGradients(exact, await estimatorGradientDraws(vae, images, COUNT, est, M / 16));
  const many = compareGradients(exact, await estimatorGradientDraws(vae, images, COUNT, est, M));
  return { few, many };
}

/**
 * A model declared with `name`. An estimator that learns a control variate gets its weights away from where
 * they start (0, where Double CV and RODEO are RLOO), so that the control variates are in the estimate.
 */
function declaredWith(backend: Backend, name: EstimatorName, K: number): BernoulliVae {
  const vae = new BernoulliVae(backend, {
    ...SHAPE,
    evaluations: K,
    batch: 512,
    seed: 5,
    binarize: "none",
    estimator: estimator(name),
  });
  setLearnedWeights(backend, vae, { alpha: [0.5], weights: [0.5, 0.5], scale: [1] });
  return vae;
}

for (const K of [1, 2, 3]) {
  forEachBackend(
    `K = ${K}: every unbiased estimator's mean meets the exact gradient within the χ² bound; ReinMax's and ST's do not`,
    async (backend) => {
      const images = uniformArray(testRandom(42), COUNT * SHAPE.inputSize, 0, 1);
      const M = 4096;
      const unbiased = SCORE_ESTIMATOR_NAMES.filter((n) => takesEvaluations(n, K));
      for (const name of unbiased) {
        const vae = declaredWith(backend, name, K);
        try {
          const exact = await exactReconstructionGradient(vae, images, COUNT);
          const { few, many } = await measure(vae, images, exact, estimator(name), M);
          const bound = chiSquareBound(many.degrees);
          assert(many.chiSquare < bound, `${name}: χ² ${many.chiSquare.toFixed(1)} ≥ ${bound.toFixed(1)}`);
          // 16 times the draws: the error of an unbiased mean shrinks 4 times (1/√M).
          assert(
            many.relativeError < 0.5 * few.relativeError,
            `${name}: relative error ${few.relativeError} at M/16, ${many.relativeError} at M`,
          );
        } finally {
          vae.destroy();
        }
      }
      const vae = model(backend, K);
      try {
        const exact = await exactReconstructionGradient(vae, images, COUNT);
        for (const est of [estimator("reinmax", { tau: 1.1 }), estimator("st", { tau: 1.1 })]) {
          const { few, many } = await measure(vae, images, exact, est, M);
          const bound = chiSquareBound(many.degrees);
          assert(
            many.chiSquare > 4 * bound,
            `${est.name}: χ² ${many.chiSquare.toFixed(1)} is within 4 × ${bound.toFixed(1)}`,
          );
          assert(
            many.relativeError > 0.7 * few.relativeError,
            `${est.name}'s bias should stay: ${few.relativeError} at M/16, ${many.relativeError} at M`,
          );
        }
      } finally {
        vae.destroy();
      }
    },
  );
}

forEachBackend(
  "the Bernoulli analysis refuses the categorical REINFORCE, too many codes, binarised inputs",
  async (backend) => {
    const vae = model(backend, 2);
    const wide = new BernoulliVae(backend, {
      inputSize: 4,
      hidden: [4],
      latents: 17,
      batch: 4,
      evaluations: 2,
      binarize: "none",
    });
    const binarising = new BernoulliVae(backend, { ...SHAPE, batch: 4, evaluations: 2, binarize: "dynamic" });
    try {
      const images = new Float32Array(COUNT * SHAPE.inputSize).fill(0.5);
      await assertRejects(
        () => estimatorGradientDraws(vae, images, COUNT, "reinforce", 4),
        ReinmaxInputError,
      );
      await assertRejects(() => exactReconstructionGradient(wide, new Float32Array(8), 2), ReinmaxInputError);
      await assertRejects(
        () => exactReconstructionGradient(binarising, images, COUNT),
        ReinmaxInputError,
        "binarize",
      );
    } finally {
      vae.destroy();
      wide.destroy();
      binarising.destroy();
    }
  },
);
