/**
 * Checkpoints: one safetensors file holding every parameter and its Adam moments by the memory plan's labels,
 * and in its metadata the model's kind and options, the estimator, the optimiser, the step and the positions
 * of the random streams — all a run needs to continue bit for bit. PyTorch users open the weights with
 * `safetensors.torch.load_file`; a linear layer's weight is stored in × out, the transpose of nn.Linear's,
 * and the metadata says so under {@link LAYOUT_KEY}.
 * @module
 */
import { CheckpointError, ReinmaxInputError } from "../errors.ts";
import { checkEstimator, type Estimator } from "../estimators.ts";
import type { ModelDescription, ModelState, TrainableModel } from "../models/model.ts";
import { checkOptimizer, type Optimizer } from "../optim.ts";
import { describe } from "../validate.ts";
import {
  CONTENTS_CHECKSUM_KEY,
  decodeSafetensors,
  encodeSafetensors,
  LEGACY_CHECKSUM_KEYS,
  type SafetensorsTensor,
} from "./safetensors.ts";

/**
 * The format this module writes; files of format 1 (before the metadata named the weight layout) are read
 * too, a file of any other is refused.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_FORMAT, decodeCheckpoint, PolyProgramming, saveCheckpoint, selectBackend } from "@reinmax/reinmax";
 * const task = new PolyProgramming(await selectBackend());
 * console.log(CHECKPOINT_FORMAT); // "reinmax.checkpoint/2", in the file's metadata as "format"
 * const { description } = decodeCheckpoint(await saveCheckpoint(task), "poly");
 * ```
 */
export const CHECKPOINT_FORMAT = "reinmax.checkpoint/2";

/** The format of files written before the metadata named the weights' layout; they are read as in × out. */
const FORMAT_1 = "reinmax.checkpoint/1";

/**
 * The metadata key that says how matrices are stored, with {@link WEIGHT_LAYOUT} its only value: a file's
 * element count cannot tell a square weight from its transpose, so the writer must say which it wrote.
 *
 * @example
 * ```ts
 * import { LAYOUT_KEY, WEIGHT_LAYOUT } from "@reinmax/reinmax";
 * const metadata = { [LAYOUT_KEY]: WEIGHT_LAYOUT }; // what a file written in PyTorch must carry
 * ```
 */
export const LAYOUT_KEY = "layout";

/**
 * How every matrix of a checkpoint is stored: `weight[in][out]`, row-major with a row per input, so a linear
 * layer computes x·W + b; Adam's moments have the shape of their parameter. torch.nn.Linear keeps the
 * transpose, `weight[out][in]`: write `linear.weight.T` (and the moments' `.T`), read `W.T`.
 */
export const WEIGHT_LAYOUT = "weight[in][out]";

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
  /** The shape each tensor is stored with, by name. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** What the program that wrote it recorded about the run (data, epochs…), as strings. */
  readonly run: Readonly<Record<string, string>>;
}

const MOMENTS = [".exp_avg", ".exp_avg_sq"] as const;

/**
 * A checkpoint of `model` as it is now, with `run` (strings of the caller's, e.g. the data set) recorded in
 * its metadata: a safetensors file of every parameter and its Adam moments, with the options, estimator,
 * optimiser, step and stream positions. One read-back.
 *
 * @example
 * ```ts
 * import { CategoricalVae, saveCheckpoint, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * await Deno.writeFile("run.safetensors", await saveCheckpoint(model, { data: "fashion-mnist-10k" }));
 * ```
 */
export async function saveCheckpoint(
  model: TrainableModel,
  run: Readonly<Record<string, string>> = {},
): Promise<Uint8Array> {
  return encodeCheckpoint(model, await model.readState(), run);
}

