/**
 * The kernel ABI: every compute kernel the SDK runs, with its arguments in call order. The AssemblyScript
 * export (asm/) and the WGSL entry point (shaders/) of the same name take exactly these arguments: buffers
 * first (outputs, then inputs), then scalar parameters. On WASM a buffer is a byte address into linear
 * memory; on WebGPU it is a storage binding and the parameters travel in one uniform block. This table is
 * the only place the ABI is written: the WGSL bindings and `Params` struct of every kernel are generated
 * from it (src/webgpu/shaders.ts), both backends check a launch with {@link checkLaunch}, and
 * tests/abi_test.ts and tests/webgpu_test.ts check the WebAssembly exports and the WGSL against it.
 *
 * Conventions: outputs named `d*` accumulate (+=) unless the kernel says otherwise; zeroing is `fill`.
 * Matrices are row-major. A "row" is one categorical variable of `n` logits.
 * @module
 */
import { ReinmaxInputError } from "./errors.ts";

/**
 * Element type of a buffer or a scalar parameter.
 *
 * @example
 * ```ts
 * import type { ElementType } from "@reinmax/reinmax";
 * const types: ElementType[] = ["f32", "i32", "u32"]; // a sample buffer is i32, a Philox word u32
 * ```
 */
export type ElementType = "f32" | "i32" | "u32";

/**
 * One buffer argument.
 *
 * @example
 * ```ts
 * import type { BufferArgument } from "@reinmax/reinmax";
 * // The first buffer of reinmax_backward: the gradient it writes.
 * const dLogits: BufferArgument = { name: "dLogits", type: "f32", written: true };
 * ```
 */
export interface BufferArgument {
  /** The argument's name, as in the kernel sources. */
  readonly name: string;
  /** Element type of the buffer. */
  readonly type: ElementType;
  /** Whether the kernel writes the buffer (outputs) or only reads it. */
  readonly written: boolean;
}

/**
 * One scalar argument.
 *
 * @example
 * ```ts
 * import type { ScalarArgument } from "@reinmax/reinmax";
 * // The last scalar of reinmax_backward, after rows and n.
 * const tau: ScalarArgument = { name: "tau", type: "f32" };
 * ```
 */
export interface ScalarArgument {
  /** The argument's name, as in the kernel sources. */
  readonly name: string;
  /** Its type (integers are u32; WASM receives them as i32 bit patterns). */
  readonly type: "f32" | "u32";
}

/**
 * The full argument list of a kernel.
 *
 * @example
 * ```ts
 * import type { KernelSignature } from "@reinmax/reinmax";
 * // uniform_fill: one written buffer, then its scalars in call order.
 * const uniformFill: KernelSignature = {
 *   buffers: [{ name: "out", type: "f32", written: true }],
 *   params: [
 *     { name: "count", type: "u32" },
 *     { name: "low", type: "f32" },
 *     { name: "high", type: "f32" },
 *     { name: "key0", type: "u32" },
 *     { name: "key1", type: "u32" },
 *     { name: "stream", type: "u32" },
 *     { name: "tag", type: "u32" },
 *   ],
 * };
 * ```
 */
export interface KernelSignature {
  /** Buffer arguments in call order: outputs first, then inputs. */
  readonly buffers: readonly BufferArgument[];
  /** Scalar arguments in call order, after the buffers. */
  readonly params: readonly ScalarArgument[];
}

const BUFFER_TYPES: readonly string[] = ["f32", "i32", "u32"];
const SCALAR_TYPES: readonly string[] = ["f32", "u32"];

