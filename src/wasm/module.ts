// Loads the committed WebAssembly kernels: the relaxed-SIMD build where the engine validates it, else the
// plain SIMD build. Both are inlined as base64 so importing the SDK needs no file or network permission.
import { WASM_RELAXED_SIMD } from "../gen/wasm_relaxed_simd.ts";
import { WASM_SIMD } from "../gen/wasm_simd.ts";

export type WasmVariant = "relaxed-simd" | "simd";

export interface LoadedKernels {
  readonly module: WebAssembly.Module;
  readonly variant: WasmVariant;
}

const BASE64: Record<WasmVariant, string> = { "relaxed-simd": WASM_RELAXED_SIMD, "simd": WASM_SIMD };
const decoded = new Map<WasmVariant, Uint8Array<ArrayBuffer>>();
const compiled = new Map<WasmVariant | "best", Promise<LoadedKernels>>();

export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The bytes of a variant, decoded once: validation and compilation share them. */
function bytesOf(variant: WasmVariant): Uint8Array<ArrayBuffer> {
  let bytes = decoded.get(variant);
  if (!bytes) decoded.set(variant, bytes = decodeBase64(BASE64[variant]));
  return bytes;
}

/** Compiles the best variant this engine supports (or the one named), once per process. */
export function loadKernels(variant?: WasmVariant): Promise<LoadedKernels> {
  const key = variant ?? "best";
  let loaded = compiled.get(key);
  if (!loaded) {
    loaded = variant ? compileVariant(variant) : bestVariant();
    compiled.set(key, loaded);
  }
  return loaded;
}

async function compileVariant(variant: WasmVariant): Promise<LoadedKernels> {
  const bytes = bytesOf(variant);
  if (!WebAssembly.validate(bytes)) throw new Error(`this engine cannot run the ${variant} kernels`);
  return { module: await WebAssembly.compile(bytes), variant };
}

function bestVariant(): Promise<LoadedKernels> {
  if (typeof WebAssembly === "undefined") {
    return Promise.reject(new Error("WebAssembly is not available in this runtime"));
  }
  if (WebAssembly.validate(bytesOf("relaxed-simd"))) return loadKernels("relaxed-simd");
  if (!WebAssembly.validate(bytesOf("simd"))) {
    return Promise.reject(new Error("this engine does not support WebAssembly SIMD (fixed-width 128-bit)"));
  }
  return loadKernels("simd");
}
