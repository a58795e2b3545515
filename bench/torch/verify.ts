// Proof that the two sides of the side-by-side benchmark compute the same training step: PyTorch is given
// reinmax's initial parameters, the same batch, the categories reinmax draws and, for GR-MCK, the
// exponentials behind its Gumbel draws (recomputed on the host from the same Philox words, docs/math.md §2.5,
// §3.3); both take one step, and the loss, every gradient and every parameter change are compared.
import type { Backend } from "../../src/backend.ts";
import { readF32 } from "../../src/backend.ts";
import { type Estimator, estimator, type EstimatorName } from "../../src/estimators.ts";
import { st } from "../../src/logit_estimators.ts";
import { BernoulliVae } from "../../src/models/bernoulli_vae.ts";
import { type CategoricalConfig, CategoricalVae } from "../../src/models/categorical_vae.ts";
import type { TrainableModel } from "../../src/models/model.ts";
import { PolyProgramming } from "../../src/models/poly.ts";
import { philoxBlock, TAG } from "../../src/random.ts";
import type { TorchProcess } from "./torch_process.ts";

/** Tolerances, relative to the largest magnitude on the PyTorch side (f32 sums in different orders). */
const TOLERANCE = { loss: 1e-5, gradient: 1e-3, change: 1e-2 };

/** The benchmark's images (also those of bench/torch/models.py): ((i·7919) mod 256)/255. */
export function syntheticImages(batch: number): Float32Array {
  return Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 7919) % 256) / 255);
}

/**
 * The Exp(1) draws of GR-MCK's backward at the estimator tag, laid out (k, rows, n): draw j of row r takes
 * E_i from word 1 + j·n + i of the row's stream, E = −log((⌊w/2⁹⌋ + ½)·2⁻²³) (docs/math.md §2.5, §3.3).
 */
export function gumbelExponentials(
  key: readonly [number, number],
  stream: number,
  rows: number,
  n: number,
  k: number,
): Float32Array {
  const out = new Float32Array(k * rows * n), block = new Uint32Array(4);
  const words = new Uint32Array(4 * Math.ceil((1 + k * n) / 4));
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < words.length / 4; b++) {
      philoxBlock(block, b, r, stream, TAG.estimator, key[0], key[1]);
      words.set(block, 4 * b);
    }
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < n; i++) {
        const w = words[1 + j * n + i];
        out[(j * rows + r) * n + i] = -Math.log((Math.floor(w / 512) + 0.5) * 2 ** -23);
      }
    }
  }
  return out;
}