// One entry of KERNEL_TABLE parsed; a type outside the ABI's is a mistake in the table, caught at load.
function parseEntry(kernel: string, outputs: string, inputs: string, params: string): KernelSignature {
  const items = (s: string, types: readonly string[], fallback: string) =>
    s.split(/\s+/).filter((x) => x.length > 0).map((x) => {
      const [name, type = fallback] = x.split(":");
      if (!types.includes(type)) throw new Error(`KERNEL_TABLE.${kernel}: "${x}" has no type of the ABI`);
      return { name, type };
    });
  const buffers = (s: string, written: boolean) =>
    items(s, BUFFER_TYPES, "f32").map(({ name, type }) => ({ name, type: type as ElementType, written }));
  return {
    buffers: [...buffers(outputs, true), ...buffers(inputs, false)],
    params: items(params, SCALAR_TYPES, "u32").map(({ name, type }) => ({
      name,
      type: type as "f32" | "u32",
    })),
  };
}

/**
 * The kernel ABI as written: for each kernel, its [outputs, inputs, scalar parameters] in a compact notation,
 * "name:type" items separated by spaces (buffers default to f32, scalars to u32). {@link KERNELS} is the same
 * table parsed; {@link KernelName} is its keys. Adding a kernel starts here: an entry, then its AssemblyScript
 * export (asm/) and its WGSL body (shaders/), whose bindings are generated from the entry.
 *
 * @example
 * ```ts
 * import { KERNEL_TABLE } from "@reinmax/reinmax";
 * const [outputs, inputs, params] = KERNEL_TABLE.reinmax_backward;
 * console.log(outputs, "|", inputs, "|", params); // dLogits | logits sample:i32 gHard gSoft | rows n tau:f32
 * ```
 */
