/**
 * What keeps a training run safe, without a round trip of its own: a copy of the trained state on the
 * backend at the last good read-back (the parameters' snapshot buffers in the model's memory plan), putting
 * it back, and counts of non-finite values in each parameter or gradient written into the loss log's health
 * slots, so they ride the next read-back. The trainer decides when; this module knows how.
 * @module
 */
import { type Launcher, launcher } from "../launcher.ts";
import { healthSlot } from "../models/loss_log.ts";
import type { Parameter, TrainableModel } from "../models/model.ts";

/** A parameter whose value or gradient holds non-finite values, and how many. */
export interface UnhealthyParameter {
  readonly parameter: Parameter;
  readonly count: number;
}

/** The snapshot, restore and health checks of one model's run. */
export class RunGuard {
  readonly #model: TrainableModel;
  readonly #k: Launcher;
  #snapshotStep = 0;

  constructor(model: TrainableModel) {
    this.#model = model;
    this.#k = launcher(model.backend);
  }

  /** The step of the last snapshot (0 before any). */
  get snapshotStep(): number {
    return this.#snapshotStep;
  }

  /** Enqueues a copy of every parameter and its moments into the snapshot buffers; remembers the step. */
  snapshot(): void {
    this.#copy(true);
    this.#snapshotStep = this.#model.steps;
  }

  /**
   * Puts back the state of the last snapshot (call {@link snapshot} first: before it the state of that moment
   * is unknown); the model's step counter returns to it and its unread losses are dropped.
   */
  restore(): void {
    this.#copy(false);
    this.#model.rewind(this.#snapshotStep);
  }

  /** Copies value and moments of every parameter into its snapshot buffers, or back, and submits. */
  #copy(intoSnapshot: boolean): void {
    for (const p of this.#model.parameters) {
      [p.value, p.expAvg, p.expAvgSq].forEach((live, i) => {
        const [to, from] = intoSnapshot ? [p.snapshot[i], live] : [live, p.snapshot[i]];
        // `tile` with times = 1 is a copy.
        this.#k.tile({ out: to.buffer, x: from.buffer }, { count: p.length, times: 1 });
      });
    }
    this.#model.backend.submit();
  }

  /**
   * Enqueues, for each parameter, the count of non-finite values of its value or its gradient into the
   * log's health slots; {@link unhealthy} interprets them after the next read.
   */
  enqueueHealthCheck(of: "value" | "grad"): void {
    const log = this.#model.log;
    for (const p of this.#model.parameters) {
      this.#k.count_nonfinite({ out: log.buffer.buffer, x: p[of].buffer }, {
        count: p.length,
        index: log.slot(healthSlot(p.label)),
      });
    }
  }

  /** The parameters with non-finite counts in the health slots of a read (from the log's last read). */
  unhealthy(slots: ReadonlyMap<string, number>): UnhealthyParameter[] {
    const bad: UnhealthyParameter[] = [];
    for (const parameter of this.#model.parameters) {
      const count = slots.get(healthSlot(parameter.label)) ?? 0;
      if (count !== 0) bad.push({ parameter, count });
    }
    return bad;
  }
}
