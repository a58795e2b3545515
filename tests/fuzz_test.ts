// A property-based fuzz of the public API: every exported function and class is called many times with one
// argument or option replaced by something hostile (wrong types, NaN, ±∞, negative, fractional and huge
// numbers, wrong arrays). Each call must end in one of the SDK's typed errors or a correct result — never an
// untyped error or a hang — and afterwards the backend must still answer a valid call correctly, with
// bytesAllocated back where it was.
import { assert, assertEquals } from "@std/assert";
import * as sdk from "../mod.ts";
import { fileReader } from "../examples/data_source.ts";
import { forEachBackend } from "./backends.ts";
import { testRandom } from "./util.ts";
import type { Backend } from "../mod.ts";

const TYPED: (new (...args: never[]) => Error)[] = [
  sdk.ReinmaxInputError,
  sdk.DatasetError,
  sdk.NonFiniteError,
  sdk.BackendMemoryError,
  sdk.BackendUnavailableError,
];

const HOSTILE: readonly unknown[] = [
  undefined,
  null,
  NaN,
  Infinity,
  -Infinity,
  -1,
  0,
  0.5,
  -0.5,
  3,
  2 ** 31,
  2 ** 53,
  1e300,
  "",
  "st",
  true,
  {},
  [],
  [1, 2],
  Symbol("hostile"),
  10n,
  () => 1,
  new Float32Array(0),
  Float32Array.of(NaN, 1),
  Float32Array.of(0.5, 0.25, 1, 0),
  new Int32Array(3),
  new Uint8Array(5),
];

/** One kind of call: a builder of valid arguments, and what to do with its result. */
interface Template {
  readonly name: string;
  readonly args: () => unknown[];
  readonly call: (...args: unknown[]) => unknown;
  /** Checks a successful result and releases what it holds. */
  readonly settle?: (result: unknown) => Promise<void> | void;
}

/** Four small MNIST-like files, served from memory. */
function mnistReader(): sdk.FileReader {
  const files = new Map<string, Uint8Array>([
    ["train-images-idx3-ubyte", sdk.encodeIdx("u8", [3, 2, 2], new Uint8Array(12).fill(7))],
    ["train-labels-idx1-ubyte", sdk.encodeIdx("u8", [3], Uint8Array.of(0, 1, 2))],
    ["t10k-images-idx3-ubyte", sdk.encodeIdx("u8", [1, 2, 2], new Uint8Array(4))],
    ["t10k-labels-idx1-ubyte", sdk.encodeIdx("u8", [1], Uint8Array.of(3))],
  ]);
  return (name) => Promise.resolve(files.get(name));
}