export const KERNEL_TABLE = {
  // --- random numbers (asm/rng.ts) ---------------------------------------------------------------------
  /** out[4b + l] = word l of Philox4x32-10(counter (ctr0 + b, ctr1, ctr2, ctr3), key (key0, key1)). */
  philox_fill: ["out:u32", "", "count key0 key1 ctr0 ctr1 ctr2 ctr3"],
  /** out[i] = low + (high − low)·u_i, u_i from word i of row 0 of the (key, stream, tag) stream. */
  uniform_fill: ["out", "", "count low:f32 high:f32 key0 key1 stream tag"],

  // --- estimators (asm/estimators.ts) ------------------------------------------------------------------
  /** sample[r] ~ Cat(softmax(logits[r])) by inverse CDF on word 0 of the row's Philox stream. */
  categorical_sample: ["sample:i32", "logits", "rows n key0 key1 stream tag"],
  /** yHard = onehot(sample), ySoft = softmax(logits), row-wise. */
  onehot_softmax: ["yHard ySoft", "logits sample:i32", "rows n"],
  /** ReinMax backward (docs/math.md §2.1), written (not accumulated) into dLogits. */
  reinmax_backward: ["dLogits", "logits sample:i32 gHard gSoft", "rows n tau:f32"],
  /** Straight-through backward: (1/τ)·J(softmax(θ/τ))g + J(π)h. */
  st_backward: ["dLogits", "logits sample:i32 gHard gSoft", "rows n tau:f32"],
  /** Gapped straight-through backward: (1/τ)·J(softmax(θ'/τ))g + J(π)h, θ' from the gap construction. */
  gst_backward: ["dLogits", "logits sample:i32 gHard gSoft", "rows n tau:f32 gap:f32"],
  /** θ' of Gapped ST: θ'_s = max θ, θ'_i = min(θ_i, max θ − gap) for i ≠ s; for tests. */
  gapped_logits: ["out", "logits sample:i32", "rows n gap:f32"],
  /**
   * Gumbel backward: (1/τ)·(1/k)·Σ_j J(softmax((θ+G_j)/τ))g + J(π)h with G_j Gumbels conditioned on
   * argmax = sample, drawn from the row's Philox stream after word 0. k = 1 is Gumbel-softmax ST (STGS),
   * k > 1 is Gumbel-Rao (GR-MCK). `perturbed` (rows·n) is scratch.
   */
  gumbel_backward: [
    "dLogits perturbed",
    "logits sample:i32 gHard gSoft",
    "rows n tau:f32 k key0 key1 stream tag",
  ],
  /** The perturbed logits θ + G_j − max θ (k·n per row) that gumbel_backward draws; for tests. */
  gumbel_perturbations: ["perturbed", "logits sample:i32", "rows n k key0 key1 stream tag"],
  /** REINFORCE: (reward[r] − baseline[0])·(onehot(s) − π) + J(π)h. */
  reinforce_backward: ["dLogits", "logits sample:i32 reward baseline gSoft", "rows n"],

  // --- elementwise and reductions (asm/tensor.ts) ------------------------------------------------------
  /** out[i] = value. */
  fill: ["out", "", "count value:f32"],
  /** out[t·count + i] = x[i] for t < times. */
  tile: ["out", "x", "count times"],
  /** out[i] = scale·Σ_t x[t·count + i] (written, not accumulated). */
  sum_tiles: ["out", "x", "count times scale:f32"],
  /** out[index] = mean of x[0..count). */
  mean: ["out", "x", "count index"],
  /**
   * out[index] = the number of non-finite values (NaN, ±∞) in x[0..count), as an f32 (exact below 2^24): the
   * trainer's health check of parameters and gradients, written into the loss log so it rides a read-back.
   */
  count_nonfinite: ["out", "x", "count index"],

  // --- polynomial programming (asm/poly.ts) ------------------------------------------------------------
  /**
   * Per sample b: loss[b] = (1/L)·Σ_i |yHard[b,i,0] − c[i]|^p and gHard = ∂loss/∂yHard (written), for
   * yHard of shape (batch, L, 2).
   */
  poly_loss: ["loss gHard", "yHard c", "batch latents p:f32"],
  /**
   * out[index] = (1/L)·Σ_i [q_i·|1 − c_i|^p + (1 − q_i)·|c_i|^p], q_i = softmax(theta_i)[0]: the exact
   * expected loss, computed where θ lives so it travels back with the step losses in one read.
   */
  poly_expected_loss: ["out", "theta c", "latents p:f32 index"],

  // --- optimisers (asm/optim.ts) -----------------------------------------------------------------------
  /**
   * One Adam-family update with PyTorch semantics. grad += weightDecay·param; m, v updated with beta1, beta2;
   * then param −= stepSize·m/(√v·denomScale + eps) when adaptive = 1, else param −= stepSize·m.
   * The bias corrections (and RAdam's rectification) are folded into stepSize/denomScale by the host.
   */
  adam_update: [
    "param m v",
    "grad",
    "count beta1:f32 beta2:f32 stepSize:f32 denomScale:f32 eps:f32 weightDecay:f32 adaptive",
  ],
  // --- layers (asm/matmul.ts, asm/layers.ts) -----------------------------------------------------------
  /**
   * C[M×N] = A·B (accumulate = 0) or C += A·B (accumulate = 1); B is K×N row-major, A(i, k) is
   * A[i·aRowStride + k·aColStride] (K, 1 for row-major A; 1, M for A stored as Aᵀ). C must not overlap A, B.
   */
  matmul: ["C", "A B", "M K N aRowStride aColStride accumulate"],
  /** C[M×N] = A·Bᵀ (or += when accumulate = 1) for B stored N×K row-major; A as in `matmul`. */
  matmul_bt: ["C", "A B", "M K N aRowStride aColStride accumulate"],
  /** out[c·rows + r] = x[r·cols + c]: the cols×rows transpose of the rows×cols matrix x. */
  transpose: ["out", "x", "rows cols"],
  /** out[batch×outDim] = x[batch×inDim]·w[inDim×outDim] + b[outDim] (written). */
  linear_forward: ["out", "x w b", "batch inDim outDim"],
  /**
   * Backward of `linear_forward`, accumulating: dw += xᵀ·dy, db += Σ_rows dy, and dx += dy·wᵀ when
   * needDx = 1 (dx is untouched when needDx = 0, e.g. for a first layer). Uses no scratch memory.
   */
  linear_backward: ["dx dw db", "dy x w", "batch inDim outDim needDx"],
  /** out = max(x, 0). */
  relu_forward: ["out", "x", "count"],
  /** dx += x > 0 ? dy : 0. */
  relu_backward: ["dx", "dy x", "count"],
  /** out = x > 0 ? x : slope·x. */
  leaky_relu_forward: ["out", "x", "count slope:f32"],
  /** dx += dy·(x > 0 ? 1 : slope). */
  leaky_relu_backward: ["dx", "dy x", "count slope:f32"],
  /** out = σ(x) = 1/(1 + e^{−x}). */
  sigmoid_forward: ["out", "x", "count"],
  /** dx += dy·y·(1 − y), with y = σ(x) the output of `sigmoid_forward`. */
  sigmoid_backward: ["dx", "dy y", "count"],
  /** out = tanh(x). */
  tanh_forward: ["out", "x", "count"],
  /** dx += dy·(1 − y²), with y = tanh(x) the output of `tanh_forward`. */
  tanh_backward: ["dx", "dy y", "count"],
  /** loss[b] = Σ_j max(z, 0) − z·t + log(1 + e^{−|z|}) over row b of batch×dim logits z, targets t (written). */
  bce_logits_forward: ["loss", "logits target", "batch dim"],
  /** dLogits += scale·(σ(z) − t): scale × the gradient of the summed BCE-with-logits. */
  bce_logits_backward: ["dLogits", "logits target", "count scale:f32"],
  /**
   * loss[b] = Σ_j (mean − target)²/(2σ²) + dim·(log σ + ½·log 2π) over row b of batch×dim: the negative
   * log-likelihood of the targets under independent Gaussians N(mean, σ²) (written).
   */
  gaussian_nll_forward: ["loss", "mean target", "batch dim sigma:f32"],
  /** dMean += scale·(mean − target)/σ²: scale × the gradient of the summed Gaussian NLL. */
  gaussian_nll_backward: ["dMean", "mean target", "count scale:f32 sigma:f32"],
  /** loss[b] = log Σ_j e^{z_bj} − z_b,labels[b] over row b of batch×classes logits z (written). */
  softmax_cross_entropy_forward: ["loss", "logits labels:i32", "batch classes"],
  /** dLogits += scale·(softmax(z_b) − onehot(labels[b])) row-wise: scale × the gradient of the summed loss. */
  softmax_cross_entropy_backward: ["dLogits", "logits labels:i32", "batch classes scale:f32"],
  /** out[b] = 1 when the first largest logit of row b is labels[b], else 0 (written): for accuracy. */
  argmax_equals: ["out", "logits labels:i32", "batch classes"],
  /** out = softmax(x) over each of rows rows of n. */
  softmax_forward: ["out", "x", "rows n"],
  /** dx += y ⊙ (dy − ⟨y, dy⟩) row-wise, y the output of `softmax_forward`. */
  softmax_backward: ["dx", "dy y", "rows n"],
  /** out = log softmax(x) = x − max − log Σ e^{x − max} over each of rows rows of n. */
  log_softmax_forward: ["out", "x", "rows n"],
  /** dx += dy − e^y·Σ dy row-wise, y the output of `log_softmax_forward`. */
  log_softmax_backward: ["dx", "dy y", "rows n"],
  /**
   * kl[b] = Σ_l Σ_c q log q + latents·log(categories), q = softmax of logits row (b, l): KL(q ‖ uniform) of
   * sample b (docs/math.md §4.7), logits batch×latents×categories (written).
   */
  kl_categorical_forward: ["kl", "logits", "batch latents categories"],
  /** dLogits += scale·q ⊙ (log q − Σ q log q) for each of rows rows: scale × ∂KL/∂logits. */
  kl_categorical_backward: ["dLogits", "logits", "rows categories scale:f32"],
  /**
   * kl[b] = Σ_l Σ_c q (log q − log p), q = softmax of logits row (b, l), p = softmax of priorLogits row l: KL
   * to a learned categorical prior, logits batch×latents×categories, priorLogits latents×categories (written).
   */
  kl_categorical_prior_forward: ["kl", "logits priorLogits", "batch latents categories"],
  /**
   * Backward of `kl_categorical_prior_forward` times scale, accumulating: dLogits[b, l] += scale·q ⊙ (d − ⟨q, d⟩)
   * with d = log q − log p, and dPrior[l] += scale·Σ_b (p − q).
   */
  kl_categorical_prior_backward: [
    "dLogits dPrior",
    "logits priorLogits",
    "batch latents categories scale:f32",
  ],
  /**
   * kl[b] = Σ_l q log(q/p) + (1 − q) log((1 − q)/(1 − p)), q = σ(2a[b, l] − 1) (logit pair (a, 1 − a)),
   * p = σ(priorLogits[l]): KL to the learned Bernoulli prior (docs/math.md §4.8), a batch×latents (written).
   */
  kl_bernoulli_forward: ["kl", "a priorLogits", "batch latents"],
  /**
   * Backward of `kl_bernoulli_forward` times scale, accumulating: dA[b, l] += scale·2q(1 − q)(2a − 1 − ρ_l),
   * dPrior[l] += scale·Σ_b (σ(ρ_l) − q[b, l]).
   */
  kl_bernoulli_backward: ["dA dPrior", "a priorLogits", "batch latents scale:f32"],

  // --- Bernoulli VAE (asm/bernoulli.ts) ----------------------------------------------------------------
  /**
   * logits[2i] = a[i], logits[2i + 1] = 1 − a[i] for i < count (written): the logit pair of a binary latent,
   * so that the estimators' rows of n = 2 give P(category 0) = σ(2a − 1) (docs/math.md §4.10).
   */
  bernoulli_logits: ["logits", "a", "count"],
  /** dA[i] += dLogits[2i] − dLogits[2i + 1] for i < count: the chain rule through `bernoulli_logits`. */
  bernoulli_logits_backward: ["dA", "dLogits", "count"],
  /** out[i] = pairs[2i] for i < count (written): z = D[0] of each row of two, the latent the decoder sees. */
  first_of_pairs: ["out", "pairs", "count"],
  /**
   * dPairs[2i] = dOut[i], dPairs[2i + 1] = 0 for i < count (written, not accumulated: the second entry of a
   * pair does not reach the output).
   */
  first_of_pairs_backward: ["dPairs", "dOut", "count"],
  /**
   * out[r·dim + j] = (u < x[r·dim + j]) ? 1 : 0 for r < rows, j < dim, with u the uniform of word j of Philox
   * row rowIds[r] (its bits as a u32) of (key0, key1, stream, tag): counter (⌊j/4⌋, rowIds[r], stream, tag),
   * lane j mod 4. Row ids are the images' indices in their set, so an image binarises alike whenever the
   * stream is the same; the comparison is exact, so every backend gives the same bits.
   */
  binarize: ["out", "x rowIds:i32", "rows dim key0 key1 stream tag"],
  /**
   * The K = copies codes of each of count Bernoulli latents, drawn jointly so that they are negatively
   * correlated (docs/math.md §2.9.3): sample[t·count + i] = 0 (z = 1) or 1 (z = 0) for copy t, each with
   * P(z = 1) = p = σ(2a[i] − 1). K = 2: the antithetic pair u, 1 − u from word 0 of row i of the stream; K ≥ 3:
   * the Dirichlet copula of words 0 … K − 1 of row i. Rows with p ≥ ½ compare the mirrored uniforms.
   */
  bernoulli_coupled_sample: ["sample:i32", "a", "count copies key0 key1 stream tag"],
  /**
   * Double CV's per-copy projections (docs/math.md §2.9.4): projections[t·rows + r] = Σ_l (z_trl − p_rl)·ḡ_trl,
   * ḡ_trl = gradScale·(Σ_j gradZ[j, r, l] − gradZ[t, r, l])/(K − 1) the mean over the other copies of
   * ∂f/∂z, for rows × latents Bernoulli latents with K = copies codes each (copy-major, as sample).
   */
  bernoulli_double_cv_projections: ["projections", "a sample:i32 gradZ", "rows latents copies gradScale:f32"],
  /**
   * The score-function estimators of Bernoulli latents from their K = copies codes and the K losses f of each
   * row (reward, copy-major): dA[r, l] = scale·∂/∂a of the estimate of ∂E[f]/∂θ_rl (θ = 2a − 1), written.
   * estimator: the BERNOULLI_SCORE_* code of the row in ESTIMATORS (RLOO, DisARM, ARMS, Double CV; docs/math.md
   * §2.9). Double CV reads gradZ (∂f/∂z = gradScale·gradZ), its projections and α; alphaTerms[r, l] =
   * 2ĝ·∂ĝ/∂α, whose mean is the gradient of the estimate's mean square in α (0 for the others), written.
   */
  bernoulli_score_backward: [
    "dA alphaTerms",
    "a sample:i32 reward gradZ projections alpha",
    "rows latents copies estimator scale:f32 gradScale:f32",
  ],
  /**
   * RODEO's control-network inputs (docs/math.md §2.9.5): for copy k, each other copy j (jj-th of the K − 1),
   * example row r and point i (0: the code x_k, 1 + l: x_k with bit l flipped), row
   * ((k·(K − 1) + jj)·rows + r)·(latents + 1) + i of inputs (2 wide) is (⟨g_j, y − x_j⟩, f_j), with
   * g_j = gradScale·gradZ of copy j and f_j = reward of copy j, written.
   */
  rodeo_control_inputs: ["inputs", "sample:i32 reward gradZ", "rows latents copies gradScale:f32"],
  /**
   * RODEO's Stein terms of copy k of row r from the control network's outputs (H, G per input row, averaged
   * over the K − 1 other copies), w_l = P(z_l flips) = p_l(1 − z_l) + (1 − p_l)z_l: terms[3(k·rows + r) + 0] =
   * (1/L)·Σ_l w_l (H(y_l) − H(x_k)), + 1 the same of G, + 2 = Σ_l w_l; written.
   */
  rodeo_stein_terms: ["terms", "a sample:i32 control", "rows latents copies"],
  /**
   * RODEO's estimate ĝ (docs/math.md §2.9.5) of each latent from the losses, the Stein terms, the network's G
   * at the flipped points and the weights (α, β): dA = scale·2ĝ and gradOut = ∂(mean ĝ²)/∂ĝ = 2ĝ/(rows·latents),
   * written.
   */
  rodeo_backward: [
    "dA gradOut",
    "a sample:i32 reward control terms weights",
    "rows latents copies scale:f32",
  ],
  /**
   * The gradient of RODEO's mean ĝ² in its weights, per latent, from gradOut: alphaTerms = 2ĝ·∂ĝ/∂α,
   * betaTerms = 2ĝ·∂ĝ/∂β (their means are the gradient), written.
   */
  rodeo_weight_terms: ["alphaTerms betaTerms", "a sample:i32 control terms gradOut", "rows latents copies"],
  /**
   * The gradient of mean ĝ² with respect to every output (H, G) of RODEO's control network, rows as in
   * rodeo_control_inputs, from gradOut, the Stein terms and the weights; written.
   */
  rodeo_control_grad: ["dControl", "a sample:i32 terms gradOut weights", "rows latents copies"],
  /**
   * RELAX's draw of each of count Bernoulli latents (docs/math.md §2.9.6), from words 0 and 1 of row i of the
   * stream as u, v ∈ (0, 1): z = θ + logit u (θ = 2a − 1), the code b = [z > 0] (sample 0 for b = 1), z̃ =
   * θ + logit v′ with v′ = b·(v·p + 1 − p) + (1 − b)·v·(1 − p) (z̃ given b), and dzt = ∂z̃/∂θ: draws holds
   * [z | z̃ | dzt], count each; all written.
   */
  relax_sample: ["sample:i32 draws", "a", "count key0 key1 stream tag"],
  /** out = σ(z/τ) of block `which` of draws (0: z, 1: z̃): a relaxed code; written. */
  relax_relaxed: ["out", "draws", "count which tau:f32"],
  /**
   * Keeps a relaxed evaluation: relaxed[which·rows·latents + i] = gradZ[i] and
   * relaxed[2·rows·latents + which·rows + r] = loss[r], so relaxed holds [f′ at z | f′ at z̃ | f at z | f at z̃].
   */
  relax_keep: ["relaxed", "loss gradZ", "rows latents which"],
  /**
   * RELAX's control-network inputs: row r of inputs is [x_r, z_r] and row rows + r is [x_r, z̃_r] (inSize + latents
   * wide), written.
   */
  relax_control_inputs: ["inputs", "x draws", "rows inSize latents"],
  /**
   * What RELAX's estimate takes from each latent (docs/math.md §2.9.6): perLatent = [b − p | path | dzt] with
   * path = −∂c/∂z + ∂c/∂z̃·dzt over s, from the decoder's gradients at the relaxed codes (relaxed) and the
   * network's input gradient dInputs (rows [x, z] then [x, z̃]); written.
   */
  relax_signal: ["perLatent", "a sample:i32 draws relaxed dInputs", "rows inSize latents tau:f32"],
  /**
   * RELAX's estimate ĝ = f·(b − p) + s·((r(z̃) − f(σ(z̃/τ)))·(b − p) + path) of each latent: dA = scale·2ĝ, and
   * terms = [2ĝ·∂ĝ/∂s | gradOut = 2ĝ/(rows·latents) | the weights of ∂²r/∂z∂ψ at rows z, then z̃]; written.
   */
  relax_backward: ["dA terms", "perLatent reward relaxed control s", "rows latents scale:f32"],
  /** ∂(mean ĝ²)/∂r of RELAX's control network at each row: 0 at [x, z], s·Σ_l gradOut·(b − p) at [x, z̃]; written. */
  relax_control_grad: ["dControl", "perLatent terms s", "rows latents"],
  /**
   * The part of ∂(mean ĝ²)/∂ψ that comes through ∂r/∂z, for the network r = w2ᵀ·leaky(W1·[x, z] + b1) + b2
   * (hidden of `hidden` units, slope `slope`, h its pre-activations) over its `rows` rows, with m the weights
   * in terms from offset rows·latents: dW2_j += Σ_rows (Σ_l W1[inSize + l, j]·m_l)·leaky′(h_j), dW1[inSize + l, j]
   * += Σ_rows m_l·leaky′(h_j)·w2_j; accumulating.
   */
  relax_mixed_grad: ["dW1 dW2", "terms h W1 W2", "rows inSize latents hidden slope:f32"],

  // --- one-hot inputs (asm/layers.ts) ------------------------------------------------------------------
  /**
   * out[i, :] = b + Σ_l w[l·categories + sample[i·latents + l], :] (written): `linear_forward` of the one-hot
   * codes of `sample` (batch × latents categories in [0, categories)), a gather of `latents` rows of w
   * (latents·categories × outDim) instead of a product (docs/math.md §4.11).
   */
  onehot_linear_forward: ["out", "w b sample:i32", "batch latents categories outDim"],
  /**
   * Backward of `onehot_linear_forward`, accumulating: dw[l·categories + sample[i·latents + l], :] += dy[i, :]
   * for every image i and latent l, in order of i (a scatter-add), and db += Σ_i dy[i, :]. The gradient of
   * the one-hot codes themselves is dy·wᵀ (`matmul_bt`).
   */
  onehot_linear_backward: ["dw db", "dy sample:i32", "batch latents categories outDim"],

  // --- vector maths (asm/vmath.ts, shaders/math.wgsl) --------------------------------------------------
  /**
   * out[i] = f(x[i]) with f = exp, log, log1p, σ, tanh for which = 0, 1, 2, 3, 4: the approximations every
   * kernel uses (docs/math.md §4.12), exposed so that tests measure them against float64 on each backend.
   */
  vmath_apply: ["out", "x", "count which"],

  // --- polynomial programming, one pass (asm/poly.ts) ----------------------------------------------------
  /**
   * One whole step of the task from θ (L×2): sample[b·L + i] as categorical_sample draws row b·L + i of θ
   * tiled batch times; loss[i] = (1/B)·Σ_b |X_bi − c_i|^p, so the step's mean loss is the mean of loss; dTheta
   * (L×2, written) = (1/B)·Σ_b of the estimator's backward of each row with gHard from poly_loss and gSoft = 0,
   * as poly_loss, the estimator's backward and sum_tiles compute it. estimator: the `polyStep` code of the
   * estimator's row in ESTIMATORS (src/estimators.ts); the Gumbel family draws k times (k = 1 is STGS) from
   * the (key, stream, tag) stream.
   */
  poly_step: [
    "sample:i32 loss dTheta",
    "theta c",
    "batch latents p:f32 estimator tau:f32 gap:f32 k key0 key1 stream tag",
  ],
} as const satisfies Readonly<Record<string, readonly [string, string, string]>>;

