/**
 * Checkpoints: one safetensors file holding every parameter and its Adam moments by the memory plan's labels,
 * and in its metadata the model's kind and options, the estimator, the optimiser, the step and the positions
 * of the random streams — all a run needs to continue bit for bit. PyTorch users open the weights with
 * `safetensors.torch.load_file` (a linear layer's weight is stored in × out, the transpose of nn.Linear's).
 * @module
 */
import { CheckpointError, ReinmaxInputError } from "../errors.ts";
import { checkEstimator, type Estimator } from "../estimators.ts";
import type { ModelDescription, ModelState, TrainableModel } from "../models/model.ts";
import { checkOptimizer, type Optimizer } from "../optim.ts";
import { describe } from "../validate.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from "./safetensors.ts";

/**
 * The format this module writes; a file of another is refused.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_FORMAT, decodeCheckpoint, PolyProgramming, selectBackend } from "@reinmax/reinmax";
 * const task = new PolyProgramming(await selectBackend());
 * console.log(CHECKPOINT_FORMAT); // "reinmax.checkpoint/1", in the file's metadata as "format"
 * const { description } = decodeCheckpoint(await task.save(), "poly");
 * ```
 */
export const CHECKPOINT_FORMAT = "reinmax.checkpoint/1";

/**
 * What a checkpoint holds, on the host.
 *
 * @example
 * ```ts
 * import { type Checkpoint, decodeCheckpoint } from "@reinmax/reinmax";
 * const checkpoint: Checkpoint = decodeCheckpoint(await Deno.readFile("run.safetensors"), "run.safetensors");
 * console.log(checkpoint.description.model, checkpoint.optimizer.name, checkpoint.state.step, checkpoint.run);
 * ```
 */
export interface Checkpoint {
  /** The model's kind and options. */
  readonly description: ModelDescription;
  /** The optimiser. */
  readonly optimizer: Optimizer;
  /** Parameters, moments, step and stream positions. */
  readonly state: ModelState;
  /** What the program that wrote it recorded about the run (data, epochs…), as strings. */
  readonly run: Readonly<Record<string, string>>;
}

const MOMENTS = [".exp_avg", ".exp_avg_sq"] as const;

/**
 * The checkpoint of `model` in `state` (from `readState`), with `run` recorded in its metadata.
 *
 * @example
 * ```ts
 * import { CategoricalVae, encodeCheckpoint, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * // What model.save() does; a state kept from onCheckpoint can be written the same way later.
 * const bytes = encodeCheckpoint(model, await model.readState(), { data: "fashion-mnist-10k" });
 * await Deno.writeFile("run.safetensors", bytes);
 * ```
 */
export function encodeCheckpoint(
  model: TrainableModel,
  state: ModelState,
  run: Readonly<Record<string, string>> = {},
): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const p of model.parameters) {
    for (const suffix of ["", ...MOMENTS]) {
      const data = state.tensors.get(p.label + suffix);
      if (!(data instanceof Float32Array) || data.length !== p.length) {
        throw new ReinmaxInputError(
          "state",
          `tensor "${p.label + suffix}" is missing or has the wrong length`,
        );
      }
      tensors.set(p.label + suffix, { dtype: "F32", shape: p.shape, data });
    }
  }
  const description = model.describe();
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    model: description.model,
    options: JSON.stringify(description.options),
    optimizer: JSON.stringify(model.optimizer),
    step: String(state.step),
    counters: JSON.stringify(state.counters ?? {}),
  };
  if (description.estimator) metadata.estimator = JSON.stringify(description.estimator);
  for (const [key, value] of Object.entries(run)) {
    if (typeof value !== "string") {
      throw new ReinmaxInputError(`run.${key}`, `expected a string, got ${describe(value)}`);
    }
    metadata[`run.${key}`] = value;
  }
  return encodeSafetensors(tensors, metadata);
}

function parseJson(source: string, key: string, text: string | undefined): unknown {
  if (text === undefined) throw new CheckpointError(source, `expected metadata "${key}", found none`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(source, `metadata "${key}" is not JSON`, { cause: e });
  }
}

