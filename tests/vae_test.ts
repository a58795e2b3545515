// The categorical VAE against a float64 oracle of the whole step (tests/reference/vae.ts), as llm.c's
// test_gpt2 checks its model: the loss terms and every gradient named in the memory plan after one step with
// forced samples, then a 20-step loss trajectory, on every backend and for every estimator.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { openDataset } from "../examples/data_source.ts";
import { forEachBackend } from "./backends.ts";
import { assertClose, assertTensorClose, readParameters, testRandom, uniformArray } from "./util.ts";
import * as oracle from "./reference/vae.ts";
import * as ref from "./reference/estimators.ts";
import { streamWord, uniformFromWord } from "./reference/philox.ts";
import {
  adam,
  allImages,
  type Backend,
  CategoricalVae,
  estimator,
  type PathwiseEstimatorName as EstimatorName,
  radam,
  ReinmaxInputError,
  trainVae,
  type VaeEpoch,
} from "../mod.ts";
import { readF32, seedKey, TAG } from "./internals.ts";

const SHAPE = { inputSize: 6, hidden: [5, 4], categories: 3, latents: 2 } as const;
const BATCH = 3, SEED = 11;

/** Each estimator at settings where every hyper-parameter changes the result. */
const ESTIMATORS: Record<EstimatorName, { tau: number; gap?: number; k?: number }> = {
  reinmax: { tau: 1.3 },
  st: { tau: 1.4 },
  gst: { tau: 0.7, gap: 1.5 },
  stgs: { tau: 0.5 },
  grmck: { tau: 0.6, k: 3 },
};

function tinyModel(backend: Backend, name: EstimatorName, optimizer = adam({ lr: 1e-2 })): CategoricalVae {
  return new CategoricalVae(backend, {
    categories: SHAPE.categories,
    latents: SHAPE.latents,
    inputSize: SHAPE.inputSize,
    hidden: SHAPE.hidden,
    batch: BATCH,
    seed: SEED,
    estimator: estimator(name, ESTIMATORS[name]),
    optimizer,
  });
}

function spec(name: EstimatorName, stream: number): oracle.EstimatorSpec {
  return { name, ...ESTIMATORS[name], key: seedKey(SEED), stream, tag: TAG.estimator };
}

function forcedSample(random: () => number, count: number): Int32Array {
  return Int32Array.from({ length: count * SHAPE.latents }, () => Math.floor(random() * SHAPE.categories));
}

/** Relative to the tensor's largest entry, so near-zero entries of a tensor are not held to 1e-4 of 0. */

forEachBackend(
  "categorical VAE: one step's loss terms and every gradient match the float64 oracle",
  async (backend) => {
    const random = testRandom(5);
    for (const name of Object.keys(ESTIMATORS) as EstimatorName[]) {
      for (const count of [BATCH, 2]) {
        const model = tinyModel(backend, name);
        try {
          const x = uniformArray(random, BATCH * SHAPE.inputSize, 0, 1);
          const sample = forcedSample(random, count);
          const params = await readParameters(model);
          model.forwardBackward(x, count, { sample });
          const losses = await model.readLosses();
          const want = oracle.vaeStep(SHAPE, params, Float64Array.from(x), count, sample, spec(name, 0));
          const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
          const where = `${name}, ${count} images`;
          assertClose(losses.reconstruction, [mean(want.reconstruction)], {
            rtol: 1e-5,
            label: `${where} rec`,
          });
          assertClose(losses.kl, [mean(want.kl)], { rtol: 1e-4, atol: 1e-6, label: `${where} kl` });
          assertEquals(model.parameters.length, want.grads.size, "every parameter has an oracle gradient");
          for (const p of model.parameters) {
            const grad = await readF32(backend, model.plan.get(`${p.label}.grad`).buffer);
            assertTensorClose(grad, want.grads.get(p.label)!, `${where}: ${p.label}.grad`);
          }
        } finally {
          model.destroy();
        }
      }
    }
  },
);

