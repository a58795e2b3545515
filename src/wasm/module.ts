// Loads the committed WebAssembly kernels: the relaxed-SIMD build where the engine validates it, else the
// plain SIMD build. Both are inlined as base64 so importing the SDK needs no file or network permission.
import { WASM_RELAXED_SIMD } from "../gen/wasm_relaxed_simd.ts";
import { WASM_SIMD } from "../gen/wasm_simd.ts";

export interface LoadedKernels {
  readonly module: WebAssembly.Module;
  readonly variant: "relaxed-simd" | "simd";
}

export type WasmVariant = "relaxed-simd" | "simd";

let cached: Promise<LoadedKernels> | undefined;
const cachedVariant = new Map<WasmVariant, Promise<LoadedKernels>>();

export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Compiles the best variant this engine supports (or the one named), once per process. */
export function loadKernels(variant?: WasmVariant): Promise<LoadedKernels> {
  if (variant) {
    let p = cachedVariant.get(variant);
    if (!p) {
      p = compileVariant(variant);
      cachedVariant.set(variant, p);
    }
    return p;
  }
  cached ??= bestVariant();
  return cached;
}

async function compileVariant(variant: WasmVariant): Promise<LoadedKernels> {
  const bytes = decodeBase64(variant === "relaxed-simd" ? WASM_RELAXED_SIMD : WASM_SIMD);
  if (!WebAssembly.validate(bytes)) throw new Error(`this engine cannot run the ${variant} kernels`);
  return { module: await WebAssembly.compile(bytes), variant };
}

function bestVariant(): Promise<LoadedKernels> {
  if (typeof WebAssembly === "undefined") {
    return Promise.reject(new Error("WebAssembly is not available in this runtime"));
  }
  if (WebAssembly.validate(decodeBase64(WASM_RELAXED_SIMD))) return loadKernels("relaxed-simd");
  if (!WebAssembly.validate(decodeBase64(WASM_SIMD))) {
    return Promise.reject(new Error("this engine does not support WebAssembly SIMD (fixed-width 128-bit)"));
  }
  return loadKernels("simd");
}
