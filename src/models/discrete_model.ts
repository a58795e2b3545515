/**
 * A model declared from layers: `new DiscreteModel(backend, { inputSize, layers, likelihood })`. The layers
 * (src/layers/) plan their buffers in the model's memory plan once; a training step enqueues every layer's
 * forward, the likelihood's score and each stochastic layer's KL, then the backward of each layer in reverse —
 * one submit on WebGPU, nothing allocated. The objective is the batch mean of the likelihood's score plus each
 * stochastic layer's KL: a VAE, a discrete autoencoder or a classifier with a stochastic discrete layer, from
 * the same parts. The built-in VAEs are declarations of it.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { DatasetError, ReinmaxInputError } from "../errors.ts";
import type { LayerDeclaration, LikelihoodDeclaration } from "../layers/declarations.ts";
import { BernoulliLatent, type CategoricalLatent, type LatentPass } from "../layers/latent.ts";
import type { DenseActivation, LayerPlanner, Pass } from "../layers/layer.ts";
import { checkStack, type PlannedStack, planStack } from "../layers/plan_layers.ts";
import type { PlannedBuffer } from "../memory_plan.ts";
import { checkOptimizer, type Optimizer, radam } from "../optim.ts";
import { type RandomStream, TAG } from "../random.ts";
import { describe, requireInteger } from "../validate.ts";
import { LossLog } from "./loss_log.ts";
import { type ModelDescription, requireOptions, TrainableModel } from "./model.ts";

/**
 * How inputs in [0, 1] become binary before the model sees them: not at all, once per example (the seed's
 * draw), or afresh every step.
 *
 * @example
 * ```ts
 * import { BernoulliVae, type Binarization, selectBackend } from "@reinmax/reinmax";
 * const binarize: Binarization = "static"; // each image keeps one set of bits, drawn from the seed
 * const model = new BernoulliVae(await selectBackend(), { binarize });
 * ```
 */
export type Binarization = "none" | "static" | "dynamic";

/**
 * The binarisations, in the order the CLI lists them.
 *
 * @example
 * ```ts
 * import { BINARIZATIONS } from "@reinmax/reinmax";
 * console.log(BINARIZATIONS.join("|")); // "none|static|dynamic"
 * ```
 */
export const BINARIZATIONS: readonly Binarization[] = ["none", "static", "dynamic"];

/**
 * What a declared model is built from.
 *
 * @example
 * ```ts
 * import { type DiscreteModelOptions, estimator, layers, radam } from "@reinmax/reinmax";
 * const { linear, relu, categorical, bernoulliLikelihood } = layers;
 * const options: DiscreteModelOptions = {
 *   inputSize: 784,
 *   layers: [linear(512), relu(), categorical({ categories: 10, latents: 30, estimator: estimator("reinmax", { tau: 1.3 }) }), linear(784)],
 *   likelihood: bernoulliLikelihood(),
 *   optimizer: radam({ lr: 5e-4 }),
 * };
 * ```
 */
export interface DiscreteModelOptions {
  /** Values per example (pixels, vector width). */
  readonly inputSize: number;
  /** The layers, input first; see `layers`. */
  readonly layers: readonly LayerDeclaration[];
  /** What scores the last layer's output. */
  readonly likelihood: LikelihoodDeclaration;
  /** The optimiser. Default RAdam, lr 5e-4. */
  readonly optimizer?: Optimizer;
  /** Examples per step. Default 100. */
  readonly batch?: number;
  /** Seed of every random draw (initialisation, samples, data order). Default 0. */
  readonly seed?: number;
  /** Losses are read back from the backend once every this many steps. Default 50. */
  readonly readEvery?: number;
  /** How inputs in [0, 1] become binary first. Default "none". */
  readonly binarize?: Binarization;
}

/**
 * Writes examples `start`, …, `start + count − 1` of a collection into `out[0 .. count·inputSize)`, and their
 * labels into `labels` when the model needs labels: how a model reads a collection a batch at a time.
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, type InputBatches, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64 });
 * const order = Uint32Array.from({ length: data.test.count }, (_, i) => i);
 * const batches: InputBatches = (start, count, out) => data.test.gather(order, out, start, count);
 * console.log((await model.evaluate(batches, data.test.count)).loss);
 * ```
 */
