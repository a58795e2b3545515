// Small helpers shared by the tests: seeded inputs and tolerance checks that name the first mismatch.
import { AssertionError } from "@std/assert";
import { assertEquals } from "@std/assert";
import { type Backend, type KernelName, KERNELS, type TrainableModel } from "../mod.ts";
import { readF32 } from "./internals.ts";

/** A seeded generator for test inputs (mulberry32): not the SDK's Philox, only test data. */
export function testRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [low, high). */
export function uniformArray(random: () => number, n: number, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length: n }, () => low + (high - low) * random());
}

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-6, rtol = 1e-5, label = "" }: { atol?: number; rtol?: number; label?: string } = {},
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const tolerance = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      throw new AssertionError(
        `${label}: index ${i}: ${actual[i]} vs expected ${expected[i]} (|diff| ${
          Math.abs(actual[i] - expected[i])
        } > ${tolerance})`,
      );
    }
  }
}

/** Row r (of width n) of a flat array, as numbers. */
export function row(values: ArrayLike<number>, r: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => values[r * n + i]);
}

/** What an example program printed, and its exit code. */
export interface ProgramRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs examples/`program` in a fresh Deno process with `permissions` (read access by default) and `args`, as a
 * user would; colours off so messages compare as text.
 */
export async function runExample(
  program: string,
  args: readonly string[],
  permissions: readonly string[] = ["--allow-read"],
): Promise<ProgramRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...permissions,
      new URL(`../examples/${program}`, import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Every parameter of a model, read back as float64 for the oracles, by label. */
export async function readParameters(model: TrainableModel): Promise<Map<string, Float64Array>> {
  const params = new Map<string, Float64Array>();
  for (const p of model.parameters) {
    params.set(p.label, Float64Array.from(await readF32(model.backend, p.value.buffer)));
  }
  return params;
}

/** assertClose relative to the tensor's largest entry, so near-zero entries are not held to rtol of 0. */
export function assertTensorClose(
  actual: ArrayLike<number>,
  expected: Float64Array,
  label: string,
  rtol = 1e-4,
) {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(actual, expected, { rtol, atol: rtol * scale + 1e-9, label });
}

/**
 * Starts examples/`program` as {@link runExample} runs it, but returns the process while it runs, with stdout and
 * stderr piped: for tests that act on it mid-run (e.g. send SIGINT once it has printed something).
 */
export function spawnExample(
  program: string,
  args: readonly string[],
  permissions: readonly string[] = ["--allow-read"],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...permissions,
      new URL(`../examples/${program}`, import.meta.url).pathname,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/**
 * Runs one kernel on copies of `arrays` (one per buffer argument, in order) and returns every buffer after
 * the launch. Asserts that the buffers the kernel does not write, and a sentinel buffer allocated after
 * them, are unchanged.
 */
export async function runKernel(
  backend: Backend,
  kernel: KernelName,
  arrays: readonly (Float32Array | Int32Array)[],
  params: readonly number[],
): Promise<Float32Array[]> {
  const buffers = arrays.map((a, i) => {
    const b = backend.alloc(a.length, `${kernel}:${KERNELS[kernel].buffers[i].name}`);
    backend.write(b, a);
    return b;
  });
  const sentinel = new Float32Array(16).fill(-12345);
  const guard = backend.alloc(sentinel.length, "guard");
  backend.write(guard, sentinel);
  try {
    backend.run(kernel, buffers, params);
    backend.submit();
    const out = await Promise.all(buffers.map((b) => readF32(backend, b)));
    KERNELS[kernel].buffers.forEach((arg, i) => {
      // An i32 input (row ids) is compared as the integers it holds.
      const got = arrays[i] instanceof Int32Array ? new Int32Array(out[i].buffer) : out[i];
      if (!arg.written) assertEquals(got, arrays[i], `${kernel} modified its input ${arg.name}`);
    });
    assertEquals(await readF32(backend, guard), sentinel, `${kernel} wrote past its buffers`);
    return out;
  } finally {
    for (const b of buffers) backend.free(b);
    backend.free(guard);
  }
}

/** Writes the learned weights of Double CV (α), RODEO (α, β) and RELAX (s) of a BernoulliVae, where it has them. */
export function setLearnedWeights(
  backend: Backend,
  model: TrainableModel,
  values: { alpha: number[]; weights: number[]; scale: number[] },
): void {
  for (const p of model.parameters) {
    const name = p.label.replace(/^estimator\./, "") as keyof typeof values;
    if (p.label.startsWith("estimator.") && Object.hasOwn(values, name)) {
      backend.write(p.value.buffer, Float32Array.from(values[name]));
    }
  }
}
