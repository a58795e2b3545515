/**
 * What a user writes to declare a model: layers (`layers.linear(512)`, `layers.relu()`, the stochastic
 * `layers.categorical(…)` and `layers.bernoulli(…)`) and the likelihood that closes it. A declaration is plain
 * JSON — it travels in a checkpoint's metadata and rebuilds the model from the file alone — and every one is
 * checked here, so a mistake is a ReinmaxInputError naming the layer by its index and kind
 * (`layers[4] (categorical)`) before anything is allocated.
 * @module
 */
import { ReinmaxInputError } from "../errors.ts";
import {
  checkEstimator,
  checkEvaluations,
  type Estimator,
  estimator as makeEstimator,
  requirePathwise,
} from "../estimators.ts";
import { describe, requireFiniteNumber, requireInteger } from "../validate.ts";

/** A layer's own name: the prefix of its buffers' labels and, by default, of its parameters'. */
export interface Named {
  /** The prefix of the layer's labels, e.g. `"encoder.fc1"`. Default `layers.<index>`. */
  readonly name?: string;
}

/**
 * `x·W + b` to `outSize` values per row; W (in × out) and b start uniform in ±1/√in, like PyTorch's Linear.
 * After a categorical layer it reads the codes as categories: a gather of rows of W instead of a product.
 */
export interface LinearLayer extends Named {
  /** The layer's kind. */
  readonly kind: "linear";
  /** Output width. */
  readonly outSize: number;
}

/** An activation, elementwise: ReLU, LeakyReLU (negative slope `slope`), tanh or the logistic sigmoid. */
export type ActivationLayer =
  & Named
  & ({ readonly kind: "relu" | "tanh" | "sigmoid" } | { readonly kind: "leakyRelu"; readonly slope: number });

/** The prior a latent layer's KL term is taken to: uniform (fixed) or learned (a parameter, starting uniform). */
export type Prior = "uniform" | "learned";

/** What the two stochastic layers share. */
export interface LatentOptions extends Named {
  /** The gradient estimator of the samples. */
  readonly estimator: Estimator;
  /** The prior of the KL term. */
  readonly prior: Prior;
  /** Whether the objective includes KL(q ‖ prior) of this layer (a VAE); false for a plain bottleneck. */
  readonly kl: boolean;
  /** K: codes drawn per example; the layers after it run on K rows per example, their losses averaged. */
  readonly evaluations: number;
  /**
   * Labels of the layer's parameters where they should differ from `<name>.weight`, `<name>.bias` (the
   * projection to logits), `<name>.prior` (a learned prior's logits), `<name>.alpha` (Double CV's learned
   * weight), `<name>.weights` (RODEO's), `<name>.scale` (RELAX's) and `<name>.control` (their networks); the
   * built-in VAEs keep their labels this way.
   */
  readonly parameterNames?: {
    readonly weight?: string;
    readonly bias?: string;
    readonly prior?: string;
    readonly alpha?: string;
    /** RODEO's learned weights (α, β). */
    readonly weights?: string;
    /** RELAX's learned scale s. */
    readonly scale?: string;
    /** The prefix of RODEO's or RELAX's control network's labels (`<control>.fc1.weight` …). */
    readonly control?: string;
  };
}

/**
 * `latents` categorical variables of `categories` categories: a linear projection of the input to their
 * logits, one sample per variable (the estimator carries the gradient through it), the one-hot codes out.
 */
export interface CategoricalLayer extends LatentOptions {
  /** The layer's kind. */
  readonly kind: "categorical";
  /** Categories per variable C ≥ 2. */
  readonly categories: number;
  /** Variables L ≥ 1. */
  readonly latents: number;
}

/**
 * `latents` binary variables: a linear projection of the input to one value a per variable, P(z = 1) =
 * σ(2a − 1) (the logit pair (a, 1 − a) of docs/math.md §4.10), one sample each, the bits z out.
 */
export interface BernoulliLayer extends LatentOptions {
  /** The layer's kind. */
  readonly kind: "bernoulli";
  /** Binary variables ≥ 1. */
  readonly latents: number;
}

/**
 * One layer of a declared model.
 *
 * @example
 * ```ts
 * import { estimator, type LayerDeclaration, layers } from "@reinmax/reinmax";
 * const stack: LayerDeclaration[] = [
 *   layers.linear(256),
 *   layers.tanh(),
 *   layers.categorical({ categories: 8, latents: 16, estimator: estimator("reinmax", { tau: 1.3 }) }),
 * ];
 * ```
 */
