// The WebAssembly module's exports: one file per topic, each kernel named and ordered as src/kernels.ts.
export * from "./rng";

/** First byte after the module's static data; the host allocates buffers from here on. */
export function heap_base(): usize {
  return __heap_base;
}
