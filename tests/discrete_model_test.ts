// Declared models: every layer kind, stochastic layer and likelihood against the float64 oracle of a whole
// step; the issue's declaration running as written; the built-in 10×30 VAE as a declaration, bit for bit;
// checkpoints that rebuild a declared model from the file alone; and every declaration mistake named by its
// layer before anything is allocated.
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { BACKENDS, forEachBackend, onSoftwareGpu } from "./backends.ts";
import { type LayerSpec, type LikelihoodSpec, modelStep } from "./reference/model.ts";
import { assertClose, assertTensorClose, readParameters, testRandom, uniformArray } from "./util.ts";
import {
  adam,
  type Backend,
  CategoricalVae,
  DiscreteModel,
  type DiscreteModelOptions,
  estimator,
  FIXTURES_URL,
  ImageSet,
  layers,
  loadCheckpoint,
  loadFixture,
  radam,
  ReinmaxInputError,
  saveCheckpoint,
  trainModel,
  VectorSet,
} from "../mod.ts";
import { readF32, TAG } from "./internals.ts";

const { linear, relu, leakyRelu, tanh, sigmoid, categorical, bernoulli } = layers;

/** Stacks that exercise every layer kind, prior, K, estimator family and likelihood between them. */
const STACKS: { name: string; options: Omit<DiscreteModelOptions, "inputSize">; labels?: boolean }[] = [
  {
    name: "tanh, a categorical layer with a learned prior and K = 2, sigmoid, Bernoulli pixels",
    options: {
      layers: [
        linear(7),
        tanh(),
        categorical({
          categories: 3,
          latents: 2,
          estimator: estimator("st", { tau: 1.4 }),
          prior: "learned",
          evaluations: 2,
        }),
        linear(5),
        sigmoid(),
        linear(6),
      ],
      likelihood: layers.bernoulliLikelihood(),
    },
  },
  {
    name: "a classifier through a Bernoulli bottleneck without KL, K = 3, Gumbel-Rao",
    options: {
      layers: [
        linear(6),
        leakyRelu(0.2),
        bernoulli({
          latents: 4,
          estimator: estimator("grmck", { tau: 0.7, k: 2 }),
          kl: false,
          evaluations: 3,
        }),
        linear(5),
        relu(),
        linear(4),
      ],
      likelihood: layers.categoricalLikelihood({ classes: 4 }),
    },
    labels: true,
  },
  {
    name: "a Gaussian likelihood of float vectors through a Bernoulli layer with a learned prior, ReinMax",
    options: {
      layers: [
        linear(5),
        relu(),
        bernoulli({ latents: 3, estimator: estimator("reinmax", { tau: 1.2 }), prior: "learned" }),
        linear(6),
      ],
      likelihood: layers.gaussianLikelihood({ sigma: 0.7 }),
    },
  },
  {
    name: "two stochastic layers, K = 2 each, the second gapped, on codes read as one-hot rows",
    options: {
      layers: [
        linear(6),
        categorical({
          categories: 3,
          latents: 2,
          estimator: estimator("reinmax", { tau: 1.5 }),
          evaluations: 2,
        }),
        tanh(),
        bernoulli({ latents: 3, estimator: estimator("gst", { tau: 0.6, gap: 0.5 }), evaluations: 2 }),
        linear(6),
      ],
      likelihood: layers.bernoulliLikelihood(),
    },
  },
  {
    name: "two categorical layers with Gumbel-Rao, each drawing its own Gumbel noise",
    options: {
      layers: [
        linear(6),
        categorical({
          categories: 3,
          latents: 2,
          estimator: estimator("grmck", { tau: 0.8, k: 3 }),
          kl: false,
        }),
        linear(4),
        categorical({ categories: 3, latents: 2, estimator: estimator("grmck", { tau: 0.8, k: 3 }) }),
        linear(6),
      ],
      likelihood: layers.bernoulliLikelihood(),
    },
  },
];

const INPUT = 6, BATCH = 3, SEED = 7;

