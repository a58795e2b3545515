// The Bernoulli VAE against a float64 oracle of the whole step (tests/reference/vae.ts): the loss terms and
// every gradient of the memory plan — the learned prior's included — for every estimator, K evaluations per
// image and each binarisation, then a 20-step trajectory; and what it decodes from its prior.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { openDataset } from "../examples/data_source.ts";
import { forEachBackend, onSoftwareGpu } from "./backends.ts";
import * as oracle from "./reference/vae.ts";
import {
  assertClose,
  assertTensorClose,
  readParameters,
  setLearnedWeights,
  testRandom,
  uniformArray,
} from "./util.ts";
import {
  adam,
  type Backend,
  BernoulliVae,
  type Binarization,
  estimator,
  type EstimatorName,
  radam,
  ReinmaxInputError,
  trainVae,
  type VaeEpoch,
} from "../mod.ts";
import { readF32, seedKey, TAG } from "./internals.ts";

const SHAPE = { inputSize: 5, hidden: [4], latents: 3, evaluations: 2, slope: 0.3 } as const;
const BATCH = 2, SEED = 13;
const ESTIMATORS: Record<EstimatorName, { tau: number; gap?: number; k?: number }> = {
  reinmax: { tau: 1.1 },
  st: { tau: 1.4 },
  gst: { tau: 0.7, gap: 1.5 },
  stgs: { tau: 0.5 },
  grmck: { tau: 0.6, k: 3 },
  rloo: { tau: 1 },
  disarm: { tau: 1 },
  arms: { tau: 1 },
  doublecv: { tau: 1 },
  rodeo: { tau: 1 },
  relax: { tau: 0.4 },
};

function tinyModel(
  backend: Backend,
  name: EstimatorName,
  binarize: Binarization,
  evaluations: number = SHAPE.evaluations,
  optimizer = adam({ lr: 1e-2 }),
) {
  return new BernoulliVae(backend, {
    latents: SHAPE.latents,
    hidden: SHAPE.hidden,
    inputSize: SHAPE.inputSize,
    evaluations,
    batch: BATCH,
    seed: SEED,
    binarize,
    estimator: estimator(name, ESTIMATORS[name]),
    optimizer,
  });
}

function spec(name: EstimatorName, stream: number): oracle.EstimatorSpec {
  return { name, ...ESTIMATORS[name], key: seedKey(SEED), stream, tag: TAG.estimator };
}

const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;

forEachBackend(
  "Bernoulli VAE: one step's loss terms and every gradient, the prior's too, match the oracle",
  async (backend) => {
    const random = testRandom(3);
    const modes = ["none", "static", "dynamic"] as const;
    for (const [e, name] of (Object.keys(ESTIMATORS) as EstimatorName[]).entries()) {
      // A GPU emulated by the CPU takes one binarisation per estimator, in turn, so each still meets every
      // estimator and every mode; elsewhere every pair.
      for (const binarize of onSoftwareGpu(backend) ? [modes[e % modes.length]] : modes) {
        for (const count of [BATCH, 1]) {
          // RELAX draws one code per image itself (its logistic variables must match the code).
          const relax = name === "relax";
          const model = tinyModel(backend, name, binarize, relax ? 1 : SHAPE.evaluations);
          try {
            // Pixels away from 0 and 1, so that binarisation changes them.
            const x = uniformArray(random, BATCH * SHAPE.inputSize, 0.1, 0.9);
            const indices = [7, 3].slice(0, count);
            const sample = Int32Array.from(
              { length: count * (relax ? 1 : SHAPE.evaluations) * SHAPE.latents },
              () => random() < 0.5 ? 0 : 1,
            );
            // The learned weights of Double CV and RODEO start at 0, RELAX's scale at 1; elsewhere they change
            // the estimate more.
            setLearnedWeights(backend, model, { alpha: [0.4], weights: [0.4, -0.3], scale: [0.8] });
            const params = await readParameters(model);
            model.forwardBackward(x, count, relax ? { indices } : { sample, indices });
            const losses = await model.readLosses();
            // The first training step binarises with stream 0 whether static or dynamic (dynamic: the step).
            const binarization = { mode: binarize, indices, key: seedKey(SEED), stream: 0 };
            const want = oracle.bernoulliStep(
              relax ? { ...SHAPE, evaluations: 1 } : SHAPE,
              params,
              Float64Array.from(x),
              count,
              sample,
              spec(name, 0),
              binarization,
            );
            const where = `${name}, ${binarize}, ${count} images`;
            assertClose(losses.reconstruction, [mean(want.reconstruction)], {
              rtol: 1e-5,
              label: `${where} rec`,
            });
            assertClose(losses.kl, [mean(want.kl)], { rtol: 1e-4, atol: 1e-6, label: `${where} kl` });
            assertEquals(model.parameters.length, want.grads.size);
            for (const p of model.parameters) {
              const grad = await readF32(backend, p.grad.buffer);
              assertTensorClose(grad, want.grads.get(p.label)!, `${where}: ${p.label}.grad`);
            }
          } finally {
            model.destroy();
          }
        }
      }
    }
  },
);

