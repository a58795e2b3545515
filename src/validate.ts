// Argument checks shared by the public functions. Each throws ReinmaxInputError naming the argument. They
// hold for plain JavaScript callers too, who may pass anything where TypeScript would not let them.
import type { Backend } from "./backend.ts";
import { ReinmaxInputError } from "./errors.ts";

const BACKEND_METHODS = ["alloc", "free", "write", "run", "submit", "read", "destroy"] as const;

/** `value` is a Backend (from selectBackend): an object with the interface's methods. */
export function requireBackend(value: unknown, argument = "backend"): Backend {
  const b = value as Record<string, unknown> | null;
  if (typeof b !== "object" || b === null || BACKEND_METHODS.some((m) => typeof b[m] !== "function")) {
    throw new ReinmaxInputError(argument, `expected a backend from selectBackend(), got ${describe(value)}`);
  }
  return value as Backend;
}

/** `value` is a non-null object; `shape` tells the caller what it should hold, e.g. "{ n }". */
export function requireObject(argument: string, value: unknown, shape = ""): void {
  if (typeof value !== "object" || value === null) {
    throw new ReinmaxInputError(
      argument,
      `expected an object${shape ? ` with at least ${shape}` : ""}, got ${describe(value)}`,
    );
  }
}

export function requireFiniteNumber(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ReinmaxInputError(name, `expected a finite number, got ${describe(value)}`);
  }
  return value;
}

export function requirePositive(name: string, value: unknown): number {
  const v = requireFiniteNumber(name, value);
  if (!(v > 0)) throw new ReinmaxInputError(name, `expected a number > 0, got ${v}`);
  return v;
}

export function requireInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new ReinmaxInputError(name, `expected an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

export function requireFloat32Array(name: string, value: unknown, length?: number): Float32Array {
  if (!(value instanceof Float32Array)) {
    throw new ReinmaxInputError(name, `expected a Float32Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new ReinmaxInputError(name, `expected length ${length}, got ${value.length}`);
  }
  return value;
}

export function requireAllFinite(name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new ReinmaxInputError(name, `expected finite values, got ${values[i]} at index ${i}`);
    }
  }
}

/** A short, safe description of any value for an error message (symbols and bigints included). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return "an object";
  return String(value);
}
