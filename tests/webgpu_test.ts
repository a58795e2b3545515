// The WebGPU backend on its own: the WGSL kernels match the kernel ABI, every way create() can fail gives a
// clear error, a lost device surfaces as BackendFailureError, and the batching machinery (one command buffer
// per submit, writes ordered with launches, 2-D dispatch grids, staging reuse) keeps results right.
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { BACKENDS } from "./backends.ts";
import {
  BackendFailureError,
  BackendUnavailableError,
  CategoricalVae,
  type KernelName,
  KERNELS,
  type PolyEpoch,
  PolyProgramming,
  ReinmaxInputError,
  selectBackend,
  trainPoly,
} from "../mod.ts";
import {
  assembleKernelSources,
  GEMM_THREADS,
  GEMM_TILE,
  LAUNCHES,
  readF32,
  SHADERS,
  WebGpuBackend,
  WORKGROUP_SIZE,
} from "./internals.ts";

const available = typeof BACKENDS.get("webgpu") === "object";
const unavailable = available ? "" : ` [webgpu unavailable: ${BACKENDS.get("webgpu")}]`;
const required = (Deno.env.get("REINMAX_REQUIRE_BACKENDS") ?? "").split(",").map((s) => s.trim());

/** A test that needs a WebGPU adapter: ignored (with the reason in its name) where there is none. */
function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `${name}${unavailable}`, ignore: !available && !required.includes("webgpu"), fn });
}

// --- the WGSL sources against the kernel ABI (no GPU needed) ---------------------------------------------

Deno.test("every kernel has a WGSL entry point and a launch shape", () => {
  const sources = assembleKernelSources(SHADERS);
  const missing = (Object.keys(KERNELS) as KernelName[]).filter((k) => !sources.has(k) || !LAUNCHES[k]);
  assertEquals(missing, [], "kernels without a WebGPU implementation");
  const unknown = [...sources.keys()].filter((k) => !(k in KERNELS));
  assertEquals(unknown, [], "WGSL kernels that src/kernels.ts does not list");
});

// Deno's WGSL compiler (naga) accepts a float constant that is ±∞ or NaN; Chromium's (Tint) evaluates constant
// expressions in f32 and rejects the whole module ("value inf cannot be represented as 'f32'"), so every kernel
// that includes it fails to compile in the browser. A bitcast of a literal to a float is such a constant when
// the literal's exponent bits are all ones.
Deno.test("no WGSL float constant is ±∞ or NaN (Chromium rejects the module)", () => {
  const literalBitcast = new RegExp(
    String.raw`bitcast<\s*(?:f32|vec[234]f|vec[234]<f32>)\s*>\s*\(\s*` +
      String.raw`(?:0x([0-9a-fA-F]+)u?|vec[234]u\s*\(\s*0x([0-9a-fA-F]+)u?\s*\))\s*\)`,
    "g",
  );
  const found: string[] = [];
  for (const [file, text] of Object.entries(SHADERS)) {
    text.split("\n").forEach((line, i) => {
      for (const [, scalar, vector] of line.replace(/\/\/.*$/, "").matchAll(literalBitcast)) {
        if ((parseInt(scalar ?? vector, 16) & 0x7f800000) === 0x7f800000) {
          found.push(`shaders/${file}.wgsl:${i + 1}: ${line.trim()}`);
        }
      }
    });
  }
  assertEquals(found, []);
});

