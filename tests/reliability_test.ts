// No input, size or failure leaves the SDK broken, silent or lying: each case a new user met, as a regression
// test on every backend; two trainers sharing a backend; and a device lost mid-run, continued on WASM.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { BACKENDS, forEachBackend } from "./backends.ts";
import { assertClose } from "./util.ts";
import {
  adam,
  type Backend,
  BackendFailureError,
  BackendMemoryError,
  CategoricalVae,
  estimator,
  ImageSet,
  loadInto,
  type ModelState,
  NonFiniteError,
  type PolyEpoch,
  PolyProgramming,
  reinmax,
  ReinmaxInputError,
  saveCheckpoint,
  trainPoly,
  type TrainPolyOptions,
  trainVae,
} from "../mod.ts";
import { readF32, WasmBackend, WebGpuBackend } from "./internals.ts";

async function epochsOf(backend: Backend, options: TrainPolyOptions): Promise<PolyEpoch[]> {
  const epochs: PolyEpoch[] = [];
  for await (const e of trainPoly(backend, options)) epochs.push(e);
  return epochs;
}

/** A valid call still answers correctly: one-hot samples of the right rows, and the backend's memory intact. */
async function stillWorks(backend: Backend, bytesBefore: number): Promise<void> {
  assertEquals(backend.bytesAllocated, bytesBefore, "bytesAllocated is back where it was");
  const r = await reinmax(backend, new Float32Array([0, 30, 0, -30, 30, -30]), { n: 3, seed: 2 });
  // Logits 30 apart make the sample certain to float precision.
  assertEquals([...r.sample], [1, 1]);
  assertEquals([...r.yHard], [0, 1, 0, 0, 1, 0]);
  assertEquals(backend.bytesAllocated, bytesBefore);
}

forEachBackend(
  "1. an oversized request is refused before allocating, and the backend keeps working",
  async (backend) => {
    const before = backend.bytesAllocated;
    // 2^29 logits: 2 GiB each for the draw's buffers, beyond a 4 GiB WebAssembly memory and a GPU's binding.
    const error = await assertRejects(
      () => reinmax(backend, new Float32Array(2 ** 29), { n: 2 }),
      ReinmaxInputError,
    );
    assertEquals((error as ReinmaxInputError).argument, "logits");
    assertStringIncludes((error as Error).message, "logits.length = 536870912 elements");
    await stillWorks(backend, before);
    // A model too large for the backend names the user's option and its formula.
    const big = assertThrows(
      () => new PolyProgramming(backend, { latents: 1 << 20, batch: 1 << 20 }),
      ReinmaxInputError,
    );
    assertEquals(big.argument, "batch");
    assertStringIncludes(big.message, "batch × latents = 1099511627776 elements");
    await stillWorks(backend, before);
  },
);

Deno.test({
  name: "1. WASM: an allocation past 4 GiB is a BackendMemoryError that books nothing",
  ignore: !(BACKENDS.get("wasm") instanceof WasmBackend),
  fn: async () => {
    const backend = await WasmBackend.create();
    const memory = backend.memoryBytes;
    const error = assertThrows(() => backend.alloc(2 ** 30 + 1, "too big"), BackendMemoryError);
    assertStringIncludes(error.message, `buffer "too big"`);
    assertEquals(backend.bytesAllocated, 0);
    assertEquals(backend.memoryBytes, memory, "the memory did not grow");
    await stillWorks(backend, 0);
    backend.destroy();
  },
});

forEachBackend(
  "2. a diverging run says so: NonFiniteError naming step and quantity, θ of the last good step kept",
  async (backend) => {
    const error = await assertRejects(
      () => epochsOf(backend, { optimizer: adam({ lr: 1e38 }), latents: 8, batch: 4, steps: 400 }),
      NonFiniteError,
    );
    assertEquals([error.step, error.quantity], [1, "parameter theta after its update"]);
  },
);

