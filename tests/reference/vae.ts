// Float64 oracle of a whole categorical-VAE training step (docs/math.md §6.2), composed from the per-kernel
// oracle functions (layers.ts, estimators.ts, optim.ts) the way llm.c's test_gpt2 checks its model: the same
// layer sequence, written out here independently of src/models/, with parameters named as the model names
// them.
import * as est from "./estimators.ts";
import * as layers from "./layers.ts";
import { adamStep, type MomentState, type OptimizerHyper, radamStep } from "./optim.ts";
import { streamWord, uniformFromWord } from "./philox.ts";

type F64 = Float64Array;

export interface VaeShape {
  readonly inputSize: number;
  readonly hidden: readonly number[];
  readonly categories: number;
  readonly latents: number;
}

export interface EstimatorSpec {
  readonly name:
    | "reinmax"
    | "st"
    | "gst"
    | "stgs"
    | "grmck"
    | "rloo"
    | "disarm"
    | "arms"
    | "doublecv"
    | "rodeo"
    | "relax";
  readonly tau: number;
  readonly gap?: number;
  readonly k?: number;
  /** The Philox key, stream and tag of the step (the Gumbel family's draws). */
  readonly key: readonly [number, number];
  readonly stream: number;
  readonly tag: number;
}

export type Params = Map<string, F64>;

/** Layer sizes of the encoder and decoder. */
export function mlpSizes(shape: VaeShape): { encoder: number[]; decoder: number[] } {
  const code = shape.latents * shape.categories;
  return {
    encoder: [shape.inputSize, ...shape.hidden, code],
    decoder: [code, ...[...shape.hidden].reverse(), shape.inputSize],
  };
}

interface MlpTrace {
  /** The input of each layer. */
  readonly inputs: F64[];
  /** x·W + b of each layer. */
  readonly linears: F64[];
}

/** The hidden layers' activation: ReLU, or LeakyReLU with this negative slope. */
type Slope = number | undefined;

function mlpForward(
  params: Params,
  name: string,
  sizes: number[],
  x: F64,
  count: number,
  slope?: Slope,
): MlpTrace {
  const inputs: F64[] = [], linears: F64[] = [];
  let h = x;
  for (let i = 1; i < sizes.length; i++) {
    const z = new Float64Array(count * sizes[i]);
    layers.linear_forward(
      z,
      h,
      params.get(`${name}.fc${i}.weight`)!,
      params.get(`${name}.fc${i}.bias`)!,
      count,
      sizes[i - 1],
      sizes[i],
    );
    inputs.push(h);
    linears.push(z);
    if (i < sizes.length - 1) {
      const a = new Float64Array(z.length);
      if (slope === undefined) layers.relu_forward(a, z, z.length);
      else layers.leaky_relu_forward(a, z, z.length, slope);
      h = a;
    }
  }
  return { inputs, linears };
}

/** Backward from ∂loss/∂output; adds weight and bias gradients to `grads`; returns ∂loss/∂input. */
function mlpBackward(
  params: Params,
  grads: Params,
  name: string,
  sizes: number[],
  trace: MlpTrace,
  dOut: F64,
  count: number,
  slope?: Slope,
): F64 {
  let dy = dOut;
  for (let i = sizes.length - 1; i >= 1; i--) {
    const dx = new Float64Array(count * sizes[i - 1]);
    layers.linear_backward(
      dx,
      grads.get(`${name}.fc${i}.weight`)!,
      grads.get(`${name}.fc${i}.bias`)!,
      dy,
      trace.inputs[i - 1],
      params.get(`${name}.fc${i}.weight`)!,
      count,
      sizes[i - 1],
      sizes[i],
      1,
    );
    if (i === 1) return dx;
    const dz = new Float64Array(dx.length);
    if (slope === undefined) layers.relu_backward(dz, dx, trace.linears[i - 2], dx.length);
    else layers.leaky_relu_backward(dz, dx, trace.linears[i - 2], dx.length, slope);
    dy = dz;
  }
  return dy;
}

/** The encoder's logits for `count` images (count × L·C). */
export function encoderLogits(shape: VaeShape, params: Params, x: F64, count: number): F64 {
  const trace = mlpForward(params, "encoder", mlpSizes(shape).encoder, x, count);
  return trace.linears[trace.linears.length - 1];
}

