// Checkpoints: a round trip of every model kind on every backend, the file read back by a minimal safetensors
// reader written here, a resume bit for bit in a fresh process, every class of bad file refused with the
// model untouched, a fuzz run, and a resumed WebGPU run continuing as the straight one.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { BACKENDS, forEachBackend } from "./backends.ts";
import { contentsChecksum, type Float32Tensor, writeLikePython } from "./python_style_safetensors.ts";
import { crcBitwise } from "./reference/crc32.ts";
import { assertClose, runExample, testRandom, uniformArray } from "./util.ts";
import {
  adam,
  type Backend,
  BernoulliVae,
  CategoricalVae,
  CheckpointError,
  decodeCheckpoint,
  estimator,
  FIXTURES_URL,
  loadCheckpoint,
  loadFixture,
  loadInto,
  PolyProgramming,
  radam,
  saveCheckpoint,
  type StepProgress,
  type TrainableModel,
  trainVae,
  type Vae,
} from "../mod.ts";

const tinyCategorical = (backend: Backend) =>
  new CategoricalVae(backend, {
    categories: 3,
    latents: 2,
    inputSize: 6,
    hidden: [5, 4],
    batch: 3,
    seed: 3,
    estimator: estimator("grmck", { tau: 0.6, k: 2 }),
    optimizer: radam({ lr: 1e-2, weightDecay: 1e-3 }),
  });
const tinyBernoulli = (backend: Backend) =>
  new BernoulliVae(backend, {
    latents: 3,
    hidden: [4],
    inputSize: 6,
    batch: 3,
    evaluations: 2,
    binarize: "static",
    seed: 4,
    optimizer: adam({ lr: 1e-2 }),
  });
const tinyPoly = (backend: Backend) =>
  new PolyProgramming(backend, { latents: 5, batch: 4, p: 1.5, target: "linear", seed: 5 });

async function train(model: TrainableModel, steps: number): Promise<void> {
  const x = uniformArray(testRandom(8), 3 * 6, 0, 1);
  for (let s = 0; s < steps; s++) {
    if (model instanceof PolyProgramming) model.step();
    else (model as CategoricalVae).step(x, 3, { indices: [2, 0, 1] });
    if (model.log.pending === model.log.capacity) await model.log.read();
  }
}

async function tensors(model: TrainableModel): Promise<Map<string, Float32Array>> {
  return new Map((await model.readState()).tensors);
}

/** A safetensors reader written from the format's description alone: length, JSON, raw little-endian data. */
function readSafetensors(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const data = bytes.subarray(8 + headerLength);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as {
      dtype: string;
      shape: number[];
      data_offsets: number[];
    };
    assertEquals(dtype, "F32");
    const values = new Float32Array(data.slice(begin, end).buffer);
    out.set(name, { shape, values });
  }
  return { headerLength, metadata: header.__metadata__ as Record<string, string>, tensors: out };
}

forEachBackend(
  "checkpoints round-trip every model kind: tensors, step, stream positions, options",
  async (backend) => {
    for (const make of [tinyCategorical, tinyBernoulli, tinyPoly]) {
      const model = make(backend);
      try {
        await train(model, 7);
        if (!(model instanceof PolyProgramming)) await (model as CategoricalVae).samplePrior(2); // a draw outside training
        const bytes = await saveCheckpoint(model, { note: "round trip" });
        const { model: copy, checkpoint } = loadCheckpoint(bytes, backend, "memory");
        try {
          assertEquals(copy.constructor, model.constructor);
          assertEquals(copy.describe(), model.describe());
          assertEquals(copy.optimizer, model.optimizer);
          assertEquals(copy.steps, 7);
          assertEquals(checkpoint.run, { note: "round trip" });
          const a = await model.readState(), b = await copy.readState();
          assertEquals(b.counters, a.counters);
          assertEquals(b.tensors, a.tensors, "every tensor bit for bit");
        } finally {
          copy.destroy();
        }
      } finally {
        model.destroy();
      }
    }
  },
);

