/**
 * How many GPU threads each kernel launches, from its scalar parameters. Row kernels run one thread per row,
 * elementwise kernels one per element, the Philox kernels one per block of four words; `mean` is one
 * workgroup that reduces in workgroup memory. A kernel missing here has no WebGPU implementation yet.
 * @module
 */
import { type KernelName, KERNELS } from "../kernels.ts";

/** Threads per workgroup of the per-thread kernels; WORKGROUP_SIZE in shaders/common.wgsl. */
export const WORKGROUP_SIZE = 64;

/** A kernel's launch shape. */
export type Launch =
  | { readonly kind: "threads"; readonly threads: (params: Readonly<Record<string, number>>) => number }
  | { readonly kind: "single-workgroup" };

const threads = (count: (params: Readonly<Record<string, number>>) => number): Launch => ({
  kind: "threads",
  threads: count,
});
const perRow = threads((p) => p.rows);
const perElement = threads((p) => p.count);
const perBlockOfFourWords = threads((p) => Math.ceil(p.count / 4));

/** The launch of every kernel that has a WGSL implementation. */
export const LAUNCHES: { readonly [K in KernelName]?: Launch } = {
  philox_fill: perBlockOfFourWords,
  uniform_fill: perBlockOfFourWords,
  categorical_sample: perRow,
  onehot_softmax: perRow,
  reinmax_backward: perRow,
  st_backward: perRow,
  gst_backward: perRow,
  gapped_logits: perRow,
  gumbel_backward: perRow,
  gumbel_perturbations: threads((p) => p.rows * p.k),
  reinforce_backward: perRow,
  fill: perElement,
  tile: threads((p) => p.count * p.times),
  sum_tiles: perElement,
  mean: { kind: "single-workgroup" },
  poly_loss: threads((p) => p.batch),
  poly_expected_loss: { kind: "single-workgroup" },
  adam_update: perElement,
  matmul: threads((p) => p.M * p.N),
  matmul_bt: threads((p) => p.M * p.N),
  transpose: threads((p) => p.rows * p.cols),
  linear_forward: threads((p) => p.batch * p.outDim),
  // dw elements, then db elements, then (when needDx) dx elements: one launch for the whole backward.
  linear_backward: threads((p) => p.inDim * p.outDim + p.outDim + (p.needDx !== 0 ? p.batch * p.inDim : 0)),
  relu_forward: perElement,
  relu_backward: perElement,
  leaky_relu_forward: perElement,
  leaky_relu_backward: perElement,
  sigmoid_forward: perElement,
  sigmoid_backward: perElement,
  bce_logits_forward: threads((p) => p.batch),
  bce_logits_backward: perElement,
  softmax_forward: perRow,
  softmax_backward: perRow,
  log_softmax_forward: perRow,
  log_softmax_backward: perRow,
  kl_categorical_forward: threads((p) => p.batch),
  kl_categorical_backward: perRow,
  kl_bernoulli_forward: threads((p) => p.batch),
  // dA elements, then one thread per latent for dPrior.
  kl_bernoulli_backward: threads((p) => p.batch * p.latents + p.latents),
};

/**
 * The scalar parameters of a launch by name, converted as the shader receives them (u32 wraps like a
 * Uint32Array store, f32 rounds), so thread counts agree with the bounds checks in the shaders.
 */
export function namedParams(kernel: KernelName, params: readonly number[]): Record<string, number> {
  const named: Record<string, number> = {};
  KERNELS[kernel].params.forEach((p, i) =>
    named[p.name] = p.type === "u32" ? params[i] >>> 0 : Math.fround(params[i])
  );
  return named;
}

/**
 * The workgroup grid for a launch: [x, y], folded into two dimensions when one would exceed
 * `maxPerDimension` (the shaders unfold it in thread_index); undefined when the grid cannot hold it.
 */
export function workgroupGrid(
  launch: Launch,
  params: Readonly<Record<string, number>>,
  maxPerDimension: number,
) {
  if (launch.kind === "single-workgroup") return [1, 1] as const;
  const groups = Math.ceil(Math.max(0, launch.threads(params)) / WORKGROUP_SIZE);
  if (groups <= maxPerDimension) return [groups, 1] as const;
  const rows = Math.ceil(groups / maxPerDimension);
  return rows <= maxPerDimension ? [maxPerDimension, rows] as const : undefined;
}
