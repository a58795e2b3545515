import { type Backend, type BackendName, selectBackend } from "../mod.ts";
import { backendNames } from "./internals.ts";
// Runs one test body on every registered backend. A backend that cannot be created here is registered as
// an ignored test whose name says why, so the summary counts it; REINMAX_REQUIRE_BACKENDS=wasm,webgpu turns
// a missing backend into a failing test instead.

const required = (Deno.env.get("REINMAX_REQUIRE_BACKENDS") ?? "").split(",").map((s) => s.trim())
  .filter((s) => s.length > 0);
for (const name of required) {
  if (!backendNames().includes(name as BackendName)) {
    throw new Error(`REINMAX_REQUIRE_BACKENDS names "${name}", which is not a registered backend`);
  }
}

/** Each registered backend, created once per test file, or the reason it is unavailable. */
export const BACKENDS: ReadonlyMap<BackendName, Backend | string> = new Map(
  await Promise.all(
    backendNames().map(async (name): Promise<[BackendName, Backend | string]> => {
      try {
        return [name, await selectBackend({ prefer: name })];
      } catch (e) {
        return [name, (e as Error).message];
      }
    }),
  ),
);

// A file's backends go when its tests are done, rather than all files' devices at once in the runtime's teardown
// at exit, where Deno's WebGPU on llvmpipe occasionally corrupts the heap (the retry in .ci/run).
globalThis.addEventListener("unload", () => {
  for (const backend of BACKENDS.values()) if (typeof backend !== "string") backend.destroy();
});

/** Registers `Deno.test("<name> [<backend>]")` for every registered backend. */
export function forEachBackend(
  name: string,
  body: (backend: Backend) => Promise<void> | void,
): void {
  for (const [backendName, backend] of BACKENDS) {
    if (typeof backend === "string") {
      const mustRun = required.includes(backendName);
      Deno.test({
        name: `${name} [${backendName}: unavailable: ${backend}]`,
        ignore: !mustRun,
        fn: () => {
          throw new Error(
            `REINMAX_REQUIRE_BACKENDS requires ${backendName}, which is unavailable: ${backend}`,
          );
        },
      });
      continue;
    }
    Deno.test({ name: `${name} [${backendName}]`, fn: () => body(backend) });
  }
}

/**
 * Whether `backend` is WebGPU on a software (fallback) adapter such as llvmpipe: the CPU emulating a GPU, about
 * ten times slower than WASM. Training tests take fewer steps there; the kernels are the same.
 */
export function onSoftwareGpu(backend: Backend): boolean {
  return backend.name === "webgpu" && backend.details.includes("fallback adapter");
}
