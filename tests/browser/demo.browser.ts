// The browser studio end to end in headless Chromium (playwright-core): builds examples/browser/ into a
// temporary site, serves it on an ephemeral port, and drives the page as a person would. On every backend the
// page offers ("wasm", "auto" and, when the browser has a WebGPU adapter, "webgpu"): ReinMax at τ 1.3 beside
// STGS at τ 0.5 on the polynomial task, and the chart's axes on a linear and a log scale. On WASM and WebGPU:
// the 8×4 categorical VAE on Fashion-MNIST with its pictures, a file that is not a checkpoint (its
// CheckpointError shown, the previous run's pictures, curves and figures gone), and a diverging run (its
// message names its step). On WASM also: ReinMax and STGS side by side on the VAE, a checkpoint downloaded and
// loaded again, the 10×30 and Bernoulli VAEs, a non-finite run, pause, resume, the time left, and Reset
// clearing everything (after every run). On WASM and WebGPU: the Bernoulli VAE trained with RLOO at K = 2, its
// losses finite and reported; before it, the score-function estimators offered for the Bernoulli task only,
// its K following the estimators ticked, and DisARM at K = 3 refused with the SDK's own rule. The "Your images" task: PNGs made here, chosen as files, as a folder
// and dropped; trained on WASM in colour beside a second estimator and in grey, and on WebGPU; its pictures,
// the codes and the checkpoint downloaded, the codes again from that checkpoint in Deno, the checkpoint
// refused by Load with its reason; no pictures and an undecodable file stated. Before any run: the form's τ
// defaults against the SDK's table, and bad settings refused with the SDK's own messages; without a page, the
// chart's tick labels on any range.
// Not part of `deno task test` (the file name has no _test suffix); run it with `deno task test:browser`.
//
// CHROMIUM_PATH overrides /usr/bin/chromium. REINMAX_REQUIRE_BACKENDS=webgpu makes a skipped webgpu run fail.
// A screenshot of the studio after the VAE runs is written under a temporary directory; its path is printed.
import { assert, assertEquals, assertMatch } from "@std/assert";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import {
  adam,
  type Backend,
  BernoulliVae,
  CATEGORICAL_CONFIGS,
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  defaultTau,
  DiscreteModel,
  encodePng,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  imageSetFromPictures,
  loadCheckpoint,
  PolyProgramming,
  ReinmaxInputError,
  selectBackend,
  type TrainableModel,
} from "../../mod.ts";
import { type ChartAxes, logTicks, niceTicks, tickLabels } from "../../examples/browser/chart.ts";
import { relaxes } from "../../examples/estimator_flags.ts";
import type { RunState, StudioState } from "../../examples/browser/protocol.ts";
import { serveDemo } from "../../examples/browser/serve.ts";
import { bundleDemo } from "../../tools/bundle_demo.ts";
import { backendNames } from "../internals.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const REQUIRED = (Deno.env.get("REINMAX_REQUIRE_BACKENDS") ?? "").split(",").map((s) => s.trim());
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--disable-gpu-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/**
 * Polynomial steps per run; 8×4 VAE steps on WASM (3 epochs of 100) and on WebGPU, where SwiftShader takes
 * seconds per step on two cores (enough for the −ELBO to fall, not for an epoch's test −ELBO).
 */
const POLY_STEPS = 400, VAE_STEPS = 300, VAE_WEBGPU_STEPS = 10;
/** The Bernoulli VAE with RLOO on WASM: one epoch of 100 steps, so that its test −ELBO is reported too. */
const SCORE_STEPS = 100;
/** The estimators that weigh the losses of K Bernoulli codes, and those every task takes, from the table. */
const SCORE = ESTIMATOR_NAMES.filter((name) => ESTIMATORS[name].scoreFunction);
const PATHWISE = ESTIMATOR_NAMES.filter((name) => !ESTIMATORS[name].scoreFunction);
/** "Your images": steps on WASM (two of the task's epochs: a dozen pictures take a step each pass). */
const IMAGES_STEPS = 200;
/** The pictures made for it: PICTURE_COUNT of PICTURE_SIDE² pixels, and the colour run's size. */
const PICTURE_COUNT = 12, PICTURE_SIDE = 40, COLOUR_SIZE = 16;
/** The first step's −ELBO of an untrained VAE: 784 pixels of ≈ ln 2 nats each. */
const UNTRAINED_ELBO = 784 * Math.LN2;
/** Two runs side by side at the τ each is defined for: ReinMax needs τ ≥ 1, STGS is tuned around 0.5. */
const SIDE_BY_SIDE = { reinmax: "1.3", stgs: "0.5" } as const;
const SIDE_BY_SIDE_LABELS = Object.entries(SIDE_BY_SIDE).map(([name, tau]) =>
  `${ESTIMATORS[name as EstimatorName].title} τ ${tau}`
);

const chromiumMissing = await Deno.stat(CHROMIUM).then(() => null, () => `${CHROMIUM} does not exist`);
if (chromiumMissing) console.log(`SKIPPED: browser studio test: ${chromiumMissing} (set CHROMIUM_PATH)`);

Deno.test("studio chart: tick labels are distinct and compact on any range", () => {
  const cases: [string, number[]][] = [
    ["steps of an empty chart", niceTicks(0, 1, 8, 1)],
    ["a few steps", niceTicks(0, 3, 8, 1)],
    ["3000 steps", niceTicks(0, 3000, 8, 1)],
    ["a VAE's −ELBO", niceTicks(250, 560, 5)],
    ["a flat polynomial loss", niceTicks(0.2311, 0.2313, 5)],
    ["huge losses, linear", niceTicks(9.97e25, 1.0e26, 5)],
    ["huge losses, log", logTicks(300, 1e27, 5)],
    ["a few decades, log", logTicks(0.2, 600, 5)],
    ["within a decade, log", logTicks(250, 560, 5)],
  ];
  for (const [what, ticks] of cases) {
    const labels = tickLabels(ticks);
    assert(ticks.length >= 2, `${what}: ${ticks}`);
    assertEquals(new Set(labels).size, labels.length, `${what}: ${labels}`);
    for (const label of labels) assert(label.length <= 8, `${what}: "${label}" is too wide`);
  }
  for (const ticks of [niceTicks(0, 1, 8, 1), niceTicks(0, 3, 8, 1), niceTicks(0, 7, 8, 1)]) {
    assert(ticks.every(Number.isInteger), `steps are whole numbers: ${ticks}`);
  }
});

