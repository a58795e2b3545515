// The flags that choose a gradient estimator, shared by the command-line examples. Their help, defaults and
// ranges come from the estimator table, so an estimator added there shows in every program's --help.
import {
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  PATHWISE_ESTIMATOR_NAMES,
  SCORE_ESTIMATOR_NAMES,
} from "../mod.ts";

/**
 * The estimators that carry the gradient through a sample, which every model takes: the categorical VAE and
 * layers, polynomial programming, the Bernoulli VAE.
 */
export const PATHWISE_CHOICES: readonly EstimatorName[] = PATHWISE_ESTIMATOR_NAMES;

/** The score-function estimators: only a Bernoulli model drawing K codes per example in their range takes them. */
export const SCORE_CHOICES: readonly EstimatorName[] = SCORE_ESTIMATOR_NAMES;

/**
 * Whether the estimator relaxes its samples at a temperature τ: every pathwise one, and of the score-function
 * ones those whose control variate is a relaxation (RELAX); the others have no use for τ. Shared with the
 * studio, which offers a τ field only where it matters.
 */
export function relaxes(name: EstimatorName): boolean {
  const score = ESTIMATORS[name].scoreFunction;
  return !score || score.learns === "relaxation network";
}

/** The evaluations K a score-function estimator takes, as help text says it: "2" or "2–64". */
export function evaluationsRange(name: EstimatorName): string {
  const { min, max } = ESTIMATORS[name].scoreFunction!.evaluations;
  return min === max ? `${min}` : `${min}–${max}`;
}

/**
 * --estimator NAME for examples/vae.ts, whose Bernoulli VAE takes every estimator of the table: the help says
 * which need --model bernoulli and which --evaluations each takes. A model that cannot take the estimator (or
 * the K) refuses it as it is built, naming the flag.
 */
export const ESTIMATOR_FLAG = {
  type: "string",
  help: `gradient estimator; the score-function ones need --model bernoulli and --evaluations K: ${
    [...Map.groupBy(SCORE_CHOICES, evaluationsRange)]
      .map(([range, names]) => `${names.join(", ")} K ${range}`).join("; ")
  }`,
  default: "reinmax",
  choices: ESTIMATOR_NAMES,
} as const;

/**
 * --estimator NAME for a program whose model has no Bernoulli latents (a categorical code, polynomial
 * programming): the choices are the estimators it takes, so any other is refused before any work.
 */
export const PATHWISE_ESTIMATOR_FLAG = {
  type: "string",
  help: `gradient estimator (${
    SCORE_CHOICES.join(", ")
  } need Bernoulli latents: examples/vae.ts --model bernoulli)`,
  default: "reinmax",
  choices: PATHWISE_CHOICES,
} as const;

/**
 * --tau: one temperature. Its help lists the default of each estimator of `names` that relaxes its samples,
 * `modelDefault` for those whose row follows the model's τ (words such as "the model's", or the task's number),
 * and says τ is unused by the others.
 */
export function tauFlag(
  modelDefault: string | number,
  names: readonly EstimatorName[] = ESTIMATOR_NAMES,
): { readonly type: "number"; readonly help: string; readonly optional: true } {
  const defaults = names.filter(relaxes).map((name) => {
    const d = ESTIMATORS[name].tau.default;
    return `${name} ${d === "model" ? modelDefault : d}`;
  });
  const unused = names.filter((name) => !relaxes(name));
  return {
    type: "number",
    help: `temperature τ [default: ${defaults.join(", ")}]${
      unused.length > 0 ? `; unused by ${unused.join(", ")}` : ""
    }`,
    optional: true,
  };
}

/** --k: Gumbel-Rao's draws per backward, within the table's range. */
export const GUMBEL_DRAWS_FLAG = {
  type: "number",
  help: "Gumbel-Rao draws per backward (grmck only)",
  default: ESTIMATORS.grmck.k!.default,
  integer: true,
  min: 1,
  max: ESTIMATORS.grmck.k!.max,
} as const;