forEachBackend(
  "categorical VAE: a 20-step loss trajectory matches the float64 oracle (RAdam with ReinMax, Adam with Gumbel-Rao)",
  async (backend) => {
    for (const [name, optName] of [["reinmax", "radam"], ["grmck", "adam"]] as const) {
      const hyper = { lr: 3e-2, weightDecay: 1e-3 };
      const model = tinyModel(backend, name, (optName === "adam" ? adam : radam)(hyper));
      try {
        const random = testRandom(9);
        const params = await readParameters(model);
        const state = new Map();
        const x = uniformArray(random, BATCH * SHAPE.inputSize, 0, 1);
        const got: number[] = [], want: number[] = [];
        for (let t = 1; t <= 20; t++) {
          const sample = forcedSample(random, BATCH);
          const step = oracle.vaeStep(SHAPE, params, Float64Array.from(x), BATCH, sample, spec(name, t - 1));
          want.push([...step.reconstruction, ...step.kl].reduce((a, b) => a + b, 0) / BATCH);
          oracle.optimizerStep(optName, params, step.grads, state, t, hyper);
          model.step(x, BATCH, { sample });
        }
        const losses = await model.readLosses();
        losses.reconstruction.forEach((r, i) => got.push(r + losses.kl[i]));
        assertClose(got, want, { rtol: 1e-4, label: `${name} ${optName} −ELBO per step` });
        assert(want[19] < want[0] - 0.1, `the oracle's loss falls: ${want[0]} → ${want[19]}`);
        for (const p of model.parameters) {
          assertTensorClose(
            await readF32(backend, p.value.buffer),
            params.get(p.label)!,
            `${p.label} after 20 steps`,
            1e-3,
          );
        }
      } finally {
        model.destroy();
      }
    }
  },
);

forEachBackend("categorical VAE: the memory plan lists every buffer once, by role", (backend) => {
  const model = new CategoricalVae(backend, { config: "8x4", batch: 10 });
  try {
    const report = model.memoryReport();
    // 784·512 + 512 + 512·256 + 256 + 256·32 + 32 and the mirrored decoder (docs/math.md §6.2).
    const encoder = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 32 + 32;
    const decoder = 32 * 256 + 256 + 256 * 512 + 512 + 512 * 784 + 784;
    assertEquals(report.byRole.parameter, 4 * (encoder + decoder));
    assertEquals(report.byRole.gradient, report.byRole.parameter);
    assertEquals(report.byRole.optimizer, 2 * report.byRole.parameter);
    assertEquals(report.byRole.snapshot, 3 * report.byRole.parameter);
    assertEquals(report.byRole.input, 4 * 10 * 784);
    assertEquals(report.total, model.plan.entries.reduce((s, e) => s + 4 * e.length, 0));
    const labels = model.plan.entries.map((e) => e.label);
    assertEquals(new Set(labels).size, labels.length, "labels are unique");
    assertEquals(model.parameters.map((p) => p.label).slice(0, 2), [
      "encoder.fc1.weight",
      "encoder.fc1.bias",
    ]);
  } finally {
    model.destroy();
  }
});

forEachBackend("categorical VAE: options are checked and name the option", (backend) => {
  const names = (fn: () => unknown) => (assertThrows(fn, ReinmaxInputError) as ReinmaxInputError).argument;
  assertEquals(names(() => new CategoricalVae(backend, { config: "9x9" as "8x4" })), "config");
  assertEquals(names(() => new CategoricalVae(backend, { config: "8x4", latents: 5 })), "latents");
  assertEquals(names(() => new CategoricalVae(backend, { categories: 1, latents: 4 })), "categories");
  assertEquals(names(() => new CategoricalVae(backend, { batch: 0 })), "batch");
  assertEquals(names(() => new CategoricalVae(backend, { hidden: [] })), "hidden");
  assertEquals(
    names(() => new CategoricalVae(backend, { estimator: { name: "nope" } as never })),
    "estimator.name",
  );
  // A description that bypassed estimator(), or was changed after it, is checked again.
  assertEquals(
    names(() => new CategoricalVae(backend, { estimator: { name: "st", tau: NaN, k: 1, gap: 1 } })),
    "estimator.tau",
  );
  assertEquals(
    names(() => new CategoricalVae(backend, { optimizer: { ...adam({ lr: 1 }), lr: NaN } })),
    "optimizer.lr",
  );
  assertEquals(names(() => new CategoricalVae(backend, { optimizer: "adam" as never })), "optimizer");
  assertEquals(names(() => new CategoricalVae(null as never)), "backend");
  const model = tinyModel(backend, "reinmax");
  try {
    const x = new Float32Array(BATCH * SHAPE.inputSize);
    assertEquals(names(() => model.forwardBackward(x, 0)), "count");
    assertEquals(names(() => model.forwardBackward(x, BATCH + 1)), "count");
    assertEquals(names(() => model.forwardBackward(x.subarray(1))), "images");
    assertEquals(names(() => model.forwardBackward(x, 1, { sample: new Int32Array([0, 3]) })), "sample");
  } finally {
    model.destroy();
  }
});