Deno.test({
  name: chromiumMissing ? `browser studio [skipped: ${chromiumMissing}]` : "browser studio",
  ignore: chromiumMissing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const temp = await Deno.makeTempDir({ prefix: "reinmax-studio-" });
    const dist = join(temp, "site"), profile = join(temp, "profile");
    const garbage = join(temp, "not-a-checkpoint.safetensors");
    await Deno.writeTextFile(garbage, "this is not a safetensors file");
    const abort = new AbortController();
    let context: BrowserContext | null = null;
    try {
      await bundleDemo(dist);
      const server = serveDemo({ port: 0, distDir: dist, signal: abort.signal });
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1040, height: 1000 },
        acceptDownloads: true,
      });
      const page = context.pages()[0] ?? await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console error: ${m.text()}`);
      });
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      page.on("response", (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      // Unhandled rejections reach neither pageerror nor the console in every Chromium; count them here.
      // `studio()` in the functions this file runs in the page is this one, defined there.
      await page.addInitScript(() => {
        const w = globalThis as unknown as { unhandled: string[]; studio: () => unknown };
        w.studio = () => (globalThis as unknown as { reinmaxStudio: unknown }).reinmaxStudio;
        w.unhandled = [];
        globalThis.addEventListener("unhandledrejection", (e) => w.unhandled.push(String(e.reason)));
      });
      const noProblems = async () => {
        assertEquals(problems, []);
        assertEquals(
          await page.evaluate(() => (globalThis as unknown as { unhandled: string[] }).unhandled),
          [],
        );
      };
      await page.goto(server.url);
      assertEquals(await page.textContent("h1"), "ReinMax in the browser");
      const { unavailable: webgpuSkip, softwareAdapter } = await browserWebgpu(page);
      /** Runs `fn` as a step on `backend`, or reports the step skipped (or failed, if required). */
      const onBackend = async (backend: string, name: string, fn: () => Promise<void>) => {
        if (backend !== "webgpu" || webgpuSkip === null) return void await t.step(name, fn);
        const required = REQUIRED.includes("webgpu");
        console.log(`${required ? "FAILED" : "SKIPPED"}: ${name}: ${webgpuSkip}`);
        await t.step({
          name: `${name} [${required ? "required but unavailable" : "skipped"}: ${webgpuSkip}]`,
          ignore: !required,
          fn: () => {
            throw new Error(`REINMAX_REQUIRE_BACKENDS requires webgpu, but ${webgpuSkip}`);
          },
        });
      };

      await t.step(
        "each estimator's τ defaults from the SDK's table for the task, and the empty chart",
        async () => {
          for (const task of ["8x4", "bernoulli", "poly", "10x30"] as const) {
            await page.selectOption("#task", task);
            const modelTau = await modelTauOf(task);
            // A τ field wherever the estimator relaxes its samples (every pathwise one, and RELAX), none else.
            for (const name of ESTIMATOR_NAMES) {
              if (!relaxes(name)) assertEquals(await page.locator(`#tau-${name}`).count(), 0, name);
              else {assertEquals(
                  await page.inputValue(`#tau-${name}`),
                  String(defaultTau(name, modelTau)),
                  task,
                );}
            }
            assert(PATHWISE.every(relaxes), "every pathwise estimator relaxes its samples");
            // The score-function estimators weigh the Bernoulli VAE's codes: no other task offers them.
            for (const name of SCORE) {
              assertEquals(await page.isVisible(runChoice(name)), task === "bernoulli", `${task}: ${name}`);
            }
            assertEquals(await page.isVisible("#evaluations"), task === "bernoulli", task);
          }
          // A τ the user typed stays when the task changes.
          await page.fill("#tau-stgs", "0.45");
          await page.selectOption("#task", "poly");
          assertEquals(await page.inputValue("#tau-stgs"), "0.45");
          assertEquals(await page.inputValue("#tau-reinmax"), String(defaultTau("reinmax", 1)));
          // Each estimator's title on the page, its summary as the tooltip.
          for (const name of ESTIMATOR_NAMES) {
            const tooltip = await page.getAttribute(runChoice(name), "title");
            assertEquals(tooltip, `${ESTIMATORS[name].title}: ${ESTIMATORS[name].summary}`);
          }
          // The empty chart's step axis runs to the steps the form would train, in whole distinct steps.
          for (const steps of ["3000", "3", "1"]) {
            await page.fill("#steps", steps);
            const axes = await chartAxes(page);
            checkAxes(axes, steps);
            assertEquals(axes.y, [], "an empty chart has no loss ticks");
          }
          await noProblems();
        },
      );

      await t.step("a bad setting is refused before the run with the SDK's own rule", async () => {
        await page.selectOption("#task", "8x4");
        await page.fill("#steps", "100");
        await setEstimators(page, ["reinmax", "stgs"]);
        const cases: [string, string, string, () => unknown][] = [
          ["#tau-reinmax", "0.5", "ReinMax τ", () => estimator("reinmax", { tau: 0.5 })],
          ["#tau-stgs", "0", "STGS τ", () => estimator("stgs", { tau: 0 })],
          ["#tau-stgs", "200", "STGS τ", () => estimator("stgs", { tau: 200 })],
          ["#lr", "0", "learning rate", () => adam({ lr: 0 })],
        ];
        for (const [field, value, what, sdkCall] of cases) {
          const before = await page.inputValue(field);
          await page.fill(field, value);
          await page.click("#start");
          const state = await page.evaluate(studio);
          assertEquals([state.phase, state.runs.length], ["error", 0], field);
          assertEquals(await page.textContent("#status"), `Error: ${what}: ${sdkRule(sdkCall)}`);
          assertEquals(await page.getAttribute(field, "aria-invalid"), "true", field);
          assert(await page.isEnabled("#start"), "Start is enabled after an error");
          await page.fill(field, before);
          assertEquals(
            await page.getAttribute(field, "aria-invalid"),
            null,
            "editing the field clears its mark",
          );
        }
        await page.fill("#tau-reinmax", "");
        await page.click("#start");
        assertEquals(
          await page.textContent("#status"),
          "Error: ReinMax τ: expected a number, the field is empty",
        );
        await page.fill("#tau-reinmax", SIDE_BY_SIDE.reinmax);
        await noProblems();
      });

      await t.step(
        "the Bernoulli task offers the score-function estimators and K; DisARM at K = 3 states the SDK's rule",
        async () => {
          await page.selectOption("#task", "bernoulli");
          await setEstimators(page, ["reinmax"]);
          assertEquals(
            await page.inputValue("#evaluations"),
            "1",
            "the model's own K with no score estimator",
          );
          for (const name of SCORE) {
            const { min, max } = ESTIMATORS[name].scoreFunction!.evaluations;
            await setEstimators(page, ["reinmax", name]);
            // K follows the estimator ticked, and the field offers only the K it takes.
            assertEquals(await page.inputValue("#evaluations"), String(min), name);
            assertEquals(
              [
                await page.getAttribute("#evaluations", "min"),
                await page.getAttribute("#evaluations", "max"),
              ],
              [String(min), String(max)],
              name,
            );
          }
          await setEstimators(page, ["reinmax"]);
          assertEquals(await page.inputValue("#evaluations"), "1");
          // A K typed in spite of the field's range: the worker's model refuses it, the page names the field.
          await setEstimators(page, ["disarm"]);
          await page.fill("#evaluations", "3");
          await page.fill("#steps", "100");
          await page.selectOption("#backend", "wasm");
          await page.click("#start");
          const state = await waitForEnd(page, 60_000);
          assertEquals([state.phase, state.runs.length], ["error", 0]);
          const backend = await denoWasm();
          const rule = sdkRule(() =>
            new BernoulliVae(backend, { estimator: estimator("disarm"), evaluations: 3 }).destroy()
          );
          assertEquals(await page.textContent("#status"), `Error: K codes per image: ${rule}`);
          assertEquals(await page.getAttribute("#evaluations", "aria-invalid"), "true");
          // Another task takes none of them: the score-function estimators go, ticks and all, and K with them.
          await page.selectOption("#task", "8x4");
          for (const name of SCORE) {
            assert(await page.isHidden(runChoice(name)), name);
            assertEquals(await page.isChecked(`input[name=estimator][value=${name}]`), false, name);
          }
          assert(await page.isHidden("#evaluations"));
          await page.click("#reset");
          await noProblems();
        },
      );

      for (const backend of ["wasm", "auto", "webgpu"] as const) {
        await onBackend(
          backend,
          `polynomial task, ReinMax τ 1.3 beside STGS τ 0.5, backend ${backend}`,
          async () => {
            const state = await train(page, {
              task: "poly",
              tau: SIDE_BY_SIDE,
              lr: "0.01",
              steps: POLY_STEPS,
              backend,
            });
            const expected = checkBackend(state, backend, webgpuSkip === null && !softwareAdapter);
            const status = (await page.textContent("#status"))!;
            assert(status.startsWith(`Done on ${expected}:`), `status: ${status}`);
            console.log(`  ${backend}: ${status}`);
            assertEquals(state.runs.map((r) => r.info.label), SIDE_BY_SIDE_LABELS);
            for (const run of state.runs) {
              const label = run.info.label;
              assertEquals(run.failure, null, label);
              assertEquals(run.losses.map(([s]) => s), Array.from({ length: POLY_STEPS }, (_, i) => i + 1));
              for (const [s, loss] of run.losses) {
                assert(Number.isFinite(loss) && loss > 0, `${label}: loss ${loss} at ${s}`);
              }
              const exact = run.epochs.map(([, , e]) => e);
              assertEquals(run.epochs.map(([s]) => s), [100, 200, 300, 400]);
              assert(exact[3] > run.info.optimum, `${label}: exact loss ${exact[3]} below the optimum`);
            }
            // ReinMax keeps improving here; STGS at τ 0.5 settles within the first epoch (its bias).
            const reinmaxExact = state.runs[0].epochs.map(([, , e]) => e);
            assert(
              reinmaxExact[3] < reinmaxExact[0] - 1e-3,
              `the exact loss did not decrease: ${reinmaxExact}`,
            );
            await checkBothScales(page, POLY_STEPS);
            await noProblems();
          },
        );
      }

      let wasmVae: RunState[] = [];
      await t.step("8×4 VAE, ReinMax τ 1.3 and STGS τ 0.5 side by side on WASM", async () => {
        const state = await train(page, {
          task: "8x4",
          tau: SIDE_BY_SIDE,
          steps: VAE_STEPS,
          backend: "wasm",
        });
        assertEquals(state.backend, "wasm");
        assertEquals(state.runs.map((r) => r.info.label), SIDE_BY_SIDE_LABELS);
        for (const run of state.runs) checkVaeRun(run, VAE_STEPS);
        await checkPictures(page, 3);
        await checkBothScales(page, VAE_STEPS);
        wasmVae = state.runs;
        const shot = join(await Deno.makeTempDir({ prefix: "reinmax-studio-shot-" }), "studio.png");
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`  screenshot of the studio: ${shot}`);
        await noProblems();
      });

      await t.step(
        "a downloaded checkpoint loads, shows its pictures, and training continues from it",
        async () => {
          assert(wasmVae.length > 0, "needs the WASM VAE run");
          await page.fill("#steps", String(VAE_STEPS + 100)); // how far the loaded run trains
          const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-0")]);
          const file = join(temp, download.suggestedFilename());
          await download.saveAs(file);
          await page.waitForFunction(() => studio().saved !== null, null, { timeout: 60_000 });
          const saved = (await page.evaluate(() => studio().saved))!;
          assertEquals(download.suggestedFilename(), `reinmax-8x4-reinmax-step${VAE_STEPS}.safetensors`);
          assertEquals((await Deno.stat(file)).size, saved.bytes);
          assertEquals(saved.step, VAE_STEPS);

          await page.setInputFiles("#load", file);
          await page.waitForFunction(() => studio().loaded !== null || studio().phase === "error", null, {
            timeout: 60_000,
          });
          let state = await page.evaluate(studio);
          assertEquals(state.error, null);
          // The loaded model evaluates exactly as the saved one did: same weights, same evaluation draws.
          assertEquals(state.loaded, {
            name: download.suggestedFilename(),
            step: VAE_STEPS,
            check: saved.check,
          });
          assertEquals(state.phase, "paused");
          assert((await page.textContent("#status"))!.includes(`at step ${VAE_STEPS}`));
          assertEquals(state.runs.map((r) => r.imagesStep), [VAE_STEPS], "the loaded model's pictures");
          await checkPictures(page, 2);

          await page.click("#resume");
          // The page stays "paused" until the worker answers the resume; only then does waiting for the end mean
          // anything.
          await page.waitForFunction(() => studio().phase !== "paused", null, { timeout: 60_000 });
          state = await waitForEnd(page, 180_000);
          assertEquals(state.phase, "done", `the run ended in ${state.phase}: ${state.error}`);
          const [run] = state.runs;
          assertEquals(run.step, VAE_STEPS + 100);
          assertEquals(
            run.losses[0][0],
            VAE_STEPS + 1,
            "training continues at the step after the checkpoint's",
          );
          // A trained model goes on from where it was, not from scratch: its first steps are as good as the end
          // of the run it came from.
          const before = mean(wasmVae[0].losses.slice(-50).map(([, l]) => l));
          const after = mean(run.losses.slice(0, 20).map(([, l]) => l));
          assert(after < before + 15, `after loading: ${after}, before saving: ${before}`);
          assert(after < UNTRAINED_ELBO - 100, `after loading: ${after}`);
          await noProblems();
        },
      );

      await t.step(
        "on WASM, a file that is not a checkpoint is refused and the last run's pictures go",
        async () => {
          await loadGarbage(page, garbage, "wasm");
          await noProblems();
        },
      );

      await t.step(
        "the 10×30 and Bernoulli 2×200 VAEs train an epoch on WASM; Reset clears them",
        async () => {
          // After the failed load: the studio is usable. RAdam, the paper's optimiser for both, warms up: the
          // −ELBO falls from about step 40 on.
          for (const task of ["10x30", "bernoulli"]) {
            const state = await train(page, {
              task,
              tau: { reinmax: undefined },
              steps: 100,
              backend: "wasm",
            });
            const [run] = state.runs;
            const losses = run.losses.map(([, l]) => l);
            assertEquals(losses.length, 100, task);
            assert(losses.every((l) => Number.isFinite(l) && l > 0), `${task}: ${losses}`);
            const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
            assert(last < first - 40, `${task}: the train −ELBO did not fall: ${first} → ${last}`);
            assertEquals(run.epochs.length, 1, task);
            assert(run.epochs[0][2] < first, `${task}: test −ELBO ${run.epochs[0][2]} after an epoch`);
            assertEquals(run.imagesStep, 100, task);
            await checkPictures(page, 2);
            await page.click("#reset");
            await checkCleared(page, "idle");
          }
          await noProblems();
        },
      );

      for (const backend of ["wasm", "webgpu"] as const) {
        await onBackend(
          backend,
          `the Bernoulli VAE with RLOO at K = 2 on ${backend}: its losses finite and reported`,
          async () => {
            // On WebGPU a small batch keeps a software GPU quick; on WASM an epoch ends, with its test −ELBO.
            const steps = backend === "wasm" ? SCORE_STEPS : VAE_WEBGPU_STEPS;
            const state = await train(page, {
              task: "bernoulli",
              tau: { rloo: undefined },
              batch: backend === "wasm" ? undefined : "20",
              steps,
              backend,
            });
            assertEquals(state.backend, backend);
            assertEquals(state.settings!.evaluations, 2, "K follows RLOO");
            const [run] = state.runs;
            const label = `${ESTIMATORS.rloo.title} K 2`;
            assertEquals([run.info.estimator, run.info.evaluations, run.info.label], ["rloo", 2, label]);
            assertEquals(run.failure, null);
            assertEquals(run.losses.map(([s]) => s), Array.from({ length: steps }, (_, i) => i + 1));
            for (const [s, l] of run.losses) {
              assert(Number.isFinite(l) && l > 0, `${label}: loss ${l} at ${s}`);
            }
            const row = `#runs tr[data-run="0"]`;
            assertEquals(await page.textContent(`${row} td`), label);
            assertEquals(await page.textContent(`${row} [data-f=step]`), `${steps} / ${steps}`);
            assertEquals(run.imagesStep, steps, "the pictures are of the last step");
            // Ten steps teach the decoder too little for its prior samples to hold many grey levels.
            if (backend === "wasm") {
              assertEquals(run.epochs.length, 1);
              const [, train, test] = run.epochs[0];
              assert(Number.isFinite(train) && Number.isFinite(test) && test > 0, `${run.epochs[0]}`);
              assertEquals(await page.textContent(`${row} [data-f=test]`), test.toFixed(2));
              await checkPictures(page, 2);
            }
            console.log(`  ${backend}: ${(await page.textContent("#status"))!}`);
            await noProblems();
          },
        );
      }

      const pictureFiles = Array.from({ length: PICTURE_COUNT }, (_, i) => ({
        name: `picture-${String(i).padStart(2, "0")}.png`,
        mimeType: "image/png",
        buffer: Buffer.from(encodePng(testPicture(i), PICTURE_SIDE, PICTURE_SIDE, 3)),
      }));
      const pictureNames = pictureFiles.map((f) => f.name);

      await t.step(
        "Your images: no pictures is refused; files are read, the undecodable one and the rest named",
        async () => {
          if (await page.isEnabled("#reset")) await page.click("#reset");
          assert(await page.isHidden("#images-input"), "the pictures' controls belong to their task");
          await page.selectOption("#task", "images");
          assert(await page.isVisible("#images-input"));
          assertEquals(await page.textContent("#images-note"), "No pictures yet.");
          await page.click("#start");
          assertEquals(
            await page.textContent("#status"),
            "Error: Your images: no pictures to train on — drop PNG or JPEG files or a folder of them, or " +
              "choose them",
          );
          assertEquals(await page.getAttribute("#images-drop", "aria-invalid"), "true");
          await page.setInputFiles("#images-files", [
            ...pictureFiles,
            { name: "broken.png", mimeType: "image/png", buffer: Buffer.from("not a PNG") },
            { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") },
          ]);
          const pictures = await readPictures(page);
          assertEquals(pictures.names, pictureNames);
          assertEquals(pictures.notPictures, ["notes.txt"]);
          assertEquals(pictures.undecodable.length, 1, pictures.undecodable.join("; "));
          assertMatch(pictures.undecodable[0], /^broken\.png \(.+\)$/);
          const note = (await page.textContent("#images-note"))!;
          assert(note.startsWith(`${PICTURE_COUNT} pictures ready (picture-00.png, `), note);
          assert(note.includes("A step takes all 12: the batch is at most the number of pictures."), note);
          assert(note.includes("Passed over 1 file that is not PNG or JPEG."), note);
          assert(note.endsWith(` The browser cannot decode ${pictures.undecodable[0]}: left out.`), note);
          assertEquals(
            await page.textContent("#images-note .problem"),
            note.slice(note.indexOf(" The browser")),
          );
          assertEquals(await page.getAttribute("#images-drop", "aria-invalid"), null);
          await noProblems();
        },
      );

      await t.step(
        "Your images in colour, ReinMax beside STGS on WASM: pictures, codes and checkpoint downloaded",
        async () => {
          await page.selectOption("#images-size", String(COLOUR_SIZE));
          await page.selectOption("#images-colour", "3");
          const state = await train(page, {
            task: "images",
            tau: SIDE_BY_SIDE,
            steps: IMAGES_STEPS,
            backend: "wasm",
          });
          // The batch follows the pictures: a dozen, not the form's 100.
          assertEquals(state.settings!.batch, PICTURE_COUNT);
          assertEquals(state.settings!.pictures, { size: COLOUR_SIZE, channels: 3, config: "10x30" });
          assertEquals(state.runs.map((r) => r.info.label), SIDE_BY_SIDE_LABELS);
          for (const run of state.runs) {
            const label = run.info.label;
            assertEquals(run.failure, null, label);
            assertEquals(run.info.stepsPerEpoch, 100, label);
            assertEquals(run.losses.map(([s]) => s), Array.from({ length: IMAGES_STEPS }, (_, i) => i + 1));
            const losses = run.losses.map(([, l]) => l);
            for (const l of losses) assert(Number.isFinite(l) && l > 0, `${label}: loss ${l}`);
            const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-10));
            assert(last < first - 50, `${label}: the −ELBO did not fall: ${first} → ${last}`);
            assertEquals(run.epochs.map(([s]) => s), [100, 200], label);
            for (const [, , elbo] of run.epochs) assert(elbo > 0 && elbo < first, `${label}: −ELBO ${elbo}`);
            assertEquals(run.imagesStep, IMAGES_STEPS, label);
          }
          assertEquals(
            await page.textContent("#reconstructions-heading"),
            "Your pictures and their reconstructions",
          );
          assertEquals(await page.textContent("#test-heading"), "−ELBO of the pictures");
          await checkOwnPictures(page, 1 + state.runs.length, { colour: true });

          const codes = await downloaded(page, "#codes-0", temp);
          assertEquals(codes.name, `reinmax-images-reinmax-step${IMAGES_STEPS}-codes.jsonl`);
          checkCodes(codes.bytes, pictureNames, { categories: 10, latents: 30 });
          const saved = await page.evaluate(() => studio().codes);
          assertEquals(saved, {
            run: 0,
            step: IMAGES_STEPS,
            name: codes.name,
            bytes: codes.bytes.length,
            pictures: 12,
          });

          const checkpoint = await downloaded(page, "#download-1", temp);
          assertEquals(checkpoint.name, `reinmax-images-stgs-step${IMAGES_STEPS}.safetensors`);
          const metadata = safetensorsMetadata(checkpoint.bytes);
          assertEquals(metadata.format, CHECKPOINT_FORMAT);
          assertEquals(metadata.model, "declared");
          assertEquals(metadata.step, String(IMAGES_STEPS));
          assertEquals(metadata["run.task"], "images");
          assertEquals(metadata["run.data"], `${PICTURE_COUNT} pictures, ${COLOUR_SIZE}×${COLOUR_SIZE} RGB`);
          await page.waitForFunction(() => studio().saved !== null, null, { timeout: 60_000 });

          // The checkpoint is the model that coded the pictures: loaded in Deno, it gives the same codes to the
          // same pictures made into an image set the same way.
          const stgsCodes = checkCodes(
            (await downloaded(page, "#codes-1", temp)).bytes,
            pictureNames,
            { categories: 10, latents: 30 },
          );
          const { model } = loadCheckpoint(checkpoint.bytes, await denoWasm(), checkpoint.name);
          try {
            if (!(model instanceof DiscreteModel)) {
              throw new Error(`loaded a ${model.describe().model} model`);
            }
            const set = imageSetFromPictures(
              Array.from({ length: PICTURE_COUNT }, (_, i) => rgba(testPicture(i))),
              { name: "pictures", height: COLOUR_SIZE, width: COLOUR_SIZE, channels: 3 },
            );
            const inputs = new Float32Array(set.count * set.size);
            set.gather(Uint32Array.from({ length: set.count }, (_, i) => i), inputs);
            const again = await model.codes(inputs, set.count);
            assertEquals(
              stgsCodes,
              Array.from({ length: set.count }, (_, i) => [...again.subarray(i * 30, (i + 1) * 30)]),
            );
          } finally {
            model.destroy();
          }

          // The studio does not continue it: the pictures are not in the file.
          const file = join(temp, checkpoint.name);
          await Deno.writeFile(file, checkpoint.bytes);
          await page.setInputFiles("#load", file);
          await waitForEnd(page, 60_000);
          assertEquals(
            await page.textContent("#status"),
            `Error: CheckpointError: ${checkpoint.name}: a model declared layer by layer (what the "Your ` +
              `images" task saves): the studio continues the built-in tasks' checkpoints only; a program of your ` +
              "own reads it with loadCheckpoint",
          );
          await checkCleared(page, "error");
          await noProblems();
        },
      );

      await t.step(
        "Your images dropped, then a folder of them in grey on WASM, with fewer pictures than a row shows",
        async () => {
          await dropFiles(page, pictureFiles.slice(0, 3));
          assertEquals((await readPictures(page)).names, pictureNames.slice(0, 3));
          // Nested folders are walked; each picture is named by its path from the folder chosen.
          const folder = join(temp, "holiday");
          await Deno.mkdir(join(folder, "beach"), { recursive: true });
          const inFolder = ["holiday/b.png", "holiday/beach/a.png", "holiday/beach/c.png", "holiday/d.png"];
          for (const [i, name] of inFolder.entries()) {
            await Deno.writeFile(join(temp, name), pictureFiles[i + 3].buffer);
          }
          await Deno.writeTextFile(join(folder, "index.txt"), "not a picture");
          await page.setInputFiles("#images-folder", folder);
          const pictures = await readPictures(page);
          assertEquals(pictures.names, inFolder);
          assertEquals([pictures.notPictures, pictures.undecodable], [["holiday/index.txt"], []]);
          await page.selectOption("#images-size", "28");
          await page.selectOption("#images-colour", "1");
          await page.selectOption("#task", "images");
          await page.selectOption("#images-code", "8x4");
          // The code's own settings from the paper's table, as for the built-in 8×4 task.
          assertEquals(await page.inputValue("#optimizer"), CATEGORICAL_CONFIGS["8x4"].optimizer);
          assertEquals(Number(await page.inputValue("#lr")), CATEGORICAL_CONFIGS["8x4"].lr);
          const state = await train(page, {
            task: "images",
            tau: { reinmax: undefined },
            steps: 100,
            backend: "wasm",
          });
          assertEquals(state.settings!.batch, inFolder.length);
          assertEquals(state.settings!.pictures, { size: 28, channels: 1, config: "8x4" });
          const [run] = state.runs;
          assertEquals([run.failure, run.step, run.imagesStep, run.epochs.length], [null, 100, 100, 1]);
          await checkOwnPictures(page, 2, { colour: false });
          const codes = await downloaded(page, "#codes-0", temp);
          // Four pictures after a hundred steps may well share their most likely code: only its form is checked.
          checkCodes(codes.bytes, inFolder, { categories: 8, latents: 4, distinct: false });
          await noProblems();
        },
      );

      await onBackend("webgpu", "Your images on WebGPU: pictures drawn, codes downloaded", async () => {
        await page.setInputFiles("#images-files", pictureFiles);
        await readPictures(page);
        await page.selectOption("#images-size", String(COLOUR_SIZE));
        await page.selectOption("#images-code", "10x30");
        const state = await train(page, {
          task: "images",
          tau: { reinmax: undefined },
          steps: VAE_WEBGPU_STEPS,
          backend: "webgpu",
        });
        assertEquals(state.backend, "webgpu");
        const [run] = state.runs;
        assertEquals([run.failure, run.step, run.imagesStep], [null, VAE_WEBGPU_STEPS, VAE_WEBGPU_STEPS]);
        for (const [, l] of run.losses) assert(Number.isFinite(l) && l > 0, `loss ${l}`);
        await checkOwnPictures(page, 2, { colour: false });
        const codes = await downloaded(page, "#codes-0", temp);
        checkCodes(codes.bytes, pictureNames, { categories: 10, latents: 30 });
        await noProblems();
      });

      await onBackend(
        "webgpu",
        "8×4 VAE, ReinMax on WebGPU; a file that is not a checkpoint then clears it",
        async () => {
          const state = await train(page, {
            task: "8x4",
            tau: { reinmax: SIDE_BY_SIDE.reinmax },
            steps: VAE_WEBGPU_STEPS,
            backend: "webgpu",
          });
          assertEquals(state.backend, "webgpu");
          checkVaeRun(state.runs[0], VAE_WEBGPU_STEPS);
          await checkPictures(page, 2);
          await checkBothScales(page, VAE_WEBGPU_STEPS);
          console.log(`  webgpu: ${(await page.textContent("#status"))!}`);
          await loadGarbage(page, garbage, "webgpu");
          await noProblems();
        },
      );

      for (const backend of ["wasm", "webgpu"] as const) {
        await onBackend(
          backend,
          `a diverging run on ${backend} stops with a message naming its step`,
          async () => {
            // Adam's first step moves every weight by about lr, so the second step's −ELBO is far beyond 100 times
            // the first (the trainer's divergence bound). Small batches keep a software GPU quick.
            const runs = backend === "wasm" ? ["reinmax", "st"] : ["reinmax"];
            const state = await train(page, {
              task: "8x4",
              tau: Object.fromEntries(runs.map((name) => [name, undefined])),
              lr: "1e6",
              batch: "10",
              steps: 3,
              backend,
            });
            const failures = (await page.textContent("#failures"))!;
            for (const run of state.runs) {
              const label = run.info.label;
              const failure = run.failure ?? "";
              const step = Number(failure.match(/diverged at step (\d+)/)?.[1]);
              assert(step >= 1, `${label}: ${failure}`);
              assertMatch(failure, /its loss \S+ exceeds/);
              assertEquals(run.step, step - 1, `${label} holds the state before the step that diverged`);
              assert(failures.includes(`${label}: ${failure}`), failures);
            }
            // Each run stopped on its own: the first to diverge did not end the session before the others did.
            const status = (await page.textContent("#status"))!;
            assertEquals(
              status,
              `No run finished on ${backend}: ${
                state.runs.map((r) => `${r.info.label} stopped after step ${r.step}`).join(", ")
              }.`,
            );
            await checkPictures(page, 1 + state.runs.length, { runImages: false });
            await noProblems();
          },
        );
      }

      await t.step("a non-finite run stops with the step and the quantity", async () => {
        // An absurd learning rate: Adam's first step is then beyond float32 (docs/math.md §5.3).
        const state = await train(page, {
          task: "poly",
          tau: { reinmax: undefined },
          lr: "1e38",
          steps: 100,
          backend: "wasm",
        });
        const [run] = state.runs;
        assertMatch(run.failure ?? "", /theta .*non-finite at step 1\b/);
        assertEquals(run.step, 0);
        assert((await page.textContent("#failures"))!.includes(`${run.info.label}: ${run.failure}`));
        await noProblems();
      });

      await t.step(
        "pause stops training, resume continues, the time left shows, reset clears the page",
        async () => {
          await page.click("#reset");
          await page.selectOption("#task", "poly");
          await setEstimators(page, ["reinmax", "st"]);
          await page.fill("#lr", "0.001");
          await page.selectOption("#backend", "wasm");
          await page.fill("#steps", "1000000");
          await page.click("#start");
          await page.waitForFunction(() => studio().runs.every((r) => r.step >= 200), null, {
            timeout: 60_000,
          });
          // Training runs in the worker: the page's own thread answers timers at once while it draws the runs.
          const lag = await page.evaluate(async () => {
            let worst = 0;
            for (const end = performance.now() + 1000; performance.now() < end;) {
              const asked = performance.now();
              await new Promise((resolve) => setTimeout(resolve, 0));
              worst = Math.max(worst, performance.now() - asked);
            }
            return worst;
          });
          assert(lag < 250, `a timer waited ${lag.toFixed(0)} ms on the page's thread during training`);
          let state = await page.evaluate(studio);
          assertEquals(state.phase, "running");
          assert(Number.isFinite(state.msLeft) && state.msLeft > 0, `time left: ${state.msLeft}`);
          assertMatch((await page.textContent("#status"))!, / — about (\d+ h )?(\d+ min )?\d+ s left$/);
          await page.click("#pause");
          await page.waitForFunction(() => studio().phase === "paused", null, { timeout: 30_000 });
          state = await page.evaluate(studio);
          assert(Number.isNaN(state.msLeft), "no time left is shown while paused");
          const paused = state.runs.map((r) => r.step);
          await page.waitForTimeout(1000);
          assertEquals(
            (await page.evaluate(studio)).runs.map((r) => r.step),
            paused,
            "steps moved while paused",
          );
          assert(await page.isEnabled("#resume") && await page.isDisabled("#pause"));
          await page.click("#resume");
          await page.waitForFunction(
            (steps) => studio().runs.every((r, i) => r.step > steps[i]),
            paused,
            { timeout: 30_000 },
          );
          await page.click("#reset");
          await checkCleared(page, "idle");
          assert(await page.isEnabled("#start"), "Start is enabled after Reset");
          await noProblems();
        },
      );
    } finally {
      await context?.close();
      abort.abort();
      await Deno.remove(temp, { recursive: true }).catch(() => {});
    }
  },
});

