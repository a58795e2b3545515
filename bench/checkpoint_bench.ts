// Saving and loading a checkpoint of the 10×30 categorical VAE (parameters and Adam moments, 14.7 MB) on the
// WASM backend: saveCheckpoint(model) (one read-back, the safetensors encoding, its checksums) and loadCheckpoint()
// (decoding, checks, building the model, writing the state). Medians of repeated rounds after a warm-up; the
// first call in a process also pays for touching fresh memory, printed apart.
//
//   deno bench --allow-env bench/checkpoint_bench.ts      (part of `deno task bench`)
import { CategoricalVae, loadCheckpoint, saveCheckpoint } from "../mod.ts";
import { WasmBackend } from "../src/wasm/backend.ts";

const backend = await WasmBackend.create();
const model = new CategoricalVae(backend, { config: "10x30" });
const images = new Float32Array(100 * 784).map((_, i) => (i % 97) / 97);
for (let s = 0; s < 3; s++) model.step(images);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const save = [], load = [];
let bytes: Uint8Array = new Uint8Array();
for (let round = 0; round < 12; round++) {
  let start = performance.now();
  bytes = await saveCheckpoint(model);
  save.push(performance.now() - start);
  start = performance.now();
  const { model: copy } = loadCheckpoint(bytes, backend, "bench");
  load.push(performance.now() - start);
  copy.destroy();
}
console.log(
  `checkpoint of the 10×30 VAE, ${(bytes.length / 2 ** 20).toFixed(1)} MiB on wasm: ` +
    `save ${median(save.slice(2)).toFixed(1)} ms, load ${median(load.slice(2)).toFixed(1)} ms ` +
    `(medians of ${save.length - 2} rounds; first call: save ${save[0].toFixed(1)} ms, load ${
      load[0].toFixed(1)
    } ms)`,
);
model.destroy();
backend.destroy();
