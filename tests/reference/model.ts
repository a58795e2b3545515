// Float64 oracle of a declared model's training step (docs/math.md §6.5): every layer kind, stochastic layer
// and likelihood written out here from the formulas, independently of src/layers/, and composed as a model
// composes them — the K codes of a stochastic layer as K copies of the rows one after another, labels and
// targets copied alike. Parameters are named as the model names them.
import * as est from "./estimators.ts";
import * as layers from "./layers.ts";

type F64 = Float64Array;
export type Params = Map<string, F64>;

/** A layer as declared (the fields the oracle reads). */
export type LayerSpec =
  | { kind: "linear"; outSize: number; name?: string }
  | { kind: "relu" | "tanh" | "sigmoid"; name?: string }
  | { kind: "leakyRelu"; slope: number; name?: string }
  | {
    kind: "categorical" | "bernoulli";
    categories?: number;
    latents: number;
    estimator: { name: string; tau: number; k: number; gap: number };
    prior: "uniform" | "learned";
    kl: boolean;
    evaluations: number;
    name?: string;
  };

export type LikelihoodSpec =
  | { kind: "bernoulli" }
  | { kind: "gaussian"; sigma: number }
  | { kind: "categorical"; classes: number };

/** The stream of a step: the Gumbel family's draws. */
export interface StepStream {
  readonly key: readonly [number, number];
  readonly stream: number;
  readonly tag: number;
}

export interface ModelStepResult {
  /** The likelihood's score of each row (examples × the evaluations of the stochastic layers). */
  readonly likelihood: F64;
  /** Each stochastic layer's KL per row at its input, by layer index (those with kl: true). */
  readonly kl: Map<number, F64>;
  /** ∂(batch-mean loss)/∂ every parameter. */
  readonly grads: Params;
}

const nameOf = (spec: LayerSpec, i: number) => spec.name ?? `layers.${i}`;

/** Each layer's parameters, as the model declares and initialises them: labels, shapes, bounds. */
export function parameterShapes(
  inputSize: number,
  specs: readonly LayerSpec[],
): { label: string; shape: number[]; bound: number }[] {
  const out: { label: string; shape: number[]; bound: number }[] = [];
  let width = inputSize;
  specs.forEach((spec, i) => {
    const name = nameOf(spec, i);
    if (spec.kind === "linear" || spec.kind === "categorical" || spec.kind === "bernoulli") {
      const outSize = spec.kind === "linear"
        ? spec.outSize
        : spec.latents * (spec.kind === "categorical" ? spec.categories! : 1);
      out.push({ label: `${name}.weight`, shape: [width, outSize], bound: 1 / Math.sqrt(width) });
      out.push({ label: `${name}.bias`, shape: [outSize], bound: 1 / Math.sqrt(width) });
      if (spec.kind !== "linear" && spec.prior === "learned") {
        const shape = spec.kind === "categorical" ? [spec.latents, spec.categories!] : [spec.latents];
        out.push({ label: `${name}.prior`, shape, bound: 0 });
      }
      width = spec.kind === "linear" ? spec.outSize : spec.kind === "categorical" ? outSize : spec.latents;
    }
  });
  return out;
}