/** The page's state; runs in the page (page.evaluate serialises the function; the init script defines it). */
function studio(): StudioState {
  return (globalThis as unknown as { reinmaxStudio: StudioState }).reinmaxStudio;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Which backend ran, checked against the one asked for; "auto" takes a hardware WebGPU adapter if any. */
function checkBackend(state: StudioState, backend: string, hardwareWebgpu: boolean): string {
  const expected = backend === "auto" ? state.backend! : backend;
  assert(backendNames().includes(expected as never), `auto chose ${state.backend}`);
  if (backend === "auto" && hardwareWebgpu) assertEquals(expected, "webgpu");
  assertEquals(state.backend, expected);
  assert(state.report.startsWith(`backend: ${expected} (`), `report: ${state.report}`);
  assert(/requested explicitly|available/.test(state.report), `report: ${state.report}`);
  if (backend === "auto" && expected !== "webgpu") {
    assert(/webgpu rejected: /.test(state.report), state.report);
  }
  return expected;
}

/**
 * A VAE run trained `steps` steps from scratch, one epoch = 100 steps: every figure it reports (the test
 * −ELBO and the gradient quality come at epochs' ends).
 */
function checkVaeRun(run: RunState, steps: number): void {
  const label = run.info.label;
  assertEquals(run.step, steps, label);
  assertEquals(run.losses.map(([s]) => s), Array.from({ length: steps }, (_, i) => i + 1), label);
  const losses = run.losses.map(([, l]) => l);
  for (const l of losses) assert(Number.isFinite(l) && l > 0, `${label}: loss ${l}`);
  const window = Math.min(10, steps / 4);
  const first = mean(losses.slice(0, window)), last = mean(losses.slice(-window));
  assert(Math.abs(losses[0] - UNTRAINED_ELBO) < 60, `${label}: the first −ELBO is ${losses[0]}`);
  // From ≈ 543 nats the −ELBO falls by about 90 in the first 20 steps and 200 in 300 (the paper's settings).
  assert(
    last < first - Math.min(100, 2 * steps),
    `${label}: the train −ELBO did not fall: ${first} → ${last}`,
  );
  assertEquals(run.imagesStep, steps, `${label}: the pictures are of the last step`);
  assert(Number.isFinite(run.msPerStep) && run.msPerStep > 0, `${label}: ${run.msPerStep} ms/step`);
  const epochs = Math.floor(steps / 100);
  assertEquals(run.epochs.map(([s]) => s), Array.from({ length: epochs }, (_, i) => (i + 1) * 100));
  if (epochs === 0) return;
  const tests = run.epochs.map(([, , test]) => test);
  for (const v of tests) assert(Number.isFinite(v) && v > 0 && v < UNTRAINED_ELBO, `${label}: test ${v}`);
  assert(tests[tests.length - 1] < tests[0], `${label}: the test −ELBO did not fall: ${tests}`);
  const q = run.quality!;
  assert(q !== null && q.step === steps, `${label}: gradient quality ${JSON.stringify(q)}`);
  assert(q.relativeError >= 0 && q.relativeStd > 0 && Math.abs(q.cosine) <= 1, JSON.stringify(q));
}

/** What a picture canvas shows: its rows, its grey levels (a blank or one-colour canvas has one or two), the
 * share of dark pixels, and whether every pixel is transparent (a canvas cleared and holding nothing). */
async function readCanvas(
  page: Page,
  id: string,
): Promise<{ rows: number; levels: number; dark: number; empty: boolean }> {
  return await page.evaluate((id) => {
    const canvas = document.getElementById(id) as HTMLCanvasElement;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set<number>();
    let dark = 0, empty = true;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] !== 0) empty = false;
      if (data[i] === data[i + 1] && data[i] === data[i + 2]) seen.add(data[i]);
      if (data[i] < 128) dark++;
    }
    return { rows: Number(canvas.dataset.rows), levels: seen.size, dark: dark / (data.length / 4), empty };
  }, id);
}