/** max |ours − theirs| / max |theirs|, over the entries `where` keeps. */
function relativeError(
  ours: Float32Array,
  theirs: Float32Array,
  where: (i: number) => boolean = () => true,
): number {
  if (ours.length !== theirs.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < ours.length; i++) {
    scale = Math.max(scale, Math.abs(theirs[i]));
    if (where(i)) diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

function maxAbs(values: Float32Array): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

async function readParameters(
  model: TrainableModel,
  of: "value" | "grad",
): Promise<Map<string, Float32Array>> {
  model.backend.submit();
  const out = new Map<string, Float32Array>();
  for (const p of model.parameters) {
    out.set(p.label, (await readF32(model.backend, p[of].buffer)).slice(0, p.length));
  }
  return out;
}

/** One verification: a model, how it takes its first forward-backward, and what PyTorch is told. */
interface Case {
  readonly title: string;
  readonly request: Record<string, unknown>;
  readonly model: TrainableModel;
  readonly estimator: Estimator;
  readonly images?: Float32Array;
  /** Runs reinmax's forward-backward of step 0; returns the categories it drew (or was given). */
  readonly forwardBackward: () => Promise<Int32Array>;
  readonly readLosses: () => Promise<number[]>;
  readonly rows: number;
  readonly n: number;
}

const TAUS: Record<string, Record<string, number>> = {
  poly: { reinmax: 1, st: 1, grmck: 0.5 },
  categorical: { reinmax: 1.3, st: 1.3, grmck: 0.5 },
  bernoulli: { reinmax: 1.1, st: 1.1, grmck: 0.5 },
};

function describeEstimator(task: string, name: EstimatorName): Estimator {
  return estimator(name, { tau: TAUS[task][name], k: 10 });
}

function polyCase(backend: Backend, name: EstimatorName, batch: number): Case {
  const est = describeEstimator("poly", name);
  const model = new PolyProgramming(backend, { batch, estimator: est });
  const latents = model.latents;
  return {
    title: `poly L=${latents} batch ${batch}`,
    request: { task: "poly", batch, sampleShape: [batch, latents], n: 2 },
    model,
    estimator: est,
    rows: batch * latents,
    n: 2,
    forwardBackward: async () => {
      // Step 0 samples the tiled θ at stream 0 of the estimator tag, as the public `st` draws: same words.
      const theta = await model.readTheta();
      const tiled = new Float32Array(batch * theta.length);
      for (let b = 0; b < batch; b++) tiled.set(theta, b * theta.length);
      const { sample } = await st(backend, tiled, { n: 2, seed: model.seed, stream: 0 });
      model.forwardBackward();
      return sample;
    },
    readLosses: async () => [...await model.readLosses()],
  };
}

function categoricalCase(backend: Backend, name: EstimatorName, config: CategoricalConfig): Case {
  const est = describeEstimator("categorical", name);
  const model = new CategoricalVae(backend, { config, estimator: est });
  const { batch, latents, categories } = model;
  const images = syntheticImages(batch);
  return {
    title: `categorical VAE ${config} batch ${batch}`,
    request: { task: "categorical", config, batch, sampleShape: [batch, latents], n: categories },
    model,
    estimator: est,
    images,
    rows: batch * latents,
    n: categories,
    forwardBackward: async () => {
      const logits = await model.encode(images, batch);
      const { sample } = await st(backend, logits, { n: categories, seed: model.seed, stream: 0 });
      model.forwardBackward(images);
      return sample;
    },
    readLosses: async () => {
      const { reconstruction, kl } = await model.readLosses();
      return [reconstruction[0], kl[0]];
    },
  };
}

function bernoulliCase(backend: Backend, name: EstimatorName): Case {
  const est = describeEstimator("bernoulli", name);
  // Grey-level targets: the dynamic binarisation's draws are reinmax's own and not visible from outside.
  const model = new BernoulliVae(backend, { estimator: est, binarize: "none" });
  const { batch, latents } = model;
  const images = syntheticImages(batch);
  return {
    title: `Bernoulli VAE 2×${latents} batch ${batch} (grey targets)`,
    request: { task: "bernoulli", batch, sampleShape: [batch, latents], n: 2 },
    model,
    estimator: est,
    images,
    rows: batch * latents,
    n: 2,
    forwardBackward: () => {
      const sample = Int32Array.from({ length: batch * latents }, (_, i) => ((i * 2654435761) >>> 31) & 1);
      model.forwardBackward(images, batch, { sample });
      return Promise.resolve(sample);
    },
    readLosses: async () => {
      const { reconstruction, kl } = await model.readLosses();
      return [reconstruction[0], kl[0]];
    },
  };
}

async function writeF32(path: string, values: Float32Array | Int32Array): Promise<void> {
  await Deno.writeFile(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

async function readF32File(path: string): Promise<Float32Array> {
  const bytes = await Deno.readFile(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Runs one case on both sides; returns the worst relative errors. */
async function verifyCase(torch: TorchProcess, c: Case, name: EstimatorName) {
  const dir = await Deno.makeTempDir({ prefix: "reinmax-verify-" });
  try {
    const before = await readParameters(c.model, "value");
    for (const [label, values] of before) await writeF32(`${dir}/${label}.f32`, values);
    if (c.images) await writeF32(`${dir}/images.f32`, c.images);
    const sample = await c.forwardBackward();
    await writeF32(`${dir}/sample.i32`, sample);
    const est = c.estimator;
    if (name === "grmck") {
      const key = [c.model.seed % 2 ** 32, Math.floor(c.model.seed / 2 ** 32)] as const;
      await writeF32(`${dir}/exponentials.f32`, gumbelExponentials(key, 0, c.rows, c.n, est.k));
    }
    const losses = await c.readLosses();
    const grads = await readParameters(c.model, "grad");
    c.model.update();
    const after = await readParameters(c.model, "value");
    const answer = await torch.request<{ losses: number[] }>({
      op: "verify",
      ...c.request,
      estimator: name,
      tau: est.tau,
      k: est.k,
      dir,
    });
    // The total: the KL of near-uniform posteriors is a small difference of large terms in f32.
    const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const lossError = Math.abs(total(losses) - total(answer.losses)) / Math.abs(total(answer.losses));
    let gradError = 0, changeError = 0, worst = "";
    for (const [label, grad] of grads) {
      const theirGrad = await readF32File(`${dir}/grad.${label}.f32`);
      const e = relativeError(grad, theirGrad);
      if (e > gradError) [gradError, worst] = [e, label];
      const theirs = await readF32File(`${dir}/after.${label}.f32`), start = before.get(label)!;
      const ours = after.get(label)!;
      // Adam's first step is lr·g/(|g| + ε): it turns a rounding-level difference in a gradient near ε
      // into a difference of order lr, so the change is compared where |g| ≥ 10⁻³·max |g|.
      const large = 1e-3 * maxAbs(theirGrad);
      changeError = Math.max(
        changeError,
        relativeError(
          ours.map((v, i) => v - start[i]),
          theirs.map((v, i) => v - start[i]),
          (i) => Math.abs(theirGrad[i]) >= large,
        ),
      );
    }
    return { lossError, gradError, changeError, worst, losses, theirs: answer.losses };
  } finally {
    c.model.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Verifies every model and estimator of the benchmark; prints one line each; true when all agree. */
export async function verifyFirstSteps(backend: Backend, torch: TorchProcess): Promise<boolean> {
  const estimators: EstimatorName[] = ["reinmax", "st", "grmck"];
  const makers: ((name: EstimatorName) => Case)[] = [
    (name) => polyCase(backend, name, 64),
    (name) => categoricalCase(backend, name, "10x30"),
    (name) => categoricalCase(backend, name, "8x4"),
    (name) => bernoulliCase(backend, name),
  ];
  console.log(
    "First step, reinmax (WASM) against PyTorch from the same parameters, batch and draws — relative errors " +
      `(tolerances: loss ${TOLERANCE.loss}, gradients ${TOLERANCE.gradient}, parameter change ${TOLERANCE.change}):`,
  );
  let ok = true;
  for (const make of makers) {
    for (const name of estimators) {
      const c = make(name), title = c.title;
      const r = await verifyCase(torch, c, name);
      const pass = r.lossError <= TOLERANCE.loss && r.gradError <= TOLERANCE.gradient &&
        r.changeError <= TOLERANCE.change;
      ok &&= pass;
      console.log(
        `  ${pass ? "ok  " : "FAIL"} ${title}, ${name}: loss ${r.lossError.toExponential(1)} ` +
          `(${r.losses.map((l) => l.toFixed(4)).join(" + ")}), gradients ${r.gradError.toExponential(1)} ` +
          `(worst ${r.worst}), parameter change ${r.changeError.toExponential(1)}`,
      );
    }
  }
  return ok;
}
