// The loss log (src/train/loss_log.ts) on every backend: a known sequence of per-step losses in two channels
// comes back oldest first, read after read, across wrap-arounds of the ring, with the extra slots intact; and
// the trainer passes each channel on as it is.
import { assertEquals, assertThrows } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import {
  adam,
  type Backend,
  LossLog,
  MemoryPlan,
  type ModelDescription,
  type PlannedBuffer,
  train,
  TrainableModel,
} from "../mod.ts";

const CAPACITY = 4, SLOTS = ["a", "b", "c"];

/** A log of two channels in its own plan, with the per-step loss buffers it records from. */
function makeLog(backend: Backend) {
  const plan = new MemoryPlan();
  const log = new LossLog(backend, plan, "losses", ["first", "second"], CAPACITY, SLOTS);
  // Channel 0 records the mean of three values, channel 1 of two, so `count` reaches the kernel.
  const first = plan.declare("first", 3, "activation"), second = plan.declare("second", 2, "activation");
  const metrics = [0, 1, 2].map((i) => plan.declare(`metric${i}`, 4, "activation"));
  plan.allocate(backend);
  let step = 0;
  /** Records the next step k: channel 0's loss is k (the mean of k − 1, k, k + 1), channel 1's is −10k. */
  const recordStep = () => {
    step++;
    backend.write(first.buffer, Float32Array.from([step - 1, step, step + 1]));
    backend.run("fill", [second.buffer], [2, -10 * step]);
    log.record(0, first, 3);
    log.record(1, second, 2);
    log.endStep();
  };
  return { plan, log, metrics, recordStep, steps: () => step };
}

/** What a read of steps from..to (1-based, inclusive) must return. */
function expected(from: number, to: number): number[][] {
  const steps = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  return [steps, steps.map((k) => -10 * k)];
}

forEachBackend(
  "LossLog: two channels come back oldest first across reads and wrap-arounds of the ring",
  async (backend) => {
    const { plan, log, metrics, recordStep, steps } = makeLog(backend);
    try {
      const tensor = plan.get("losses");
      assertEquals([tensor.length, tensor.role], [2 * CAPACITY + SLOTS.length, "metric"]);
      // The named slots follow both rings, in order; kernels write them by element index.
      assertEquals(SLOTS.map((name) => log.slot(name)), [8, 9, 10]);
      assertThrows(() => log.slot("d"), Error, `no slot "d"`);
      metrics.forEach((m, i) => {
        backend.run("fill", [m.buffer], [4, 0.25 * (i + 1)]);
        backend.run("mean", [log.buffer.buffer, m.buffer], [4, log.slot(SLOTS[i])]);
      });
      // Reads of 3, 4, 1, 4, 0 and 2 steps: the ring of 4 wraps in the middle of reads and at their ends.
      let read = 0;
      for (const count of [3, 4, 1, 4, 0, 2]) {
        for (let i = 0; i < count; i++) recordStep();
        assertEquals(log.pending, count);
        const got = await log.read();
        assertEquals(log.pending, 0);
        assertEquals(
          got.channels.map((c) => [...c]),
          expected(read + 1, read + count),
          `steps after ${read}`,
        );
        // Recording wrote only the rings: the slots keep what the metric kernels put there.
        assertEquals([...got.slots], [["a", 0.25], ["b", 0.5], ["c", 0.75]], `slots after step ${steps()}`);
        read += count;
      }
      assertEquals(log.recorded, 14);
    } finally {
      plan.free();
    }
  },
);

forEachBackend(
  "LossLog: recording past capacity unread throws; discarded steps never come back",
  async (backend) => {
    const { plan, log, recordStep } = makeLog(backend);
    try {
      recordStep();
      await log.read();
      for (let i = 0; i < CAPACITY; i++) recordStep(); // steps 2..5, a full ring
      assertThrows(() => recordStep(), Error, "loss log overflow");
      // The refused record left the log as it was; the step counter of the test moved on to 6.
      assertEquals(log.pending, CAPACITY);
      assertEquals((await log.read()).channels.map((c) => [...c]), expected(2, 5));
      recordStep(); // 7
      recordStep(); // 8
      log.discardPending();
      assertEquals(log.pending, 0);
      recordStep(); // 9
      assertEquals((await log.read()).channels.map((c) => [...c]), expected(9, 9));
      assertEquals(log.recorded, 8);
    } finally {
      plan.free();
    }
  },
);

/**
 * A model without parameters whose step k (1-based) logs k in channel "first" and −10k in channel "second":
 * what the trainer reports is then known exactly.
 */
class KnownLosses extends TrainableModel {
  readonly #first: PlannedBuffer;
  readonly #second: PlannedBuffer;

  constructor(backend: Backend, readEvery: number) {
    super(backend, adam({ lr: 1e-3 }), 0);
    this.declareLog(["first", "second"], readEvery);
    this.#first = this.plan.declare("first", 1, "activation");
    this.#second = this.plan.declare("second", 1, "activation");
    this.allocate();
  }

  describe(): ModelDescription {
    return { model: "known-losses", options: {} };
  }

  forwardBackward(): void {
    const k = this.steps + 1;
    this.backend.run("fill", [this.#first.buffer], [1, k]);
    this.backend.run("fill", [this.#second.buffer], [1, -10 * k]);
    this.log.record(0, this.#first, 1);
    this.log.record(1, this.#second, 1);
    this.log.endStep();
  }
}

forEachBackend(
  "the trainer reports the logged losses channel by channel: per step at each read, and epoch means",
  async (backend) => {
    const model = new KnownLosses(backend, 3);
    try {
      const progress: { firstStep: number; losses: number[] }[] = [];
      const reports = [];
      const task = { model, stepsPerEpoch: 5, forwardBackward: () => model.forwardBackward() };
      for await (
        const report of train(task, {
          epochs: 2,
          onProgress: (p) => progress.push({ firstStep: p.firstStep, losses: [...p.losses] }),
        })
      ) reports.push(report);
      // Reads after 3 steps (the log is full) and at each epoch's end; a step's loss is k − 10k = −9k.
      assertEquals(progress, [
        { firstStep: 1, losses: [-9, -18, -27] },
        { firstStep: 4, losses: [-36, -45] },
        { firstStep: 6, losses: [-54, -63, -72] },
        { firstStep: 9, losses: [-81, -90] },
      ]);
      // Epoch 1 holds steps 1..5 (mean 3), epoch 2 steps 6..10 (mean 8).
      assertEquals(reports.map((r) => [r.epoch, r.steps, r.loss, r.channels]), [
        [1, 5, -27, { first: 3, second: -30 }],
        [2, 5, -72, { first: 8, second: -80 }],
      ]);
    } finally {
      model.destroy();
    }
  },
);