/**
 * The picture canvases hold `rows` rows (the test images, then one per run; the samples one fewer) and, unless
 * `runImages` is false (every run stopped before drawing), pictures: many grey levels and dark pixels.
 */
async function checkPictures(page: Page, rows: number, { runImages = true } = {}): Promise<void> {
  assert(await page.isVisible("#pictures"), "the pictures are shown");
  for (const id of ["reconstructions", "samples"]) {
    const { rows: drawn, levels, dark } = await readCanvas(page, id);
    assertEquals(drawn, id === "samples" ? rows - 1 : rows, `#${id} rows`);
    if (runImages || id === "reconstructions") {
      assert(levels > 64, `#${id} shows ${levels} grey levels`);
      // Which draw the samples come from depends on how many pictures the worker drew while training (it draws
      // when due by the clock): a short run's samples have been seen at 1.7% dark pixels. A blank canvas has none.
      assert(dark > 0.01, `#${id}: ${(dark * 100).toFixed(1)}% of its pixels are dark`);
    } else {
      assert(levels < 8, `#${id} shows ${levels} grey levels, but no run has pictures`);
    }
  }
}

/** Nothing of an earlier session is on the page: no runs, pictures, curves, failures or backend report. */
async function checkCleared(page: Page, phase: "idle" | "error"): Promise<void> {
  const state = await page.evaluate(studio);
  assertEquals([state.phase, state.runs.length, state.backend, state.report], [phase, 0, null, ""]);
  assertEquals([state.saved, state.loaded], [null, null]);
  assertEquals(await page.locator("#runs tr").count(), 0, "rows of the runs table");
  assertEquals(await page.textContent("#failures"), "");
  assertEquals(await page.textContent("#report"), "");
  assert(await page.isHidden("#pictures"), "the picture panels are hidden");
  for (const id of ["reconstructions", "samples"]) {
    const canvas = await readCanvas(page, id);
    assert(canvas.rows === 0 && canvas.empty, `#${id} still shows ${JSON.stringify(canvas)}`);
  }
  assertEquals((await chartAxes(page)).y, [], "the chart has no curves left");
}