export type LayerDeclaration = LinearLayer | ActivationLayer | CategoricalLayer | BernoulliLayer;

/**
 * What closes a model: how its last layer's output scores the targets. `bernoulli`: logits of pixels in [0, 1]
 * against the input (a VAE of images, grey or binarised); `gaussian`: means of N(mean, σ²) against the input
 * (float vectors); `categorical`: logits of `classes` classes against the data set's labels (a classifier).
 *
 * @example
 * ```ts
 * import { layers, type LikelihoodDeclaration } from "@reinmax/reinmax";
 * const classifier: LikelihoodDeclaration = layers.categoricalLikelihood({ classes: 10 });
 * ```
 */
export type LikelihoodDeclaration =
  | { readonly kind: "bernoulli" }
  | { readonly kind: "gaussian"; readonly sigma: number }
  | { readonly kind: "categorical"; readonly classes: number };

/**
 * Options of a stochastic layer: the sizes, and optionally the estimator (default ReinMax at τ 1.3 for
 * categorical, 1.1 for Bernoulli variables, the paper's), the prior, the KL term and K.
 */
export interface CategoricalLayerOptions {
  /** Categories per variable C ≥ 2. */
  readonly categories: number;
  /** Variables L ≥ 1. */
  readonly latents: number;
  /** The estimator. Default `estimator("reinmax", { tau: 1.3 })`. */
  readonly estimator?: Estimator;
  /** Default "uniform". */
  readonly prior?: Prior;
  /** Include KL(q ‖ prior) in the objective. Default true. */
  readonly kl?: boolean;
  /** K codes per example. Default 1. */
  readonly evaluations?: number;
  /** See {@link LayerDeclaration}. */
  readonly name?: string;
  /** See {@link CategoricalLayer}. */
  readonly parameterNames?: CategoricalLayer["parameterNames"];
}

/** Options of {@link layers.bernoulli}: as {@link CategoricalLayerOptions} without categories. */
export interface BernoulliLayerOptions extends Omit<CategoricalLayerOptions, "categories" | "estimator"> {
  /** The estimator. Default `estimator("reinmax", { tau: 1.1 })`. */
  readonly estimator?: Estimator;
}

/**
 * The τ a stochastic layer gives ReinMax when no estimator is declared, and the τ of an estimator whose
 * table row defers to the model (`defaultTau(name, LAYER_TAU.categorical)`): the paper's, for most
 * categorical configurations and for the 2×200 model.
 *
 * @example
 * ```ts
 * import { defaultTau, estimator, LAYER_TAU } from "@reinmax/reinmax";
 * const st = estimator("st", { tau: defaultTau("st", LAYER_TAU.categorical) }); // τ 1.3
 * ```
 */
export const LAYER_TAU: { readonly categorical: number; readonly bernoulli: number } = {
  categorical: 1.3,
  bernoulli: 1.1,
};

function latentOptions(kind: "categorical" | "bernoulli", o: BernoulliLayerOptions): LatentOptions {
  return {
    ...(o.name === undefined ? {} : { name: o.name }),
    estimator: o.estimator ?? makeEstimator("reinmax", { tau: LAYER_TAU[kind] }),
    prior: o.prior ?? "uniform",
    kl: o.kl ?? true,
    evaluations: o.evaluations ?? 1,
    ...(o.parameterNames === undefined ? {} : { parameterNames: o.parameterNames }),
  };
}

/**
 * The layer factories and likelihoods of a declared model: `const { linear, relu, categorical,
 * bernoulliLikelihood } = layers;`. Each returns a plain declaration; the model checks them all when it is
 * built.
 *
 * @example
 * ```ts
 * import { DiscreteModel, estimator, layers, selectBackend } from "@reinmax/reinmax";
 * const { linear, relu, categorical, categoricalLikelihood } = layers;
 * const model = new DiscreteModel(await selectBackend(), {
 *   inputSize: 784,
 *   layers: [linear(256), relu(), categorical({ categories: 8, latents: 16, estimator: estimator("st", { tau: 1.4 }), kl: false }), linear(10)],
 *   likelihood: categoricalLikelihood({ classes: 10 }),
 * });
 * ```
 */
