// The flags that choose a gradient estimator, shared by the command-line examples. Their help, defaults and
// ranges come from the estimator table, so an estimator added there shows in every program's --help.
import { ESTIMATOR_NAMES, ESTIMATORS } from "../mod.ts";

/** --estimator NAME: one of the table's. */
export const ESTIMATOR_FLAG = {
  type: "string",
  help: "gradient estimator",
  default: "reinmax",
  choices: ESTIMATOR_NAMES,
} as const;

/**
 * --tau: one temperature. Its help lists each estimator's default, `modelDefault` for those whose row follows
 * the model's τ (words such as "the model's", or the task's number).
 */
export function tauFlag(
  modelDefault: string | number,
): { readonly type: "number"; readonly help: string; readonly optional: true } {
  const defaults = ESTIMATOR_NAMES.map((name) => {
    const d = ESTIMATORS[name].tau.default;
    return `${name} ${d === "model" ? modelDefault : d}`;
  });
  return { type: "number", help: `temperature τ [default: ${defaults.join(", ")}]`, optional: true };
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