forEachBackend(
  "categorical VAE: evaluate is the per-image mean −ELBO with codes from the evaluation stream",
  async (backend) => {
    const model = tinyModel(backend, "reinmax");
    try {
      const random = testRandom(12);
      const count = 5; // two forward passes of 3 and 2 images
      const x = uniformArray(random, count * SHAPE.inputSize, 0, 1);
      const params = await readParameters(model);
      const got = await model.evaluate(x, count);
      // Draw c outside training uses stream c of the evaluation tag; row r's category comes from word 0.
      let reconstruction = 0, kl = 0;
      for (let start = 0, draw = 0; start < count; start += BATCH, draw++) {
        const n = Math.min(BATCH, count - start);
        const chunk = Float64Array.from(x.subarray(start * SHAPE.inputSize, (start + n) * SHAPE.inputSize));
        // The codes depend on the logits, so take them from a first oracle pass with any sample.
        const logits = oracle.encoderLogits(SHAPE, params, chunk, n);
        const sample = Int32Array.from({ length: n * SHAPE.latents }, (_, r) =>
          ref.inverseCdfSample(
            Array.from(logits.subarray(r * SHAPE.categories, (r + 1) * SHAPE.categories)),
            uniformFromWord(streamWord(0, r, seedKey(SEED), draw, TAG.evaluation)),
          ));
        const step = oracle.vaeStep(SHAPE, params, chunk, n, sample, spec("reinmax", 0));
        reconstruction += step.reconstruction.reduce((a, b) => a + b, 0);
        kl += step.kl.reduce((a, b) => a + b, 0);
      }
      assertClose([got.reconstruction, got.kl], [reconstruction / count, kl / count], {
        rtol: 1e-5,
        atol: 1e-6,
      });
      assertClose([got.elbo], [(reconstruction + kl) / count], { rtol: 1e-5 });
      // The same images written a batch at a time give the same draws and the same terms, bit for bit.
      const twin = tinyModel(backend, "reinmax");
      try {
        const calls: number[][] = [];
        const batches = await twin.evaluate((start, n, out) => {
          calls.push([start, n]);
          out.set(x.subarray(start * SHAPE.inputSize, (start + n) * SHAPE.inputSize));
        }, count);
        assertEquals(calls, [[0, 3], [3, 2]]);
        assertEquals(batches, got);
      } finally {
        twin.destroy();
      }
    } finally {
      model.destroy();
    }
  },
);