/** σ(decoder output): the pixel means the decoder gives `count` one-hot codes (count × L·C). */
export function decoderMeans(shape: VaeShape, params: Params, onehot: F64, count: number): F64 {
  const trace = mlpForward(params, "decoder", mlpSizes(shape).decoder, onehot, count);
  const out = trace.linears[trace.linears.length - 1];
  const means = new Float64Array(out.length);
  layers.sigmoid_forward(means, out, out.length);
  return means;
}

/** The one-hot codes of `sample` (one category per row of C). */
export function onehotCodes(sample: Int32Array, categories: number): F64 {
  const out = new Float64Array(sample.length * categories);
  sample.forEach((s, r) => out[r * categories + s] = 1);
  return out;
}

/** Zero gradients shaped like `params`. */
export function zerosLike(params: Params): Params {
  return new Map([...params].map(([label, v]) => [label, new Float64Array(v.length)]));
}

export interface StepResult {
  /** Per image: Σ_pixels BCE and the KL to the uniform prior. */
  readonly reconstruction: F64;
  readonly kl: F64;
  /** ∂(batch-mean −ELBO)/∂ every parameter. */
  readonly grads: Params;
}

/** One forward and backward pass on `count` images `x` (count × inputSize) with the given samples. */
export function vaeStep(
  shape: VaeShape,
  params: Params,
  x: F64,
  count: number,
  sample: Int32Array,
  estimator: EstimatorSpec,
): StepResult {
  const { categories: n, latents } = shape;
  const sizes = mlpSizes(shape);
  const rows = count * latents, code = latents * n;
  const encoder = mlpForward(params, "encoder", sizes.encoder, x, count);
  const logits = encoder.linears[encoder.linears.length - 1];
  const onehot = new Float64Array(count * code);
  for (let r = 0; r < rows; r++) onehot[r * n + sample[r]] = 1;
  const decoder = mlpForward(params, "decoder", sizes.decoder, onehot, count);
  const out = decoder.linears[decoder.linears.length - 1];
  const reconstruction = new Float64Array(count), kl = new Float64Array(count);
  layers.bce_logits_forward(reconstruction, out, x, count, shape.inputSize);
  layers.kl_categorical_forward(kl, logits, count, latents, n);

  // The loss is the batch mean of reconstruction + KL.
  const grads = zerosLike(params);
  const dOut = new Float64Array(out.length);
  layers.bce_logits_backward(dOut, out, x, out.length, 1 / count);
  const gHard = mlpBackward(params, grads, "decoder", sizes.decoder, decoder, dOut, count);
  const dLogits = new Float64Array(logits.length);
  const zeros = new Array(n).fill(0);
  for (let r = 0; r < rows; r++) {
    const theta = Array.from(logits.subarray(r * n, (r + 1) * n));
    const g = Array.from(gHard.subarray(r * n, (r + 1) * n));
    const s = sample[r];
    let d: number[];
    switch (estimator.name) {
      case "reinmax":
        d = est.reinmaxBackward(theta, s, g, zeros, estimator.tau);
        break;
      case "st":
        d = est.stBackward(theta, s, g, zeros, estimator.tau);
        break;
      case "gst":
        d = est.gstBackward(theta, s, g, zeros, estimator.tau, estimator.gap ?? 1);
        break;
      case "stgs":
      case "grmck": {
        const k = estimator.name === "stgs" ? 1 : estimator.k ?? 10;
        const draws = Array.from({ length: k }, (_, j) =>
          est.conditionalPerturbed(
            theta,
            s,
            est.streamExponentials(n, j, r, estimator.key, estimator.stream, estimator.tag),
          ));
        d = est.gumbelBackward(theta, s, g, zeros, estimator.tau, draws);
        break;
      }
      default:
        throw new Error(`${estimator.name} has no categorical backward`);
    }
    dLogits.set(d, r * n);
  }
  layers.kl_categorical_backward(dLogits, logits, rows, n, 1 / count);
  mlpBackward(params, grads, "encoder", sizes.encoder, encoder, dLogits, count);
  return { reconstruction, kl, grads };
}

/** Applies Adam or RAdam update `t` to every parameter. */
export function optimizerStep(
  name: "adam" | "radam",
  params: Params,
  grads: Params,
  state: Map<string, MomentState>,
  t: number,
  hyper: OptimizerHyper,
): void {
  for (const [label, value] of params) {
    let s = state.get(label);
    if (!s) state.set(label, s = { m: new Float64Array(value.length), v: new Float64Array(value.length) });
    (name === "adam" ? adamStep : radamStep)(value, grads.get(label)!, s, t, hyper);
  }
}