forEachBackend("3. plain JavaScript callers are validated like TypeScript ones", async (backend) => {
  const names = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (e) {
      assertInstanceOf(e, ReinmaxInputError);
      return (e as ReinmaxInputError).argument;
    }
    throw new Error("expected a ReinmaxInputError");
  };
  const logits = new Float32Array([0.1, 0.2]);
  assertEquals(await names(() => epochsOf(backend, { estimator: "st" as never, steps: 10 })), "estimator");
  const badAdam = { name: "adam", lr: NaN, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;
  assertEquals(await names(() => epochsOf(backend, { optimizer: badAdam, steps: 10 })), "optimizer.lr");
  const badTau = { ...estimator("st", { tau: 1 }), tau: NaN };
  assertEquals(await names(() => epochsOf(backend, { estimator: badTau, steps: 10 })), "estimator.tau");
  // estimator() and adam() hand out frozen descriptions, so they cannot be changed after their checks.
  assertThrows(() => ((estimator("st") as { tau: number }).tau = NaN), TypeError);
  assertEquals(await names(() => reinmax(backend, logits, null as never)), "options");
  assertEquals(await names(() => reinmax(null as never, logits, { n: 2 })), "backend");
  assertEquals(await names(() => epochsOf(backend, null as never)), "options");
  assertEquals(await names(() => epochsOf({} as never, { steps: 10 })), "backend");
});

forEachBackend("4. a constructor that fails frees everything it allocated", async (backend) => {
  const before = backend.bytesAllocated;
  // Fails in the size check, before allocating…
  await assertRejects(() => epochsOf(backend, { latents: 1 << 20, batch: 1 << 20 }), ReinmaxInputError);
  assertEquals(backend.bytesAllocated, before);
  // …and midway through allocating: the seventh buffer is refused.
  let allocations = 0;
  const alloc = backend.alloc.bind(backend);
  backend.alloc = (length, label) => {
    if (++allocations === 7) throw new BackendMemoryError(backend.name, 4 * length, "refused by the test");
    return alloc(length, label);
  };
  try {
    assertThrows(() => new PolyProgramming(backend, { latents: 8, batch: 4 }), BackendMemoryError);
  } finally {
    backend.alloc = alloc;
  }
  await stillWorks(backend, before);
});

forEachBackend("5. a size error names the user's option, whatever buffer it concerns", (backend) => {
  const error = assertThrows(
    () => new PolyProgramming(backend, { latents: 1 << 20, batch: 1 << 12 }),
    ReinmaxInputError,
  );
  assertEquals(error.argument, "batch");
  assertStringIncludes(error.message, "batch × latents");
  assertStringIncludes(error.message, backend.name);
});

forEachBackend(
  "6. destroying the backend mid-run is reported at its step, and cleanup does not mask it",
  async (backend) => {
    // A backend of its own, since this one gets destroyed.
    const own = backend instanceof WebGpuBackend ? await WebGpuBackend.create() : await WasmBackend.create();
    const seen: number[] = [];
    const error = await assertRejects(
      () =>
        epochsOf(own, {
          latents: 16,
          batch: 4,
          steps: 400,
          stepsPerEpoch: 100,
          readEvery: 50,
          onLosses: (first, losses) => {
            seen.push(...losses);
            if (first + losses.length === 150) own.destroy();
          },
        }),
      BackendFailureError,
    );
    assertEquals(error.step, 151, error.message);
    assertStringIncludes(error.message, "destroyed");
    assertInstanceOf(error.cause, BackendFailureError, "the failure as it surfaced is kept as the cause");
    assertEquals(seen.length, 150);
  },
);

forEachBackend(
  "two trainers sharing one backend, interleaved, give what each gives alone",
  async (backend) => {
    const a: TrainPolyOptions = {
      latents: 16,
      batch: 8,
      steps: 120,
      stepsPerEpoch: 40,
      readEvery: 20,
      seed: 1,
    };
    const b: TrainPolyOptions = {
      latents: 24,
      batch: 4,
      steps: 100,
      stepsPerEpoch: 25,
      readEvery: 10,
      seed: 2,
      estimator: estimator("gst", { tau: 0.7, gap: 2 }),
    };
    const alone = [await epochsOf(backend, a), await epochsOf(backend, b)];
    const runs = [trainPoly(backend, a), trainPoly(backend, b)];
    const together: PolyEpoch[][] = [[], []];
    const done = [false, false];
    while (!done[0] || !done[1]) {
      for (const i of [0, 1]) {
        if (done[i]) continue;
        const next = await runs[i].next();
        if (next.done) done[i] = true;
        else together[i].push(next.value);
      }
    }
    const metrics = (list: PolyEpoch[]) => list.map(({ msPerStep: _, ...rest }) => rest);
    assertEquals(metrics(together[0]), metrics(alone[0]));
    assertEquals(metrics(together[1]), metrics(alone[1]));
  },
);