function templates(backend: Backend): Template[] {
  const tiny = () => ({ categories: 3, latents: 2, inputSize: 6, hidden: [4], batch: 2, readEvery: 3 });
  const images = () =>
    new sdk.ImageSet({ name: "fuzz", count: 4, height: 2, width: 3, pixels: new Uint8Array(24) });
  const destroy = (model: unknown) => (model as sdk.TrainableModel).destroy();
  // A mutation can drop the options, and the defaults train for minutes: three epochs show that a run
  // starts, reports and cleans up when its consumer stops early, which is all the fuzz needs.
  const drain = async (run: unknown) => {
    let epochs = 0;
    for await (const _ of run as AsyncIterable<unknown>) {
      if (++epochs === 3) break;
    }
  };
  const estimatorCall = (name: "reinmax" | "st" | "stgs" | "gst" | "grmck") => ({
    name,
    args: () => [backend, Float32Array.of(0.1, 0.2, 0.3, 0.4), { n: 2, tau: 1.2, k: 2, gap: 1.5, seed: 1 }],
    call: (b: unknown, l: unknown, o: unknown) =>
      sdk[name](b as Backend, l as Float32Array, o as sdk.SampleOptions),
    settle: async (r: unknown) => {
      const result = r as sdk.EstimatorResult;
      assertEquals(result.yHard.length, 4);
      const d = await result.backward(Float32Array.of(1, 0, 0, 1));
      assert(d.every(Number.isFinite) && Math.abs(d[0] + d[1]) < 1e-6, `${d}`);
    },
  });
  return [
    estimatorCall("reinmax"),
    estimatorCall("st"),
    estimatorCall("stgs"),
    estimatorCall("gst"),
    estimatorCall("grmck"),
    {
      name: "backward",
      args: () => [Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 0, 0, 0)],
      call: async (g: unknown, h: unknown) =>
        (await sdk.st(backend, Float32Array.of(0.1, 0.2, 0.3, 0.4), { n: 2 })).backward(
          g as Float32Array,
          h as Float32Array,
        ),
    },
    {
      name: "reinforce",
      args: () => [backend, Float32Array.of(0.1, 0.2), { n: 2, baseline: true }],
      call: async (b: unknown, l: unknown, o: unknown) =>
        (await sdk.reinforce(b as Backend, l as Float32Array, o as sdk.ReinforceOptions)).backward(
          Float32Array.of(2),
        ),
    },
    {
      name: "estimator",
      args: () => ["gst", { tau: 0.5, gap: 2 }],
      call: (n, o) => sdk.estimator(n as "st", o as never),
    },
    {
      name: "adam",
      args: () => [{ lr: 0.1, betas: [0.8, 0.9], eps: 1e-6, weightDecay: 0.1 }],
      call: (o) => sdk.adam(o as never),
    },
    { name: "radam", args: () => [{ lr: 0.1 }], call: (o) => sdk.radam(o as never) },
    {
      name: "polyTargets",
      args: () => [8, "linear"],
      call: (l, t) => sdk.polyTargets(l as number, t as "const"),
    },
    {
      name: "polyExactLoss",
      args: () => [new Float32Array(8), sdk.polyTargets(4, "const"), 1.5],
      call: (t, c, p) => sdk.polyExactLoss(t as Float32Array, c as Float32Array, p as number),
      settle: (v) => assert(Number.isFinite(v as number)),
    },
    {
      name: "polyExactGradient",
      args: () => [new Float32Array(8), sdk.polyTargets(4, "const"), 3],
      call: (t, c, p) => sdk.polyExactGradient(t as Float32Array, c as Float32Array, p as number),
    },
    {
      name: "polyOptimum",
      args: () => [sdk.polyTargets(4, "linear"), 2],
      call: (c, p) => sdk.polyOptimum(c as Float32Array, p as number),
    },
    {
      name: "PolyProgramming",
      args: () => [backend, { latents: 4, batch: 2, p: 1.5, target: "linear", seed: 3, readEvery: 4 }],
      call: (b, o) => new sdk.PolyProgramming(b as Backend, o as sdk.PolyOptions),
      settle: destroy,
    },
    {
      name: "trainPoly",
      args: () => [backend, {
        latents: 4,
        batch: 2,
        steps: 6,
        stepsPerEpoch: 3,
        readEvery: 2,
        signal: AbortSignal.timeout(5000),
      }],
      call: (b, o) => drain(sdk.trainPoly(b as Backend, o as sdk.TrainPolyOptions)),
    },
    {
      name: "CategoricalVae",
      args: () => [backend, tiny()],
      call: (b, o) => new sdk.CategoricalVae(b as Backend, o as sdk.CategoricalVaeOptions),
      settle: destroy,
    },
    {
      name: "CategoricalVae.step/evaluate/reconstruct/samplePrior",
      args: () => [new Float32Array(12).fill(0.5), 2, 2],
      call: async (x, count, prior) => {
        const model = new sdk.CategoricalVae(backend, tiny());
        try {
          model.step(x as Float32Array, count as number);
          await model.evaluate(x as Float32Array, count as number);
          await model.reconstruct(x as Float32Array, count as number);
          await model.samplePrior(prior as number);
        } finally {
          model.destroy();
        }
      },
    },
    {
      name: "trainVae",
      args: () => [images(), { epochs: 2, test: images(), signal: AbortSignal.timeout(5000) }],
      call: async (set, o) => {
        const model = new sdk.CategoricalVae(backend, tiny());
        try {
          await drain(sdk.trainVae(model, set as sdk.ImageSet, o as sdk.TrainVaeOptions));
        } finally {
          model.destroy();
        }
      },
    },
    {
      name: "writeState",
      args: () => [{
        step: 2,
        tensors: new Map(
          ["theta", "theta.exp_avg", "theta.exp_avg_sq"].map((label) => [label, new Float32Array(8)]),
        ),
      }],
      call: (state) => {
        const model = new sdk.PolyProgramming(backend, { latents: 4, batch: 2 });
        try {
          model.writeState(state as sdk.ModelState);
        } finally {
          model.destroy();
        }
      },
    },
    {
      name: "ImageSet",
      args: () => [{ name: "x", count: 2, height: 2, width: 2, pixels: new Uint8Array(8), maxValue: 16 }],
      call: (o) => new sdk.ImageSet(o as sdk.ImageSetOptions),
    },
    { name: "allImages", args: () => [images()], call: (s) => sdk.allImages(s as sdk.ImageSet) },
    {
      name: "parseIdx",
      args: () => [sdk.encodeIdx("u8", [2, 2], new Uint8Array(4)), "fuzz.idx"],
      call: (b, s) => sdk.parseIdx(b as Uint8Array, s as string),
    },
    {
      name: "encodeIdx",
      args: () => ["f32", [2], Float32Array.of(1, 2)],
      call: (t, shape, d) => sdk.encodeIdx(t as "f32", shape as number[], d as Float32Array),
    },
    {
      name: "loadMnistLike",
      args: () => [mnistReader(), { name: "fuzz", maxValue: 255, location: "memory" }],
      call: (r, o) => sdk.loadMnistLike(r as sdk.FileReader, o as sdk.MnistLikeOptions),
    },
    {
      name: "loadFixture",
      args: () => ["digits", fileReader(new URL("../fixtures/", import.meta.url))],
      call: (n, r) => sdk.loadFixture(n as "digits", r as sdk.FileReader),
    },
    {
      name: "encodePng",
      args: () => [new Uint8Array(6), 3, 2],
      call: (g, w, h) => sdk.encodePng(g as Uint8Array, w as number, h as number),
    },
    {
      name: "imageGrid",
      args:
        () => [[new Float32Array(8)], { count: 2, height: 2, width: 2, columns: 1, padding: 1, scale: 2 }],
      call: (rows, o) => sdk.imageGrid(rows as Float32Array[], o as sdk.ImageGridOptions),
    },
    {
      name: "selectBackend",
      args: () => [{ prefer: "wasm" }],
      call: (o) => sdk.selectBackend(o as never),
      settle: (b) => (b as Backend).destroy(),
    },
    {
      name: "formatReport",
      args: () => [backend.report],
      call: (r) => sdk.formatReport(r as sdk.BackendReport),
    },
  ];
}