/** The chart's axes once the page has drawn its next frame. */
async function chartAxes(page: Page): Promise<ChartAxes> {
  return await page.evaluate(() =>
    new Promise<ChartAxes>((resolve) =>
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(studio().axes)))
    )
  );
}

/** Tick labels read sensibly: distinct, whole steps from 0 (to `lastStep`), clear of the y axis's title. */
function checkAxes(axes: ChartAxes, lastStep?: string): void {
  assertEquals(new Set(axes.x).size, axes.x.length, `step ticks: ${axes.x}`);
  assertEquals(new Set(axes.y).size, axes.y.length, `loss ticks: ${axes.y}`);
  assert(axes.x.every((label) => /^\d+$/.test(label)), `steps are whole numbers: ${axes.x}`);
  if (lastStep) assertEquals([axes.x[0], axes.x[axes.x.length - 1]], ["0", lastStep]);
  assert(axes.yTitleRight < axes.yLabelsLeft, `the y labels overlap the title: ${JSON.stringify(axes)}`);
}

/** The chart of a finished run of `steps` steps, on a linear and a log loss axis. */
async function checkBothScales(page: Page, steps: number): Promise<void> {
  for (const log of [true, false]) {
    await page.setChecked("#log-scale", log);
    const axes = await chartAxes(page);
    assertEquals(axes.scale, log ? "log" : "linear");
    assert(axes.y.length >= 2, `loss ticks: ${axes.y}`);
    checkAxes(axes, String(steps));
  }
}