forEachBackend(
  "a declared model's step: every loss channel and gradient match the float64 oracle",
  async (backend) => {
    const random = testRandom(21);
    for (const { name, options, labels: withLabels } of STACKS) {
      const model = new DiscreteModel(backend, { ...options, inputSize: INPUT, batch: BATCH, seed: SEED });
      try {
        for (const count of [BATCH, 2]) {
          // Inputs in (0, 1), forced categories for every stochastic layer, labels for the classifier.
          const x = uniformArray(random, BATCH * INPUT, 0.1, 0.9);
          const samples: Record<number, Int32Array> = {};
          let factor = 1;
          model.layers.forEach((d, i) => {
            if (d.kind !== "categorical" && d.kind !== "bernoulli") return;
            const n = d.kind === "categorical" ? d.categories : 2;
            factor *= d.evaluations;
            samples[i] = Int32Array.from(
              { length: count * factor * d.latents },
              () => Math.floor(random() * n),
            );
          });
          const labels = withLabels
            ? Array.from({ length: count }, () => Math.floor(random() * 4))
            : undefined;
          const params = await readParameters(model);
          model.forwardBackward(x, count, { samples, labels });
          const losses = await model.readLosses();
          const stream = { key: [SEED, 0] as const, stream: model.steps, tag: TAG.estimator };
          const want = modelStep(
            INPUT,
            model.layers as LayerSpec[],
            model.likelihood as LikelihoodSpec,
            params,
            Float64Array.from(x),
            count,
            new Map(Object.entries(samples).map(([i, s]) => [Number(i), s])),
            labels,
            stream,
          );
          const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
          const where = `${name}, ${count} examples`;
          const channel = model.likelihood.kind === "categorical" ? "crossEntropy" : "reconstruction";
          assertClose(losses[channel], [mean(want.likelihood)], {
            rtol: 1e-4,
            label: `${where}: ${channel}`,
          });
          for (const [index, kl] of want.kl) {
            const key = want.kl.size === 1 ? "kl" : `kl.${model.layers[index].name ?? `layers.${index}`}`;
            assertClose(losses[key], [mean(kl)], { rtol: 1e-4, atol: 1e-6, label: `${where}: ${key}` });
          }
          for (const p of model.parameters) {
            const grad = await readF32(backend, p.grad.buffer);
            assertTensorClose(grad, want.grads.get(p.label)!, `${where}: ∂/∂${p.label}`, 2e-4);
          }
        }
      } finally {
        model.destroy();
      }
    }
  },
);

/** The issue's program, verbatim but for the data (the first 200 fixture images) and the epoch count. */
forEachBackend(
  "the declared 784-512-256-(10×30)-256-512-784 VAE trains as the issue writes it",
  async (backend) => {
    const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
    const { linear, relu, categorical, bernoulliLikelihood } = layers;
    const model = new DiscreteModel(backend, {
      inputSize: 784,
      layers: [
        linear(512),
        relu(),
        linear(256),
        relu(),
        categorical({ categories: 10, latents: 30, estimator: estimator("reinmax", { tau: 1.3 }) }), // KL to a uniform prior
        linear(256),
        relu(),
        linear(512),
        relu(),
        linear(784),
      ],
      likelihood: bernoulliLikelihood(), // the last layer's logits against the input: a VAE
      optimizer: radam({ lr: 5e-4 }),
      batch: 100,
      seed: 0,
    });
    try {
      const epochs = [];
      for await (
        const e of trainModel(model, data.train.slice(0, 200), { epochs: 2, test: data.test.slice(0, 100) })
      ) {
        epochs.push(e); // −ELBO per example for a VAE
      }
      assertEquals(epochs.map((e) => [e.epoch, e.step]), [[1, 2], [2, 4]]);
      for (const e of epochs) {
        assert(
          e.trainLoss > 100 && e.trainLoss < 800 && e.testLoss > 100 && e.testLoss < 800,
          JSON.stringify(e),
        );
        assertClose([e.testLoss], [e.testTerms.reconstruction + e.testTerms.kl], { rtol: 1e-9 });
        assert(Number.isNaN(e.testAccuracy), "no accuracy without labels");
      }
    } finally {
      model.destroy();
    }
  },
);

