// The WebAssembly module's exports: one file per topic, each kernel named and ordered as src/kernels.ts (the
// estimators' row functions, which the fused poly step shares, stay internal).
export * from "./rng";
export {
  categorical_sample, onehot_softmax, reinmax_backward, st_backward, gst_backward, gapped_logits, gumbel_backward,
  gumbel_perturbations, reinforce_backward,
} from "./estimators";
export * from "./tensor";
export * from "./poly";
export * from "./optim";
export { matmul, matmul_bt } from "./matmul"; // not its internal helpers
export * from "./layers";
export * from "./bernoulli";
export { vmath_apply } from "./vmath";

/** First byte after the module's static data; the host allocates buffers from here on. */
export function heap_base(): usize {
  return __heap_base;
}
