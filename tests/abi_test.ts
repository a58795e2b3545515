// The kernel ABI (src/kernels.ts) against the WebAssembly build: every kernel of the table is a function
// export of both committed modules, with one parameter per buffer and scalar of its signature, each of the
// ABI's WebAssembly type, and the modules export no kernel the table lacks. (tests/webgpu_test.ts checks the
// WGSL side.) Also the one launch check both backends call, and KernelName as the table's keys.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { KERNEL_TABLE, type KernelName, KERNELS, ReinmaxInputError } from "../mod.ts";
import { checkLaunch, decodeBase64, readF32, WASM_RELAXED_SIMD, WASM_SIMD } from "./internals.ts";

/** Exports of the modules that are not kernels: the host's allocator needs the first free byte. */
const INTERNAL_EXPORTS = new Map([["memory", "memory"], ["heap_base", "function"]]);

type ValueType = "i32" | "i64" | "f32" | "f64" | "v128" | "other";

interface FunctionExport {
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
}

/**
 * The signature of every exported function, read from the binary's type, import, function and export
 * sections (the JavaScript API does not expose parameter types).
 */
function exportedFunctions(bytes: Uint8Array): Map<string, FunctionExport> {
  let at = 8; // magic and version
  const byte = () => bytes[at++];
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = byte();
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return value;
    }
  };
  const name = () => {
    const length = leb();
    const text = new TextDecoder().decode(bytes.subarray(at, at + length));
    at += length;
    return text;
  };
  const valueType = (code: number): ValueType =>
    ({ 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128" } as Record<number, ValueType>)[
      code
    ] ??
      "other";
  const vector = <T>(item: () => T): T[] => Array.from({ length: leb() }, item);
  const limits = () => {
    const flags = byte();
    leb();
    if (flags & 1) leb();
  };

  const types: FunctionExport[] = [];
  const functionTypes: number[] = []; // imported functions first, as in the function index space
  const exports: [string, number, number][] = [];
  while (at < bytes.length) {
    const id = byte();
    const size = leb();
    const end = at + size;
    if (id === 1) {
      types.push(...vector(() => {
        assertEquals(byte(), 0x60, "a function type");
        return { params: vector(() => valueType(byte())), results: vector(() => valueType(byte())) };
      }));
    } else if (id === 2) {
      vector(() => {
        name();
        name();
        const kind = byte();
        if (kind === 0) functionTypes.push(leb());
        else if (kind === 1) (byte(), limits());
        else if (kind === 2) limits();
        else if (kind === 3) (byte(), byte());
        else throw new Error(`unknown import kind ${kind}`);
      });
    } else if (id === 3) {
      functionTypes.push(...vector(leb));
    } else if (id === 7) {
      exports.push(...vector((): [string, number, number] => [name(), byte(), leb()]));
    }
    at = end;
  }
  return new Map(
    exports.filter(([, kind]) => kind === 0).map(([exportName, , index]) => [
      exportName,
      types[functionTypes[index]],
    ]),
  );
}

const MODULES = { "simd": WASM_SIMD, "relaxed-simd": WASM_RELAXED_SIMD };

for (const [variant, base64] of Object.entries(MODULES)) {
  const bytes = decodeBase64(base64);

  Deno.test(`every kernel of the table is a ${variant} export with the ABI's parameters`, () => {
    const functions = exportedFunctions(bytes);
    for (const [kernel, signature] of Object.entries(KERNELS)) {
      const found = functions.get(kernel);
      if (!found) throw new Error(`${kernel} is not exported by the ${variant} module`);
      // A buffer is a byte address (i32); a u32 scalar arrives as its i32 bit pattern; f32 stays f32.
      const expected = [
        ...signature.buffers.map(() => "i32"),
        ...signature.params.map((p) => p.type === "f32" ? "f32" : "i32"),
      ];
      assertEquals(found.params, expected, `${kernel}: parameters (buffers, then scalars)`);
      assertEquals(found.results, [], `${kernel} returns nothing`);
    }
  });

  Deno.test(`the ${variant} module exports no kernel the table lacks`, () => {
    const module = new WebAssembly.Module(bytes);
    const unknown = WebAssembly.Module.exports(module)
      .filter((e) => !(e.name in KERNELS) && INTERNAL_EXPORTS.get(e.name) !== e.kind)
      .map((e) => `${e.name} (${e.kind})`);
    assertEquals(unknown, [], "exports that are neither kernels of src/kernels.ts nor documented internals");
    // The binary reader agrees with the engine about what is exported, so the arity test reads the real thing.
    const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) =>
      e.name
    );
    assertEquals([...exportedFunctions(bytes).keys()].sort(), functions.sort());
  });
}

