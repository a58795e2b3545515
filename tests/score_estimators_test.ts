// The score-function estimators of Bernoulli latents (docs/math.md §2.9) on every backend: the coupled
// sampler against the float64 oracle (tests/reference/estimators.ts) code for code away from ties, and its
// marginals and pair frequencies against their closed forms; the backward and Double CV's projections against
// the oracle with every parameter at a value that changes the result; and the refusals, each naming the
// argument at fault.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import * as ref from "./reference/estimators.ts";
import { streamWord } from "./reference/philox.ts";
import { assertClose, runKernel, testRandom, uniformArray } from "./util.ts";
import {
  type Backend,
  BernoulliVae,
  CategoricalVae,
  DiscreteModel,
  estimator,
  ESTIMATORS,
  type LayerDeclaration,
  layers,
  PolyProgramming,
  ReinmaxInputError,
  sampleWithEstimator,
  SCORE_ESTIMATOR_NAMES,
} from "../mod.ts";
import { TAG } from "./internals.ts";

const KEY = [0x2468ace0, 0x13579bdf], STREAM = 5;

/** a with P(z = 1) = σ(2a − 1) = p, as float32. */
const aOf = (p: number) => Math.fround((Math.log(p / (1 - p)) + 1) / 2);

async function coupled(backend: Backend, a: Float32Array, copies: number): Promise<Int32Array> {
  const [sample] = await runKernel(
    backend,
    "bernoulli_coupled_sample",
    [new Int32Array(copies * a.length), a],
    [a.length, copies, KEY[0], KEY[1], STREAM, TAG.estimator],
  );
  return new Int32Array(sample.buffer);
}

forEachBackend("bernoulli_coupled_sample draws the oracle's codes for K = 2, 3 and 5", async (backend) => {
  const random = testRandom(31);
  for (const K of [2, 3, 5]) {
    // θ = 2a − 1 over [−6, 6], with p = ½ exactly at a = ½.
    const a = Float32Array.from({ length: 400 }, (_, i) => (i === 0 ? 0.5 : (random() * 12 - 5) / 2));
    const got = await coupled(backend, a, K);
    let ties = 0;
    for (let i = 0; i < a.length; i++) {
      const p = ref.sigmoid(ref.bernoulliLogit(a[i]));
      const { bits, margin } = ref.coupledBits(p, K, (t) => streamWord(t, i, KEY, STREAM, TAG.estimator));
      // float32 may round a uniform within 1e-5 of p to the other side; the oracle says where.
      if (margin < 1e-5) {
        ties++;
        continue;
      }
      const codes = Array.from({ length: K }, (_, t) => (got[t * a.length + i] === 0 ? 1 : 0));
      assertEquals(codes, bits, `K = ${K}, latent ${i} (p = ${p})`);
    }
    assert(ties <= 2, `K = ${K}: ${ties} ties`);
  }
});

forEachBackend(
  "coupled codes: each copy is Bernoulli(p); two copies are both 1 as the copula says",
  async (backend) => {
    const count = 20_000;
    for (const K of [2, 3, 4]) {
      for (const p of [0.15, 0.5, 0.8]) {
        const got = await coupled(backend, new Float32Array(count).fill(aOf(p)), K);
        const pf = ref.sigmoid(ref.bernoulliLogit(aOf(p)));
        for (let t = 0; t < K; t++) {
          let ones = 0;
          for (let i = 0; i < count; i++) ones += got[t * count + i] === 0 ? 1 : 0;
          const sd = Math.sqrt((pf * (1 - pf)) / count);
          assert(Math.abs(ones / count - pf) < 5 * sd, `K ${K}, p ${p}, copy ${t}: ${ones / count}`);
        }
        // P(z_0 = z_1 = 1) from 1 − ρ = (q − joint)/(q(1 − q)), q = min(p, 1 − p) (docs/math.md §2.9.3).
        const q = Math.min(pf, 1 - pf);
        const rarer = q - q * (1 - q) / ref.armsDebias(pf, K); // P(both take the rarer value)
        const both = pf < 0.5 ? rarer : 2 * pf - 1 + rarer;
        let seen = 0;
        for (let i = 0; i < count; i++) seen += got[i] === 0 && got[count + i] === 0 ? 1 : 0;
        const sd = Math.sqrt(Math.max(both * (1 - both), 1e-12) / count);
        assert(
          Math.abs(seen / count - both) < 5 * sd + 1e-9,
          `K ${K}, p ${p}: both 1 ${seen / count} vs ${both}`,
        );
        if (K === 2 && pf < 0.5) assertEquals(seen, 0, "an antithetic pair is never 1 twice when p < ½");
      }
    }
  },
);

/** Random inputs of the backward: rows × latents latents, K copies, losses of the size of an image's −ELBO. */
function backwardInputs(random: () => number, rows: number, latents: number, K: number) {
  const count = rows * latents;
  return {
    a: uniformArray(random, count, -1.5, 2.5),
    sample: Int32Array.from({ length: K * count }, () => (random() < 0.5 ? 0 : 1)),
    reward: uniformArray(random, K * rows, 80, 240),
    gradZ: uniformArray(random, K * count, -0.02, 0.02),
  };
}