// --- the Bernoulli VAE (docs/math.md §6.3) -----------------------------------------------------------------

export interface BernoulliShape {
  readonly inputSize: number;
  readonly hidden: readonly number[];
  readonly latents: number;
  /** K: codes per image. */
  readonly evaluations: number;
  /** LeakyReLU's negative slope. */
  readonly slope: number;
}

/** How the grey images become binary: not, or pixel = 1[u < x] with u from word j of row indices[b]. */
export interface BinarizeSpec {
  readonly mode: "none" | "static" | "dynamic";
  readonly indices: readonly number[];
  readonly key: readonly [number, number];
  readonly stream: number;
}

export function binarizeImages(x: F64, count: number, size: number, spec: BinarizeSpec): F64 {
  if (spec.mode === "none") return x.slice(0, count * size);
  const out = new Float64Array(count * size);
  for (let b = 0; b < count; b++) {
    for (let j = 0; j < size; j++) {
      const u = uniformFromWord(streamWord(j, spec.indices[b], spec.key, spec.stream, 5));
      out[b * size + j] = u < x[b * size + j] ? 1 : 0;
    }
  }
  return out;
}

/**
 * One forward and backward pass of the Bernoulli VAE on `count` grey images: the K codes of image b are rows
 * k·count·L + b·L + l (the K copies one after another), `forced` their categories (0: z = 1). RELAX draws its
 * own codes from the estimator's stream (`forced` is then ignored), as the model does.
 */
export function bernoulliStep(
  shape: BernoulliShape,
  params: Params,
  xGrey: F64,
  count: number,
  forced: Int32Array,
  estimator: EstimatorSpec,
  binarize: BinarizeSpec,
): StepResult {
  const { latents: L, evaluations: K, inputSize: D, slope } = shape;
  const encoderSizes = [D, ...shape.hidden, L], decoderSizes = [L, ...[...shape.hidden].reverse(), D];
  const x = binarizeImages(xGrey, count, D, binarize);
  const encoder = mlpForward(params, "encoder", encoderSizes, x, count, slope);
  const a = encoder.linears[encoder.linears.length - 1];
  const draw = estimator.name === "relax" ? relaxDraw(a, estimator) : null;
  const sample = draw ? Int32Array.from(draw.bits, (b) => (b ? 0 : 1)) : forced;
  const rows = count * K * L;
  const z = new Float64Array(rows), target = new Float64Array(count * K * D);
  for (let k = 0; k < K; k++) target.set(x, k * count * D);
  for (let r = 0; r < rows; r++) z[r] = sample[r] === 0 ? 1 : 0;
  const decoder = mlpForward(params, "decoder", decoderSizes, z, count * K, slope);
  const out = decoder.linears[decoder.linears.length - 1];
  const reconstructionRows = new Float64Array(count * K), kl = new Float64Array(count);
  layers.bce_logits_forward(reconstructionRows, out, target, count * K, D);
  const prior = params.get("prior.logits")!;
  layers.kl_bernoulli_forward(kl, a, prior, count, L);
  // Per image: the mean over its K codes.
  const reconstruction = new Float64Array(count);
  for (let k = 0; k < K; k++) {
    for (let b = 0; b < count; b++) reconstruction[b] += reconstructionRows[k * count + b] / K;
  }

  const grads = zerosLike(params);
  const dOut = new Float64Array(out.length);
  layers.bce_logits_backward(dOut, out, target, out.length, 1 / (count * K));
  const dz = mlpBackward(params, grads, "decoder", decoderSizes, decoder, dOut, count * K, slope);
  const dA = new Float64Array(count * L);
  if (draw) {
    const g = relaxBackward(
      params,
      grads,
      a,
      draw,
      x,
      reconstructionRows,
      count,
      L,
      D,
      decoderSizes,
      slope,
      estimator.tau,
    );
    for (let j = 0; j < g.length; j++) dA[j] += (2 / count) * g[j];
  } else if (isScore(estimator.name)) {
    scoreBackward(estimator.name, params, grads, a, z, reconstructionRows, dz, count, K, L, dA);
  }
  for (let r = 0; r < rows && !isScore(estimator.name) && !draw; r++) {
    const ai = a[r % (count * L)];
    const theta = [ai, 1 - ai], g = [dz[r], 0], s = sample[r];
    let d: number[];
    switch (estimator.name) {
      case "reinmax":
        d = est.reinmaxBackward(theta, s, g, [0, 0], estimator.tau);
        break;
      case "st":
        d = est.stBackward(theta, s, g, [0, 0], estimator.tau);
        break;
      case "gst":
        d = est.gstBackward(theta, s, g, [0, 0], estimator.tau, estimator.gap ?? 1);
        break;
      case "stgs":
      case "grmck": {
        const k = estimator.name === "stgs" ? 1 : estimator.k ?? 10;
        const draws = Array.from(
          { length: k },
          (_, j) =>
            est.conditionalPerturbed(
              theta,
              s,
              est.streamExponentials(2, j, r, estimator.key, estimator.stream, estimator.tag),
            ),
        );
        d = est.gumbelBackward(theta, s, g, [0, 0], estimator.tau, draws);
        break;
      }
      default:
        throw new Error(`${estimator.name} has no pathwise backward`);
    }
    // The pair is (a, 1 − a): ∂/∂a = ∂/∂θ₀ − ∂/∂θ₁.
    dA[r % (count * L)] += d[0] - d[1];
  }
  layers.kl_bernoulli_backward(dA, grads.get("prior.logits")!, a, prior, count, L, 1 / count);
  mlpBackward(params, grads, "encoder", encoderSizes, encoder, dA, count, slope);
  return { reconstruction, kl, grads };
}