Deno.test("WGSL bindings and Params are generated, once, and follow the kernel ABI: names, order, types, access", () => {
  const wgslType = { f32: "f32", i32: "i32", u32: "u32" } as const;
  for (const [file, text] of Object.entries(SHADERS)) {
    const code = text.replace(/\/\/.*$/gm, "");
    assert(!/@binding|struct\s+Params/.test(code), `shaders/${file}.wgsl declares bindings by hand`);
  }
  for (const [kernel, { code, file }] of assembleKernelSources(SHADERS)) {
    const signature = KERNELS[kernel as KernelName];
    const where = `${kernel} (shaders/${file}.wgsl)`;
    assert(
      new RegExp(`@compute\\s+@workgroup_size\\([^)]*\\)\\s*fn\\s+${kernel}\\s*\\(`).test(code),
      `${where} entry`,
    );
    const bindings = [...code.matchAll(
      /@group\(0\)\s*@binding\((\d+)\)\s*var<(storage|uniform)(?:,\s*(read|read_write))?>\s*(\w+)\s*:\s*([^;]+);/g,
    )].map(([, binding, space, access, name, type]) => ({
      binding: Number(binding),
      space,
      access,
      name,
      type,
    }));
    const expected = [
      ...signature.buffers.map((b, i) => ({
        binding: i,
        space: "storage",
        access: b.written ? "read_write" : "read",
        name: b.name,
        type: `array<${wgslType[b.type]}>`,
      })),
      ...(signature.params.length > 0
        ? [{
          binding: signature.buffers.length,
          space: "uniform",
          access: undefined,
          name: "params",
          type: "Params",
        }]
        : []),
    ];
    // A WGSL reserved word (e.g. `target`) is spelled with a trailing underscore.
    assertEquals(bindings.map((b) => ({ ...b, name: b.name.replace(/_$/, "") })), expected, where);
    const structs = [...code.matchAll(/struct\s+Params\s*\{([^}]*)\}/g)];
    assert(structs.length <= 1, `${where}: ${structs.length} Params structs`);
    const struct = structs[0];
    const fields = struct
      ? struct[1].split(",").map((f) => f.trim()).filter((f) => f.length > 0).map((f) => f.split(/\s*:\s*/))
      : [];
    assertEquals(fields, signature.params.map((p) => [p.name, p.type]), `${where} Params`);
  }
});

Deno.test("workgroup and tile sizes agree between WGSL and the dispatch table", () => {
  assertStringIncludes(SHADERS.common, `const WORKGROUP_SIZE: u32 = ${WORKGROUP_SIZE}u;`);
  // The tiled products launch one workgroup per tile; the WGSL tile and thread counts must match.
  assertStringIncludes(SHADERS.gemm, `const TM: u32 = ${GEMM_TILE}u;`);
  assertStringIncludes(SHADERS.gemm, `const TN: u32 = ${GEMM_TILE}u;`);
  assertStringIncludes(SHADERS.gemm, `const GEMM_THREADS: u32 = ${GEMM_THREADS}u;`);
});

Deno.test("shader assembly rejects unknown files, snippets, kernels and hand-written bindings", () => {
  const kernel = (name: string) => `//! kernel ${name}\nfn ${name}() {}\n`;
  const table = {
    x: { buffers: [{ name: "target", type: "i32", written: true }], params: [{ name: "n", type: "f32" }] },
    unused: { buffers: [], params: [] },
  } as const;
  const assemble = (files: Record<string, string>) => assembleKernelSources(files, table);
  assertThrows(() => assemble({ a: "//! use nowhere\n" + kernel("x") }), Error, "nowhere");
  assertThrows(() => assemble({ a: kernel("x") + "//! include nothing\n" }), Error, "nothing");
  assertThrows(() => assemble({ a: "//! include a.nothing\n" + kernel("x") }), Error, "nothing");
  assertThrows(() => assemble({ a: kernel("x"), b: kernel("x") }), Error, "defined in");
  assertThrows(() => assemble({ a: kernel("y") }), Error, "not in the kernel table");
  const handWritten = "@group(0) @binding(0) var<storage, read> v: array<f32>;\n";
  assertThrows(() => assemble({ a: kernel("x") + handWritten }), Error, "generated from src/kernels.ts");
  assertThrows(() => assemble({ a: "struct Params { n: f32 }\n" + kernel("x") }), Error, "generated");
  const modules = assemble({
    lib: "fn shared() {}\n//! snippet common_snip\nfn common_snip() {}\n//! kernel unused\n",
    a: "//! use lib\n//! include lib.common_snip\nfn local() {}\n//! snippet s\nfn snip() {}\n" +
      kernel("x") +
      "//! include s\n",
  });
  const code = modules.get("x")!.code;
  for (const part of ["fn shared()", "fn common_snip()", "fn local()", "fn snip()", "fn x()"]) {
    assertStringIncludes(code, part);
  }
  // The generated declarations: a reserved word gets its underscore, the uniform follows the buffers.
  assertStringIncludes(code, "struct Params {\n  n: f32,\n}");
  assertStringIncludes(code, "@group(0) @binding(0) var<storage, read_write> target_: array<i32>;");
  assertStringIncludes(code, "@group(0) @binding(1) var<uniform> params: Params;");
  const bare = modules.get("unused")!.code;
  assert(!/@binding|struct Params/.test(bare), "a kernel without arguments gets no declarations");
});

