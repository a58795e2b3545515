/**
 * Backend selection. Built-in backends are registered with a priority; `selectBackend` tries them in order
 * and reports the one it chose and every one it rejected with the reason. A request that names backends
 * never falls back outside the names given, and fails with every reason when none of them can be had.
 * @module
 */
import type { Backend, BackendName, BackendReport } from "./backend.ts";
import { BackendUnavailableError, ReinmaxInputError } from "./errors.ts";
import { describe } from "./validate.ts";
import { WasmBackend } from "./wasm/backend.ts";
import { WebGpuBackend } from "./webgpu/backend.ts";

/** What a backend factory is asked for. */
export interface BackendRequest {
  /**
   * True when the caller named this backend; false under `auto`, where a factory may decline a device that
   * would be slower than the next backend (e.g. a software GPU), saying so in its error.
   */
  readonly explicit: boolean;
}

/** How to create a backend; `create` throws (any error) with the reason when it cannot. */
export interface BackendFactory {
  /** The backend's name. */
  readonly name: BackendName;
  /** Higher is tried first by `auto`. */
  readonly priority: number;
  /** Creates the backend, or throws with the reason it cannot. */
  create(request: BackendRequest): Promise<Backend>;
}

const registry = new Map<BackendName, BackendFactory>();

/** Registers (or replaces) a backend factory; the returned function restores what was there before. */
export function registerBackend(factory: BackendFactory): () => void {
  const previous = registry.get(factory.name);
  registry.set(factory.name, factory);
  return () => {
    if (previous) registry.set(previous.name, previous);
    else registry.delete(factory.name);
  };
}

/** The registered backend names, highest priority first. */
export function backendNames(): BackendName[] {
  return [...registry.values()].sort((a, b) => b.priority - a.priority).map((f) => f.name);
}

/**
 * Options of {@link selectBackend}.
 *
 * @example
 * ```ts
 * import { selectBackend, type SelectBackendOptions } from "@reinmax/reinmax";
 * const gpuThenCpu: SelectBackendOptions = { prefer: ["webgpu", "wasm"] };
 * const backend = await selectBackend(gpuThenCpu);
 * console.log(backend.report.reason); // "first in the preference list", or why WebGPU was passed over
 * ```
 */
export interface SelectBackendOptions {
  /**
   * `"auto"` (default): every registered backend, highest priority first. A name or a list of names: only
   * those, in that order; if none can be created, a {@link BackendUnavailableError} lists why.
   */
  readonly prefer?: "auto" | BackendName | readonly BackendName[];
}

/**
 * Creates the first usable backend of the preference list. `backend.report` says which one was chosen, why,
 * and why every earlier candidate was rejected.
 *
 * @example
 * ```ts
 * import { BackendUnavailableError, formatReport, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend(); // WebGPU on a hardware adapter, else WebAssembly SIMD
 * console.log(formatReport(backend.report));
 * try {
 *   await selectBackend({ prefer: "webgpu" }); // exactly WebGPU, or an error that says why not
 * } catch (e) {
 *   if (!(e instanceof BackendUnavailableError)) throw e;
 *   console.log(e.message);
 * }
 * ```
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<Backend> {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError(
      "options",
      `expected an object such as { prefer: "wasm" }, got ${describe(options)}`,
    );
  }
  const prefer = options.prefer ?? "auto";
  const auto = prefer === "auto";
  const names: readonly unknown[] = auto ? backendNames() : typeof prefer === "string" ? [prefer] : prefer;
  if (!Array.isArray(names) || names.length === 0) {
    throw new ReinmaxInputError(
      "prefer",
      `expected "auto", a backend name or a non-empty list, got ${describe(prefer)}`,
    );
  }
  for (const name of names) {
    if (!registry.has(name as BackendName)) {
      throw new ReinmaxInputError(
        "prefer",
        `unknown backend ${describe(name)}; known backends: ${backendNames().join(", ")}`,
      );
    }
  }
  const rejected: { name: BackendName; reason: string }[] = [];
  for (const name of names as BackendName[]) {
    let backend: Backend;
    try {
      backend = await registry.get(name)!.create({ explicit: !auto });
    } catch (e) {
      rejected.push({ name, reason: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const reason = auto
      ? (rejected.length === 0 ? "highest-priority backend available" : "first available backend by priority")
      : names.length === 1
      ? "requested explicitly"
      : rejected.length === 0
      ? "first in the preference list"
      : "first available backend in the preference list";
    const report: BackendReport = { chosen: name, reason, details: backend.details, rejected };
    backend.report = report;
    return backend;
  }
  const why = rejected.map((r) => `${r.name}: ${r.reason}`).join("; ");
  throw new BackendUnavailableError(names.join(","), `no requested backend could be created (${why})`);
}

/**
 * One line for people: the chosen backend, why, and what was rejected.
 *
 * @example
 * ```ts
 * import { formatReport, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend();
 * console.log(formatReport(backend.report));
 * // backend: wasm (WebAssembly SIMD + relaxed SIMD; first available backend by priority)
 * //   webgpu rejected: the adapter (llvmpipe …) is a software fallback adapter, slower than WebAssembly; …
 * ```
 */
export function formatReport(report: BackendReport): string {
  const isText = (v: unknown) => typeof v === "string";
  if (
    typeof report !== "object" || report === null || !isText(report.chosen) || !isText(report.reason) ||
    !isText(report.details) || !Array.isArray(report.rejected) ||
    !report.rejected.every((r) => typeof r === "object" && r !== null && isText(r.name) && isText(r.reason))
  ) {
    throw new ReinmaxInputError(
      "report",
      `expected a backend's report (backend.report), got ${describe(report)}`,
    );
  }
  const rejected = report.rejected.map((r) => `${r.name} rejected: ${r.reason}`);
  return [`backend: ${report.chosen} (${report.details}; ${report.reason})`, ...rejected].join("\n  ");
}

registerBackend({
  name: "webgpu",
  priority: 20,
  create: ({ explicit }) => WebGpuBackend.create({ acceptFallbackAdapter: explicit }),
});
registerBackend({ name: "wasm", priority: 10, create: () => WasmBackend.create() });