/** Loads a file that is not a checkpoint on `backend`: the CheckpointError's message, nothing else left. */
async function loadGarbage(page: Page, file: string, backend: string): Promise<void> {
  await page.selectOption("#backend", backend);
  await page.setInputFiles("#load", file);
  await waitForEnd(page, 60_000);
  const name = file.split("/").pop()!;
  const expected = thrownBy(() => decodeCheckpoint(Deno.readFileSync(file), name));
  assertEquals(await page.textContent("#status"), `Error: CheckpointError: ${expected.message}`);
  await checkCleared(page, "error");
  assert(await page.isEnabled("#start") && await page.isEnabled("#load"), "the studio stays usable");
}

/** What `call` throws. */
function thrownBy(call: () => unknown): Error {
  try {
    call();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${call} threw nothing`);
}

/** The rule a ReinmaxInputError states, without the argument's name it begins with. */
function sdkRule(call: () => unknown): string {
  const e = thrownBy(call);
  if (!(e instanceof ReinmaxInputError)) throw new Error(`${call} threw ${e}`);
  return e.message.slice(`${e.argument}: `.length);
}

let deno: Promise<Backend> | null = null;

/** The τ a task's model is tuned for: the τ of ReinMax, its default estimator. */
async function modelTauOf(task: "8x4" | "10x30" | "bernoulli" | "poly"): Promise<number> {
  if (task === "8x4" || task === "10x30") return CATEGORICAL_CONFIGS[task].tau;
  const backend = await denoWasm();
  const model: TrainableModel = task === "poly" ? new PolyProgramming(backend) : new BernoulliVae(backend);
  try {
    return model.describe().estimator!.tau;
  } finally {
    model.destroy();
  }
}

/**
 * `unavailable` is null when the page has a WebGPU adapter and the registry a webgpu backend, otherwise
 * why not; `softwareAdapter` says whether that adapter is a fallback (software) one.
 */
async function browserWebgpu(page: Page): Promise<{ unavailable: string | null; softwareAdapter: boolean }> {
  if (!backendNames().includes("webgpu")) {
    return { unavailable: "the registry has no webgpu backend", softwareAdapter: false };
  }
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) return { error: "navigator.gpu is undefined in this Chromium" };
    const a = await gpu.requestAdapter() as {
      info?: Record<string, string> & { isFallbackAdapter?: boolean };
      isFallbackAdapter?: boolean;
    } | null;
    if (!a) return { error: "Chromium's navigator.gpu.requestAdapter() returned null" };
    const info = a.info ?? {};
    return {
      info: [info.vendor, info.architecture, info.description].filter((s) => s).join(" / "),
      fallback: Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter),
    };
  });
  if ("error" in adapter) return { unavailable: adapter.error!, softwareAdapter: false };
  console.log(
    `  Chromium WebGPU adapter: ${adapter.info || "(no adapter info)"}${
      adapter.fallback ? " (fallback)" : ""
    }`,
  );
  return { unavailable: null, softwareAdapter: adapter.fallback ?? false };
}

/** The run choice of estimator `name`: its checkbox and (but for the score-function ones) its τ. */
function runChoice(name: string): string {
  return `.run-choice:has(input[name=estimator][value=${name}])`;
}

async function setEstimators(page: Page, names: readonly string[]): Promise<void> {
  for (const box of await page.$$("input[name=estimator]")) {
    await box.setChecked(names.includes((await box.getAttribute("value"))!));
  }
}

/**
 * Resets (checking that nothing of the last session stays), fills the form (the task first: choosing it fills
 * in the paper's defaults), starts, and waits for the end, which must be "done". `tau` ticks its estimators,
 * each at the τ given or, when undefined, at the one the page shows.
 */
async function train(page: Page, settings: {
  task: string;
  tau: Readonly<Record<string, string | undefined>>;
  lr?: string;
  batch?: string;
  steps: number;
  backend: string;
}): Promise<StudioState> {
  if (await page.isEnabled("#reset")) {
    await page.click("#reset");
    await checkCleared(page, "idle");
  }
  await page.selectOption("#task", settings.task);
  await setEstimators(page, Object.keys(settings.tau));
  for (const [name, tau] of Object.entries(settings.tau)) {
    if (tau !== undefined) await page.fill(`#tau-${name}`, tau);
  }
  if (settings.lr) await page.fill("#lr", settings.lr);
  if (settings.batch) await page.fill("#batch", settings.batch);
  await page.fill("#steps", String(settings.steps));
  await page.selectOption("#backend", settings.backend);
  await page.click("#start");
  const state = await waitForEnd(page, 300_000);
  assertEquals(state.phase, "done", `the run ended in ${state.phase}: ${state.error}`);
  return state;
}

