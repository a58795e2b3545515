/**
 * Builds a model from a checkpoint's bytes alone: the kind, options, estimator and optimiser come from its
 * metadata, the parameters, moments, step and stream positions from its tensors.
 * @module
 */
import type { Backend } from "../backend.ts";
import { CheckpointError, cleanUp, ReinmaxInputError } from "../errors.ts";
import { BernoulliVae } from "../models/bernoulli_vae.ts";
import { CategoricalVae } from "../models/categorical_vae.ts";
import { DiscreteModel, type DiscreteModelOptions } from "../models/discrete_model.ts";
import type { TrainableModel } from "../models/model.ts";
import { PolyProgramming } from "../models/poly.ts";
import { describe, requireBackend } from "../validate.ts";
import { type Checkpoint, decodeCheckpoint, mismatch, writeCheckpointState } from "./checkpoint.ts";

/**
 * A model and what its checkpoint recorded about the run.
 *
 * @example
 * ```ts
 * import { type LoadedCheckpoint, loadCheckpoint, selectBackend } from "@reinmax/reinmax";
 * const loaded: LoadedCheckpoint = loadCheckpoint(await Deno.readFile("run.safetensors"), await selectBackend());
 * console.log(loaded.model.steps, loaded.checkpoint.run);
 * ```
 */
export interface LoadedCheckpoint {
  /** The model, on the backend given, in the checkpoint's state. */
  readonly model: TrainableModel;
  /** The checkpoint as read (description, optimiser, state, the writer's run record). */
  readonly checkpoint: Checkpoint;
}

/**
 * Creates the model a checkpoint describes on `backend` and loads its state. A corrupt, truncated or
 * inconsistent file is a CheckpointError naming `source`; nothing stays allocated when it fails.
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, loadCheckpoint, loadFixture, selectBackend, trainVae } from "@reinmax/reinmax";
 * const { model } = loadCheckpoint(await Deno.readFile("run.safetensors"), await selectBackend(), "run.safetensors");
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * if (model instanceof CategoricalVae) {
 *   for await (const e of trainVae(model, data.train, { epochs: 20 })) console.log(e.epoch, e.trainElbo);
 * }
 * ```
 */
export function loadCheckpoint(bytes: Uint8Array, backend: Backend, source = "checkpoint"): LoadedCheckpoint {
  if (!(bytes instanceof Uint8Array)) {
    throw new ReinmaxInputError(
      "bytes",
      `expected the checkpoint's bytes as a Uint8Array, got ${describe(bytes)}`,
    );
  }
  requireBackend(backend);
  const checkpoint = decodeCheckpoint(bytes, source);
  const { model: kind, options, estimator } = checkpoint.description;
  const all = { ...options, estimator, optimizer: checkpoint.optimizer };
  let model: TrainableModel;
  try {
    if (kind === "categorical") model = new CategoricalVae(backend, all);
    else if (kind === "bernoulli") model = new BernoulliVae(backend, all);
    else if (kind === "poly") model = new PolyProgramming(backend, all);
    // A declared model's options are its declaration: layers, likelihood, sizes.
    else if (kind === "declared") model = new DiscreteModel(backend, all as unknown as DiscreteModelOptions);
    else {
      throw new CheckpointError(
        source,
        `expected a categorical, bernoulli, poly or declared model, found ${describe(kind)}`,
      );
    }
  } catch (e) {
    if (e instanceof CheckpointError || !(e instanceof ReinmaxInputError)) throw e;
    throw new CheckpointError(source, `its options cannot build a ${kind} model: ${e.message}`, { cause: e });
  }
  try {
    const why = mismatch(model, checkpoint);
    if (why) throw new CheckpointError(source, `is inconsistent: ${why}`);
    writeCheckpointState(model, checkpoint, source);
  } catch (error) {
    cleanUp({ error }, () => model.destroy());
    throw error;
  }
  return { model, checkpoint };
}