forEachBackend(
  "Bernoulli VAE: 20-step trajectories with K = 3 match the oracle, binarised statically and dynamically; " +
    "the learned control variates of Double CV, RODEO and RELAX (K = 1, 6 steps) train along",
  async (backend) => {
    const hyper = { lr: 3e-2 };
    const runs = [
      ["reinmax", "dynamic", 3, 20],
      ["reinmax", "static", 3, 20],
      ["doublecv", "dynamic", 3, 20],
      ["rodeo", "static", 3, 20],
      // RELAX's oracle differentiates its network's 1,371 weights numerically: fewer steps.
      ["relax", "dynamic", 1, 6],
    ] as const;
    for (const [name, binarize, K, steps] of runs) {
      const shape = { ...SHAPE, evaluations: K };
      const model = tinyModel(backend, name, binarize, K, radam(hyper));
      try {
        const random = testRandom(4);
        const params = await readParameters(model);
        const state = new Map();
        const x = uniformArray(random, BATCH * SHAPE.inputSize, 0.05, 0.95);
        const got: number[] = [], want: number[] = [];
        for (let t = 1; t <= steps; t++) {
          const sample = Int32Array.from({ length: BATCH * K * SHAPE.latents }, () => random() < 0.5 ? 0 : 1);
          // Dynamic binarisation draws afresh each step (stream = step); static draws once (stream 0).
          const stream = binarize === "dynamic" ? t - 1 : 0;
          const binarization = { mode: binarize, indices: [5, 6], key: seedKey(SEED), stream };
          const step = oracle.bernoulliStep(
            shape,
            params,
            Float64Array.from(x),
            BATCH,
            sample,
            spec(name, t - 1),
            binarization,
          );
          want.push(mean(step.reconstruction) + mean(step.kl));
          oracle.optimizerStep("radam", params, step.grads, state, t, hyper);
          // RELAX draws its codes itself (its logistic variables must match them), as the oracle does.
          model.step(x, BATCH, name === "relax" ? { indices: [5, 6] } : { sample, indices: [5, 6] });
        }
        const losses = await model.readLosses();
        losses.reconstruction.forEach((r, i) => got.push(r + losses.kl[i]));
        assertClose(got, want, { rtol: 1e-4, label: `${name}, ${binarize}: −ELBO per step` });
        for (const p of model.parameters) {
          assertTensorClose(
            await readF32(backend, p.value.buffer),
            params.get(p.label)!,
            `${name}, ${binarize}: ${p.label} after ${steps} steps`,
            1e-3,
          );
        }
        const learned = {
          doublecv: ["estimator.alpha", 0],
          rodeo: ["estimator.weights", 0],
          relax: ["estimator.scale", 1],
        }[
          name as "doublecv"
        ] as [string, number] | undefined;
        if (learned) {
          const value = params.get(learned[0])![0];
          assert(Math.abs(value - learned[1]) > 1e-4, `${name}'s ${learned[0]} should have moved: ${value}`);
        }
      } finally {
        model.destroy();
      }
    }
  },
);

