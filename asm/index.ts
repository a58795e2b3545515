// The WebAssembly module's exports: one file per topic, each kernel named and ordered as src/kernels.ts.
export * from "./rng";
export * from "./estimators";
export * from "./tensor";
export * from "./poly";
export * from "./optim";
export { matmul, matmul_bt } from "./matmul"; // not its internal helpers
export * from "./layers";
export * from "./bernoulli";

/** First byte after the module's static data; the host allocates buffers from here on. */
export function heap_base(): usize {
  return __heap_base;
}