/** Waits until the session is neither starting nor running (done, paused or failed); returns its state. */
async function waitForEnd(page: Page, timeout: number): Promise<StudioState> {
  await page.waitForFunction(() => !["starting", "running"].includes(studio().phase), null, { timeout });
  return await page.evaluate(studio);
}

/** Picture `i` of the "images" task's tests, RGB: a square of its own colour and place on a soft gradient. */
function testPicture(i: number): Uint8Array {
  const side = PICTURE_SIDE, pixels = new Uint8Array(side * side * 3);
  const colour = [(i * 97) % 256, (i * 57 + 80) % 256, (i * 151 + 40) % 256];
  const left = 4 + (i * 7) % 16, top = 4 + (i * 11) % 16, size = 12 + (i % 3) * 4;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const inside = x >= left && x < left + size && y >= top && y < top + size;
      for (let c = 0; c < 3; c++) {
        pixels[(y * side + x) * 3 + c] = inside ? colour[c] : 255 - Math.round((y * 90) / side) + c * 0;
      }
    }
  }
  return pixels;
}

/** RGB bytes of a PICTURE_SIDE² picture as an opaque RGBA picture. */
function rgba(rgb: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array((rgb.length / 3) * 4);
  for (let p = 0; p < rgb.length / 3; p++) data.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);
  return { width: PICTURE_SIDE, height: PICTURE_SIDE, data };
}