forEachBackend(
  "a checkpoint reads back with a minimal safetensors reader: names, shapes, values, metadata",
  async (backend) => {
    const model = tinyCategorical(backend);
    try {
      await train(model, 2);
      const bytes = await saveCheckpoint(model);
      const file = readSafetensors(bytes);
      assertEquals((8 + file.headerLength) % 8, 0, "the data starts 8-byte aligned");
      const state = await model.readState();
      assertEquals(file.tensors.size, model.parameters.length * 3);
      for (const p of model.parameters) {
        for (const suffix of ["", ".exp_avg", ".exp_avg_sq"]) {
          const t = file.tensors.get(p.label + suffix)!;
          assertEquals(t.shape, p.shape, p.label);
          assertEquals(t.values, state.tensors.get(p.label + suffix));
        }
      }
      // A linear layer's weight is in × out.
      assertEquals(file.tensors.get("encoder.fc1.weight")!.shape, [6, 5]);
      assertEquals(file.metadata.format, "reinmax.checkpoint/2");
      assertEquals(file.metadata.layout, "weight[in][out]", "the layout is written out in the metadata");
      assertEquals(file.metadata.model, "categorical");
      assertEquals(file.metadata.step, "2");
      assertEquals(JSON.parse(file.metadata.estimator).name, "grmck");
      assertEquals(JSON.parse(file.metadata.optimizer).name, "radam");
      assertMatch(file.metadata["reinmax.contents_checksum"], /^crc32:[0-9a-f]{8}$/);
    } finally {
      model.destroy();
    }
  },
);

forEachBackend(
  "a bad or mismatched checkpoint is a CheckpointError naming the file, the model untouched",
  async (backend) => {
    const model = tinyCategorical(backend), other = tinyBernoulli(backend);
    const bigger = new CategoricalVae(backend, {
      categories: 3,
      latents: 2,
      inputSize: 6,
      hidden: [5, 5],
      batch: 3,
    });
    try {
      await train(model, 3);
      const good = await saveCheckpoint(model);
      const before = await tensors(model);
      const refused = (bytes: Uint8Array, why: string) => {
        const error = assertThrows(() => loadInto(model, bytes, "bad.safetensors"), CheckpointError);
        assertEquals(error.source, "bad.safetensors");
        assertStringIncludes(error.message, why);
      };
      refused(await saveCheckpoint(other), "bernoulli model");
      refused(await saveCheckpoint(bigger), "hidden");
      const flipped = good.slice();
      flipped[flipped.length - 5] ^= 0x40; // in the data
      refused(flipped, "checksum");
      refused(good.subarray(0, good.length - 9), "");
      const huge = good.slice();
      new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true); // a header length beyond the file
      refused(huge, "header");
      refused(new Uint8Array(16), "");
      assertEquals(await tensors(model), before, "nothing was written");
      assertEquals(model.steps, 3);
      // loadCheckpoint names the file too, and leaves nothing allocated behind it.
      const bytesBefore = backend.bytesAllocated;
      assertThrows(
        () => loadCheckpoint(flipped, backend, "flipped.safetensors"),
        CheckpointError,
        "flipped.safetensors",
      );
      assertEquals(backend.bytesAllocated, bytesBefore);
    } finally {
      model.destroy();
      other.destroy();
      bigger.destroy();
    }
  },
);

forEachBackend("fuzz: truncated or flipped checkpoints are refused or load exactly", async (backend) => {
  const model = tinyPoly(backend);
  try {
    await train(model, 4);
    const good = await saveCheckpoint(model);
    const original = await tensors(model);
    const random = testRandom(77);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      // A truncation, or one byte changed (to any other value).
      let bytes: Uint8Array;
      if (random() < 0.3) bytes = good.subarray(0, Math.floor(random() * good.length));
      else {
        bytes = good.slice();
        bytes[Math.floor(random() * good.length)] ^= 1 + Math.floor(random() * 255);
      }
      try {
        loadInto(model, bytes, "fuzzed");
        assertEquals(await tensors(model), original, `case ${i} loaded, so it must be the original`);
      } catch (e) {
        assertInstanceOf(e, CheckpointError, `case ${i}`);
        refused++;
      }
    }
    // Only a change of padding into other JSON whitespace may load (and then as the original).
    assert(refused > 390, `${refused} of 400 refused`);
    assertEquals(await tensors(model), original);
  } finally {
    model.destroy();
  }
});