/**
 * Reads a checkpoint's bytes: every check of the container, then of what the metadata says.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint } from "@reinmax/reinmax";
 * const { description, optimizer, state } = decodeCheckpoint(await Deno.readFile("run.safetensors"), "run.safetensors");
 * console.log(description.options, optimizer, state.step, [...state.tensors.keys()]);
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint & { estimator?: Estimator } {
  const file = decodeSafetensors(bytes, source);
  const meta = file.metadata;
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      source,
      `expected a ${CHECKPOINT_FORMAT} file, found format ${describe(meta.format)}`,
    );
  }
  const options = parseJson(source, "options", meta.options);
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new CheckpointError(source, `metadata "options" must be an object, found ${describe(options)}`);
  }
  let optimizer: Optimizer, estimator: Estimator | undefined;
  try {
    optimizer = checkOptimizer(parseJson(source, "optimizer", meta.optimizer));
    if (meta.estimator !== undefined) {
      estimator = checkEstimator(parseJson(source, "estimator", meta.estimator));
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(source, `its ${(e as Error).message}`, { cause: e });
  }
  const step = Number(meta.step);
  if (!Number.isSafeInteger(step) || step < 0 || String(step) !== meta.step) {
    throw new CheckpointError(source, `metadata "step" must be a whole number, found ${describe(meta.step)}`);
  }
  const counters = parseJson(source, "counters", meta.counters ?? "{}");
  if (
    typeof counters !== "object" || counters === null ||
    !Object.values(counters).every((v) => Number.isSafeInteger(v) && (v as number) >= 0)
  ) {
    throw new CheckpointError(source, `metadata "counters" must map names to whole numbers`);
  }
  const tensors = new Map<string, Float32Array>();
  for (const [name, tensor] of file.tensors) {
    if (tensor.dtype !== "F32") {
      throw new CheckpointError(source, `tensor "${name}": expected F32, found ${tensor.dtype}`);
    }
    tensors.set(name, tensor.data as Float32Array);
  }
  const run: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (key.startsWith("run.")) run[key.slice(4)] = value;
  return {
    description: { model: meta.model ?? "", options: options as Record<string, unknown>, estimator },
    estimator,
    optimizer,
    state: { step, tensors, counters: counters as Record<string, number> },
    run,
  };
}

/**
 * Why `checkpoint` cannot be loaded into `model` (another kind of model, other options, another estimator),
 * or null when it can. Options that do not change what is computed (readEvery) may differ.
 */
export function mismatch(model: TrainableModel, checkpoint: Checkpoint): string | null {
  const mine = model.describe();
  const theirs = checkpoint.description;
  if (mine.model !== theirs.model) return `it holds a ${theirs.model} model, this is a ${mine.model} model`;
  for (const key of new Set([...Object.keys(mine.options), ...Object.keys(theirs.options)])) {
    if (key === "readEvery") continue;
    const a = JSON.stringify(mine.options[key]), b = JSON.stringify(theirs.options[key]);
    if (a !== b) return `its ${key} is ${b ?? "absent"}, this model's is ${a ?? "absent"}`;
  }
  if (JSON.stringify(mine.estimator) !== JSON.stringify(theirs.estimator)) {
    return `its estimator is ${JSON.stringify(theirs.estimator)}, this model's is ${
      JSON.stringify(mine.estimator)
    }`;
  }
  for (const p of model.parameters) {
    for (const suffix of ["", ...MOMENTS]) {
      const t = checkpoint.state.tensors.get(p.label + suffix);
      if (!t) return `it has no tensor "${p.label + suffix}"`;
      if (t.length !== p.length) {
        return `its "${p.label + suffix}" has ${t.length} values, this model's ${p.length}`;
      }
    }
  }
  const expected = model.parameters.length * 3;
  if (checkpoint.state.tensors.size !== expected) {
    return `it holds ${checkpoint.state.tensors.size} tensors, this model ${expected}`;
  }
  return null;
}

/**
 * Loads a checkpoint into a model of the same kind and options: its parameters, moments, step and stream
 * positions. A corrupt, truncated or mismatched file is a CheckpointError naming `source`, and the model is
 * then untouched (everything is checked before anything is written).
 *
 * @example
 * ```ts
 * import { CategoricalVae, loadInto, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "10x30" });
 * const checkpoint = loadInto(model, await Deno.readFile("run.safetensors"), "run.safetensors"); // = model.load(…)
 * console.log(`continuing from step ${checkpoint.state.step}`);
 * ```
 */
export function loadInto(model: TrainableModel, bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const checkpoint = decodeCheckpoint(bytes, source);
  const why = mismatch(model, checkpoint);
  if (why) throw new CheckpointError(source, `does not fit this model: ${why}`);
  try {
    model.writeState(checkpoint.state);
  } catch (e) {
    throw new CheckpointError(source, (e as Error).message, { cause: e });
  }
  return checkpoint;
}