/** The pictures once the page has read them all. */
async function readPictures(page: Page): Promise<StudioState["pictures"]> {
  await page.waitForFunction(() => !studio().pictures.reading, null, { timeout: 30_000 });
  return await page.evaluate(() => studio().pictures);
}

/** Drops `files` on the drop zone as a drag from the desktop would (files only: a script's drop holds no folders). */
async function dropFiles(
  page: Page,
  files: readonly { name: string; mimeType: string; buffer: Uint8Array }[],
) {
  const sent = files.map((f) => ({ name: f.name, type: f.mimeType, bytes: [...f.buffer] }));
  await page.evaluate((sent) => {
    const transfer = new DataTransfer();
    for (const f of sent) transfer.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
    const drop = document.getElementById("images-drop")!;
    drop.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, sent);
  // The drop's pictures are read after the event: wait for the read it began.
  await page.waitForFunction(
    (n) => studio().pictures.names.length === n || studio().pictures.reading,
    sent.length,
  );
}

/** Clicks `button` and returns the file the page downloads. */
async function downloaded(
  page: Page,
  button: string,
  dir: string,
): Promise<{ name: string; bytes: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const file = join(dir, `download-${download.suggestedFilename()}`);
  await download.saveAs(file);
  return { name: download.suggestedFilename(), bytes: await Deno.readFile(file) };
}

/**
 * The codes file: one JSON line {"file", "codes"} per picture, in the order of `names`, each code `latents`
 * whole categories in [0, categories), and unless `distinct` is false, not one code for all. Returns the codes.
 */
function checkCodes(
  bytes: Uint8Array,
  names: readonly string[],
  { categories, latents, distinct = true }: { categories: number; latents: number; distinct?: boolean },
): number[][] {
  const text = new TextDecoder().decode(bytes);
  assert(text.endsWith("\n"), "the last line ends");
  const lines = text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
  assertEquals(lines.map((l) => l.file), names);
  for (const { file, codes } of lines) {
    assertEquals(Object.keys({ file, codes }), ["file", "codes"]);
    assert(Array.isArray(codes) && codes.length === latents, `${file}: ${JSON.stringify(codes)}`);
    for (const c of codes) assert(Number.isInteger(c) && c >= 0 && c < categories, `${file}: code ${c}`);
  }
  // A trained model tells the pictures apart.
  if (distinct) {
    assert(new Set(lines.map((l) => l.codes.join(","))).size > 1, "every picture has the same code");
  }
  return lines.map((l) => l.codes);
}

/** A safetensors file's metadata: 8 bytes of little-endian header length, then the JSON header. */
function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
  assert(length > 0n && length < BigInt(bytes.length - 8), `header length ${length}`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(length))));
  return header.__metadata__;
}

/**
 * The "images" task's canvases: `rows` rows (the pictures, then one per run; the samples one fewer), each run
 * drawn — many colours (or grey levels), and not just the white of the page.
 */
async function checkOwnPictures(page: Page, rows: number, { colour }: { colour: boolean }): Promise<void> {
  assert(await page.isVisible("#pictures"), "the pictures are shown");
  for (const id of ["reconstructions", "samples"]) {
    const drawn = await page.evaluate((id) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      const colours = new Set<number>();
      let grey = true, unwhite = 0;
      for (let i = 0; i < data.length; i += 4) {
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) grey = false;
        if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) unwhite++;
      }
      return {
        rows: Number(canvas.dataset.rows),
        colours: colours.size,
        grey,
        unwhite: unwhite / (data.length / 4),
      };
    }, id);
    assertEquals(drawn.rows, id === "samples" ? rows - 1 : rows, `#${id} rows`);
    assert(drawn.colours > 32, `#${id} shows ${drawn.colours} colours`);
    assert(drawn.unwhite > 0.05, `#${id}: ${(drawn.unwhite * 100).toFixed(1)}% of its pixels are not white`);
    // Grey pictures are drawn grey (the run labels' coloured text aside, which antialiasing blends).
    if (colour) assert(!drawn.grey, `#${id} is grey`);
  }
}

/** The WASM backend of this process, for models the test builds or loads here. */
function denoWasm(): Promise<Backend> {
  return deno ??= selectBackend({ prefer: "wasm" });
}
