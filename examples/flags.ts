// The example programs' flags: every flag is declared with its type and range, values are checked, and any
// mistake is a ReinmaxInputError naming the flag (an unknown flag with the nearest known one).
import {
  BackendFailureError,
  BackendMemoryError,
  BackendUnavailableError,
  CheckpointError,
  DatasetError,
  DivergenceError,
  NonFiniteError,
  ReinmaxInputError,
} from "../mod.ts";

/** One declared flag. */
export interface FlagSpec {
  readonly type: "string" | "number" | "boolean";
  readonly help: string;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  /** The flag may be left out even without a default (the program then chooses, e.g. per estimator). */
  readonly optional?: boolean;
  /** A number flag must be a whole number. */
  readonly integer?: boolean;
  /** The smallest value of a number flag (inclusive). */
  readonly min?: number;
  /** The largest value of a number flag (inclusive). */
  readonly max?: number;
}

/** --seed: every random draw of a run (initialisation, samples, data order), an integer the SDK accepts. */
export const SEED_FLAG = {
  type: "number",
  help: "random seed",
  default: 0,
  integer: true,
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
} as const;

type FlagValue<F extends FlagSpec> = F["type"] extends "number" ? number
  : F["type"] extends "boolean" ? boolean
  : string;

export type Flags<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K]["optional"] extends true ? FlagValue<S[K]> | undefined : FlagValue<S[K]>;
};

/** Parses `--name value`, `--name=value` and boolean `--name` flags; `--help` prints usage and exits. */
export function parseFlags<S extends Record<string, FlagSpec>>(
  args: readonly string[],
  spec: S,
  usage: string,
): Flags<S> {
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [name, s] of Object.entries(spec)) values[name] = s.default;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(helpText(spec, usage));
      Deno.exit(0);
    }
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!match) {
      throw new ReinmaxInputError(arg, `unexpected argument; flags look like --name value (see --help)`);
    }
    const [, name, inline] = match;
    const s = spec[name];
    if (!s) {
      const near = nearest(name, Object.keys(spec));
      throw new ReinmaxInputError(
        `--${name}`,
        `unknown flag${near ? `; did you mean --${near}?` : ""} (known flags: ${
          Object.keys(spec).map((k) => `--${k}`).join(", ")
        })`,
      );
    }
    if (s.type === "boolean") {
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        throw new ReinmaxInputError(`--${name}`, `expected true or false, got ${JSON.stringify(inline)}`);
      }
      values[name] = inline !== "false";
      continue;
    }
    const raw = inline ?? args[++i];
    if (raw === undefined) {
      throw new ReinmaxInputError(`--${name}`, `expected a ${s.type} value after the flag`);
    }
    if (s.type === "number") {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) {
        throw new ReinmaxInputError(`--${name}`, `expected a number, got ${JSON.stringify(raw)}`);
      }
      values[name] = checkRange(name, s, v);
    } else {
      if (s.choices && !s.choices.includes(raw)) {
        throw new ReinmaxInputError(
          `--${name}`,
          `expected one of ${s.choices.join(", ")}, got ${JSON.stringify(raw)}`,
        );
      }
      values[name] = raw;
    }
  }
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined && !spec[name].optional) {
      throw new ReinmaxInputError(`--${name}`, "this flag is required");
    }
  }
  return values as Flags<S>;
}

/** A number flag's value within its declared kind and range. */
function checkRange(name: string, s: FlagSpec, v: number): number {
  const kind = s.integer ? "a whole number" : "a number";
  const range = s.min !== undefined && s.max !== undefined
    ? ` from ${s.min} to ${s.max}`
    : s.min !== undefined
    ? ` >= ${s.min}`
    : s.max !== undefined
    ? ` <= ${s.max}`
    : "";
  if (
    (s.integer && !Number.isInteger(v)) || (s.min !== undefined && v < s.min) ||
    (s.max !== undefined && v > s.max)
  ) {
    throw new ReinmaxInputError(`--${name}`, `expected ${kind}${range}, got ${v}`);
  }
  return v;
}

/** The known flag a mistyped one most likely meant: a prefix either way, or one or two edits away. */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined, bestDistance = 3;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? 1 : editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

function helpText(spec: Record<string, FlagSpec>, usage: string): string {
  const lines = Object.entries(spec).map(([name, s]) => {
    const choices = s.choices ? ` (${s.choices.join("|")})` : "";
    const def = s.default === undefined ? "" : ` [default: ${s.default}]`;
    return `  --${name.padEnd(14)} ${s.help}${choices}${def}`;
  });
  return `${usage}\n\nFlags:\n${lines.join("\n")}\n  --help           show this text`;
}

/** `readEvery` → `read-every`: the flag that sets an option of that name. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Runs `main`. A ReinmaxInputError becomes a one-line message and exit code 2; an error about an option that
 * a flag sets (e.g. `tau`, `readEvery`) is reported under the flag's name (`--tau`, `--read-every`), and
 * `aliases` maps other option names to their flags (e.g. `{ trainSet: "data" }`). The SDK's other typed
 * errors (a dataset that cannot be read, a backend failure, a diverged run) become one line and exit code 1.
 */
export async function runCli(
  spec: Record<string, FlagSpec>,
  main: () => Promise<void>,
  aliases: Readonly<Record<string, string>> = {},
): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof ReinmaxInputError) {
      const name = aliases[e.argument] ?? kebab(e.argument);
      const flag = name in spec ? `--${name}` : e.argument;
      console.error(`error: ${flag}: ${e.message.slice(e.argument.length + 2)}`);
      Deno.exit(2);
    }
    if (
      e instanceof DatasetError || e instanceof NonFiniteError || e instanceof BackendFailureError ||
      e instanceof BackendUnavailableError || e instanceof BackendMemoryError ||
      e instanceof CheckpointError ||
      e instanceof DivergenceError
    ) {
      console.error(`error: ${e.name}: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}

/** The flags `args` names explicitly (`--name value`, `--name=value`, `--name`), whatever the defaults. */
export function givenFlags(args: readonly string[]): Set<string> {
  const given = new Set<string>();
  for (const arg of args) {
    const match = /^--([a-z][a-z0-9-]*)(?:=.*)?$/.exec(arg);
    if (match) given.add(match[1]);
  }
  return given;
}
