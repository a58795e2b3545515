// The internals that white-box tests reach past the public API for, in one place: the backends' own classes
// and kernel tables, the data codecs below the loaders, and the helpers the models enqueue kernels with.
// Every other import of a test is mod.ts, std, or a helper of tests/ (tests/layering_test.ts checks it).
export { readF32, readI32, readU32 } from "../src/backend.ts";
export {
  CONTENTS_CHECKSUM_KEY,
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  LEGACY_CHECKSUM_KEYS,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from "../src/checkpoint/safetensors.ts";
export { crc32 } from "../src/data/crc32.ts";
export { gunzip, isGzip } from "../src/data/gzip.ts";
export { DeflateError, inflateInto, MAX_INFLATE_INPUT_BYTES } from "../src/data/inflate.ts";
export { imageSetFromIdx } from "../src/data/mnist.ts";
export { shuffledIndices } from "../src/data/shuffle.ts";
export { enqueueBackward, enqueueSample } from "../src/estimators.ts";
export { SHADERS } from "../src/gen/shaders.ts";
export { WASM_RELAXED_SIMD } from "../src/gen/wasm_relaxed_simd.ts";
export { WASM_SIMD } from "../src/gen/wasm_simd.ts";
export { checkLaunch } from "../src/kernels.ts";
export { launcher } from "../src/launcher.ts";
export { enqueueUpdate } from "../src/optim.ts";
export { seedKey, TAG } from "../src/random.ts";
export { philoxBlock as hostPhiloxBlock } from "../src/random.ts";
export { backendNames, registerBackend } from "../src/registry.ts";
export { RunGuard } from "../src/train/run_guard.ts";
export { WasmBackend } from "../src/wasm/backend.ts";
export { decodeBase64 } from "../src/wasm/module.ts";
export { WebGpuBackend } from "../src/webgpu/backend.ts";
export { GEMM_THREADS, GEMM_TILE, LAUNCHES, WORKGROUP_SIZE } from "../src/webgpu/dispatch.ts";
export { assembleKernelSources } from "../src/webgpu/shaders.ts";