forEachBackend("bernoulli_double_cv_projections match the oracle (K = 3, gradScale ≠ 1)", async (backend) => {
  const random = testRandom(32);
  const rows = 4, latents = 7, K = 3, gradScale = 12.5, count = rows * latents;
  const x = backwardInputs(random, rows, latents, K);
  const [projections] = await runKernel(
    backend,
    "bernoulli_double_cv_projections",
    [uniformArray(random, K * rows), x.a, x.sample, x.gradZ],
    [rows, latents, K, gradScale],
  );
  const want = new Float64Array(K * rows);
  for (let t = 0; t < K; t++) {
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < latents; l++) {
        const i = r * latents + l, p = ref.sigmoid(ref.bernoulliLogit(x.a[i]));
        let others = 0;
        for (let j = 0; j < K; j++) if (j !== t) others += gradScale * x.gradZ[j * count + i];
        want[t * rows + r] += ((x.sample[t * count + i] === 0 ? 1 : 0) - p) * others / (K - 1);
      }
    }
  }
  assertClose(projections, want, { rtol: 1e-4, atol: 1e-5, label: "projections" });
});

forEachBackend(
  "bernoulli_score_backward matches the oracle for every score-function estimator",
  async (backend) => {
    const random = testRandom(33);
    const rows = 5, latents = 6, count = rows * latents, scale = 0.37, gradScale = 12.5, alpha = 0.7;
    // RODEO runs kernels of its own, checked through the whole step (tests/bernoulli_test.ts).
    for (const name of SCORE_ESTIMATOR_NAMES.filter((n) => ESTIMATORS[n].scoreFunction!.code !== null)) {
      const { code, evaluations } = ESTIMATORS[name].scoreFunction!;
      const K = Math.min(3, evaluations.max);
      const x = backwardInputs(random, rows, latents, K);
      const projections = uniformArray(random, K * rows, -3, 3);
      const [dA, alphaTerms] = await runKernel(
        backend,
        "bernoulli_score_backward",
        [
          uniformArray(random, count),
          uniformArray(random, count),
          x.a,
          x.sample,
          x.reward,
          x.gradZ,
          projections,
          Float32Array.of(alpha),
        ],
        [rows, latents, K, code!, scale, gradScale],
      );
      const wantDA = new Float64Array(count), wantTerms = new Float64Array(count);
      for (let r = 0; r < rows; r++) {
        const f = Array.from({ length: K }, (_, t) => x.reward[t * rows + r]);
        const c = Array.from({ length: K }, (_, t) => projections[t * rows + r]);
        for (let l = 0; l < latents; l++) {
          const i = r * latents + l;
          const z = Array.from({ length: K }, (_, t) => (x.sample[t * count + i] === 0 ? 1 : 0));
          let gradMean = 0;
          for (let t = 0; t < K; t++) gradMean += (gradScale * x.gradZ[t * count + i]) / K;
          const { g, dg } = ref.scoreGradient(
            name as Parameters<typeof ref.scoreGradient>[0],
            ref.bernoulliLogit(x.a[i]),
            z,
            f,
            { c, gradMean, alpha },
          );
          wantDA[i] = scale * 2 * g;
          wantTerms[i] = 2 * g * dg;
        }
      }
      // The losses are O(100) and their differences O(10): float32 keeps about 1e-5 of them.
      assertClose(dA, wantDA, { rtol: 1e-4, atol: 1e-4, label: `${name} dA` });
      assertClose(alphaTerms, wantTerms, { rtol: 1e-4, atol: 1e-3, label: `${name} alphaTerms` });
      if (name !== "doublecv") assert(alphaTerms.every((v) => v === 0), `${name} learns no α`);
    }
  },
);

forEachBackend(
  "the score-function estimators are refused where they cannot run, naming the argument",
  (backend) => {
    const names = (fn: () => unknown) => (assertThrows(fn, ReinmaxInputError) as ReinmaxInputError).argument;
    const { linear, bernoulli, categorical, bernoulliLikelihood } = layers;
    const model = (declared: LayerDeclaration[]) =>
      new DiscreteModel(backend, {
        inputSize: 6,
        batch: 2,
        layers: declared,
        likelihood: bernoulliLikelihood(),
      });
    const rloo = estimator("rloo");
    assertEquals(
      names(() =>
        model([categorical({ categories: 3, latents: 2, estimator: rloo, evaluations: 2 }), linear(6)])
      ),
      "layers[0] (categorical).estimator",
    );
    assertEquals(
      names(() =>
        model([bernoulli({ latents: 3, estimator: estimator("disarm"), evaluations: 3 }), linear(6)])
      ),
      "layers[0] (bernoulli).evaluations",
    );
    assertEquals(
      names(() => model([bernoulli({ latents: 3, estimator: rloo }), linear(6)])),
      "layers[0] (bernoulli).evaluations",
    );
    // Only the last stochastic layer's codes meet the likelihood unchanged.
    assertEquals(
      names(() =>
        model([
          bernoulli({ latents: 3, estimator: rloo, evaluations: 2 }),
          linear(4),
          bernoulli({ latents: 2, evaluations: 2 }),
          linear(6),
        ])
      ),
      "layers[0] (bernoulli).estimator",
    );
    assertEquals(
      names(() => new CategoricalVae(backend, { config: "8x4", estimator: estimator("arms") })),
      "estimator",
    );
    assertEquals(
      names(() => new PolyProgramming(backend, { estimator: estimator("doublecv") })),
      "estimator",
    );
    assertEquals(names(() => new BernoulliVae(backend, { estimator: rloo })), "evaluations");
    assertEquals(
      (assertThrows(() =>
        new BernoulliVae(backend, { estimator: estimator("disarm"), evaluations: 3 })
      ) as Error)
        .message.includes("K = exactly 2"),
      true,
    );
    return assertRejects(() => sampleWithEstimator(backend, "rloo", new Float32Array(4), { n: 2 }), "name");
  },
);

async function assertRejects(fn: () => Promise<unknown>, argument: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ReinmaxInputError)) throw e;
    assertEquals(e.argument, argument);
    return;
  }
  throw new Error("expected a ReinmaxInputError");
}