/** A copy of `value` with one argument, or one field of an object argument, replaced (or removed). */
function mutate(args: unknown[], random: () => number): { args: unknown[]; what: string } {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const hostile = pick(HOSTILE);
  const i = Math.floor(random() * args.length);
  const target = args[i];
  const fields = typeof target === "object" && target !== null && !ArrayBuffer.isView(target) &&
      !Array.isArray(target) && !(target instanceof Map)
    ? Object.keys(target)
    : [];
  if (fields.length > 0 && random() < 0.7) {
    const field = pick(fields);
    const copy: Record<string, unknown> = { ...(target as Record<string, unknown>) };
    if (random() < 0.1) delete copy[field];
    else copy[field] = hostile;
    const out = [...args];
    out[i] = copy;
    return { args: out, what: `argument ${i}.${field} = ${show(copy[field])}` };
  }
  const out = [...args];
  out[i] = hostile;
  return { args: out, what: `argument ${i} = ${show(hostile)}` };
}

function show(value: unknown): string {
  if (typeof value === "symbol" || typeof value === "bigint" || typeof value === "function") {
    return String(value);
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as Uint8Array).length})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Resolves with the outcome, or rejects when the call takes longer than `ms` (a hang). */
async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

forEachBackend(
  "fuzz: every public entry answers hostile input with a typed error or a correct result",
  async (backend) => {
    // REINMAX_FUZZ_SEED and REINMAX_FUZZ_CALLS run other or longer sequences by hand.
    const seed = Number(Deno.env.get("REINMAX_FUZZ_SEED") ?? (backend.name === "wasm" ? 1001 : 1002));
    const random = testRandom(seed);
    const all = templates(backend);
    const before = backend.bytesAllocated;
    const counts = { ok: 0, typed: 0 };
    // Every template once as given (it must succeed), then mutated calls.
    const trace = Deno.env.get("REINMAX_FUZZ_TRACE") === "1";
    const calls = Number(Deno.env.get("REINMAX_FUZZ_CALLS") ?? (backend.name === "wasm" ? 600 : 250));
    for (let n = -all.length; n < calls; n++) {
      const template = n < 0 ? all[n + all.length] : all[Math.floor(random() * all.length)];
      const valid = n < 0;
      const { args, what } = valid
        ? { args: template.args(), what: "valid arguments" }
        : mutate(template.args(), random);
      const label = `${template.name} with ${what}`;
      if (trace) console.error(`call ${n}: ${label}`);
      try {
        await within(20_000, async () => {
          const result = await template.call(...args);
          await template.settle?.(result);
        });
        counts.ok++;
      } catch (e) {
        if (
          valid ||
          !TYPED.some((type) => e instanceof type) &&
            !(e instanceof DOMException && e.name === "TimeoutError")
        ) {
          throw new Error(
            `seed ${seed}, call ${n}: ${label}: ${
              e instanceof Error ? `${e.name}: ${e.message}` : String(e)
            }`,
            {
              cause: e,
            },
          );
        }
        counts.typed++;
      }
    }
    assert(counts.typed > calls / 3, `most mutated calls are refused: ${JSON.stringify(counts)}`);
    assertEquals(backend.bytesAllocated, before, "bytesAllocated is back where it was");
    const r = await sdk.reinmax(backend, Float32Array.of(0, 30, -30, 30), { n: 2 });
    assertEquals([...r.sample], [1, 1]);
    assertEquals(backend.bytesAllocated, before);
  },
);
