// One 60,000-image epoch of the categorical VAE 10×30 (ReinMax, batch 100) on a chosen backend, timed by the
// trainer itself: ms per step over the epoch, the test −ELBO pass, and the epoch's wall time. The first epoch
// includes building the pipelines, so two are run and both reported. The target on a real GPU is an epoch
// (600 steps) in at most 1 s. Run by tools/gpu_bench.sh; not part of `deno task bench` (a full epoch on a
// software adapter takes many minutes).
//
//   deno run --allow-read --allow-env bench/webgpu_epoch.ts [--backend webgpu|wasm] [--data DIR] [--epochs N]
//                                                             [--steps N]
//
// --steps stops after that many steps in total (a smoke test of the script on a slow adapter).
import { openDataset } from "../examples/data_source.ts";
import { CategoricalVae } from "../src/models/categorical_vae.ts";
import { selectBackend } from "../src/registry.ts";
import { trainVae } from "../src/train/train_vae.ts";

const flags = { backend: "webgpu", data: "/usr/share/datasets/fashion-mnist", epochs: "2", steps: "" };
for (let i = 0; i < Deno.args.length; i += 2) {
  const name = Deno.args[i].replace(/^--/, "") as keyof typeof flags;
  if (!(name in flags) || i + 1 >= Deno.args.length) {
    console.error(`unknown or incomplete flag ${Deno.args[i]}`);
    Deno.exit(2);
  }
  flags[name] = Deno.args[i + 1];
}

const backend = await selectBackend({ prefer: flags.backend as "webgpu" | "wasm" });
console.log(`backend: ${backend.name} (${backend.details})`);
const data = await openDataset(flags.data);
console.log(`data: ${data.train.count} training and ${data.test.count} test images from ${flags.data}`);
const model = new CategoricalVae(backend, { config: "10x30" });
let start = performance.now();
for await (
  const e of trainVae(model, data.train, {
    epochs: Number(flags.epochs),
    steps: flags.steps ? Number(flags.steps) : undefined,
    test: data.test,
  })
) {
  const wall = performance.now() - start;
  const steps = Math.ceil(data.train.count / model.batch);
  console.log(
    `epoch ${e.epoch}: ${e.msPerStep.toFixed(3)} ms/step, so ${(e.msPerStep * steps / 1000).toFixed(2)} s ` +
      `for ${steps} steps (target ≤ 1 s on a real GPU); test −ELBO pass ${
        (e.evaluationMs / 1000).toFixed(2)
      } s; ` +
      `wall ${(wall / 1000).toFixed(2)} s; train −ELBO ${e.trainElbo.toFixed(1)}, test ${
        e.testElbo.toFixed(1)
      }`,
  );
  start = performance.now();
}
model.destroy();
backend.destroy();