type ScoreName = "rloo" | "disarm" | "arms" | "doublecv" | "rodeo";
const isScore = (name: string): name is ScoreName =>
  ["rloo", "disarm", "arms", "doublecv", "rodeo"].includes(name);

/**
 * dA (accumulated) of a score-function estimator from the K codes z of each of `count` images and their
 * reconstruction losses f: the loss is the mean over count·K rows, so dA = (1/count)·∂E[f]/∂a = (2/count)·g.
 * Double CV's α (parameter "estimator.alpha") gets the gradient of the mean of g² over the images' latents.
 */
function scoreBackward(
  name: ScoreName,
  params: Params,
  grads: Params,
  a: F64,
  z: F64,
  f: F64,
  dz: F64,
  count: number,
  K: number,
  L: number,
  dA: F64,
): void {
  // dz is ∂(mean over count·K rows)/∂z: ∂f_t/∂z_t is count·K times it.
  const gradF = (t: number, b: number, l: number) => dz[t * count * L + b * L + l] * count * K;
  const bit = (t: number, b: number, l: number) => z[t * count * L + b * L + l];
  if (name === "rodeo") {
    const gA = rodeoBackward(params, grads, a, bit, gradF, f, count, K, L);
    for (let j = 0; j < gA.length; j++) dA[j] += (2 / count) * gA[j];
    return;
  }
  const alpha = name === "doublecv" ? params.get("estimator.alpha")![0] : 0;
  let alphaGrad = 0;
  for (let b = 0; b < count; b++) {
    const p = Array.from({ length: L }, (_, l) => est.sigmoid(est.bernoulliLogit(a[b * L + l])));
    const c = Array.from({ length: K }, (_, t) => {
      let sum = 0;
      for (let l = 0; l < L; l++) {
        let others = 0;
        for (let j = 0; j < K; j++) if (j !== t) others += gradF(j, b, l);
        sum += (bit(t, b, l) - p[l]) * others / (K - 1);
      }
      return sum;
    });
    const losses = Array.from({ length: K }, (_, t) => f[t * count + b]);
    for (let l = 0; l < L; l++) {
      const bits = Array.from({ length: K }, (_, t) => bit(t, b, l));
      let gradMean = 0;
      for (let t = 0; t < K; t++) gradMean += gradF(t, b, l) / K;
      const { g, dg } = est.scoreGradient(name, est.bernoulliLogit(a[b * L + l]), bits, losses, {
        c,
        gradMean,
        alpha,
      });
      dA[b * L + l] += (2 / count) * g;
      alphaGrad += (2 * g * dg) / (count * L);
    }
  }
  if (name === "doublecv") grads.get("estimator.alpha")![0] = alphaGrad;
}

/**
 * RODEO's estimate for every image, and the gradient of its mean square into α, β and the control network:
 * the network by central differences of the mean square in each of its outputs, then its own backward; α and
 * β by central differences. Returns ĝ (count × L).
 */