export const layers: {
  /** A linear layer to `outSize` values. */
  readonly linear: (outSize: number, options?: { readonly name?: string }) => LinearLayer;
  /** max(x, 0). */
  readonly relu: (options?: { readonly name?: string }) => ActivationLayer;
  /** x > 0 ? x : slope·x. */
  readonly leakyRelu: (slope: number, options?: { readonly name?: string }) => ActivationLayer;
  /** tanh(x). */
  readonly tanh: (options?: { readonly name?: string }) => ActivationLayer;
  /** 1/(1 + e^{−x}). */
  readonly sigmoid: (options?: { readonly name?: string }) => ActivationLayer;
  /** A categorical bottleneck; see {@link CategoricalLayer}. */
  readonly categorical: (options: CategoricalLayerOptions) => CategoricalLayer;
  /** A Bernoulli bottleneck; see {@link BernoulliLayer}. */
  readonly bernoulli: (options: BernoulliLayerOptions) => BernoulliLayer;
  /** Bernoulli pixels against the input (values in [0, 1]): a VAE or autoencoder of images. */
  readonly bernoulliLikelihood: () => LikelihoodDeclaration;
  /** Gaussian N(mean, σ²) against the input (float vectors). */
  readonly gaussianLikelihood: (options: { readonly sigma: number }) => LikelihoodDeclaration;
  /** Cross-entropy of `classes` classes against the data set's labels: a classifier. */
  readonly categoricalLikelihood: (options: { readonly classes: number }) => LikelihoodDeclaration;
} = {
  linear: (outSize, options = {}) => ({ kind: "linear", outSize, ...options }),
  relu: (options = {}) => ({ kind: "relu", ...options }),
  leakyRelu: (slope, options = {}) => ({ kind: "leakyRelu", slope, ...options }),
  tanh: (options = {}) => ({ kind: "tanh", ...options }),
  sigmoid: (options = {}) => ({ kind: "sigmoid", ...options }),
  categorical: (o) => ({
    kind: "categorical",
    categories: o?.categories,
    latents: o?.latents,
    ...latentOptions("categorical", requireLatentOptions(o)),
  }),
  bernoulli: (o) => ({
    kind: "bernoulli",
    latents: o?.latents,
    ...latentOptions("bernoulli", requireLatentOptions(o)),
  }),
  bernoulliLikelihood: () => ({ kind: "bernoulli" }),
  gaussianLikelihood: (o) => ({ kind: "gaussian", sigma: o?.sigma }),
  categoricalLikelihood: (o) => ({ kind: "categorical", classes: o?.classes }),
};

function requireLatentOptions<T>(o: T): T {
  if (typeof o !== "object" || o === null) {
    throw new ReinmaxInputError("options", `expected an object such as { latents: 16 }, got ${describe(o)}`);
  }
  return o;
}

/** How a layer of `layers` is named in errors: `layers[4] (categorical)`. */
export function layerArgument(index: number, kind: unknown): string {
  return `layers[${index}] (${typeof kind === "string" ? kind : "?"})`;
}

const NAME = /^[A-Za-z_][\w.-]*$/;

function checkName(argument: string, name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ReinmaxInputError(
      `${argument}.name`,
      `expected a name of letters, digits, ".", "_" and "-", got ${describe(name)}`,
    );
  }
  return name;
}

/** A width, an integer from 1 to 2^24. */
function width(argument: string, value: unknown): number {
  return requireInteger(argument, value, 1, 1 << 24);
}

/**
 * A declaration from a caller (or a checkpoint), checked field by field: the same declaration with every
 * default filled in, frozen. Errors name `layers[i] (kind)` and the field.
 */
