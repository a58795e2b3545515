// The trainer: non-finite values stop training at the right step with the right name and leave the last good
// state; an AbortSignal stops it; the data order is the documented Fisher–Yates on the seed's own stream.
import { assert, assertEquals, assertNotEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { streamWord } from "./reference/philox.ts";
import { assertClose, testRandom } from "./util.ts";
import {
  adam,
  type Backend,
  CategoricalVae,
  DivergenceError,
  estimator,
  FIXTURES_URL,
  ImageSet,
  loadFixture,
  NonFiniteError,
  PolyProgramming,
  ReinmaxInputError,
  train,
  type TrainingTask,
  trainPoly,
  trainVae,
} from "../mod.ts";
import { readF32, shuffledIndices } from "./internals.ts";

function polyTask(task: PolyProgramming): TrainingTask {
  return {
    model: task,
    stepsPerEpoch: 100,
    forwardBackward: () => task.forwardBackward(),
    epochMetrics: ["exactLoss"],
    enqueueEpochMetrics: () => task.enqueueExactLoss(),
  };
}

function tinyVae(backend: Backend, lr: number): CategoricalVae {
  return new CategoricalVae(backend, {
    categories: 3,
    latents: 2,
    inputSize: 6,
    hidden: [5, 4],
    batch: 3,
    seed: 4,
    estimator: estimator("reinmax", { tau: 1.3 }),
    optimizer: adam({ lr }),
    readEvery: 5,
  });
}

/** Six 2×3 images with pixels drawn from a seeded generator. */
function tinySet(): ImageSet {
  const random = testRandom(77);
  const pixels = Uint8Array.from({ length: 36 }, () => Math.floor(random() * 256));
  return new ImageSet({ name: "tiny", count: 6, height: 2, width: 3, pixels });
}

async function parameterValues(model: CategoricalVae): Promise<Float32Array[]> {
  return await Promise.all(model.parameters.map((p) => readF32(model.backend, p.value.buffer)));
}

/** The parameters of the same model trained cleanly for `steps` steps on the same data order. */
async function cleanRun(backend: Backend, lr: number, steps: number): Promise<Float32Array[]> {
  const model = tinyVae(backend, lr);
  try {
    for await (const _ of trainVae(model, tinySet(), { epochs: 100, steps })) { /* train */ }
    return await parameterValues(model);
  } finally {
    model.destroy();
  }
}

/** Wraps the task trainVae would build, so a test can interfere with one step. */
function vaeTask(
  model: CategoricalVae,
  set: ImageSet,
  interfere: (step: number, batch: Float32Array) => void,
) {
  const batch = new Float32Array(model.batch * model.inputSize);
  const task: TrainingTask = {
    model,
    stepsPerEpoch: Math.ceil(set.count / model.batch),
    forwardBackward: (epoch, index) => {
      const order = shuffledIndices(set.count, model.seed, epoch);
      const start = index * model.batch, count = Math.min(model.batch, set.count - start);
      set.gather(order, batch, start, count);
      const step = (epoch - 1) * task.stepsPerEpoch + index + 1;
      interfere(step, batch);
      model.forwardBackward(batch, count);
      interfere(-step, batch);
    },
  };
  return task;
}

forEachBackend(
  "poly: Adam at lr 1e38 makes θ infinite at step 1, and the initial θ is kept",
  async (backend) => {
    // The update's step size lr/(1 − β₁^t) travels to the kernel as an f32 (docs/math.md §5); at t = 1 it is
    // 10·lr = 1e39, beyond the largest f32, so the first update is infinite wherever the gradient is not 0.
    const lr = 1e38;
    assertEquals(Math.fround(lr / (1 - 0.9)), Infinity);
    const options = { optimizer: adam({ lr }), latents: 8, batch: 4, seed: 3 };
    const initial = new PolyProgramming(backend, options);
    const theta0 = await initial.readTheta();
    initial.destroy();
    const task = new PolyProgramming(backend, options);
    try {
      const error = await assertRejects(async () => {
        for await (const _ of train(polyTask(task), { epochs: 2 })) { /* train */ }
      }, NonFiniteError) as NonFiniteError;
      assertEquals([error.step, error.quantity, error.lastGoodStep], [
        1,
        "parameter theta after its update",
        0,
      ]);
      assertEquals(await task.readTheta(), theta0);
    } finally {
      task.destroy();
    }
    // trainPoly reports the same.
    const error = await assertRejects(async () => {
      for await (const _ of trainPoly(backend, { ...options, steps: 400 })) { /* train */ }
    }, NonFiniteError) as NonFiniteError;
    assertEquals(error.step, 1);
  },
);

forEachBackend(
  "VAE: a diverging learning rate stops at step 2 with the loss, state of step 1 kept",
  async (backend) => {
    // Adam's first step moves every weight with a non-zero gradient by 1e30, so any two consecutive layers
    // multiply to ~1e60, beyond f32: step 2's forward pass cannot stay finite.
    const lr = 1e30;
    const model = tinyVae(backend, lr);
    try {
      const error = await assertRejects(async () => {
        for await (const _ of trainVae(model, tinySet(), { epochs: 5 })) { /* train */ }
      }, NonFiniteError) as NonFiniteError;
      assertEquals(error.step, 2, error.message);
      assert(error.quantity.startsWith("loss"), error.quantity);
      assertEquals(error.lastGoodStep, 1);
      assertEquals(model.steps, 1);
      assertEquals(await parameterValues(model), await cleanRun(backend, lr, 1), "the state after step 1");
    } finally {
      model.destroy();
    }
  },
);

forEachBackend("VAE: a NaN injected into one gradient is named with its step", async (backend) => {
  const model = tinyVae(backend, 1e-2);
  try {
    const run: number[] = [];
    const task = vaeTask(model, tinySet(), (step) => {
      if (step > 0) run.push(step);
      // After step 4's backward (negative: after forwardBackward), one weight gradient goes bad.
      if (step === -4) {
        backend.write(model.plan.get("decoder.fc2.weight.grad").buffer, new Float32Array([NaN]), 7);
      }
    });
    const error = await assertRejects(async () => {
      for await (const _ of train(task, { epochs: 10 })) { /* train */ }
    }, NonFiniteError) as NonFiniteError;
    assertEquals([error.step, error.quantity, error.lastGoodStep], [4, "gradient of decoder.fc2.weight", 3]);
    assertStringIncludes(error.message, "1 of 20 values of decoder.fc2.weight.grad");
    // Epochs are 2 steps: the read-back after step 4 finds NaN parameters, and only the steps since the good
    // read-back after step 2 run again.
    assertEquals(run, [1, 2, 3, 4, 3, 4]);
    assertEquals(model.steps, 3);
    assertEquals(await parameterValues(model), await cleanRun(backend, 1e-2, 3), "the state after step 3");
  } finally {
    model.destroy();
  }
});

forEachBackend(
  "VAE: a NaN pixel makes that step's loss non-finite, named first by channel",
  async (backend) => {
    const model = tinyVae(backend, 1e-2);
    try {
      const task = vaeTask(model, tinySet(), (step, batch) => {
        if (step === 3) batch[4] = NaN; // both terms go NaN; the reconstruction channel is checked first
      });
      const error = await assertRejects(async () => {
        for await (const _ of train(task, { epochs: 10 })) { /* train */ }
      }, NonFiniteError) as NonFiniteError;
      assertEquals([error.step, error.quantity, error.lastGoodStep], [3, "loss (reconstruction)", 2]);
      assertEquals(await parameterValues(model), await cleanRun(backend, 1e-2, 2));
    } finally {
      model.destroy();
    }
  },
);

forEachBackend(
  "VAE: memory changed outside training is reported as such, not blamed on a step",
  async (backend) => {
    const model = tinyVae(backend, 1e-2);
    try {
      const error = await assertRejects(async () => {
        for await (
          const _ of trainVae(model, tinySet(), {
            epochs: 10,
            onProgress: (p) => {
              // At the read-back after step 4 (an epoch's end; the snapshot is taken just before), a weight is
              // overwritten.
              if (p.firstStep + p.losses.length - 1 === 4) {
                backend.write(model.plan.get("encoder.fc1.weight").buffer, new Float32Array([Infinity]));
              }
            },
          })
        ) { /* train */ }
      }, NonFiniteError) as NonFiniteError;
      assertEquals(error.step, 5, error.message);
      assertStringIncludes(error.message, "changed outside training");
      // The replay from the snapshot of step 4 ran cleanly to step 6: that is the state kept.
      assertEquals(error.lastGoodStep, 6);
      assertEquals(await parameterValues(model), await cleanRun(backend, 1e-2, 6));
    } finally {
      model.destroy();
    }
  },
);

forEachBackend("VAE: an AbortSignal stops training before the next step", async (backend) => {
  const model = tinyVae(backend, 1e-2);
  try {
    const controller = new AbortController();
    const epochs: number[] = [];
    await assertRejects(
      async () => {
        for await (const e of trainVae(model, tinySet(), { epochs: 10, signal: controller.signal })) {
          epochs.push(e.epoch);
          if (e.epoch === 2) controller.abort(new DOMException("stopped by the test", "AbortError"));
        }
      },
      DOMException,
      "stopped by the test",
    );
    assertEquals(epochs, [1, 2]);
    assertEquals(model.steps, 4);
  } finally {
    model.destroy();
  }
});

Deno.test("the data order is Fisher–Yates on the seed's data stream, fresh every epoch", () => {
  const count = 1000, seed = 2 ** 40 + 17;
  const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
  for (const epoch of [1, 2, 7]) {
    // Written from the definition: for i = count−1 … 1, j = ⌊w·(i + 1)/2^32⌋ with word w = count−1−i of the
    // stream (tag 3, stream = epoch, row 0).
    const expected = Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor((streamWord(count - 1 - i, 0, key, epoch, 3) * (i + 1)) / 2 ** 32);
      [expected[i], expected[j]] = [expected[j], expected[i]];
    }
    assertEquals([...shuffledIndices(count, seed, epoch)], expected, `epoch ${epoch}`);
  }
  assertNotEquals([...shuffledIndices(count, seed, 1)], [...shuffledIndices(count, seed, 2)]);
  assertNotEquals([...shuffledIndices(count, seed, 1)], [...shuffledIndices(count, seed + 1, 1)]);
  // Every position is equally likely: where element 0 lands over 4,000 epochs of 8 (χ², 7 degrees of freedom,
  // 24.3 is the 0.999 quantile).
  const landed = new Array(8).fill(0);
  for (let epoch = 0; epoch < 4000; epoch++) landed[shuffledIndices(8, 5, epoch).indexOf(0)]++;
  const chi2 = landed.reduce((s, n) => s + (n - 500) ** 2 / 500, 0);
  assert(chi2 < 24.3, `χ² = ${chi2} for ${landed}`);
});