/**
 * The name of every kernel: the keys of {@link KERNEL_TABLE}, the ABI's index.
 *
 * @example
 * ```ts
 * import { type KernelName, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const kernel: KernelName = "uniform_fill";
 * const out = backend.alloc(4, "out");
 * backend.run(kernel, [out], [4, 0, 1, 1, 0, 0, 0]);
 * ```
 */
export type KernelName = keyof typeof KERNEL_TABLE;

/**
 * Every kernel's signature, by name: {@link KERNEL_TABLE} parsed.
 *
 * @example
 * ```ts
 * import { KERNELS } from "@reinmax/reinmax";
 * const { buffers, params } = KERNELS.uniform_fill;
 * console.log(buffers.map((b) => b.name), params.map((p) => `${p.name}:${p.type}`));
 * // ["out"] ["count:u32", "low:f32", "high:f32", "key0:u32", "key1:u32", "stream:u32", "tag:u32"]
 * ```
 */
export const KERNELS: Readonly<Record<KernelName, KernelSignature>> = Object.fromEntries(
  Object.entries(KERNEL_TABLE).map((
    [name, [outputs, inputs, params]],
  ) => [name, parseEntry(name, outputs, inputs, params)]),
) as Record<KernelName, KernelSignature>;

/**
 * Validates one launch against the ABI, as every backend's `run()` does first: the kernel exists and
 * `buffers` and `params` have its signature's lengths. Returns the signature; throws ReinmaxInputError
 * (argument "kernel") naming the kernel and what it takes.
 */
export function checkLaunch(
  kernel: KernelName,
  buffers: readonly unknown[],
  params: readonly number[],
): KernelSignature {
  const signature: KernelSignature | undefined = Object.hasOwn(KERNELS, kernel) ? KERNELS[kernel] : undefined;
  if (!signature) throw new ReinmaxInputError("kernel", `unknown kernel "${kernel}"`);
  if (buffers.length !== signature.buffers.length || params.length !== signature.params.length) {
    throw new ReinmaxInputError(
      "kernel",
      `${kernel} takes ${signature.buffers.length} buffers and ${signature.params.length} parameters, ` +
        `got ${buffers.length} and ${params.length}`,
    );
  }
  return signature;
}