// --- create() failure paths ---------------------------------------------------------------------------

/** Runs `body` with `navigator.gpu` replaced by `replacement` (own property shadowing the getter). */
async function withGpu<T>(replacement: unknown, body: () => Promise<T>): Promise<T> {
  Object.defineProperty(navigator, "gpu", { value: replacement, configurable: true });
  try {
    return await body();
  } finally {
    delete (navigator as { gpu?: unknown }).gpu;
  }
}

/** Runs `body` with navigator.gpu.requestAdapter resolving to `adapter`. */
async function withAdapter<T>(adapter: unknown, body: () => Promise<T>): Promise<T> {
  const gpu = navigator.gpu;
  Object.defineProperty(gpu, "requestAdapter", { value: () => Promise.resolve(adapter), configurable: true });
  try {
    return await body();
  } finally {
    delete (gpu as { requestAdapter?: unknown }).requestAdapter;
  }
}

/** A stand-in adapter with the real adapter's properties, some overridden. */
async function fakeAdapter(
  overrides: { limits?: Record<string, number>; requestDevice?: () => Promise<never> },
) {
  const real = (await navigator.gpu.requestAdapter())!;
  const limits: Record<string, number> = {};
  for (const key in real.limits) limits[key] = (real.limits as unknown as Record<string, number>)[key];
  return {
    info: real.info,
    features: real.features,
    limits: { ...limits, ...overrides.limits },
    requestDevice: overrides.requestDevice ??
      ((descriptor?: GPUDeviceDescriptor) => real.requestDevice(descriptor)),
  };
}

Deno.test("create() without navigator.gpu says the runtime has no WebGPU", async () => {
  await withGpu(undefined, async () => {
    await assertRejects(
      () => WebGpuBackend.create(),
      Error,
      "navigator.gpu is not available in this runtime",
    );
  });
});

gpuTest("create() without an adapter says none was found", async () => {
  await withAdapter(null, async () => {
    await assertRejects(() => WebGpuBackend.create(), Error, "no WebGPU adapter was found");
  });
});

gpuTest("create() reports a refused device request with the reason", async () => {
  const adapter = await fakeAdapter({
    requestDevice: () => Promise.reject(new Error("quota exhausted (test)")),
  });
  await withAdapter(adapter, async () => {
    await assertRejects(
      () => WebGpuBackend.create(),
      Error,
      "the device request was refused: quota exhausted (test)",
    );
  });
});

gpuTest("create() names the adapter limit that is too small", async () => {
  const needed = Math.max(...Object.values(KERNELS).map((k) => k.buffers.length));
  const adapter = await fakeAdapter({ limits: { maxStorageBuffersPerShaderStage: 4 } });
  await withAdapter(adapter, async () => {
    await assertRejects(
      () => WebGpuBackend.create(),
      Error,
      `adapter limit maxStorageBuffersPerShaderStage is 4, the kernels need ${needed}`,
    );
  });
});