/** The 10×30 categorical VAE's layers, declared with the public API and default names. */
function declared10x30(
  backend: Backend,
  inputSize: number,
  hidden: readonly number[],
  seed: number,
): DiscreteModel {
  return new DiscreteModel(backend, {
    inputSize,
    layers: [
      linear(hidden[0]),
      relu(),
      linear(hidden[1]),
      relu(),
      categorical({ categories: 10, latents: 30, estimator: estimator("reinmax", { tau: 1.3 }) }),
      linear(hidden[1]),
      relu(),
      linear(hidden[0]),
      relu(),
      linear(inputSize),
    ],
    likelihood: layers.bernoulliLikelihood(),
    optimizer: radam({ lr: 5e-4 }),
    batch: 100,
    seed,
  });
}

forEachBackend(
  "a DiscreteModel declared with the 10×30 layers trains as CategoricalVae does, bit for bit on WASM",
  async (backend) => {
    const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
    const hidden = onSoftwareGpu(backend) ? [64, 32] : [512, 256];
    const builtIn = new CategoricalVae(backend, { config: "10x30", inputSize: 64, hidden, seed: 3 });
    const mine = declared10x30(backend, 64, hidden, 3);
    try {
      const losses: number[][] = [[], []];
      const steps = onSoftwareGpu(backend) ? 4 : 20;
      for (const [i, model] of [builtIn, mine].entries()) {
        for await (
          const _ of trainModel(model, data.train, {
            steps,
            epochs: 5,
            onProgress: (p) => losses[i].push(...p.losses),
          })
        ) {
          // the steps
        }
      }
      const [a, b] = [await readParameters(builtIn), await readParameters(mine)];
      const labels = [...b.keys()];
      assertEquals(labels.length, a.size);
      // The same parameters in the same order: only their labels differ.
      [...a.entries()].forEach(([label, values], i) => {
        if (backend.name === "wasm") assertEquals(b.get(labels[i]), values, `${label} ~ ${labels[i]}`);
        else assertClose(b.get(labels[i])!, values, { rtol: 1e-5, atol: 1e-7, label });
      });
      if (backend.name === "wasm") assertEquals(losses[1], losses[0]);
      else assertClose(losses[1], losses[0], { rtol: 1e-5 });
    } finally {
      builtIn.destroy();
      mine.destroy();
    }
  },
);

forEachBackend(
  "a declared model's checkpoint rebuilds it from the file alone and resumes as the straight run",
  async (backend) => {
    const options = {
      ...STACKS[0].options,
      inputSize: INPUT,
      batch: BATCH,
      seed: SEED,
      optimizer: adam({ lr: 1e-2 }),
    };
    const random = testRandom(5);
    const batches = Array.from({ length: 6 }, () => uniformArray(random, BATCH * INPUT, 0, 1));
    const straight = new DiscreteModel(backend, options), first = new DiscreteModel(backend, options);
    try {
      for (const x of batches) straight.step(x);
      for (const x of batches.slice(0, 3)) first.step(x);
      const file = await saveCheckpoint(first);
      const { model: loaded, checkpoint } = loadCheckpoint(file, backend, "declared.safetensors");
      const second = loaded as DiscreteModel;
      try {
        assert(loaded instanceof DiscreteModel);
        assertEquals(checkpoint.description.model, "declared");
        assertEquals(second.layers, first.layers, "the declaration came back");
        // Tensors are named per layer: layers.<index>.weight, .bias, .prior.
        assert(
          checkpoint.state.tensors.has("layers.2.prior"),
          [...checkpoint.state.tensors.keys()].join(", "),
        );
        for (const x of batches.slice(3)) second.step(x);
        const [a, b] = [await readParameters(straight), await readParameters(second)];
        for (const [label, values] of a) {
          if (backend.name === "wasm") assertEquals(b.get(label), values, label);
          else assertClose(b.get(label)!, values, { rtol: 1e-5, atol: 1e-7, label });
        }
      } finally {
        second.destroy();
      }
    } finally {
      straight.destroy();
      first.destroy();
    }
  },
);