forEachBackend(
  "an AbortSignal that fires on a timer stops a long run (the run gives the event loop turns)",
  async (backend) => {
    const started = performance.now();
    const error = await assertRejects(async () => {
      for await (
        const _ of trainPoly(backend, { latents: 4, batch: 2, steps: 1e9, signal: AbortSignal.timeout(300) })
      ) { /* a run far longer than the test */ }
    }, DOMException);
    assertEquals((error as DOMException).name, "TimeoutError");
    assert(performance.now() - started < 20_000, "stopped soon after the signal");
  },
);

/** The 8×4 VAE on the digits with Adam at `lr`: at 1e6 its loss runs away, finite, within a few steps. */
function digitsVae(backend: Backend, lr: number): CategoricalVae {
  return new CategoricalVae(backend, {
    config: "8x4",
    inputSize: 64,
    hidden: [64, 32],
    optimizer: adam({ lr }),
  });
}

forEachBackend(
  "a finite blow-up stops with a DivergenceError naming its step, the model at the state before it",
  async (backend) => {
    const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
    const model = digitsVae(backend, 1e6);
    try {
      const error = await assertRejects(async () => {
        for await (const _ of trainVae(model, data.train, { epochs: 3 })) { /* train */ }
      }, DivergenceError) as DivergenceError;
      assert(Number.isFinite(error.loss) && error.loss > error.limit, error.message);
      assert(error.step >= 2 && error.lastGoodStep === error.step - 1, error.message);
      assertEquals(model.steps, error.lastGoodStep);
      // The limit is divergenceFactor (100) times the first step's loss.
      const fresh = digitsVae(backend, 1e6);
      let first = NaN;
      try {
        for await (
          const _ of trainVae(fresh, data.train, {
            steps: 1,
            onProgress: (p) => first = p.losses[0],
          })
        ) {
          // one step
        }
      } finally {
        fresh.destroy();
      }
      assertClose([error.limit], [100 * first], { rtol: 1e-6, label: "limit" });
    } finally {
      model.destroy();
    }
  },
);