function softmaxRow(x: F64, at: number, n: number): number[] {
  let m = -Infinity;
  for (let c = 0; c < n; c++) m = Math.max(m, x[at + c]);
  const e = Array.from({ length: n }, (_, c) => Math.exp(x[at + c] - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** K copies of `x` one after another, as the `tile` kernel lays them out. */
function tile(x: F64, times: number): F64 {
  const out = new Float64Array(x.length * times);
  for (let t = 0; t < times; t++) out.set(x, t * x.length);
  return out;
}

interface Trace {
  readonly spec: LayerSpec;
  readonly input: F64;
  readonly rows: number;
  readonly output: F64;
  /** Stochastic layers: the logits (rows × width of the projection), their K copies, the samples. */
  readonly logits?: F64;
  readonly sample?: Int32Array;
}

/**
 * One forward and backward pass of a declared model on `count` examples `x` (count × inputSize), with the
 * categories of each stochastic layer forced (`samples` by layer index: rows of K copies × examples × latents),
 * `labels` for the categorical likelihood.
 */
export function modelStep(
  inputSize: number,
  specs: readonly LayerSpec[],
  likelihood: LikelihoodSpec,
  params: Params,
  x: F64,
  count: number,
  samples: ReadonlyMap<number, Int32Array>,
  labels: readonly number[] | undefined,
  stream: StepStream,
): ModelStepResult {
  const traces: Trace[] = [];
  const kl = new Map<number, F64>();
  let h = x.slice(0, count * inputSize), width = inputSize, rows = count;
  specs.forEach((spec, i) => {
    const name = nameOf(spec, i);
    if (spec.kind === "linear") {
      const out = new Float64Array(rows * spec.outSize);
      layers.linear_forward(
        out,
        h,
        params.get(`${name}.weight`)!,
        params.get(`${name}.bias`)!,
        rows,
        width,
        spec.outSize,
      );
      traces.push({ spec, input: h, rows, output: out });
      h = out;
      width = spec.outSize;
    } else if (spec.kind === "categorical" || spec.kind === "bernoulli") {
      const L = spec.latents, C = spec.kind === "categorical" ? spec.categories! : 2, K = spec.evaluations;
      const projected = spec.kind === "categorical" ? L * C : L;
      const logits = new Float64Array(rows * projected);
      layers.linear_forward(
        logits,
        h,
        params.get(`${name}.weight`)!,
        params.get(`${name}.bias`)!,
        rows,
        width,
        projected,
      );
      const sample = samples.get(i)!;
      const outRows = rows * K;
      if (spec.kl) {
        const k = new Float64Array(rows);
        if (spec.kind === "categorical") {
          const prior = spec.prior === "learned" ? params.get(`${name}.prior`)! : new Float64Array(L * C);
          for (let r = 0; r < rows; r++) {
            for (let l = 0; l < L; l++) {
              const q = softmaxRow(logits, (r * L + l) * C, C), p = softmaxRow(prior, l * C, C);
              for (let c = 0; c < C; c++) k[r] += q[c] * (Math.log(q[c]) - Math.log(p[c]));
            }
          }
        } else {
          const prior = spec.prior === "learned" ? params.get(`${name}.prior`)! : new Float64Array(L);
          layers.kl_bernoulli_forward(k, logits, prior, rows, L);
        }
        kl.set(i, k);
      }
      // The codes out: one-hot rows for a categorical layer, the bits z = D[0] for a Bernoulli one.
      const out = new Float64Array(outRows * (spec.kind === "categorical" ? L * C : L));
      for (let r = 0; r < outRows * L; r++) {
        if (spec.kind === "categorical") out[r * C + sample[r]] = 1;
        else out[r] = sample[r] === 0 ? 1 : 0;
      }
      traces.push({ spec, input: h, rows, output: out, logits, sample });
      h = out;
      width = spec.kind === "categorical" ? L * C : L;
      rows = outRows;
    } else {
      const out = new Float64Array(h.length);
      for (let j = 0; j < h.length; j++) {
        const v = h[j];
        out[j] = spec.kind === "relu"
          ? Math.max(v, 0)
          : spec.kind === "leakyRelu"
          ? (v > 0 ? v : spec.slope * v)
          : spec.kind === "tanh"
          ? Math.tanh(v)
          : 1 / (1 + Math.exp(-v));
      }
      traces.push({ spec, input: h, rows, output: out });
      h = out;
    }
  });

  // The likelihood's score of each row, and the gradient of their mean.
  const F = rows / count, scale = 1 / rows;
  const score = new Float64Array(rows), dOut = new Float64Array(h.length);
  if (likelihood.kind === "categorical") {
    for (let r = 0; r < rows; r++) {
      const p = softmaxRow(h, r * width, width), label = labels![r % count];
      score[r] = -Math.log(p[label]);
      for (let c = 0; c < width; c++) dOut[r * width + c] = scale * (p[c] - (c === label ? 1 : 0));
    }
  } else {
    const target = tile(x.slice(0, count * inputSize), F);
    if (likelihood.kind === "bernoulli") {
      layers.bce_logits_forward(score, h, target, rows, width);
      layers.bce_logits_backward(dOut, h, target, h.length, scale);
    } else {
      const s2 = likelihood.sigma ** 2;
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < width; j++) {
          const d = h[r * width + j] - target[r * width + j];
          score[r] += (d * d) / (2 * s2);
          dOut[r * width + j] = (scale * d) / s2;
        }
        score[r] += width * (Math.log(likelihood.sigma) + 0.5 * Math.log(2 * Math.PI));
      }
    }
  }

  // Backward, layer by layer from the top.
  const grads = new Map([...params].map(([label, v]) => [label, new Float64Array(v.length)]));
  let dy = dOut;
  for (let i = traces.length - 1; i >= 0; i--) {
    const t = traces[i], spec = t.spec, name = nameOf(spec, i);
    const inWidth = t.input.length / t.rows;
    if (spec.kind === "linear") {
      const dx = new Float64Array(t.input.length);
      layers.linear_backward(
        dx,
        grads.get(`${name}.weight`)!,
        grads.get(`${name}.bias`)!,
        dy,
        t.input,
        params.get(`${name}.weight`)!,
        t.rows,
        inWidth,
        spec.outSize,
        1,
      );
      dy = dx;
    } else if (spec.kind === "categorical" || spec.kind === "bernoulli") {
      const L = spec.latents, K = spec.evaluations, C = spec.kind === "categorical" ? spec.categories! : 2;
      const logits = t.logits!, sample = t.sample!, projected = logits.length / t.rows;
      // The n-th stochastic layer (from 0) draws under tag + 256·n (docs/math.md §3.2).
      const n = traces.slice(0, i).filter((u) => u.spec.kind === "categorical" || u.spec.kind === "bernoulli")
        .length;
      const layerStream = { ...stream, tag: stream.tag + 256 * n };
      const dLogits = new Float64Array(logits.length);
      const zeros = new Array(C).fill(0);
      for (let r = 0; r < t.rows * K * L; r++) {
        // Row r of the K copies: copy ⌊r / (rows·L)⌋ of row r mod (rows·L).
        const base = r % (t.rows * L);
        const theta = spec.kind === "categorical"
          ? Array.from(logits.subarray(base * C, (base + 1) * C))
          : [logits[base], 1 - logits[base]];
        const g = spec.kind === "categorical" ? Array.from(dy.subarray(r * C, (r + 1) * C)) : [dy[r], 0];
        const d = estimatorRow(spec.estimator, theta, sample[r], g, zeros, r, layerStream);
        if (spec.kind === "categorical") { for (let c = 0; c < C; c++) dLogits[base * C + c] += d[c]; }
        else dLogits[base] += d[0] - d[1];
      }
      if (spec.kl) {
        const klScale = 1 / t.rows;
        if (spec.kind === "categorical") {
          const prior = spec.prior === "learned" ? params.get(`${name}.prior`)! : new Float64Array(L * C);
          const dPrior = spec.prior === "learned" ? grads.get(`${name}.prior`)! : new Float64Array(L * C);
          for (let r = 0; r < t.rows; r++) {
            for (let l = 0; l < L; l++) {
              const at = (r * L + l) * C, q = softmaxRow(logits, at, C), p = softmaxRow(prior, l * C, C);
              const dv = q.map((qc, c) => Math.log(qc) - Math.log(p[c]));
              const mean = q.reduce((s, qc, c) => s + qc * dv[c], 0);
              for (let c = 0; c < C; c++) {
                dLogits[at + c] += klScale * q[c] * (dv[c] - mean);
                dPrior[l * C + c] += klScale * (p[c] - q[c]);
              }
            }
          }
        } else {
          const prior = spec.prior === "learned" ? params.get(`${name}.prior`)! : new Float64Array(L);
          const dPrior = spec.prior === "learned" ? grads.get(`${name}.prior`)! : new Float64Array(L);
          layers.kl_bernoulli_backward(dLogits, dPrior, logits, prior, t.rows, L, klScale);
        }
      }
      const dx = new Float64Array(t.input.length);
      layers.linear_backward(
        dx,
        grads.get(`${name}.weight`)!,
        grads.get(`${name}.bias`)!,
        dLogits,
        t.input,
        params.get(`${name}.weight`)!,
        t.rows,
        inWidth,
        projected,
        1,
      );
      dy = dx;
    } else {
      const dx = new Float64Array(dy.length);
      for (let j = 0; j < dy.length; j++) {
        const v = t.input[j], y = t.output[j];
        const slope = spec.kind === "relu"
          ? (v > 0 ? 1 : 0)
          : spec.kind === "leakyRelu"
          ? (v > 0 ? 1 : spec.slope)
          : spec.kind === "tanh"
          ? 1 - y * y
          : y * (1 - y);
        dx[j] = dy[j] * slope;
      }
      dy = dx;
    }
  }
  return { likelihood: score, kl, grads };
}

/** One row's estimator gradient (docs/math.md §2), the Gumbel family's draws from row `r` of the stream. */
function estimatorRow(
  e: { name: string; tau: number; k: number; gap: number },
  theta: number[],
  s: number,
  g: number[],
  h: number[],
  r: number,
  stream: StepStream,
): number[] {
  switch (e.name) {
    case "reinmax":
      return est.reinmaxBackward(theta, s, g, h, e.tau);
    case "st":
      return est.stBackward(theta, s, g, h, e.tau);
    case "gst":
      return est.gstBackward(theta, s, g, h, e.tau, e.gap);
    default: {
      const draws = Array.from({ length: e.k }, (_, j) =>
        est.conditionalPerturbed(
          theta,
          s,
          est.streamExponentials(theta.length, j, r, stream.key, stream.stream, stream.tag),
        ));
      return est.gumbelBackward(theta, s, g, h, e.tau, draws);
    }
  }
}