Deno.test({
  name:
    "every declaration mistake is a ReinmaxInputError naming the layer by index and kind, nothing allocated",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: () => {
    const backend = BACKENDS.get("wasm") as Backend;
    const before = backend.bytesAllocated;
    const refused = (options: Partial<DiscreteModelOptions>, argument: string, message?: string) => {
      const error = assertThrows(
        () =>
          new DiscreteModel(backend, {
            inputSize: 8,
            layers: [linear(4), relu(), linear(8)],
            likelihood: layers.bernoulliLikelihood(),
            ...options,
          } as DiscreteModelOptions),
        ReinmaxInputError,
      ) as ReinmaxInputError;
      assertEquals(error.argument, argument, error.message);
      if (message) assertStringIncludes(error.message, message);
    };
    refused({ layers: [linear(0), linear(8)] }, "layers[0] (linear).outSize");
    refused(
      { layers: [linear(4), { kind: "softmax" } as never, linear(8)] },
      "layers[1] (softmax)",
      "unknown layer kind",
    );
    refused({ layers: [linear(4), relu(), linear(5)] }, "layers[2] (linear)", "end with linear(8)");
    refused(
      { layers: [linear(4), categorical({ categories: 3, latents: 2 }), linear(5)] },
      "layers[2] (linear)",
      "needs 8",
    );
    refused(
      {
        layers: [linear(4), {
          ...categorical({ categories: 3, latents: 2 }),
          estimator: { name: "reinmax", tau: 0.5, k: 1, gap: 1 },
        }, linear(8)],
      },
      "layers[1] (categorical).estimator.tau",
      "ReinMax requires tau >= 1",
    );
    refused(
      { layers: [linear(4), categorical({ categories: 1, latents: 2 }), linear(8)] },
      "layers[1] (categorical).categories",
    );
    refused(
      { layers: [linear(4), bernoulli({ latents: 2, evaluations: 0 }), linear(8)] },
      "layers[1] (bernoulli).evaluations",
    );
    refused(
      { layers: [linear(4), bernoulli({ latents: 2, prior: "learned", kl: false }), linear(8)] },
      "layers[1] (bernoulli).prior",
    );
    refused({ layers: [] }, "layers");
    refused({ likelihood: { kind: "poisson" } as never }, "likelihood", "unknown likelihood");
    refused({ likelihood: layers.gaussianLikelihood({ sigma: 0 }) }, "likelihood.sigma");
    refused(
      { likelihood: layers.categoricalLikelihood({ classes: 10 }) },
      "layers[2] (linear)",
      "10 classes",
    );
    refused(
      { layers: [linear(4, { name: "enc" }), relu(), linear(8, { name: "enc" })] },
      "layers[2] (linear)",
      `the name "enc" is already layers[0] (linear)'s`,
    );
    refused(
      {
        layers: [
          linear(4, { name: "a" }),
          categorical({ categories: 2, latents: 2, parameterNames: { weight: "a.weight" } }),
          linear(8),
        ],
      },
      "layers[1] (categorical)",
      `the parameter name "a.weight" is already layers[0] (linear)'s`,
    );
    refused(
      { layers: [linear(4), relu(), linear(8), sigmoid()] },
      "layers[3] (sigmoid)",
      "reads logits and applies its own sigmoid",
    );
    refused({ inputSize: 0 }, "inputSize");
    refused({ batch: 0 }, "batch");
    assertEquals(backend.bytesAllocated, before, "nothing was allocated");
  },
});