forEachBackend(
  "a model trains in one loop at a time; a second loop is refused, the first goes on",
  async (backend) => {
    const model = tinyVae(backend, 1e-3);
    try {
      const first = trainVae(model, tinySet(), { epochs: 3 });
      assertEquals((await first.next()).value?.epoch, 1);
      const second = trainVae(model, tinySet(), { epochs: 3 });
      const error = await assertRejects(() => second.next(), ReinmaxInputError) as ReinmaxInputError;
      assertEquals(error.argument, "model");
      assertStringIncludes(error.message, "already being trained");
      for await (const _ of first) { /* the first loop finishes undisturbed */ }
      assertEquals(model.steps, 3 * 2);
      // Once it has finished, the model can be trained again.
      for await (const _ of trainVae(model, tinySet(), { epochs: 4 })) { /* one more epoch */ }
      assertEquals(model.steps, 4 * 2);
    } finally {
      model.destroy();
    }
  },
);

forEachBackend(
  "VAE: a model whose parameters already hold non-finite values is refused before the first step",
  async (backend) => {
    const model = tinyVae(backend, 1e-2);
    try {
      // As if a caller had written a broken state: two NaNs and an infinity in one weight.
      const weight = model.plan.get("encoder.fc2.weight");
      backend.write(weight.buffer, new Float32Array([NaN, Infinity, NaN]), 5);
      let steps = 0;
      const error = await assertRejects(async () => {
        for await (
          const _ of train(vaeTask(model, tinySet(), () => void steps++), { epochs: 1 })
        ) { /* train */ }
      }, ReinmaxInputError) as ReinmaxInputError;
      assertEquals(error.argument, "model");
      assertStringIncludes(
        error.message,
        "parameter encoder.fc2.weight holds 3 non-finite values before training",
      );
      assertEquals([steps, model.steps], [0, 0], "no step was taken");
    } finally {
      model.destroy();
    }
  },
);