forEachBackend(
  "trainVae on the digits: −ELBO falls epoch by epoch, the same for the same seed",
  async (backend) => {
    const data = await openDataset("digits");
    const train = data.train, perEpoch = train.count / 100;
    const run = async () => {
      // Hidden layers of 128 and 64: the property is the trainer's, not the size's, and a software GPU is slow.
      const model = new CategoricalVae(backend, { config: "8x4", inputSize: 64, hidden: [128, 64], seed: 1 });
      try {
        const before = await model.evaluate(allImages(data.test), data.test.count);
        const epochs: VaeEpoch[] = [];
        for await (const e of trainVae(model, train, { epochs: 3, test: data.test })) epochs.push(e);
        return { before, epochs };
      } finally {
        model.destroy();
      }
    };
    const { before, epochs } = await run();
    assertEquals(epochs.map((e) => [e.epoch, e.step]), [1, 2, 3].map((e) => [e, e * perEpoch])); // batch 100
    assert(
      epochs[2].trainElbo < epochs[1].trainElbo && epochs[1].trainElbo < epochs[0].trainElbo,
      JSON.stringify(epochs),
    );
    assert(epochs[2].testElbo < before.elbo - 5, `test −ELBO ${before.elbo} → ${epochs[2].testElbo}`);
    for (const e of epochs) {
      assertClose([e.trainElbo], [e.trainReconstruction + e.trainKl], { rtol: 1e-9 });
      assertClose([e.testElbo], [e.testReconstruction + e.testKl], { rtol: 1e-9 });
    }
    const again = await run();
    const metrics = (list: VaeEpoch[]) => list.map(({ msPerStep: _m, evaluationMs: _e, ...rest }) => rest);
    assertEquals(metrics(again.epochs), metrics(epochs), "the same seed trains the same model");
  },
);

forEachBackend(
  "categorical VAE: each of the six configurations builds and trains a step",
  async (backend) => {
    const expected = {
      "8x4": [8, 4],
      "4x24": [4, 24],
      "8x16": [8, 16],
      "16x12": [16, 12],
      "64x8": [64, 8],
      "10x30": [10, 30],
    };
    for (const [config, [categories, latents]] of Object.entries(expected)) {
      const model = new CategoricalVae(backend, { config: config as "8x4", batch: 2 });
      try {
        assertEquals([model.categories, model.latents], [categories, latents], config);
        assertEquals(model.plan.get("encoder.fc3.bias").length, categories * latents);
        model.step(new Float32Array(2 * 784).fill(0.5));
        const { reconstruction, kl } = await model.readLosses();
        // A fresh decoder predicts about ½ for every pixel: the BCE is near 784·log 2 against targets of ½.
        assert(Math.abs(reconstruction[0] - 784 * Math.log(2)) < 30, `${config}: ${reconstruction[0]}`);
        assert(kl[0] >= 0 && kl[0] < latents * Math.log(categories), `${config}: KL ${kl[0]}`);
      } finally {
        model.destroy();
      }
    }
  },
);

forEachBackend(
  "categorical VAE: reconstruct and samplePrior decode codes drawn from the evaluation stream",
  async (backend) => {
    const model = tinyModel(backend, "st");
    try {
      const random = testRandom(21);
      const params = await readParameters(model);
      const codeFor = (logits: ArrayLike<number>, rows: number, draw: number) =>
        Int32Array.from({ length: rows }, (_, r) =>
          ref.inverseCdfSample(
            Array.from({ length: SHAPE.categories }, (_, c) => logits[r * SHAPE.categories + c]),
            uniformFromWord(streamWord(0, r, seedKey(SEED), draw, TAG.evaluation)),
          ));
      // Five images in chunks of 3 and 2 (draws 0 and 1), then four prior samples in chunks of 3 and 1 (2, 3).
      const x = uniformArray(random, 5 * SHAPE.inputSize, 0, 1);
      const reconstructions = await model.reconstruct(x, 5);
      const priorSamples = await model.samplePrior(4);
      let draws = 0;
      const expected = (chunks: [number, number, Float64Array | null][]) =>
        chunks.flatMap(([start, n, images]) => {
          const draw = draws++;
          const logits = images
            ? oracle.encoderLogits(SHAPE, params, images.subarray(start * SHAPE.inputSize), n)
            : new Float64Array(n * SHAPE.latents * SHAPE.categories);
          const codes = oracle.onehotCodes(codeFor(logits, n * SHAPE.latents, draw), SHAPE.categories);
          return [...oracle.decoderMeans(SHAPE, params, codes, n)];
        });
      const x64 = Float64Array.from(x);
      assertClose(reconstructions, expected([[0, 3, x64], [3, 2, x64]]), {
        atol: 1e-6,
        label: "reconstructions",
      });
      assertClose(priorSamples, expected([[0, 3, null], [3, 1, null]]), {
        atol: 1e-6,
        label: "prior samples",
      });
    } finally {
      model.destroy();
    }
  },
);