export function checkLayer(index: number, value: unknown): LayerDeclaration {
  const kind = (value as { kind?: unknown } | null)?.kind;
  const at = layerArgument(index, kind);
  if (typeof value !== "object" || value === null) {
    throw new ReinmaxInputError(at, `expected a layer from layers.*, got ${describe(value)}`);
  }
  const v = value as Record<string, unknown>;
  const named = (rest: object) => {
    const name = checkName(at, v.name);
    return Object.freeze(name === undefined ? rest : { ...rest, name });
  };
  switch (kind) {
    case "linear":
      return named({ kind, outSize: width(`${at}.outSize`, v.outSize) }) as LinearLayer;
    case "relu":
    case "tanh":
    case "sigmoid":
      return named({ kind }) as ActivationLayer;
    case "leakyRelu": {
      const slope = requireFiniteNumber(`${at}.slope`, v.slope);
      return named({ kind, slope }) as ActivationLayer;
    }
    case "categorical":
    case "bernoulli": {
      const latents = width(`${at}.latents`, v.latents);
      const categories = kind === "categorical"
        ? requireInteger(`${at}.categories`, v.categories, 2, 1 << 16)
        : 2;
      const est = checkEstimator(v.estimator, `${at}.estimator`);
      if (v.prior !== "uniform" && v.prior !== "learned") {
        throw new ReinmaxInputError(
          `${at}.prior`,
          `expected "uniform" or "learned", got ${describe(v.prior)}`,
        );
      }
      if (typeof v.kl !== "boolean") {
        throw new ReinmaxInputError(`${at}.kl`, `expected true or false, got ${describe(v.kl)}`);
      }
      if (v.prior === "learned" && !v.kl) {
        throw new ReinmaxInputError(
          `${at}.prior`,
          `a learned prior is trained only through the KL term; with kl: false use prior: "uniform"`,
        );
      }
      const evaluations = requireInteger(`${at}.evaluations`, v.evaluations, 1, 64);
      if (kind === "categorical") requirePathwise(est, `${at}.estimator`, "a categorical layer");
      else checkEvaluations(est, evaluations, `${at}.evaluations`);
      const names = v.parameterNames;
      if (names !== undefined) {
        if (typeof names !== "object" || names === null) {
          throw new ReinmaxInputError(`${at}.parameterNames`, `expected an object, got ${describe(names)}`);
        }
        for (const [key, label] of Object.entries(names)) {
          if (
            !["weight", "bias", "prior", "alpha", "weights", "scale", "control"].includes(key) ||
            typeof label !== "string" ||
            !NAME.test(label)
          ) {
            throw new ReinmaxInputError(
              `${at}.parameterNames`,
              `expected labels of weight, bias, prior, alpha, weights, scale or control, got ${
                describe(key)
              }: ${describe(label)}`,
            );
          }
        }
      }
      const rest = {
        kind,
        ...(kind === "categorical" ? { categories } : {}),
        latents,
        estimator: est,
        prior: v.prior,
        kl: v.kl,
        evaluations,
        ...(names === undefined ? {} : { parameterNames: Object.freeze({ ...names }) }),
      };
      return named(rest) as CategoricalLayer | BernoulliLayer;
    }
    default:
      throw new ReinmaxInputError(
        at,
        `unknown layer kind ${
          describe(kind)
        }; expected linear, relu, leakyRelu, tanh, sigmoid, categorical or ` +
          `bernoulli (from layers.*)`,
      );
  }
}

/** A likelihood declaration from a caller (or a checkpoint), checked; errors name `likelihood`. */
export function checkLikelihood(value: unknown): LikelihoodDeclaration {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null) {
    throw new ReinmaxInputError(
      "likelihood",
      `expected a likelihood from layers.bernoulliLikelihood(), gaussianLikelihood({ sigma }) or ` +
        `categoricalLikelihood({ classes }), got ${describe(value)}`,
    );
  }
  switch (v.kind) {
    case "bernoulli":
      return Object.freeze({ kind: "bernoulli" });
    case "gaussian": {
      const sigma = requireFiniteNumber("likelihood.sigma", v.sigma);
      // σ² divides the squared error in float32: a σ whose square under- or overflows carries no gradient.
      if (!(sigma >= 1e-6 && sigma <= 1e6)) {
        throw new ReinmaxInputError("likelihood.sigma", `expected a number in [1e-6, 1e6], got ${sigma}`);
      }
      return Object.freeze({ kind: "gaussian", sigma });
    }
    case "categorical":
      return Object.freeze({
        kind: "categorical",
        // Labels are bytes (ImageSet, VectorSet), so 256 classes at most.
        classes: requireInteger("likelihood.classes", v.classes, 2, 256),
      });
    default:
      throw new ReinmaxInputError(
        "likelihood",
        `unknown likelihood ${describe(v.kind)}; expected bernoulli, gaussian or categorical`,
      );
  }
}

/** Whether a declaration samples: the stochastic layers. */
export function isLatent(layer: LayerDeclaration): layer is CategoricalLayer | BernoulliLayer {
  return layer.kind === "categorical" || layer.kind === "bernoulli";
}