forEachBackend("Bernoulli VAE: prior samples follow the learned prior", async (backend) => {
  const model = tinyModel(backend, "st", "none");
  try {
    const params = await readParameters(model);
    // A prior certain that z_l = 1 for l = 0, 2 and 0 for l = 1: the decoder then sees the code (1, 0, 1).
    backend.write(model.plan.get("prior.logits").buffer, Float32Array.of(40, -40, 40));
    const samples = await model.samplePrior(3);
    const codes = Float64Array.from({ length: 9 }, (_, i) => (i % 3 === 1 ? 0 : 1));
    const decoderParams = new Map([...params].filter(([label]) => label.startsWith("decoder.")));
    const means = decoderMeans(decoderParams, codes, 3);
    assertClose(samples, means, { atol: 1e-6, label: "prior samples" });
  } finally {
    model.destroy();
  }
});

/** σ(decoder(z)) for the tiny shape, with the oracle's layers. */
function decoderMeans(params: oracle.Params, z: Float64Array, count: number): Float64Array {
  const sizes = [SHAPE.latents, ...[...SHAPE.hidden].reverse(), SHAPE.inputSize];
  let h = z;
  for (let i = 1; i < sizes.length; i++) {
    const w = params.get(`decoder.fc${i}.weight`)!, b = params.get(`decoder.fc${i}.bias`)!;
    const out = new Float64Array(count * sizes[i]);
    for (let n = 0; n < count; n++) {
      for (let o = 0; o < sizes[i]; o++) {
        let s = b[o];
        for (let k = 0; k < sizes[i - 1]; k++) s += h[n * sizes[i - 1] + k] * w[k * sizes[i] + o];
        out[n * sizes[i] + o] = i < sizes.length - 1 ? (s > 0 ? s : SHAPE.slope * s) : 1 / (1 + Math.exp(-s));
      }
    }
    h = out;
  }
  return h;
}

forEachBackend("Bernoulli VAE: options are checked and name the option", (backend) => {
  const names = (fn: () => unknown) => (assertThrows(fn, ReinmaxInputError) as ReinmaxInputError).argument;
  assertEquals(names(() => new BernoulliVae(backend, { evaluations: 0 })), "evaluations");
  assertEquals(names(() => new BernoulliVae(backend, { binarize: "sometimes" as never })), "binarize");
  assertEquals(names(() => new BernoulliVae(backend, { latents: 0 })), "latents");
  assertEquals(names(() => new BernoulliVae(backend, { slope: -1 })), "slope");
  const model = tinyModel(backend, "st", "static");
  try {
    const x = new Float32Array(BATCH * SHAPE.inputSize);
    assertEquals(names(() => model.forwardBackward(x, 1, { sample: new Int32Array(6).fill(2) })), "sample");
    assertEquals(names(() => model.forwardBackward(x, 2, { indices: [1] })), "indices");
    assertEquals(names(() => model.forwardBackward(x, 2, { indices: [1, -1] })), "indices[1]");
  } finally {
    model.destroy();
  }
});

forEachBackend(
  "trainVae trains the Bernoulli VAE on the digits: −ELBO falls, K and binarisation as asked",
  async (backend) => {
    const data = await openDataset("digits");
    const run = async () => {
      const model = new BernoulliVae(backend, {
        inputSize: 64,
        latents: 20,
        hidden: [32, 32],
        evaluations: 2,
        seed: 1,
        optimizer: radam({ lr: 3e-3 }),
      });
      try {
        const epochs: VaeEpoch[] = [];
        for await (const e of trainVae(model, data.train, { epochs: 3, test: data.test })) epochs.push(e);
        return epochs;
      } finally {
        model.destroy();
      }
    };
    const epochs = await run();
    assertEquals(epochs.map((e) => e.step), [15, 30, 45]);
    assert(epochs[2].trainElbo < epochs[0].trainElbo - 1, JSON.stringify(epochs.map((e) => e.trainElbo)));
    assert(epochs.every((e) => Number.isFinite(e.testElbo) && e.testKl >= 0), JSON.stringify(epochs));
    const metrics = (list: VaeEpoch[]) => list.map(({ msPerStep: _m, evaluationMs: _e, ...rest }) => rest);
    assertEquals(metrics(await run()), metrics(epochs), "the same seed trains the same model");
  },
);