const wasm = BACKENDS.get("wasm"), gpu = BACKENDS.get("webgpu");
Deno.test({
  name:
    "a GPU lost mid-run: the error names the step, and training continues on WASM from the last good state" +
    (typeof gpu === "object" ? "" : ` [webgpu unavailable: ${gpu}]`),
  ignore: typeof gpu !== "object" || typeof wasm !== "object",
  fn: async () => {
    const options: TrainPolyOptions = {
      latents: 32,
      batch: 8,
      steps: 300,
      stepsPerEpoch: 100,
      readEvery: 50,
      seed: 9,
    };
    const device = await WebGpuBackend.create();
    const states: ModelState[] = [];
    const error = await assertRejects(
      () =>
        epochsOf(device, {
          ...options,
          onCheckpoint: (state) => void states.push(state),
          onLosses: (first, losses) => {
            if (first + losses.length === 150) void device.simulateDeviceLoss();
          },
        }),
      BackendFailureError,
    );
    assert(error.step > 150 && error.step <= 200, error.message);
    // The last good state, from the end of epoch 1, is on the host…
    assertEquals(states.map((s) => s.step), [100]);
    const theta = states[0].tensors.get("theta")!;
    assertEquals(theta.length, 64);
    assert(theta.every(Number.isFinite));
    // …and the run continues from it on WASM, as an uninterrupted run on WASM goes (the backends agree).
    const continued = await epochsOf(wasm as Backend, { ...options, state: states[0] });
    const straight = await epochsOf(wasm as Backend, options);
    assertEquals(continued.map((e) => e.step), [200, 300]);
    assertClose(
      continued.map((e) => e.exactLoss),
      straight.slice(1).map((e) => e.exactLoss),
      { rtol: 1e-4, label: "exact loss after each epoch" },
    );
    device.destroy();
  },
});

forEachBackend("writeState checks every tensor before writing any", async (backend) => {
  const task = new PolyProgramming(backend, { latents: 4, batch: 2 });
  try {
    const state = await task.readState();
    const before = await task.readTheta();
    const bad = new Map(state.tensors);
    bad.set("theta.exp_avg_sq", new Float32Array(8).fill(NaN));
    const wrong = (s: unknown) => assertThrows(() => task.writeState(s as ModelState), ReinmaxInputError);
    wrong({ step: 3, tensors: bad });
    wrong({ step: 3, tensors: new Map([["theta", new Float32Array(8)]]) });
    wrong({ step: -1, tensors: state.tensors });
    wrong(null);
    assertEquals(await task.readTheta(), before, "nothing was written");
    assertEquals(task.steps, 0);
    task.writeState({ step: 7, tensors: state.tensors });
    assertEquals(task.steps, 7);
    assertClose(await readF32(backend, task.plan.get("theta").buffer), before);
  } finally {
    task.destroy();
  }
});

/** A small categorical VAE of six-pixel images with several parameters, so order of writes can show. */
const smallVae = (backend: Backend) =>
  new CategoricalVae(backend, { categories: 3, latents: 2, inputSize: 6, hidden: [5, 4], batch: 3, seed: 1 });

forEachBackend("a destroyed model answers every use with a typed error naming the model", async (backend) => {
  const model = smallVae(backend);
  const images = new Float32Array(18).fill(0.5);
  model.step(images);
  model.destroy();
  const named = (e: unknown) => {
    assertInstanceOf(e, ReinmaxInputError);
    assertEquals((e as ReinmaxInputError).argument, "model");
    assertStringIncludes((e as ReinmaxInputError).message, "destroyed");
  };
  named(assertThrows(() => model.step(images)));
  named(await assertRejects(() => model.readState()));
  named(await assertRejects(() => model.evaluate(images, 3)));
  named(await assertRejects(() => model.samplePrior(2)));
  const set = new ImageSet({ name: "six", count: 3, height: 2, width: 3, pixels: new Uint8Array(18) });
  named(
    await assertRejects(async () => {
      for await (const _ of trainVae(model, set)) { /* nothing */ }
    }),
  );
  assertEquals(model.bytesAllocated > 0, true, "the plan still reports what it held");
});

Deno.test({
  name: "loading a good file into a model on a destroyed backend blames the backend, not the file",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: async () => {
    const backend = await WasmBackend.create();
    const model = smallVae(backend);
    const file = await saveCheckpoint(model);
    backend.destroy();
    const error = assertThrows(() => loadInto(model, file, "good.safetensors"));
    assertInstanceOf(error, BackendFailureError, (error as Error).message);
  },
});