function rodeoBackward(
  params: Params,
  grads: Params,
  a: F64,
  bit: (t: number, b: number, l: number) => number,
  gradF: (t: number, b: number, l: number) => number,
  f: F64,
  count: number,
  K: number,
  L: number,
): F64 {
  const sizes = [2, 100, 2], slope = 0.3, net = "estimator.control";
  const rowOf = (k: number, jj: number, b: number, i: number) =>
    ((k * (K - 1) + jj) * count + b) * (L + 1) + i;
  const rows = K * (K - 1) * count * (L + 1), inputs = new Float64Array(rows * 2);
  const x = (b: number) =>
    Array.from({ length: K }, (_, t) => Array.from({ length: L }, (_, l) => bit(t, b, l)));
  const grad = (b: number) =>
    Array.from({ length: K }, (_, t) => Array.from({ length: L }, (_, l) => gradF(t, b, l)));
  const losses = (b: number) => Array.from({ length: K }, (_, t) => f[t * count + b]);
  const probabilities = (b: number) =>
    Array.from({ length: L }, (_, l) => est.sigmoid(est.bernoulliLogit(a[b * L + l])));
  for (let b = 0; b < count; b++) {
    for (let k = 0; k < K; k++) {
      for (let jj = 0; jj < K - 1; jj++) {
        const j = jj < k ? jj : jj + 1;
        for (let i = 0; i <= L; i++) {
          inputs.set(est.rodeoInput(x(b), losses(b), grad(b), k, j, i), 2 * rowOf(k, jj, b, i));
        }
      }
    }
  }
  const trace = mlpForward(params, net, sizes, inputs, rows, slope);
  const out = trace.linears[trace.linears.length - 1];
  const estimate = (o: F64, alpha: number, beta: number) => {
    const g = new Float64Array(count * L);
    for (let b = 0; b < count; b++) {
      const control = (k: number, jj: number, i: number) => {
        const r = rowOf(k, jj, b, i);
        return [o[2 * r], o[2 * r + 1]] as const;
      };
      g.set(est.rodeoEstimate(x(b), probabilities(b), losses(b), control, alpha, beta), b * L);
    }
    return g;
  };
  const [alpha, beta] = params.get("estimator.weights")!;
  const meanSquare = (g: F64) => g.reduce((s, v) => s + v * v, 0) / g.length;
  const h = 1e-6;
  const dOut = new Float64Array(out.length);
  for (let j = 0; j < out.length; j++) {
    const o = Float64Array.from(out);
    o[j] += h;
    const up = meanSquare(estimate(o, alpha, beta));
    o[j] -= 2 * h;
    dOut[j] = (up - meanSquare(estimate(o, alpha, beta))) / (2 * h);
  }
  mlpBackward(params, grads, net, sizes, trace, dOut, rows, slope);
  const weights = grads.get("estimator.weights")!;
  weights[0] = (meanSquare(estimate(out, alpha + h, beta)) - meanSquare(estimate(out, alpha - h, beta))) /
    (2 * h);
  weights[1] = (meanSquare(estimate(out, alpha, beta + h)) - meanSquare(estimate(out, alpha, beta - h))) /
    (2 * h);
  return estimate(out, alpha, beta);
}

/** RELAX's draw of each latent from words 0 and 1 of its row, as relax_sample (docs/math.md §2.9.6). */
function relaxDraw(a: F64, spec: EstimatorSpec) {
  const open = (w: number) => ((w >>> 9) + 0.5) * 2 ** -23;
  const clip = (q: number) => Math.log(Math.max(q, 1e-6));
  const bits: number[] = [], z: number[] = [], v: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const theta = 2 * a[i] - 1, u = open(streamWord(0, i, spec.key, spec.stream, spec.tag));
    v.push(open(streamWord(1, i, spec.key, spec.stream, spec.tag)));
    z.push(theta + Math.log(u) - Math.log(1 - u));
    bits.push(z[i] > 0 ? 1 : 0);
  }
  /** z̃ of latent i given its bit, at logit θ: θ + logit v′. */
  const zTilde = (i: number, theta: number) => {
    const p = est.sigmoid(theta), vp = bits[i] ? v[i] * p + 1 - p : v[i] * (1 - p);
    return theta + clip(vp) - clip(1 - vp);
  };
  return { bits, z, zTilde };
}

