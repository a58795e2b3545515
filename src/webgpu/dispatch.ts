/**
 * How many GPU threads each kernel launches, from its scalar parameters. Row kernels run one thread per row,
 * elementwise kernels one per element, the Philox kernels one per block of four words; `mean` is one
 * workgroup that reduces in workgroup memory; the matrix products launch one workgroup per GEMM_TILE×GEMM_TILE
 * tile of their output (TM, TN in shaders/matmul.wgsl and shaders/layers.wgsl). A kernel missing here has no
 * WebGPU implementation yet.
 * @module
 */
import { type KernelName, KERNELS } from "../kernels.ts";

/** Threads per workgroup of the per-thread kernels; WORKGROUP_SIZE in shaders/common.wgsl. */
export const WORKGROUP_SIZE = 64;

/** Rows and columns of the output tile of one workgroup of the matrix products (TM = TN in the WGSL). */
export const GEMM_TILE = 64;

/**
 * A kernel's launch shape: a thread count (in workgroups of WORKGROUP_SIZE), one workgroup, or a count of
 * workgroups (the tiled products, whose WGSL fixes its own workgroup size and unfolds the grid itself).
 */
export type Launch =
  | { readonly kind: "threads"; readonly threads: (params: Readonly<Record<string, number>>) => number }
  | { readonly kind: "single-workgroup" }
  | {
    readonly kind: "workgroups";
    readonly workgroups: (params: Readonly<Record<string, number>>) => number;
  };

const threads = (count: (params: Readonly<Record<string, number>>) => number): Launch => ({
  kind: "threads",
  threads: count,
});
const workgroups = (count: (params: Readonly<Record<string, number>>) => number): Launch => ({
  kind: "workgroups",
  workgroups: count,
});
/** The GEMM_TILE×GEMM_TILE tiles of an m×n product. */
const tiles = (m: number, n: number) => Math.ceil(m / GEMM_TILE) * Math.ceil(n / GEMM_TILE);
/** Threads per workgroup of the tiled products (GEMM_THREADS in the WGSL), for the db range of linear_backward. */
export const GEMM_THREADS = 256;
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
  count_nonfinite: { kind: "single-workgroup" },
  poly_loss: threads((p) => p.batch),
  poly_expected_loss: { kind: "single-workgroup" },
  adam_update: perElement,
  matmul: workgroups((p) => tiles(p.M, p.N)),
  matmul_bt: workgroups((p) => tiles(p.M, p.N)),
  transpose: threads((p) => p.rows * p.cols),
  linear_forward: workgroups((p) => tiles(p.batch, p.outDim)),
  // dw tiles, then db workgroups (one thread per element), then (when needDx) dx tiles: one launch for the
  // whole backward.
  linear_backward: workgroups((p) =>
    tiles(p.inDim, p.outDim) + Math.ceil(p.outDim / GEMM_THREADS) +
    (p.needDx !== 0 ? tiles(p.batch, p.inDim) : 0)
  ),
  relu_forward: perElement,
  relu_backward: perElement,
  leaky_relu_forward: perElement,
  leaky_relu_backward: perElement,
  sigmoid_forward: perElement,
  sigmoid_backward: perElement,
  tanh_forward: perElement,
  tanh_backward: perElement,
  bce_logits_forward: threads((p) => p.batch),
  bce_logits_backward: perElement,
  gaussian_nll_forward: threads((p) => p.batch),
  gaussian_nll_backward: perElement,
  softmax_cross_entropy_forward: threads((p) => p.batch),
  softmax_cross_entropy_backward: threads((p) => p.batch),
  argmax_equals: threads((p) => p.batch),
  softmax_forward: perRow,
  softmax_backward: perRow,
  log_softmax_forward: perRow,
  log_softmax_backward: perRow,
  kl_categorical_forward: threads((p) => p.batch),
  kl_categorical_backward: perRow,
  kl_categorical_prior_forward: threads((p) => p.batch),
  // One thread per row of dLogits, then one per (latent, category) of dPrior, each looping over the batch.
  kl_categorical_prior_backward: threads((p) => p.batch * p.latents + p.latents * p.categories),
  kl_bernoulli_forward: threads((p) => p.batch),
  // dA elements, then one thread per latent for dPrior.
  kl_bernoulli_backward: threads((p) => p.batch * p.latents + p.latents),
  bernoulli_logits: perElement,
  bernoulli_logits_backward: perElement,
  first_of_pairs: perElement,
  first_of_pairs_backward: perElement,
  // One Philox block serves four pixels of a row, so one thread per row and block of four words.
  binarize: threads((p) => p.rows * Math.ceil(p.dim / 4)),
  bernoulli_coupled_sample: perElement,
  bernoulli_double_cv_projections: threads((p) => p.copies * p.rows),
  bernoulli_score_backward: threads((p) => p.rows * p.latents),
  rodeo_control_inputs: threads((p) => p.copies * (p.copies - 1) * p.rows),
  rodeo_stein_terms: threads((p) => p.copies * p.rows),
  rodeo_backward: threads((p) => p.rows * p.latents),
  rodeo_weight_terms: threads((p) => p.rows * p.latents),
  rodeo_control_grad: threads((p) => p.copies * p.rows),
  relax_sample: perElement,
  relax_relaxed: perElement,
  relax_keep: threads((p) => p.rows * p.latents),
  relax_signal: threads((p) => p.rows * p.latents),
  relax_control_inputs: threads((p) => 2 * p.rows * (p.inSize + p.latents)),
  relax_backward: threads((p) => p.rows * p.latents),
  relax_control_grad: perRow,
  relax_mixed_grad: threads((p) => (p.latents + 1) * p.hidden),
  onehot_linear_forward: threads((p) => p.batch * p.outDim),
  // One thread per (latent, column) of dw, then one per column of db.
  onehot_linear_backward: threads((p) => p.latents * p.outDim + p.outDim),
  vmath_apply: perElement,
  // One thread per latent, looping over the batch.
  poly_step: threads((p) => p.latents),
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
 * `maxPerDimension` (the shaders unfold it in thread_index, the tiled products in workgroup_index); undefined
 * when the grid cannot hold it.
 */
export function workgroupGrid(
  launch: Launch,
  params: Readonly<Record<string, number>>,
  maxPerDimension: number,
) {
  if (launch.kind === "single-workgroup") return [1, 1] as const;
  const groups = launch.kind === "workgroups"
    ? Math.max(0, launch.workgroups(params))
    : Math.ceil(Math.max(0, launch.threads(params)) / WORKGROUP_SIZE);
  if (groups <= maxPerDimension) return [groups, 1] as const;
  const rows = Math.ceil(groups / maxPerDimension);
  return rows <= maxPerDimension ? [maxPerDimension, rows] as const : undefined;
}