/**
 * The checkpoint of `model` in `state` (from `readState`), with `run` recorded in its metadata.
 *
 * @example
 * ```ts
 * import { CategoricalVae, encodeCheckpoint, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * // What saveCheckpoint(model) does; a state kept from onCheckpoint can be written the same way later.
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
    [LAYOUT_KEY]: WEIGHT_LAYOUT,
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
  if (meta.format !== CHECKPOINT_FORMAT && meta.format !== FORMAT_1) {
    throw new CheckpointError(
      source,
      `not a reinmax checkpoint: expected metadata "format" ${CHECKPOINT_FORMAT}, found ${
        describe(meta.format)
      }`,
    );
  }
  // A checkpoint is always checked: the checksum's key itself may be what a flipped byte renamed.
  const checksums = meta.format === CHECKPOINT_FORMAT
    ? [CONTENTS_CHECKSUM_KEY]
    : [LEGACY_CHECKSUM_KEYS.data, LEGACY_CHECKSUM_KEYS.header];
  for (const key of checksums) {
    if (!Object.hasOwn(meta, key)) {
      throw new CheckpointError(
        source,
        `corrupt checkpoint, or one written without its checksum: a ${meta.format} file must carry metadata ` +
          `"${key}" (docs/checkpoints.md says how to compute it), found none`,
      );
    }
  }
  // Files of format 1 were all written by the SDK, in × out; a newer file must say how it stored matrices.
  if (meta.format === CHECKPOINT_FORMAT && meta[LAYOUT_KEY] !== WEIGHT_LAYOUT) {
    throw new CheckpointError(
      source,
      `expected metadata "${LAYOUT_KEY}" to be ${
        JSON.stringify(WEIGHT_LAYOUT)
      } (store every weight in × out, ` +
        `the transpose of torch.nn.Linear.weight), found ${describe(meta[LAYOUT_KEY])}`,
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
  const shapes = new Map<string, readonly number[]>();
  for (const [name, tensor] of file.tensors) {
    if (tensor.dtype !== "F32") {
      throw new CheckpointError(source, `tensor "${name}": expected F32, found ${tensor.dtype}`);
    }
    tensors.set(name, tensor.data as Float32Array);
    shapes.set(name, tensor.shape);
  }
  const run: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (key.startsWith("run.")) run[key.slice(4)] = value;
  return {
    description: { model: meta.model ?? "", options: options as Record<string, unknown>, estimator },
    estimator,
    optimizer,
    state: { step, tensors, counters: counters as Record<string, number> },
    shapes,
    run,
  };
}

/**
 * Why `checkpoint` cannot be loaded into `model` (another kind of model, other options, another estimator or
 * optimiser, a tensor missing, extra or of another shape), or null when it can. Options that do not change
 * what is computed (readEvery) may differ.
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
  if (JSON.stringify(model.optimizer) !== JSON.stringify(checkpoint.optimizer)) {
    return `its optimizer is ${JSON.stringify(checkpoint.optimizer)}, this model's is ${
      JSON.stringify(model.optimizer)
    }`;
  }
  const expected = new Set<string>();
  for (const p of model.parameters) {
    for (const suffix of ["", ...MOMENTS]) {
      const name = p.label + suffix;
      expected.add(name);
      const t = checkpoint.state.tensors.get(name);
      if (!t) return `it has no tensor "${name}"`;
      const shape = checkpoint.shapes.get(name) ?? [t.length];
      if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
        const transposed = p.shape.length === 2 && shape.length === 2 && shape[0] === p.shape[1] &&
          shape[1] === p.shape[0];
        return `its "${name}" has shape [${shape.join(", ")}], this model's is [${p.shape.join(", ")}]` +
          (transposed ? ` (stored out × in, as torch.nn.Linear.weight: write its transpose)` : "");
      }
    }
  }
  for (const name of checkpoint.state.tensors.keys()) {
    if (!expected.has(name)) return `it holds a tensor "${name}" that this model does not have`;
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
  if (model.destroyed) {
    throw new ReinmaxInputError("model", "the model was destroyed (model.destroy()); create a new one");
  }
  const checkpoint = decodeCheckpoint(bytes, source);
  const why = mismatch(model, checkpoint);
  if (why) throw new CheckpointError(source, `does not fit this model: ${why}`);
  writeCheckpointState(model, checkpoint, source);
  return checkpoint;
}

/** Writes a checked checkpoint's state into `model`; a state the model refuses is the file's fault. */
export function writeCheckpointState(model: TrainableModel, checkpoint: Checkpoint, source: string): void {
  try {
    model.writeState(checkpoint.state);
  } catch (e) {
    if (!(e instanceof ReinmaxInputError)) throw e;
    throw new CheckpointError(source, e.message, { cause: e });
  }
}