forEachBackend(
  "a state held in SharedArrayBuffers is written on every backend, all or nothing",
  async (backend) => {
    const model = smallVae(backend);
    try {
      model.step(new Float32Array(18).fill(0.25));
      const state = await model.readState();
      const shared = new Map<string, Float32Array>();
      for (const [label, values] of state.tensors) {
        const copy = new Float32Array(new SharedArrayBuffer(values.byteLength));
        copy.set(values.map((v) => v * 2));
        shared.set(label, copy);
      }
      model.writeState({ step: 5, tensors: shared });
      const written = await model.readState();
      for (const [label, values] of shared) {
        assertEquals(
          written.tensors.get(label),
          new Float32Array(values),
          label,
        );
      }

      // A bad tensor late in the parameter order: the ones before it are not written either.
      const labels = [...shared.keys()];
      const late = new Map(shared);
      late.set(
        labels[labels.length - 1],
        new Float32Array(shared.get(labels[labels.length - 1])!.length).fill(NaN),
      );
      assertThrows(() => model.writeState({ step: 9, tensors: late }), ReinmaxInputError);
      const after = await model.readState();
      for (const [label, values] of written.tensors) assertEquals(after.tensors.get(label), values, label);
      assertEquals(model.steps, 5);
    } finally {
      model.destroy();
    }
  },
);

Deno.test("τ is checked against what float32 carries and each estimator's own domain, naming tau", () => {
  for (
    const [name, tau] of [["st", 1e-45], ["stgs", 1e-30], ["gst", 1e30], ["grmck", 0.005], [
      "st",
      101,
    ]] as const
  ) {
    const error = assertThrows(() => estimator(name, { tau }), ReinmaxInputError);
    assertEquals(error.argument, "tau");
    assertStringIncludes(error.message, "expected a number in [0.01, 100]");
  }
  const reinmaxError = assertThrows(() => estimator("reinmax", { tau: 0.9 }), ReinmaxInputError);
  assertStringIncludes(reinmaxError.message, "ReinMax requires tau >= 1");
  for (const tau of [0, -1]) {
    assertStringIncludes(assertThrows(() => estimator("st", { tau })).message, "[0.01, 100]");
  }
  // The bounds themselves are fine, and the table's defaults are inside them.
  for (const name of ["st", "stgs", "gst", "grmck"] as const) {
    estimator(name, { tau: 0.01 });
    estimator(name, { tau: 100 });
  }
  assertEquals([estimator("stgs").tau, estimator("gst").tau, estimator("grmck").tau], [0.5, 0.7, 0.5]);
});

forEachBackend(
  "a batch larger than the training set is refused before any step, naming batch",
  async (backend) => {
    const model = smallVae(backend);
    try {
      const two = new ImageSet({ name: "two", count: 2, height: 2, width: 3, pixels: new Uint8Array(12) });
      const error = await assertRejects(async () => {
        for await (const _ of trainVae(model, two)) { /* nothing */ }
      }, ReinmaxInputError) as ReinmaxInputError;
      assertEquals(error.argument, "batch");
      assertStringIncludes(error.message, "batch <= 2");
      assertEquals(model.steps, 0);
    } finally {
      model.destroy();
    }
  },
);

forEachBackend(
  "models built and destroyed without awaiting: freed memory is counted until it comes back, and settle() returns it",
  async (backend) => {
    await backend.settle();
    const before = backend.bytesAllocated, releasingBefore = backend.bytesReleasing;
    assertEquals(releasingBefore, 0, "nothing is waiting after settle()");
    let planned = 0;
    for (let i = 0; i < 10; i++) {
      const model = new CategoricalVae(backend, { config: "8x4", hidden: [64, 32], batch: 10, seed: i });
      planned += model.bytesAllocated;
      model.destroy();
    }
    assertEquals(backend.bytesAllocated, before, "what the program holds is back where it was");
    // WASM frees at once; WebGPU waits for the GPU, and says how much it is waiting to release.
    if (backend.name === "wasm") assertEquals(backend.bytesReleasing, 0);
    else {assert(
        backend.bytesReleasing >= planned,
        `${backend.bytesReleasing} releasing < ${planned} planned`,
      );}
    await backend.settle();
    assertEquals(backend.bytesReleasing, 0, "settle() waited for every release");
  },
);
