/**
 * Adam and RAdam with PyTorch's semantics (torch.optim.Adam / RAdam, L2 weight decay added to the
 * gradient). The per-step scalars — bias corrections and RAdam's rectification — are computed here in
 * float64 and passed to one `adam_update` kernel, so every backend applies identical numbers.
 * @module
 */
import type { DeviceBuffer } from "./backend.ts";
import { ReinmaxInputError } from "./errors.ts";
import type { Launcher } from "./launcher.ts";
import { describe, requireFiniteNumber, requirePositive } from "./validate.ts";

/**
 * Hyper-parameters shared by Adam and RAdam.
 *
 * @example
 * ```ts
 * import { adam, type OptimizerOptions } from "@reinmax/reinmax";
 * const options: OptimizerOptions = { lr: 5e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };
 * const optimizer = adam(options);
 * ```
 */
export interface OptimizerOptions {
  /** Learning rate (> 0). */
  readonly lr: number;
  /** (β₁, β₂), each in [0, 1). Default (0.9, 0.999). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator. Default 1e-8. */
  readonly eps?: number;
  /** L2 penalty added to the gradient (≥ 0). Default 0. */
  readonly weightDecay?: number;
}

/**
 * A validated optimiser description.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type Optimizer, radam, selectBackend } from "@reinmax/reinmax";
 * const optimizer: Optimizer = radam({ lr: 7e-4 }); // { name: "radam", lr: 7e-4, beta1: 0.9, … }
 * const model = new CategoricalVae(await selectBackend(), { config: "8x16", optimizer });
 * ```
 */
export interface Optimizer {
  /** Which update rule. */
  readonly name: "adam" | "radam";
  /** Learning rate. */
  readonly lr: number;
  /** Decay of the first moment. */
  readonly beta1: number;
  /** Decay of the second moment. */
  readonly beta2: number;
  /** Denominator term. */
  readonly eps: number;
  /** L2 penalty added to the gradient. */
  readonly weightDecay: number;
}

function optimizer(name: "adam" | "radam", options: OptimizerOptions): Optimizer {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object with { lr }, got ${describe(options)}`);
  }
  const lr = requirePositive("lr", options.lr);
  const betas = options.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new ReinmaxInputError("betas", `expected [beta1, beta2], got ${describe(betas)}`);
  }
  const [beta1, beta2] = betas;
  for (const [argument, beta] of [["betas[0]", beta1], ["betas[1]", beta2]] as const) {
    if (!(requireFiniteNumber(argument, beta) >= 0 && beta < 1)) {
      throw new ReinmaxInputError(argument, `expected a number in [0, 1), got ${beta}`);
    }
  }
  const eps = requirePositive("eps", options.eps ?? 1e-8);
  const weightDecay = requireFiniteNumber("weightDecay", options.weightDecay ?? 0);
  if (weightDecay < 0) {
    throw new ReinmaxInputError("weightDecay", `expected a number >= 0, got ${weightDecay}`);
  }
  return Object.freeze({ name, lr, beta1, beta2, eps, weightDecay });
}

/**
 * An optimiser description passed in by a caller, checked again (plain JavaScript may hand over anything, and
 * a description that crossed a worker boundary is a plain object). Errors name `argument` and the field.
 */
export function checkOptimizer(value: unknown, argument = "optimizer"): Optimizer {
  if (typeof value !== "object" || value === null) {
    throw new ReinmaxInputError(
      argument,
      `expected a description made by adam(…) or radam(…), got ${describe(value)}`,
    );
  }
  const v = value as Partial<Optimizer>;
  if (v.name !== "adam" && v.name !== "radam") {
    throw new ReinmaxInputError(`${argument}.name`, `expected "adam" or "radam", got ${describe(v.name)}`);
  }
  try {
    return optimizer(v.name, {
      lr: v.lr!,
      betas: [v.beta1!, v.beta2!],
      eps: v.eps,
      weightDecay: v.weightDecay,
    });
  } catch (e) {
    if (!(e instanceof ReinmaxInputError)) throw e;
    const field = e.argument === "betas[0]" ? "beta1" : e.argument === "betas[1]" ? "beta2" : e.argument;
    throw new ReinmaxInputError(`${argument}.${field}`, e.message.slice(e.argument.length + 2), { cause: e });
  }
}

/**
 * Adam (Kingma & Ba), as torch.optim.Adam.
 *
 * @example
 * ```ts
 * import { adam, CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", optimizer: adam({ lr: 5e-4 }) });
 * ```
 */
export function adam(options: OptimizerOptions): Optimizer {
  return optimizer("adam", options);
}

/**
 * Rectified Adam (Liu et al., 2020), as torch.optim.RAdam.
 *
 * @example
 * ```ts
 * import { BernoulliVae, radam, selectBackend } from "@reinmax/reinmax";
 * const model = new BernoulliVae(await selectBackend(), { optimizer: radam({ lr: 3e-4 }) });
 * ```
 */
export function radam(options: OptimizerOptions): Optimizer {
  return optimizer("radam", options);
}

/** The scalars of step `t` (1-based): param −= stepSize·m/(√v·denomScale + eps), or stepSize·m if not adaptive. */
export function updateScalars(
  opt: Optimizer,
  t: number,
): { stepSize: number; denomScale: number; adaptive: boolean } {
  const bc1 = 1 - opt.beta1 ** t;
  const bc2 = 1 - opt.beta2 ** t;
  if (opt.name === "adam") return { stepSize: opt.lr / bc1, denomScale: 1 / Math.sqrt(bc2), adaptive: true };
  const rhoInf = 2 / (1 - opt.beta2) - 1;
  const rho = rhoInf - (2 * t * opt.beta2 ** t) / bc2;
  if (rho <= 5) return { stepSize: opt.lr / bc1, denomScale: 1, adaptive: false };
  const rect = Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
  return { stepSize: (opt.lr * rect * Math.sqrt(bc2)) / bc1, denomScale: 1, adaptive: true };
}

/** Parameters with their gradient and optimiser state, all of `length` elements. */
export interface ParameterSlot {
  readonly param: DeviceBuffer;
  readonly grad: DeviceBuffer;
  readonly m: DeviceBuffer;
  readonly v: DeviceBuffer;
  readonly length: number;
}

/** Enqueues update number `t` (1-based) of one parameter tensor. */
export function enqueueUpdate(k: Launcher, opt: Optimizer, slot: ParameterSlot, t: number): void {
  const { stepSize, denomScale, adaptive } = updateScalars(opt, t);
  k.adam_update({ param: slot.param, m: slot.m, v: slot.v, grad: slot.grad }, {
    count: slot.length,
    beta1: opt.beta1,
    beta2: opt.beta2,
    stepSize,
    denomScale,
    eps: opt.eps,
    weightDecay: opt.weightDecay,
    adaptive: adaptive ? 1 : 0,
  });
}