export type InputBatches = (start: number, count: number, out: Float32Array, labels?: Int32Array) => void;

/**
 * A model's loss on a collection, averaged per example: the total and each loss channel (the likelihood's and
 * each stochastic layer's KL), and for a classifier the fraction of examples whose most likely class is
 * their label.
 *
 * @example
 * ```ts
 * import type { Evaluation } from "@reinmax/reinmax";
 * const e: Evaluation = { loss: 3.2, terms: { crossEntropy: 0.4, kl: 2.8 }, accuracy: 0.87 };
 * ```
 */
export interface Evaluation {
  /** The sum of the terms. */
  readonly loss: number;
  /** Each loss channel, by name. */
  readonly terms: Readonly<Record<string, number>>;
  /** The classifier's accuracy (categorical likelihood only). */
  readonly accuracy?: number;
}

/**
 * Options of one training step.
 *
 * @example
 * ```ts
 * import type { StepOptions } from "@reinmax/reinmax";
 * const options: StepOptions = { labels: [3, 1], indices: [17, 4] };
 * ```
 */
export interface StepOptions {
  /** The examples' labels (a classifier's targets), count of them, each in [0, classes). */
  readonly labels?: ArrayLike<number>;
  /**
   * The examples' indices in their data set (count of them), so that a static binarisation gives an example
   * the same bits whenever it is seen. Without them, an example's position in the batch stands in.
   */
  readonly indices?: ArrayLike<number>;
  /** Forced categories of stochastic layers by layer index, instead of sampling; for tests. */
  readonly samples?: Readonly<Record<number, Int32Array>>;
}

/** Streams of the binarisation: fixed per example when static, fresh per step or evaluation pass when dynamic. */
const EVALUATION_BINARIZATION = 2 ** 31;

/**
 * A model declared from layers; see the module comment.
 *
 * @example
 * ```ts
 * import { DiscreteModel, estimator, FIXTURES_URL, layers, loadFixture, selectBackend, trainModel } from "@reinmax/reinmax";
 * const { linear, relu, categorical, categoricalLikelihood } = layers;
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new DiscreteModel(await selectBackend(), {
 *   inputSize: 64,
 *   layers: [linear(128), relu(), categorical({ categories: 8, latents: 4, estimator: estimator("reinmax", { tau: 1.3 }), kl: false }), linear(10)],
 *   likelihood: categoricalLikelihood({ classes: 10 }),
 * });
 * for await (const e of trainModel(model, data.train, { epochs: 5, test: data.test })) console.log(e.epoch, e.testAccuracy);
 * ```
 */
export class DiscreteModel extends TrainableModel {
  /** Values per example. */
  readonly inputSize: number;
  /** Examples per step (the most a forward pass takes). */
  readonly batch: number;
  /** How inputs become binary. */
  readonly binarize: Binarization;
  /** The layers as declared, every default filled in. */
  readonly layers: readonly LayerDeclaration[];
  /** The likelihood as declared. */
  readonly likelihood: LikelihoodDeclaration;
  /** The batch of inputs, batch × inputSize. */
  protected readonly input: PlannedBuffer;
  /**
   * The planned layers, for the built-in models' own passes.
   * @internal
   */
  protected readonly stack: PlannedStack;
  readonly #binary: { readonly indices: PlannedBuffer; readonly bits: PlannedBuffer } | null;
  readonly #hostIndices: Int32Array;
  #evaluationLog: LossLog | null = null;
  /** Streams of the draws made outside training (evaluation, predictions, prior samples). */
  #draws = 0;