gpuTest("create() names the kernel whose WGSL does not compile", async () => {
  const entry = "fn reinmax_backward(";
  const broken = SHADERS.estimators.replace(
    /fn reinmax_backward\([^{]*\{/,
    (header) => `${header}\n  let broken: u32 = 1.5 * undefined_name;`,
  );
  assert(broken !== SHADERS.estimators && broken.includes(entry));
  const error = await assertRejects(() =>
    WebGpuBackend.create({ shaders: { ...SHADERS, estimators: broken } })
  );
  assertStringIncludes((error as Error).message, "reinmax_backward");
  assertStringIncludes((error as Error).message, "shaders/estimators.wgsl");
});

// --- selection ------------------------------------------------------------------------------------------

gpuTest(
  "selectBackend() picks webgpu on a hardware adapter, and says why it declines a software one",
  async () => {
    const explicit = await selectBackend({ prefer: "webgpu" });
    const software = explicit.details.includes("fallback adapter (software");
    explicit.destroy();
    const backend = await selectBackend();
    try {
      if (software) {
        assertEquals(backend.report.chosen, "wasm");
        assertEquals(backend.report.rejected.map((r) => r.name), ["webgpu"]);
        assertStringIncludes(backend.report.rejected[0].reason, "fallback adapter");
        assertStringIncludes(backend.report.rejected[0].reason, 'request "webgpu" explicitly');
      } else {
        assertEquals(backend.report.chosen, "webgpu");
        assertEquals(backend.report.rejected, []);
        assertStringIncludes(backend.details, "WebGPU on ");
      }
    } finally {
      backend.destroy();
    }
  },
);

gpuTest("WebGpuBackend.create declines a fallback adapter only when asked to", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  const info = (adapter?.info ?? {}) as { isFallbackAdapter?: boolean };
  const fallback = info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (fallback) {
    const error = await assertRejects(() => WebGpuBackend.create({ acceptFallbackAdapter: false }));
    assertStringIncludes((error as Error).message, "fallback adapter");
  }
  const accepted = await WebGpuBackend.create({ acceptFallbackAdapter: true });
  accepted.destroy();
});

gpuTest("selectBackend({ prefer: 'webgpu' }) without an adapter is a BackendUnavailableError", async () => {
  await withAdapter(null, async () => {
    const error = await assertRejects(() => selectBackend({ prefer: "webgpu" }), BackendUnavailableError);
    assertStringIncludes(error.message, "no WebGPU adapter was found");
    // auto falls back to wasm and says why webgpu was rejected.
    const backend = await selectBackend();
    assertEquals(backend.name, "wasm");
    assertEquals(backend.report.rejected, [{ name: "webgpu", reason: "no WebGPU adapter was found" }]);
    backend.destroy();
  });
});

gpuTest("a repeated training step creates no bind groups after the first", async () => {
  const backend = await WebGpuBackend.create();
  const prototype = GPUDevice.prototype as unknown as { createBindGroup: (...args: unknown[]) => unknown };
  const original = prototype.createBindGroup;
  let created = 0;
  prototype.createBindGroup = function (this: unknown, ...args: unknown[]) {
    created++;
    return original.apply(this, args);
  };
  try {
    const task = new PolyProgramming(backend, { latents: 8, batch: 4, readEvery: 10 });
    task.step();
    const first = created;
    for (let s = 0; s < 5; s++) task.step();
    assert(first > 0, "the first step creates its bind groups");
    assertEquals(created, first, "later steps reuse them");
    const losses = await task.readLosses();
    assertEquals(losses.length, 6);
    assert(losses.every((l) => Number.isFinite(l)));
    task.destroy();
  } finally {
    prototype.createBindGroup = original;
    backend.destroy();
  }
});

gpuTest("a VAE training step is one submit and creates no GPU object after the first", async () => {
  const backend = await WebGpuBackend.create();
  const counts = { bindGroups: 0, buffers: 0, submits: 0 };
  const device = GPUDevice.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const queue = GPUQueue.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const wrapped = [
    [device, "createBindGroup", "bindGroups"],
    [device, "createBuffer", "buffers"],
    [queue, "submit", "submits"],
  ] as const;
  const originals = wrapped.map(([target, method]) => target[method]);
  wrapped.forEach(([target, method, counter]) => {
    const original = target[method];
    target[method] = function (this: unknown, ...args: unknown[]) {
      counts[counter]++;
      return original.apply(this, args);
    };
  });
  try {
    const model = new CategoricalVae(backend, { config: "8x4", batch: 4, readEvery: 10 });
    const images = new Float32Array(4 * 784).fill(0.25);
    const bytes = backend.bytesAllocated;
    model.step(images);
    const first = { ...counts };
    for (let s = 0; s < 5; s++) model.step(images);
    assertEquals(counts.bindGroups, first.bindGroups, "later steps reuse the bind groups");
    assertEquals(counts.buffers, first.buffers, "and allocate no buffer");
    assertEquals(counts.submits - first.submits, 5, "one submit per step");
    assertEquals(backend.bytesAllocated, bytes, "the memory plan was allocated once, before the first step");
    const { reconstruction } = await model.readLosses();
    assertEquals(reconstruction.length, 6);
    model.destroy();
  } finally {
    wrapped.forEach(([target, method], i) => target[method] = originals[i]);
    backend.destroy();
  }
});

// --- device loss ----------------------------------------------------------------------------------------
gpuTest(
  "training stops with a BackendFailureError naming the step when the device is lost mid-run",
  async () => {
    const backend = await WebGpuBackend.create();
    const epochs: PolyEpoch[] = [];
    const seen: number[] = [];
    let lossAt = -1;
    const error = await assertRejects(async () => {
      for await (
        const e of trainPoly(backend, {
          latents: 32,
          batch: 8,
          steps: 1000,
          stepsPerEpoch: 100,
          readEvery: 50,
          onLosses: (first, losses) => {
            seen.push(...losses);
            // After the third read-back the device goes away, as a driver reset or a GPU hang would do it.
            if (first + losses.length === 150) {
              lossAt = 150;
              void backend.simulateDeviceLoss();
            }
          },
        })
      ) epochs.push(e);
    }, BackendFailureError);
    const failure = error as BackendFailureError;
    assertEquals(failure.backend, "webgpu");
    assert(failure.step > lossAt && failure.step <= 200, `failed at step ${failure.step}`);
    assertStringIncludes(failure.message, `at step ${failure.step}`);
    assertStringIncludes(failure.message, "device was lost");
    // What was read back before the loss is intact: the first epoch and every loss of the first 150 steps.
    assertEquals(epochs.map((e) => e.epoch), [1]);
    assert(
      Number.isFinite(epochs[0].loss) && Number.isFinite(epochs[0].exactLoss),
      JSON.stringify(epochs[0]),
    );
    assertEquals(seen.length, 150);
    assert(seen.every((l) => Number.isFinite(l) && l > 0), "losses before the loss are finite");
    backend.destroy();
  },
);

gpuTest(
  "after the device is lost, run/write/submit throw and read rejects with BackendFailureError",
  async () => {
    const backend = await WebGpuBackend.create();
    const buffer = backend.alloc(4, "survivor");
    backend.run("fill", [buffer], [4, 2]);
    await backend.simulateDeviceLoss();
    const error = await assertRejects(() => backend.read(buffer), BackendFailureError, "device was lost");
    assertEquals((error as BackendFailureError).backend, "webgpu");
    assertThrows(() => backend.run("fill", [buffer], [4, 1]), BackendFailureError, "device was lost");
    assertThrows(() => backend.write(buffer, new Float32Array(4)), BackendFailureError, "device was lost");
    assertThrows(() => backend.submit(), BackendFailureError, "device was lost");
    assertThrows(() => backend.alloc(4, "late"), BackendFailureError, "device was lost");
    backend.free(buffer); // cleanup after a loss stays quiet
    backend.destroy();
    assertThrows(() => backend.submit(), BackendFailureError, "destroyed");
  },
);

// --- batching, ordering, validation ---------------------------------------------------------------------

gpuTest("many launches in one submit, writes ordered between them, reads in parallel", async () => {
  const backend = await WebGpuBackend.create();
  try {
    const n = 1000;
    const a = backend.alloc(n, "a"), sum = backend.alloc(n, "sum"), tiles = backend.alloc(3 * n, "tiles");
    // Fill a with 1 and tile it three times; overwrite a with 5 (the recorded tile must still see 1s); sum
    // the tiles; tile the new a once over the first third. One submit for all of it.
    backend.run("fill", [a], [n, 1]);
    backend.run("tile", [tiles, a], [n, 3]);
    backend.write(a, new Float32Array(n).fill(5));
    backend.run("sum_tiles", [sum, tiles], [n, 3, 0.5]);
    backend.run("tile", [tiles, a], [n, 1]);
    backend.submit();
    const [tiled, summed, after] = await Promise.all([
      readF32(backend, tiles),
      readF32(backend, sum),
      readF32(backend, a),
    ]);
    assertEquals(summed, new Float32Array(n).fill(1.5));
    assertEquals(tiled.subarray(0, n), new Float32Array(n).fill(5));
    assertEquals(tiled.subarray(n), new Float32Array(2 * n).fill(1));
    assertEquals(after, new Float32Array(n).fill(5));
    for (const x of [a, sum, tiles]) backend.free(x);
    assertEquals(backend.bytesAllocated, 0);
  } finally {
    backend.destroy();
  }
});

gpuTest("a launch larger than one grid dimension folds into a 2-D grid", async () => {
  const backend = await WebGpuBackend.create();
  try {
    const count = 65535 * WORKGROUP_SIZE + 1000;
    const out = backend.alloc(count, "big");
    backend.run("fill", [out], [count, 3]);
    const values = await readF32(backend, out);
    assertEquals(values[0], 3);
    assertEquals(values[count - 1], 3);
    assert(values.every((v) => v === 3), "every element filled");
  } finally {
    backend.destroy();
  }
});

gpuTest("run validates kernels, argument counts, aliasing and buffer ownership", async () => {
  const backend = await WebGpuBackend.create();
  try {
    const x = backend.alloc(8, "x");
    assertThrows(() => backend.run("nope" as KernelName, [x], []), ReinmaxInputError, "unknown kernel");
    assertThrows(() => backend.run("fill", [x], [8]), ReinmaxInputError, "takes 1 buffers and 2 parameters");
    assertThrows(
      () => backend.run("tile", [x, x], [4, 2]),
      ReinmaxInputError,
      "cannot bind a written buffer twice",
    );
    assertThrows(() => backend.write(x, new Float32Array(9)), ReinmaxInputError, "overflows");
    backend.free(x);
    assertThrows(() => backend.run("fill", [x], [8, 1]), ReinmaxInputError, "not a live buffer");
    await assertRejects(() => backend.read(x), ReinmaxInputError, "not a live buffer");
    assertThrows(() => backend.alloc(-1, "negative"), ReinmaxInputError, "length");
    const empty = backend.alloc(0, "empty");
    assertEquals((await backend.read(empty)).byteLength, 0);
    backend.run("fill", [empty], [0, 1]); // nothing to launch
  } finally {
    backend.destroy();
  }
});

gpuTest(
  "buffers start zeroed and freeing a buffer used by pending launches keeps earlier results",
  async () => {
    const backend = await WebGpuBackend.create();
    try {
      const scratch = backend.alloc(64, "scratch");
      const out = backend.alloc(64, "out");
      assertEquals(await readF32(backend, scratch), new Float32Array(64));
      backend.run("fill", [scratch], [64, 4]);
      backend.run("sum_tiles", [out, scratch], [64, 1, 2]);
      backend.free(scratch); // submits the pending launches before destroying the buffer
      assertEquals(await readF32(backend, out), new Float32Array(64).fill(8));
    } finally {
      backend.destroy();
    }
  },
);
