// Bad input: every public entry point rejects it with a typed error whose message names the argument.
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { runExample } from "./util.ts";
import {
  adam,
  BackendUnavailableError,
  estimator,
  type EstimatorName,
  grmck,
  PolyProgramming,
  reinforce,
  reinmax,
  ReinmaxInputError,
  selectBackend,
  st,
} from "../mod.ts";
import { registerBackend } from "./internals.ts";

async function rejectsNaming(argument: string, fn: () => Promise<unknown>): Promise<void> {
  const error = await assertRejects(fn, ReinmaxInputError);
  assertEquals((error as ReinmaxInputError).argument, argument, (error as Error).message);
}

forEachBackend("estimators reject malformed logits, n, tau, seed and forced samples", async (backend) => {
  const logits = new Float32Array([0.1, 0.2, 0.3, 0.4]);
  await rejectsNaming("n", () => reinmax(backend, logits, { n: 1 }));
  await rejectsNaming("n", () => reinmax(backend, logits, { n: 2.5 }));
  await rejectsNaming("logits", () => reinmax(backend, logits, { n: 3 }));
  await rejectsNaming("logits", () => reinmax(backend, new Float32Array(0), { n: 2 }));
  await rejectsNaming("logits", () => reinmax(backend, [1, 2] as unknown as Float32Array, { n: 2 }));
  for (const bad of [NaN, Infinity, -Infinity]) {
    await rejectsNaming("logits", () => st(backend, new Float32Array([0, bad]), { n: 2 }));
  }
  for (const tau of [0, -1, NaN, Infinity]) {
    await rejectsNaming("tau", () => st(backend, logits, { n: 2, tau }));
  }
  await rejectsNaming("tau", () => reinmax(backend, logits, { n: 2, tau: 0.9 }));
  await rejectsNaming("seed", () => reinmax(backend, logits, { n: 2, seed: -1 }));
  await rejectsNaming("seed", () => reinmax(backend, logits, { n: 2, seed: 0.5 }));
  await rejectsNaming("sample", () => reinmax(backend, logits, { n: 2, sample: new Int32Array([0, 2]) }));
  await rejectsNaming("sample", () => reinmax(backend, logits, { n: 2, sample: new Int32Array([-1, 0]) }));
  await rejectsNaming("sample", () => reinmax(backend, logits, { n: 2, sample: new Int32Array([0]) }));
  await rejectsNaming("k", () => grmck(backend, logits, { n: 2, k: 0 }));
  await rejectsNaming("options", () => reinmax(backend, logits, undefined as unknown as { n: number }));
});

forEachBackend(
  "backward rejects gradients of the wrong length or with non-finite values",
  async (backend) => {
    const r = await reinmax(backend, new Float32Array([0.1, 0.2, 0.3, 0.4]), { n: 2 });
    await rejectsNaming("gHard", () => r.backward(new Float32Array(3)));
    await rejectsNaming("gHard", () => r.backward(new Float32Array([0, 0, NaN, 0])));
    await rejectsNaming("gSoft", () => r.backward(new Float32Array(4), new Float32Array(5)));
    const f = await reinforce(backend, new Float32Array([0.1, 0.2, 0.3, 0.4]), { n: 2 });
    await rejectsNaming("reward", () => f.backward(new Float32Array(4)));
  },
);

Deno.test("estimator() rejects unknown names and bad hyper-parameters", () => {
  const names = (fn: () => unknown) => (assertThrows(fn, ReinmaxInputError) as ReinmaxInputError).argument;
  assertEquals(names(() => estimator("bogus" as EstimatorName)), "estimator");
  assertEquals(names(() => estimator("grmck", { k: 1.5 })), "k");
  assertEquals(names(() => estimator("gst", { gap: -1 })), "gap");
  assertEquals(names(() => adam({ lr: 0 })), "lr");
  assertEquals(names(() => adam({ lr: 1e-3, betas: [1, 0.9] })), "betas[0]");
});

forEachBackend("the poly task rejects bad options", (backend) => {
  const names = (fn: () => unknown) => (assertThrows(fn, ReinmaxInputError) as ReinmaxInputError).argument;
  assertEquals(names(() => new PolyProgramming(backend, { latents: 0 })), "latents");
  assertEquals(names(() => new PolyProgramming(backend, { p: 0 })), "p");
  assertEquals(names(() => new PolyProgramming(backend, { target: "cubic" as "const" })), "target");
  assertEquals(names(() => new PolyProgramming(backend, { batch: -4 })), "batch");
  assertEquals(names(() => new PolyProgramming(backend, { seed: NaN })), "seed");
});

Deno.test("selectBackend: unknown names are input errors; an unmet explicit request throws", async () => {
  await rejectsNaming("prefer", () => selectBackend({ prefer: "cuda" as "wasm" }));
  await rejectsNaming("prefer", () => selectBackend({ prefer: [] }));
  const restore = registerBackend({
    name: "webgpu",
    priority: 20,
    create: () => Promise.reject(new Error("stubbed away for this test")),
  });
  try {
    await unmetRequests();
  } finally {
    restore();
  }
});

async function unmetRequests() {
  const error = await assertRejects(() => selectBackend({ prefer: "webgpu" }), BackendUnavailableError);
  assertEquals(error.message.includes("stubbed away for this test"), true, error.message);
  // A preference list falls back within itself and says what it rejected and why.
  const backend = await selectBackend({ prefer: ["webgpu", "wasm"] });
  assertEquals(backend.report.chosen, "wasm");
  assertEquals(backend.report.rejected, [{ name: "webgpu", reason: "stubbed away for this test" }]);
  // auto tries every backend by priority and reports the same.
  const auto = await selectBackend();
  assertEquals(auto.report.chosen, "wasm");
  assertEquals(auto.report.reason, "first available backend by priority");
  assertEquals(auto.report.rejected.map((r) => r.name), ["webgpu"]);
}

Deno.test("the poly CLI rejects unknown flags, estimators and bad values with exit code 2", async () => {
  const run = (...args: string[]) => runExample("poly.ts", args, []);
  for (
    const [args, flag] of [
      [["--bogus", "1"], "--bogus"],
      [["--estimator", "reinforce-ish"], "--estimator"],
      [["--tau", "0.5"], "--tau"],
      [["--steps", "abc"], "--steps"],
      [["--backend", "cuda"], "--backend"],
    ] as const
  ) {
    const { code, stderr } = await run(...args);
    assertEquals(code, 2, stderr);
    assertEquals(stderr.startsWith(`error: ${flag}:`), true, stderr);
  }
});