  /** Checks the declaration, plans the model on `backend` and initialises every layer from the seed. */
  constructor(backend: Backend, options: DiscreteModelOptions) {
    const o = requireOptions(options) as DiscreteModelOptions;
    const inputSize = requireInteger("inputSize", o.inputSize, 1, 1 << 24);
    const { declarations, likelihood } = checkStack(o.layers, o.likelihood, inputSize);
    const batch = requireInteger("batch", o.batch ?? 100, 1, 1 << 20);
    const readEvery = requireInteger("readEvery", o.readEvery ?? 50, 1, 1 << 16);
    const binarize = o.binarize ?? "none";
    if (!BINARIZATIONS.includes(binarize)) {
      throw new ReinmaxInputError(
        "binarize",
        `expected one of ${BINARIZATIONS.join(", ")}, got ${describe(binarize)}`,
      );
    }
    super(backend, checkOptimizer(o.optimizer ?? radam({ lr: 5e-4 })), o.seed ?? 0);
    this.inputSize = inputSize;
    this.batch = batch;
    this.binarize = binarize;
    this.layers = declarations;
    this.likelihood = likelihood;
    const plan = this.plan;
    const size = (formula: string) => ({ formula, argument: "batch" });
    this.input = plan.declare("input", batch * inputSize, "input", size("batch × inputSize"));
    this.#binary = binarize === "none" ? null : {
      indices: plan.declare("input.indices", batch, "input", size("batch")),
      bits: plan.declare("input.binary", batch * inputSize, "activation", size("batch × inputSize")),
    };
    this.#hostIndices = new Int32Array(batch);
    const x: DenseActivation = {
      kind: "dense",
      width: inputSize,
      factor: 1,
      value: this.#binary?.bits ?? this.input,
      grad: null,
    };
    const planner: LayerPlanner = {
      plan,
      batch,
      noInputGrad: plan.declare("noInputGrad", 1, "activation", { formula: "1", argument: "layers" }),
      modelInput: x,
      size,
    };
    this.stack = planStack(planner, x, declarations, likelihood);
    const channels = [this.stack.likelihood.channel, ...this.#klChannels().map((c) => c.channel)];
    this.declareLog(channels, readEvery);
    this.#evaluationLog = new LossLog(
      backend,
      plan,
      "evaluationLog",
      likelihood.kind === "categorical" ? [...channels, "accuracy"] : channels,
      readEvery,
    );
    this.allocate();
  }

  /** The loss channel of each stochastic layer with a KL term: "kl" for one, "kl.<name>" for several. */
  #klChannels(): { channel: string; layer: CategoricalLatent | BernoulliLatent }[] {
    const withKl = this.stack.latents.filter((l) => l.kl !== null);
    return withKl.map((layer) => ({ channel: withKl.length === 1 ? "kl" : `kl.${layer.name}`, layer }));
  }

  /** The declaration that rebuilds this model (for checkpoints). */
  describe(): ModelDescription {
    return {
      model: "declared",
      options: {
        inputSize: this.inputSize,
        layers: this.layers,
        likelihood: this.likelihood,
        batch: this.batch,
        seed: this.seed,
        readEvery: this.log.capacity,
        binarize: this.binarize,
      },
    };
  }

  /** Whether training and evaluation need the examples' labels (a categorical likelihood). */
  get needsLabels(): boolean {
    return this.likelihood.kind === "categorical";
  }

  /** The draws made outside training: their streams continue after a checkpoint is loaded. */
  protected override counters(): Record<string, number> {
    return { draws: this.#draws };
  }

  /** Restores the draws counter of {@link counters}. */
  protected override setCounters(counters: Readonly<Record<string, number>>): void {
    this.#draws = counters.draws ?? 0;
  }

  /**
   * A pass over `count` examples drawing from `rng`.
   * @internal
   */
  protected pass(
    count: number,
    rng: RandomStream,
    evaluations: boolean,
    forced?: ReadonlyMap<number, Int32Array>,
  ): LatentPass {
    return { backend: this.backend, k: this.k, count, rng, evaluations, forced };
  }

  /** The stream of the next draw outside training. */
  protected evaluationStream(): RandomStream {
    return { key0: this.key[0], key1: this.key[1], stream: this.#draws++, tag: TAG.evaluation };
  }

  /** The index of the next draw outside training (what {@link evaluationStream} will use). */
  protected get nextDraw(): number {
    return this.#draws;
  }

  /** `inputs` holds at least `count` examples of `inputSize` values. */
  protected checkInputs(inputs: unknown, count: number, argument = "inputs"): asserts inputs is Float32Array {
    if (!(inputs instanceof Float32Array)) {
      throw new ReinmaxInputError(argument, `expected a Float32Array of examples, got ${describe(inputs)}`);
    }
    if (inputs.length < count * this.inputSize) {
      throw new ReinmaxInputError(
        argument,
        `expected at least ${count} examples of ${this.inputSize} values (${
          count * this.inputSize
        } values), ` +
          `got ${inputs.length} values`,
      );
    }
  }

  /** Checks a batch of inputs from the caller and writes its first `count` examples to the input buffer. */
  protected writeInputs(inputs: Float32Array, count: number, argument = "inputs"): void {
    this.requireAlive();
    this.checkInputs(inputs, count, argument);
    this.backend.write(this.input.buffer, inputs.subarray(0, count * this.inputSize));
  }

  /** Checks `count` labels and writes them, each copied for every row of its example, to the labels buffer. */
  #writeLabels(labels: ArrayLike<number> | undefined, count: number): void {
    const likelihood = this.stack.likelihood;
    if (!likelihood.labels) return;
    if (labels === undefined) {
      throw new ReinmaxInputError(
        "labels",
        `the categorical likelihood scores labels: expected ${count} labels in [0, ${this.#classes()}), got none`,
      );
    }
    const factor = this.#outputFactor(), rows = new Int32Array(count * factor);
    if (
      typeof labels !== "object" || labels === null || typeof labels.length !== "number" ||
      labels.length < count
    ) {
      throw new ReinmaxInputError("labels", `expected ${count} labels, got ${describe(labels)}`);
    }
    for (let i = 0; i < count; i++) {
      const label = requireInteger(`labels[${i}]`, labels[i], 0, this.#classes() - 1);
      // The rows of a stochastic layer's K codes are K copies of the batch, one after another (`tile`).
      for (let copy = 0; copy < factor; copy++) rows[copy * count + i] = label;
    }
    this.backend.write(likelihood.labels.buffer, rows);
  }

  #classes(): number {
    return this.likelihood.kind === "categorical" ? this.likelihood.classes : 0;
  }

  /** Rows per example at the likelihood: the product of the stochastic layers' evaluations. */
  #outputFactor(): number {
    return this.stack.latents.reduce((f, l) => f * l.declaration.evaluations, 1);
  }

  #checkIndices(indices: unknown, count: number): ArrayLike<number> {
    const list = indices as ArrayLike<number>;
    if (typeof list !== "object" || list === null || typeof list.length !== "number" || list.length < count) {
      throw new ReinmaxInputError("indices", `expected ${count} example indices, got ${describe(indices)}`);
    }
    for (let i = 0; i < count; i++) requireInteger(`indices[${i}]`, list[i], 0, 2 ** 31 - 1);
    return list;
  }

  /** Forced categories for `count` examples, checked: a stochastic layer's index each, its rows and range. */
  #checkForced(samples: unknown, count: number): Map<number, Int32Array> {
    if (typeof samples !== "object" || samples === null) {
      throw new ReinmaxInputError(
        "samples",
        `expected an object of Int32Arrays by layer index, got ${describe(samples)}`,
      );
    }
    const forced = new Map<number, Int32Array>();
    for (const [key, sample] of Object.entries(samples)) {
      const latent = this.stack.latents.find((l) => String(l.index) === key);
      if (!latent) {
        throw new ReinmaxInputError("samples", `layer ${key} is not a stochastic layer of this model`);
      }
      const d = latent.declaration, rows = count * latent.factor * d.evaluations * d.latents;
      const n = d.kind === "categorical" ? d.categories : 2;
      const argument = `samples[${key}]`;
      if (!(sample instanceof Int32Array) || sample.length !== rows) {
        throw new ReinmaxInputError(
          argument,
          `expected an Int32Array of ${rows} categories, got ${describe(sample)}`,
        );
      }
      for (let r = 0; r < rows; r++) {
        if (!(sample[r] >= 0 && sample[r] < n)) {
          throw new ReinmaxInputError(argument, `category ${sample[r]} at row ${r} is outside [0, ${n})`);
        }
      }
      forced.set(latent.index, sample);
    }
    return forced;
  }

  /**
   * Writes the examples' indices and enqueues their binarisation with `stream`, when the model binarises.
   */
  #enqueueBinary(pass: Pass, indices: ArrayLike<number> | number, stream: number): void {
    if (!this.#binary) return;
    // A number is the first of consecutive indices: example `first + i` of the collection the caller reads.
    for (let i = 0; i < pass.count; i++) {
      this.#hostIndices[i] = typeof indices === "number" ? indices + i : indices[i];
    }
    this.backend.write(this.#binary.indices.buffer, this.#hostIndices.subarray(0, pass.count));
    this.k.binarize(
      { out: this.#binary.bits.buffer, x: this.input.buffer, rowIds: this.#binary.indices.buffer },
      {
        rows: pass.count,
        dim: this.inputSize,
        key0: this.key[0],
        key1: this.key[1],
        stream,
        tag: TAG.binarize,
      },
    );
  }

  /** Static: one draw for training, one for everything else; dynamic: the step, or the evaluation draw. */
  #binarizationStream(training: boolean, draw: number): number {
    if (this.binarize === "static") return training ? 0 : 1;
    return training ? this.steps : EVALUATION_BINARIZATION + draw;
  }

  /** What the first layer reads: the input, or its bits. */
  #x(): PlannedBuffer {
    return this.#binary?.bits ?? this.input;
  }

  /**
   * Enqueues the forward pass on the input buffer's first `pass.count` examples: the binarisation (when the
   * model binarises, with the stream of a training step or of evaluation draw `draw`), every layer, and the
   * likelihood's score.
   * @internal
   */
  protected enqueueForward(pass: Pass, training: boolean, draw: number, indices?: ArrayLike<number>): void {
    this.#enqueueBinary(pass, indices ?? 0, this.#binarizationStream(training, draw));
    for (const layer of this.stack.layers) layer.forward(pass);
    this.stack.likelihood.forward(pass, this.#x());
  }

  /**
   * Enqueues `log.record` of every loss channel of the last forward pass (not endStep).
   * @internal
   */
  protected recordLosses(log: LossLog, pass: Pass): void {
    const count = pass.count;
    log.record(0, this.stack.likelihood.loss, count * (pass.evaluations ? this.#outputFactor() : 1));
    this.#klChannels().forEach(({ layer }, i) =>
      log.record(1 + i, layer.kl!, count * (pass.evaluations ? layer.factor : 1))
    );
  }

  /**
   * Enqueues the backward pass of the last forward pass (gradients already zeroed).
   * @internal
   */
  protected enqueueBackward(pass: LatentPass): void {
    const rows = pass.count * (pass.evaluations ? this.#outputFactor() : 1);
    this.enqueueBackwardAbove({ ...pass, lossScale: 1 / rows }, 0);
  }

  /**
   * Enqueues the backward from the likelihood, its scores' gradient scaled by `pass.lossScale`, through every
   * layer from the last down to layer `first`: what a stochastic layer must run before it (RELAX's relaxed
   * evaluations), the likelihood's backward, then each layer's.
   * @internal
   */
  protected enqueueBackwardAbove(pass: LatentPass & { readonly lossScale: number }, first: number): void {
    for (const latent of this.stack.latents) {
      if (latent instanceof BernoulliLatent) latent.beforeBackward(pass);
    }
    this.stack.likelihood.backward(pass, this.#x(), pass.lossScale);
    for (let i = this.stack.layers.length - 1; i >= first; i--) this.stack.layers[i].backward(pass);
  }

  /**
   * Enqueues the forward and backward pass of the next training step on the first `count` examples of
   * `inputs` (count·inputSize values), leaving every parameter's gradient of the batch-mean loss; the step's
   * loss terms go to the loss log. {@link TrainableModel.update} then applies the optimiser.
   */
  forwardBackward(inputs: Float32Array, count: number = this.batch, options: StepOptions = {}): void {
    requireInteger("count", count, 1, this.batch);
    if (typeof options !== "object" || options === null) {
      throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
    }
    const forced = options.samples === undefined ? undefined : this.#checkForced(options.samples, count);
    const indices = options.indices === undefined ? undefined : this.#checkIndices(options.indices, count);
    this.writeInputs(inputs, count);
    this.#writeLabels(options.labels, count);
    const rng = { key0: this.key[0], key1: this.key[1], stream: this.steps, tag: TAG.estimator };
    const pass = this.pass(count, rng, true, forced);
    this.enqueueForward(pass, true, 0, indices);
    this.recordLosses(this.log, pass);
    this.log.endStep();
    this.zeroGradients();
    this.enqueueBackward(pass);
  }

  /** One whole training step (forward, backward, optimiser update) as one submit. */
  step(inputs: Float32Array, count: number = this.batch, options: StepOptions = {}): void {
    this.forwardBackward(inputs, count, options);
    this.update();
  }

  /** The loss channels of every step since the last read, oldest first (no read-back when none). */
  async readLosses(): Promise<Record<string, Float32Array>> {
    const log = this.log;
    if (log.pending === 0) return Object.fromEntries(log.channels.map((c) => [c, new Float32Array(0)]));
    const { channels } = await log.read();
    return Object.fromEntries(log.channels.map((c, i) => [c, channels[i]]));
  }

  /** A reader of `count` examples given at once or a batch at a time (with labels when the model needs them). */
  #batchesOf(inputs: Float32Array | InputBatches, count: number, labels?: ArrayLike<number>) {
    let batchOf: (start: number, n: number) => { x: Float32Array; labels?: ArrayLike<number> };
    if (typeof inputs === "function") {
      const scratch = new Float32Array(this.batch * this.inputSize),
        scratchLabels = new Int32Array(this.batch);
      batchOf = (start, n) => {
        inputs(start, n, scratch, this.needsLabels ? scratchLabels : undefined);
        return { x: scratch, labels: scratchLabels };
      };
    } else {
      this.checkInputs(inputs, count);
      if (this.needsLabels && (labels === undefined || labels.length < count)) {
        throw new ReinmaxInputError(
          "labels",
          `the categorical likelihood scores labels: expected ${count} of them`,
        );
      }
      batchOf = (start, n) => ({
        x: inputs.subarray(start * this.inputSize, (start + n) * this.inputSize),
        labels: labels === undefined ? undefined : Array.prototype.slice.call(labels, start, start + n),
      });
    }
    return batchOf;
  }

  /**
   * The loss and its terms on `count` examples, averaged per example, with sampled codes as in training
   * (docs/math.md §6.2), and a classifier's accuracy. Reads back once per `readEvery` batches. The examples are
   * given at once (count·inputSize values, with `labels` for a classifier) or written a batch at a time by
   * an {@link InputBatches} function, so a large test set need not exist as floats.
   */
  async evaluate(
    inputs: Float32Array | InputBatches,
    count: number,
    labels?: ArrayLike<number>,
  ): Promise<Evaluation> {
    requireInteger("count", count, 1);
    this.requireAlive();
    const batchOf = this.#batchesOf(inputs, count, labels);
    const log = this.#evaluationLog!;
    const sizes: number[] = [];
    const totals = new Float64Array(log.channels.length);
    const drain = async () => {
      const { channels } = await log.read();
      channels.forEach((means, c) => means.forEach((mean, i) => totals[c] += mean * sizes[i]));
      sizes.length = 0;
    };
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      const batch = batchOf(start, n);
      this.writeInputs(batch.x, n);
      this.#writeLabels(batch.labels, n);
      const draw = this.#draws;
      const indices = Array.from({ length: n }, (_, i) => start + i);
      const pass = this.pass(n, this.evaluationStream(), true);
      this.enqueueForward(pass, false, draw, indices);
      this.recordLosses(log, pass);
      if (this.needsLabels) {
        this.stack.likelihood.enqueueCorrect(pass);
        log.record(log.channels.length - 1, this.stack.likelihood.correct!, n * this.#outputFactor());
      }
      log.endStep();
      sizes.push(n);
      this.backend.submit();
      if (log.pending === log.capacity) await drain();
    }
    if (log.pending > 0) await drain();
    const terms: Record<string, number> = {};
    this.log.channels.forEach((c, i) => terms[c] = totals[i] / count);
    const loss = Object.values(terms).reduce((a, b) => a + b, 0);
    return this.needsLabels ? { loss, terms, accuracy: totals[totals.length - 1] / count } : { loss, terms };
  }

  /**
   * The likelihood's mean for a code sampled for each of `count` examples: pixel means σ(logits) for the
   * Bernoulli likelihood (a reconstruction), Gaussian means, or class probabilities. Returns count × outputs
   * values.
   */
  predict(inputs: Float32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkInputs(inputs, count);
    return this.#decodeChunks(count, (pass, start, draw) => {
      this.writeInputs(inputs.subarray(start * this.inputSize), pass.count);
      this.#enqueueBinary(pass, start, this.#binarizationStream(false, draw));
      for (const layer of this.stack.layers) layer.forward(pass);
      return Promise.resolve();
    });
  }

  /**
   * Decodes `count` codes drawn from the prior of the first stochastic layer: the likelihood's mean of each
   * (pixel means in [0, 1] for images), count × outputs values (at most 2^28 values per call).
   */
  samplePrior(count: number): Promise<Float32Array> {
    const first = this.stack.latents[0];
    if (!first) throw new ReinmaxInputError("model", "has no stochastic layer whose prior could be sampled");
    // The answer is one Float32Array on the host: at most 2^28 values (1 GiB) per call.
    requireInteger("count", count, 1, Math.floor(2 ** 28 / this.#outputWidth()));
    return this.#decodeChunks(count, async (pass) => {
      await first.enqueuePriorCodes(pass);
      for (const layer of this.stack.layers.slice(first.index + 1)) layer.forward(pass);
    });
  }

  #outputWidth(): number {
    return this.likelihood.kind === "categorical" ? this.likelihood.classes : this.inputSize;
  }

  /** Runs `enqueue` (the layers' forward) for chunks of at most a batch, then the likelihood's mean of each. */
  async #decodeChunks(
    count: number,
    enqueue: (pass: Pass, start: number, draw: number) => Promise<void>,
  ): Promise<Float32Array> {
    this.requireAlive();
    const width = this.#outputWidth(), out = new Float32Array(count * width);
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      const draw = this.#draws;
      const pass = this.pass(n, this.evaluationStream(), false);
      await enqueue(pass, start, draw);
      const means = this.stack.likelihood.enqueueMean(pass);
      this.backend.submit();
      out.set((await readF32(this.backend, means.buffer)).subarray(0, n * width), start * width);
    }
    return out;
  }

  /**
   * The logits of the first stochastic layer's variables for `count` examples (count × latents × categories
   * for a categorical layer, count × latents values a for a Bernoulli one, P(z = 1) = σ(2a − 1)).
   */
  async latentLogits(inputs: Float32Array, count: number): Promise<Float32Array> {
    const first = this.stack.latents[0];
    if (!first) throw new ReinmaxInputError("model", "has no stochastic layer");
    requireInteger("count", count, 1);
    this.checkInputs(inputs, count);
    const d = first.declaration, width = d.latents * (d.kind === "categorical" ? d.categories : 1);
    const out = new Float32Array(count * width);
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      this.writeInputs(inputs.subarray(start * this.inputSize), n);
      // The layers below the first stochastic one are deterministic: no stream is drawn from.
      const pass = this.pass(n, { key0: 0, key1: 0, stream: 0, tag: 0 }, false);
      this.#enqueueBinary(pass, start, this.#binarizationStream(false, this.#draws));
      for (const layer of this.stack.layers.slice(0, first.index)) layer.forward(pass);
      first.projection.forward(pass);
      this.backend.submit();
      const logits = await readF32(this.backend, first.projection.output.value.buffer);
      out.set(logits.subarray(0, n * width), start * width);
    }
    return out;
  }

  /**
   * The most likely code of each of `count` examples under the first stochastic layer: each variable's most
   * likely category (or bit), count × latents values — what a tokenizer of the inputs gives.
   */
  async codes(inputs: Float32Array, count: number): Promise<Int32Array> {
    const logits = await this.latentLogits(inputs, count);
    return this.stack.latents[0].mostLikely(logits, count);
  }

  /** Checks that `set` fits the model (its example width, and labels when the model needs them). */
  checkData(
    argument: string,
    set: { readonly name?: string; readonly size?: number; readonly labels?: unknown },
  ): void {
    if (typeof set !== "object" || set === null) {
      throw new ReinmaxInputError(argument, `expected an ImageSet or VectorSet, got ${describe(set)}`);
    }
    if (set.size !== this.inputSize) {
      throw new ReinmaxInputError(
        argument,
        `${set.name} has examples of ${set.size} values; the model takes ${this.inputSize}`,
      );
    }
    if (this.needsLabels) {
      if (set.labels === undefined) {
        throw new ReinmaxInputError(
          argument,
          `${set.name} has no labels, and the model's categorical likelihood scores labels`,
        );
      }
      const labels = set.labels as ArrayLike<number>;
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] >= this.#classes()) {
          throw new DatasetError(
            set.name ?? argument,
            `label ${labels[i]} of example ${i} is not one of the likelihood's ${this.#classes()} classes`,
          );
        }
      }
    }
  }
}