/**
 * RELAX's estimate for every image (docs/math.md §2.9.6), with c(z) = −s·f(σ(z/τ)) + s·r(x, z): the decoder's
 * and the network's gradients in z by their own backward, ∂z̃/∂θ by central differences; then the gradient of
 * the estimate's mean square into s and the network's parameters by central differences. Returns ĝ.
 */
function relaxBackward(
  params: Params,
  grads: Params,
  a: F64,
  draw: ReturnType<typeof relaxDraw>,
  x: F64,
  f: F64,
  count: number,
  L: number,
  D: number,
  decoderSizes: number[],
  slope: number,
  tau: number,
): F64 {
  const net = "estimator.control", netSizes = [D + L, 137, 1], sigma = est.sigmoid;
  const image = (n: number) => x.subarray(n * D, (n + 1) * D);
  // The decoder's loss at a relaxed code of image n, and its gradient in the code.
  const decoder = (n: number, zeta: F64) => {
    const trace = mlpForward(params, "decoder", decoderSizes, zeta, 1, slope);
    const out = trace.linears[trace.linears.length - 1],
      loss = new Float64Array(1),
      dOut = new Float64Array(D);
    layers.bce_logits_forward(loss, out, image(n), 1, D);
    layers.bce_logits_backward(dOut, out, image(n), D, 1);
    const grad = mlpBackward(params, zerosLike(params), "decoder", decoderSizes, trace, dOut, 1, slope);
    return { loss: loss[0], grad };
  };
  const network = (p: Params, n: number, z: number[]) => {
    const input = Float64Array.from([...image(n), ...z]);
    const trace = mlpForward(p, net, netSizes, input, 1, 0.3);
    const dInput = mlpBackward(p, zerosLike(p), net, netSizes, trace, Float64Array.of(1), 1, 0.3);
    return { r: trace.linears[1][0], dz: Array.from(dInput.subarray(D)) };
  };
  const zTilde = (n: number) =>
    Array.from({ length: L }, (_, l) => draw.zTilde(n * L + l, 2 * a[n * L + l] - 1));
  const estimate = (p: Params, s: number) => {
    const g = new Float64Array(count * L);
    for (let n = 0; n < count; n++) {
      const z = draw.z.slice(n * L, (n + 1) * L), zt = zTilde(n);
      const at = (codes: number[]) => ({
        dec: decoder(n, Float64Array.from(codes, (v) => sigma(v / tau))),
        net: network(p, n, codes),
      });
      const plain = at(z), tilde = at(zt);
      const signal = s * (tilde.net.r - tilde.dec.loss);
      for (let l = 0; l < L; l++) {
        const i = n * L + l, theta = 2 * a[i] - 1, d = draw.bits[i] - sigma(theta);
        // ∂c/∂z_l of either code: −s·f′·σ′(z/τ)/τ + s·∂r/∂z_l.
        const dc = (point: typeof plain, code: number) => {
          const q = sigma(code / tau);
          return s * (-point.dec.grad[l] * q * (1 - q) / tau + point.net.dz[l]);
        };
        const h = 1e-6;
        const slopeTilde = (draw.zTilde(i, theta + h) - draw.zTilde(i, theta - h)) / (2 * h);
        g[i] = (f[n] + signal) * d - dc(plain, z[l]) + dc(tilde, zt[l]) * slopeTilde;
      }
    }
    return g;
  };
  const s0 = params.get("estimator.scale")![0];
  const meanSquare = (g: F64) => g.reduce((sum, v) => sum + v * v, 0) / g.length;
  const h = 1e-6;
  for (const label of [`${net}.fc1.weight`, `${net}.fc1.bias`, `${net}.fc2.weight`, `${net}.fc2.bias`]) {
    const values = params.get(label)!, grad = grads.get(label)!;
    for (let j = 0; j < values.length; j++) {
      const kept = values[j];
      values[j] = kept + h;
      const up = meanSquare(estimate(params, s0));
      values[j] = kept - h;
      const down = meanSquare(estimate(params, s0));
      values[j] = kept;
      grad[j] = (up - down) / (2 * h);
    }
  }
  grads.get("estimator.scale")![0] =
    (meanSquare(estimate(params, s0 + h)) - meanSquare(estimate(params, s0 - h))) /
    (2 * h);
  return estimate(params, s0);
}
