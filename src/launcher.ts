/**
 * Named, typed kernel launches. Every kernel of the ABI table becomes a method that takes its buffers and its
 * scalars as two objects keyed by the argument names of {@link KERNEL_TABLE}:
 *
 *   k.matmul_bt({ C: out, A: x, B: w }, { M: rows, K: inSize, N: outSize, aRowStride: inSize, … })
 *
 * The argument types are read off the table by the type checker (a missing, misspelt or extra argument does
 * not compile), and the launch is put into the table's positional order here, once: nothing above the
 * backends calls `Backend.run` with positional arrays.
 * @module
 */
import type { Backend, DeviceBuffer } from "./backend.ts";
import { type KERNEL_TABLE, type KernelName, KERNELS } from "./kernels.ts";

/**
 * The space-separated items of one column of the kernel table, as a union of their names (the part before
 * `:`): `ItemNames<"out:f32 n:u32">` is `"out" | "n"`.
 */
export type ItemNames<S extends string> = S extends `${infer Head} ${infer Rest}`
  ? ItemNames<Head> | ItemNames<Rest>
  : S extends "" ? never
  : S extends `${infer Name}:${string}` ? Name
  : S;

/** A kernel's buffer arguments by name: its outputs and inputs. */
export type LaunchBuffers<K extends KernelName> = {
  readonly [Name in ItemNames<`${(typeof KERNEL_TABLE)[K][0]} ${(typeof KERNEL_TABLE)[K][1]}`>]: DeviceBuffer;
};

/** A kernel's scalar arguments by name (u32 scalars take non-negative integers, f32 scalars any number). */
export type LaunchParams<K extends KernelName> = {
  readonly [Name in ItemNames<(typeof KERNEL_TABLE)[K][2]>]: number;
};

/** One method per kernel; see the module comment. */
export type Launcher = {
  readonly [K in KernelName]: (buffers: LaunchBuffers<K>, params: LaunchParams<K>) => void;
};

const launchers = new WeakMap<Backend, Launcher>();

/**
 * The launcher of `backend` (one per backend, made on first use). A method reads its arguments in the order
 * of the kernel's signature and hands them to `backend.run`, which checks the launch again at run time.
 */
export function launcher(backend: Backend): Launcher {
  let made = launchers.get(backend);
  if (made) return made;
  const methods: Record<
    string,
    (buffers: Record<string, DeviceBuffer>, params: Record<string, number>) => void
  > = {};
  for (const kernel of Object.keys(KERNELS) as KernelName[]) {
    const bufferNames = KERNELS[kernel].buffers.map((b) => b.name);
    const paramNames = KERNELS[kernel].params.map((p) => p.name);
    methods[kernel] = (buffers, params) => {
      const b = new Array<DeviceBuffer>(bufferNames.length);
      for (let i = 0; i < b.length; i++) b[i] = buffers[bufferNames[i]];
      const p = new Array<number>(paramNames.length);
      for (let i = 0; i < p.length; i++) p[i] = params[paramNames[i]];
      backend.run(kernel, b, p);
    };
  }
  made = Object.freeze(methods) as unknown as Launcher;
  launchers.set(backend, made);
  return made;
}