Deno.test("the binary reader's arity agrees with the engine's for every kernel", async () => {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const { exports } = await WebAssembly.instantiate(
    new WebAssembly.Module(decodeBase64(WASM_SIMD)),
    { env: { memory } },
  );
  const functions = exportedFunctions(decodeBase64(WASM_SIMD));
  for (const kernel of Object.keys(KERNELS)) {
    // A WebAssembly function's JavaScript `length` is its parameter count.
    assertEquals((exports[kernel] as () => void).length, functions.get(kernel)?.params.length, kernel);
  }
});

Deno.test("KernelName is the table's keys and KERNELS parses every entry", () => {
  // @ts-expect-error a name the table lacks is not a KernelName
  const notAKernel: KernelName = "no_such_kernel";
  assert(!(notAKernel in KERNELS));
  assertEquals(Object.keys(KERNELS), Object.keys(KERNEL_TABLE));
  // The compact notation: outputs written, inputs read, types after a colon, f32 buffers and u32 scalars by
  // default.
  assertEquals(KERNELS.binarize, {
    buffers: [
      { name: "out", type: "f32", written: true },
      { name: "x", type: "f32", written: false },
      { name: "rowIds", type: "i32", written: false },
    ],
    params: ["rows", "dim", "key0", "key1", "stream", "tag"].map((name) => ({ name, type: "u32" })),
  });
  assertEquals(KERNELS.uniform_fill.params.map((p) => p.type), [
    "u32",
    "f32",
    "f32",
    "u32",
    "u32",
    "u32",
    "u32",
  ]);
});

Deno.test("every kernel binds at most 8 storage buffers, the WebGPU default every adapter grants", () => {
  // An adapter may offer more (llvmpipe does), but browsers' SwiftShader offers 10 and the spec's default is 8:
  // one kernel past it would keep the WebGPU backend from starting anywhere that grants no more.
  for (const [name, signature] of Object.entries(KERNELS)) {
    assert(signature.buffers.length <= 8, `${name} binds ${signature.buffers.length} storage buffers`);
  }
});

Deno.test("checkLaunch names the kernel and what it takes", () => {
  assertEquals(checkLaunch("fill", [{}], [4, 1]), KERNELS.fill);
  assertThrows(() => checkLaunch("nope" as KernelName, [], []), ReinmaxInputError, 'unknown kernel "nope"');
  // Inherited properties of a plain object are not kernels.
  assertThrows(() => checkLaunch("toString" as KernelName, [], []), ReinmaxInputError, "unknown kernel");
  assertThrows(
    () => checkLaunch("fill", [{}, {}], [4, 1]),
    ReinmaxInputError,
    "fill takes 1 buffers and 2 parameters, got 2 and 2",
  );
  assertThrows(
    () => checkLaunch("fill", [{}], [4]),
    ReinmaxInputError,
    "fill takes 1 buffers and 2 parameters, got 1 and 1",
  );
});

forEachBackend("run() rejects a launch that does not fit the ABI before touching memory", async (backend) => {
  const x = backend.alloc(4, "x");
  try {
    backend.write(x, new Float32Array([1, 2, 3, 4]));
    const error = assertThrows(() => backend.run("fill", [x], [4]), ReinmaxInputError, "takes 1 buffers");
    assertEquals((error as ReinmaxInputError).argument, "kernel");
    assertThrows(() => backend.run("nope" as KernelName, [x], []), ReinmaxInputError, "unknown kernel");
    backend.submit();
    assertEquals([...await readF32(backend, x)], [1, 2, 3, 4], "a rejected launch wrote nothing");
  } finally {
    backend.free(x);
  }
});