Deno.test({
  name: "resume is bit-exact on WASM: 2 epochs straight equal 1 epoch, a checkpoint, a fresh process, 1 more",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const run = async (...args: string[]) => {
      const out = await runExample("vae.ts", ["--data", "digits", "--backend", "wasm", ...args], [
        "--allow-read",
        `--allow-write=${dir}`,
      ]);
      assertEquals(out.code, 0, out.stderr);
      return out.stdout;
    };
    try {
      for (
        const model of [["--config", "8x4"], [
          "--model",
          "bernoulli",
          "--evaluations",
          "2",
          "--binarize",
          "static",
        ]]
      ) {
        await run(...model, "--epochs", "2", "--checkpoint", `${dir}/straight.st`);
        await run(...model, "--epochs", "1", "--checkpoint", `${dir}/half.st`);
        // The resumed run takes its flags from the checkpoint.
        const resumed = await run(
          "--resume",
          `${dir}/half.st`,
          "--epochs",
          "2",
          "--checkpoint",
          `${dir}/resumed.st`,
        );
        assertStringIncludes(resumed, "resumed from");
        const straight = await Deno.readFile(`${dir}/straight.st`),
          again = await Deno.readFile(`${dir}/resumed.st`);
        assertEquals(again, straight, `${model.join(" ")}: every byte, every tensor`);
        assertEquals(decodeCheckpoint(again, "resumed").state.step, 30);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "resume checks its flags: a contradicting one is named, a missing file is a CheckpointError",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const run = (...args: string[]) =>
      runExample("vae.ts", ["--data", "digits", "--backend", "wasm", ...args], [
        "--allow-read",
        `--allow-write=${dir}`,
      ]);
    try {
      assertEquals((await run("--config", "8x4", "--epochs", "1", "--checkpoint", `${dir}/a.st`)).code, 0);
      for (
        const [flag, value] of [["--config", "10x30"], ["--estimator", "st"], ["--lr", "0.1"], [
          "--seed",
          "9",
        ], ["--model", "bernoulli"]]
      ) {
        const { code, stderr } = await run("--resume", `${dir}/a.st`, "--epochs", "2", flag, value);
        assertEquals(code, 2, stderr);
        assert(stderr.startsWith(`error: ${flag}:`) && stderr.includes("contradicts the checkpoint"), stderr);
      }
      const missing = await run("--resume", `${dir}/none.st`);
      assertEquals(missing.code, 1);
      assertStringIncludes(missing.stderr, `CheckpointError: ${dir}/none.st`);
      const epochs = await run("--resume", `${dir}/a.st`, "--epochs", "2", "--config", "8x4"); // agreeing flags are fine
      assertEquals(epochs.code, 0, epochs.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

forEachBackend("a run saved and loaded midway continues as the straight run does", async (backend) => {
  const straight = tinyCategorical(backend), first = tinyCategorical(backend);
  try {
    await train(straight, 12);
    await train(first, 5);
    const { model: second } = loadCheckpoint(await saveCheckpoint(first), backend, "midway");
    try {
      await train(second, 7);
      const a = await tensors(straight), b = await tensors(second);
      for (const [label, values] of a) {
        // Bit for bit on WASM; on WebGPU within the backends' agreement tolerance.
        if (backend.name === "wasm") assertEquals(b.get(label), values, label);
        else assertClose(b.get(label)!, values, { atol: 1e-6, rtol: 1e-5, label });
      }
    } finally {
      second.destroy();
    }
  } finally {
    straight.destroy();
    first.destroy();
  }
});

Deno.test({
  name:
    "checkpoints of format 1, written by an earlier version, continue exactly as that version continued them",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: async () => {
    const backend = BACKENDS.get("wasm") as Backend;
    const dir = new URL("../fixtures/legacy-checkpoints/", import.meta.url);
    const expected = JSON.parse(await Deno.readTextFile(new URL("expected.json", dir))) as Record<
      string,
      { savedAt: number; step: number; losses: number[]; crc: string }
    >;
    const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
    for (const [name, want] of Object.entries(expected)) {
      const bytes = await Deno.readFile(new URL(`${name}.safetensors`, dir));
      assertEquals(decodeCheckpoint(bytes, name).shapes.size > 0, true);
      const { model } = loadCheckpoint(bytes, backend, name);
      try {
        assertEquals(model.steps, want.savedAt, name);
        const losses: number[] = [];
        if (model instanceof PolyProgramming) {
          for (let i = 0; i < want.step - want.savedAt; i++) model.step();
          losses.push(...await model.readLosses());
        } else {
          const options = {
            steps: want.step,
            epochs: 100,
            onProgress: (p: StepProgress) => losses.push(...p.losses),
          };
          for await (const _ of trainVae(model as Vae, data.train, options)) { /* to the step */ }
        }
        assertEquals(losses, want.losses, `${name}: the losses of the steps after loading`);
        assertEquals(await stateCrc(model), want.crc, `${name}: every tensor after them`);
      } finally {
        model.destroy();
      }
    }
  },
});

/** CRC-32 of every tensor of the model's state, in name order, as the legacy fixtures recorded it. */
async function stateCrc(model: TrainableModel): Promise<string> {
  const { tensors } = await model.readState();
  const names = [...tensors.keys()].sort();
  const all = new Uint8Array(names.reduce((n, name) => n + tensors.get(name)!.byteLength, 0));
  let at = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    all.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), at);
    at += t.byteLength;
  }
  return crcBitwise(all).toString(16);
}

/** The metadata a writer outside the SDK gives a checkpoint of `model` in `state` (docs/checkpoints.md). */
function outsideMetadata(model: TrainableModel, step: number): Record<string, string> {
  const d = model.describe();
  // Keys in another order than the SDK writes them, as another tool may.
  return {
    step: String(step),
    estimator: JSON.stringify(d.estimator),
    optimizer: JSON.stringify(model.optimizer),
    options: JSON.stringify(d.options),
    model: d.model,
    counters: JSON.stringify({ draws: 0 }),
    layout: "weight[in][out]",
    format: "reinmax.checkpoint/2",
  };
}

async function outsideFile(
  model: TrainableModel,
  edit: (tensors: Map<string, Float32Tensor>, metadata: Record<string, string>) => void = () => {},
): Promise<Uint8Array> {
  const state = await model.readState();
  const tensors = new Map<string, Float32Tensor>();
  for (const p of model.parameters) {
    for (const suffix of ["", ".exp_avg", ".exp_avg_sq"]) {
      tensors.set(p.label + suffix, { shape: p.shape, data: state.tensors.get(p.label + suffix)! });
    }
  }
  const metadata = outsideMetadata(model, state.step);
  edit(tensors, metadata);
  return writeLikePython(tensors, {
    ...metadata,
    "reinmax.contents_checksum": contentsChecksum(tensors, metadata),
  });
}

forEachBackend(
  "a checkpoint written as Python's writer lays it out, with the documented metadata, loads and resumes",
  async (backend) => {
    const straight = tinyCategorical(backend), first = tinyCategorical(backend);
    try {
      await train(straight, 9);
      await train(first, 4);
      const { model: second, checkpoint } = loadCheckpoint(
        await outsideFile(first),
        backend,
        "python.safetensors",
      );
      try {
        assertEquals(checkpoint.state.step, 4);
        await train(second, 5);
        const a = await tensors(straight), b = await tensors(second);
        for (const [label, values] of a) {
          if (backend.name === "wasm") assertEquals(b.get(label), values, label);
          else assertClose(b.get(label)!, values, { atol: 1e-6, rtol: 1e-5, label });
        }
      } finally {
        second.destroy();
      }
    } finally {
      straight.destroy();
      first.destroy();
    }
  },
);

forEachBackend(
  "a checkpoint is refused when a tensor's shape, the set of tensors, the optimiser or a moment is wrong",
  async (backend) => {
    const model = tinyCategorical(backend);
    const adamModel = new CategoricalVae(backend, {
      categories: 3,
      latents: 2,
      inputSize: 6,
      hidden: [5, 4],
      batch: 3,
      seed: 3,
      estimator: estimator("grmck", { tau: 0.6, k: 2 }),
      optimizer: adam({ lr: 1e-2 }),
    });
    try {
      await train(model, 2);
      const before = await tensors(model);
      const refused = async (why: string | RegExp, edit: Parameters<typeof outsideFile>[1], into = model) => {
        const bytes = await outsideFile(model, edit);
        const error = assertThrows(() => loadInto(into, bytes, "edited.safetensors"), CheckpointError);
        assertEquals(error.source, "edited.safetensors");
        if (typeof why === "string") assertStringIncludes(error.message, why);
        else assertMatch(error.message, why);
      };
      // Stored out × in, as nn.Linear keeps it: the element count fits, the shape does not.
      const transpose = (t: Float32Tensor): Float32Tensor => {
        const [rows, cols] = t.shape;
        const data = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c];
        }
        return { shape: [cols, rows], data };
      };
      await refused(
        /"encoder\.fc1\.weight" has shape \[5, 6\], this model's is \[6, 5\] \(stored out × in/,
        (t) => t.set("encoder.fc1.weight", transpose(t.get("encoder.fc1.weight")!)),
      );
      await refused(
        `"decoder.fc2.weight.exp_avg" has shape [5, 4]`,
        (t) => t.set("decoder.fc2.weight.exp_avg", transpose(t.get("decoder.fc2.weight.exp_avg")!)),
      );
      await refused(`a tensor "extra" that this model does not have`, (t) => {
        t.set("extra", { shape: [1], data: new Float32Array(1) });
      });
      await refused(
        `no tensor "decoder.fc3.bias.exp_avg_sq"`,
        (t) => t.delete("decoder.fc3.bias.exp_avg_sq"),
      );
      await refused("second moment must be >= 0", (t) => {
        const v = t.get("encoder.fc2.bias.exp_avg_sq")!;
        t.set("encoder.fc2.bias.exp_avg_sq", {
          shape: v.shape,
          data: v.data.map((x, i) => i === 1 ? -1 : x),
        });
      });
      await refused(/its optimizer is .*"radam".*this model's is .*"adam"/, () => {}, adamModel);
      await refused(`expected metadata "layout" to be "weight[in][out]"`, (_, m) => delete m.layout);
      await refused(
        `expected metadata "layout" to be "weight[in][out]"`,
        (_, m) => m.layout = "weight[out][in]",
      );
      // Without its checksum, a file of format 2 is refused: a flipped byte could have renamed the key.
      const noChecksum = (await outsideFile(model)).slice();
      const text = new TextDecoder().decode(noChecksum.subarray(0, 600));
      noChecksum[text.indexOf("reinmax.contents_checksum") + 1] = "E".charCodeAt(0);
      const error = assertThrows(() => loadInto(model, noChecksum, "renamed"), CheckpointError);
      assertStringIncludes(error.message, `must carry metadata "reinmax.contents_checksum"`);
      assertEquals(await tensors(model), before, "nothing was written");
    } finally {
      model.destroy();
      adamModel.destroy();
    }
  },
);

forEachBackend("a checkpoint's load errors say what is wrong with the file first", (backend) => {
  const model = tinyPoly(backend);
  try {
    const refused = (bytes: Uint8Array) =>
      assertThrows(() => loadInto(model, bytes, "x.bin"), CheckpointError);
    assertMatch(
      refused(new TextEncoder().encode("just some text, not a checkpoint")).message,
      /^x\.bin: not a safetensors file/,
    );
    assertMatch(refused(new Uint8Array(3)).message, /^x\.bin: not a safetensors file/);
  } finally {
    model.destroy();
  }
});

Deno.test({
  name:
    "a model trained in PyTorch (bench/torch/export_checkpoint.py) loads with its weights read as PyTorch used them",
  ignore: !(await hasTorch()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = await new Deno.Command("/usr/bin/python3", {
        args: [
          new URL("../bench/torch/export_checkpoint.py", import.meta.url).pathname,
          `${dir}/pt.safetensors`,
          "--steps",
          "3",
        ],
        env: { LD_LIBRARY_PATH: "/usr/lib/x86_64-linux-gnu/openblas-openmp", OMP_NUM_THREADS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const torch = JSON.parse(new TextDecoder().decode(out.stdout)) as { step: number; kl: number };
      const backend = BACKENDS.get("wasm") as Backend;
      const { model } = loadCheckpoint(
        await Deno.readFile(`${dir}/pt.safetensors`),
        backend,
        "pt.safetensors",
      );
      try {
        assertEquals(model.steps, torch.step);
        // The KL term depends on the encoder's weights alone (no sample): the same number means the layout is.
        const images = Float32Array.from({ length: 20 * 784 }, (_, i) => ((i * 7919) % 256) / 255);
        const { kl } = await (model as CategoricalVae).evaluate(images, 20);
        assertClose([kl], [torch.kl], { atol: 1e-6, rtol: 1e-4, label: "KL of the encoder" });
        (model as CategoricalVae).step(images, 20);
        const { reconstruction } = await (model as CategoricalVae).readLosses();
        assert(Number.isFinite(reconstruction[0]), "it trains on");
      } finally {
        model.destroy();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Whether /usr/bin/python3 can import torch (Debian's python3-torch); the test above needs it. */
async function hasTorch(): Promise<boolean> {
  if (typeof BACKENDS.get("wasm") !== "object") return false;
  try {
    const { code } = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}