Deno.test({
  name:
    "data that does not fit a model is refused before any step: width, missing labels, a label beyond classes",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: async () => {
    const backend = BACKENDS.get("wasm") as Backend;
    const classifier = new DiscreteModel(backend, {
      inputSize: 4,
      layers: [linear(6), relu(), categorical({ categories: 2, latents: 2, kl: false }), linear(3)],
      likelihood: layers.categoricalLikelihood({ classes: 3 }),
      batch: 2,
    });
    try {
      const values = new Float32Array(5 * 4);
      const unlabelled = new VectorSet({ name: "no labels", count: 5, width: 4, values });
      const wide = new VectorSet({
        name: "wide",
        count: 5,
        width: 5,
        values: new Float32Array(25),
        labels: new Uint8Array(5),
      });
      const bad = new VectorSet({
        name: "label 3",
        count: 5,
        width: 4,
        values,
        labels: Uint8Array.of(0, 1, 2, 3, 0),
      });
      const fails = async (set: VectorSet, what: string) => {
        const error = await assertRejects(async () => {
          for await (const _ of trainModel(classifier, set)) { /* nothing */ }
        }, Error);
        assertStringIncludes((error as Error).message, what);
      };
      await fails(unlabelled, "no labels, and the model's categorical likelihood scores labels");
      await fails(wide, "examples of 5 values; the model takes 4");
      await fails(bad, "label 3 of example 3 is not one of the likelihood's 3 classes");
      assertEquals(classifier.steps, 0);
      // An image set's labels serve a classifier as well.
      const images = new ImageSet({
        name: "tiny",
        count: 2,
        height: 2,
        width: 2,
        pixels: new Uint8Array(8),
        labels: Uint8Array.of(1, 2),
      });
      for await (const _ of trainModel(classifier, images)) { /* one step */ }
      assertEquals(classifier.steps, 1);
    } finally {
      classifier.destroy();
    }
    // A VectorSet checks itself: its length, its values, its labels.
    const refusedSet = (options: Record<string, unknown>, argument: string, message: string) => {
      const error = assertThrows(
        () =>
          new VectorSet({ name: "v", count: 2, width: 3, values: new Float32Array(6), ...options } as never),
        ReinmaxInputError,
      ) as ReinmaxInputError;
      assertEquals(error.argument, argument, error.message);
      assertStringIncludes(error.message, message);
    };
    refusedSet({ values: new Float32Array(5) }, "values", "count × width = 2 × 3 = 6 values, got 5");
    refusedSet({ values: Float32Array.of(0, 1, 2, NaN, 4, 5) }, "values", "at index 3 (example 1)");
    refusedSet({ labels: Uint8Array.of(1) }, "labels", "one label per example (2), got 1");
    refusedSet({ labels: [1, 2] }, "labels", "expected a Uint8Array");
  },
});

forEachBackend(
  "static binarisation gives an example the bits of its index in the collection, whatever the batch",
  async (backend) => {
    // Example j is binarised from row j of the stream: reading 5 examples in chunks of 2 must see the bits a
    // single chunk of 5 sees, so the logits of the first stochastic layer agree.
    const random = testRandom(8);
    const x = uniformArray(random, 5 * INPUT, 0.2, 0.8);
    /** The first stochastic layer's logits of `inputs`, read by a model of batch `batch`. */
    const logitsWith = async (batch: number, inputs: Float32Array, count: number) => {
      const model = new DiscreteModel(backend, {
        inputSize: INPUT,
        layers: [linear(4), relu(), categorical({ categories: 3, latents: 2 }), linear(INPUT)],
        likelihood: layers.bernoulliLikelihood(),
        binarize: "static",
        batch,
        seed: SEED,
      });
      try {
        return await model.latentLogits(inputs, count);
      } finally {
        model.destroy();
      }
    };
    const whole = await logitsWith(5, x, 5), chunked = await logitsWith(2, x, 5);
    // Products over 2 or 5 rows may round differently in the last place; other bits move logits by far more.
    assertClose(chunked, whole, { rtol: 1e-5, atol: 1e-6, label: "logits read in chunks of 2" });
    // The bits do depend on the index: the same image at two indices is binarised differently somewhere.
    const same = new Float32Array(2 * INPUT);
    same.set(x.subarray(0, INPUT));
    same.set(x.subarray(0, INPUT), INPUT);
    const both = await logitsWith(2, same, 2);
    assert(both.subarray(0, 6).some((v, i) => v !== both[6 + i]), "two indices, two draws of bits");
  },
);
