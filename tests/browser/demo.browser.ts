// The browser studio end to end in headless Chromium (playwright-core): builds examples/browser/ into a
// temporary site, serves it on an ephemeral port, and drives the page as a person would — the polynomial task
// on backend "wasm", "auto" and (when the browser has a WebGPU adapter) "webgpu"; the 8×4 categorical VAE on
// Fashion-MNIST with ReinMax and ST side by side on WASM, then on WebGPU; a checkpoint downloaded and loaded
// again; pause, resume and reset; and the errors a bad setting or a divergence give. Not part of
// `deno task test` (the file name has no _test suffix); run it with `deno task test:browser`.
//
// CHROMIUM_PATH overrides /usr/bin/chromium. REINMAX_REQUIRE_BACKENDS=webgpu makes a skipped webgpu run fail.
// A screenshot of the studio after the VAE runs is written under a temporary directory; its path is printed.
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
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
const POLY_STEPS = 400, VAE_STEPS = 300, VAE_WEBGPU_STEPS = 20;
/** The first step's −ELBO of an untrained VAE: 784 pixels of ≈ ln 2 nats each. */
const UNTRAINED_ELBO = 784 * Math.LN2;

const chromiumMissing = await Deno.stat(CHROMIUM).then(() => null, () => `${CHROMIUM} does not exist`);
if (chromiumMissing) console.log(`SKIPPED: browser studio test: ${chromiumMissing} (set CHROMIUM_PATH)`);

Deno.test({
  name: chromiumMissing ? `browser studio [skipped: ${chromiumMissing}]` : "browser studio",
  ignore: chromiumMissing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const temp = await Deno.makeTempDir({ prefix: "reinmax-studio-" });
    const dist = join(temp, "site"), profile = join(temp, "profile");
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
      const skipOrFail = async (name: string) => {
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

      for (const backend of ["wasm", "auto", "webgpu"] as const) {
        const name = `polynomial task, reinmax, backend ${backend}`;
        if (backend === "webgpu" && webgpuSkip !== null) {
          await skipOrFail(name);
          continue;
        }
        await t.step(name, async () => {
          const state = await train(page, {
            task: "poly",
            estimators: ["reinmax"],
            tau: "1",
            lr: "0.01",
            steps: POLY_STEPS,
            backend,
          });
          const expected = checkBackend(state, backend, webgpuSkip === null && !softwareAdapter);
          const status = (await page.textContent("#status"))!;
          assert(status.startsWith(`Done on ${expected}:`), `status: ${status}`);
          console.log(`  ${backend}: ${status}`);
          const [run] = state.runs;
          assertEquals(run.losses.map(([s]) => s), Array.from({ length: POLY_STEPS }, (_, i) => i + 1));
          for (const [s, loss] of run.losses) {
            assert(Number.isFinite(loss) && loss > 0, `loss ${loss} at ${s}`);
          }
          const exact = run.epochs.map(([, , e]) => e);
          assertEquals(run.epochs.map(([s]) => s), [100, 200, 300, 400]);
          assert(exact[3] < exact[0] - 1e-3, `the exact loss did not decrease: ${exact}`);
          assert(exact[3] > run.info.optimum, `exact loss ${exact[3]} below the optimum ${run.info.optimum}`);
          await noProblems();
        });
      }

      let wasmVae: RunState[] = [];
      await t.step("8×4 VAE, ReinMax and ST side by side on WASM", async () => {
        const state = await train(page, {
          task: "8x4",
          estimators: ["reinmax", "st"],
          steps: VAE_STEPS,
          backend: "wasm",
        });
        assertEquals(state.backend, "wasm");
        assertEquals(state.runs.map((r) => r.info.label), ["reinmax τ 1.3", "st τ 1.3"]);
        for (const run of state.runs) checkVaeRun(run, VAE_STEPS);
        await checkPictures(page, 3);
        wasmVae = state.runs;
        const shot = join(await Deno.makeTempDir({ prefix: "reinmax-studio-shot-" }), "studio.png");
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`  screenshot of the studio: ${shot}`);
        await noProblems();
      });

      await t.step("a downloaded checkpoint loads and training continues from it", async () => {
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
      });

      await t.step("the 10×30 and Bernoulli 2×200 VAEs train an epoch on WASM", async () => {
        // RAdam, the paper's optimiser for both, warms up: the −ELBO falls from about step 40 on.
        for (const task of ["10x30", "bernoulli"]) {
          const state = await train(page, { task, estimators: ["reinmax"], steps: 100, backend: "wasm" });
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
        }
        await noProblems();
      });

      const webgpuVae = "8×4 VAE, ReinMax on WebGPU";
      if (webgpuSkip !== null) await skipOrFail(webgpuVae);
      else {
        await t.step(webgpuVae, async () => {
          const state = await train(page, {
            task: "8x4",
            estimators: ["reinmax"],
            steps: VAE_WEBGPU_STEPS,
            backend: "webgpu",
          });
          assertEquals(state.backend, "webgpu");
          checkVaeRun(state.runs[0], VAE_WEBGPU_STEPS);
          await checkPictures(page, 2);
          console.log(`  webgpu: ${(await page.textContent("#status"))!}`);
          await noProblems();
        });
      }

      await t.step("pause stops training, resume continues, reset clears the page", async () => {
        await page.click("#reset");
        await page.selectOption("#task", "poly");
        await setEstimators(page, ["reinmax", "st"]);
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
        assertEquals((await page.evaluate(studio)).phase, "running");
        await page.click("#pause");
        await page.waitForFunction(() => studio().phase === "paused", null, { timeout: 30_000 });
        const paused = (await page.evaluate(studio)).runs.map((r) => r.step);
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
        const state = await page.evaluate(studio);
        assertEquals([state.phase, state.runs.length], ["idle", 0]);
        assert(await page.isEnabled("#start"), "Start is enabled after Reset");
        await noProblems();
      });

      await t.step("a bad setting ends the run with the library's error on the status line", async () => {
        await setEstimators(page, ["reinmax"]);
        await page.fill("#tau", "0.5"); // ReinMax needs τ ≥ 1
        await page.fill("#steps", "100");
        await page.click("#start");
        await waitForEnd(page, 60_000);
        const status = (await page.textContent("#status"))!;
        assert(status.startsWith("Error: ReinmaxInputError:") && status.includes("tau"), status);
        assert(await page.isEnabled("#start"), "Start is enabled after an error");
        await noProblems();
        await page.fill("#tau", "1");
      });

      await t.step("a diverging learning rate ends the run with the step and the quantity", async () => {
        await page.fill("#lr", "1e38"); // Adam's first step is then beyond f32 (docs/math.md §5.3)
        await page.click("#start");
        await waitForEnd(page, 60_000);
        const status = (await page.textContent("#status"))!;
        assert(
          status.startsWith("Error: reinmax τ 1: NonFiniteError:") && status.includes("theta") &&
            status.includes("step 1"),
          status,
        );
        await noProblems();
      });

      await t.step("a file that is not a checkpoint is refused with an error naming it", async () => {
        const file = join(temp, "not-a-checkpoint.safetensors");
        await Deno.writeTextFile(file, "this is not a safetensors file");
        await page.setInputFiles("#load", file);
        await waitForEnd(page, 60_000);
        const status = (await page.textContent("#status"))!;
        assert(status.startsWith("Error: CheckpointError:") && status.includes("not-a-checkpoint"), status);
        await noProblems();
      });
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

/**
 * The picture canvases hold images: read back, each has `rows` rows of pictures with many grey levels (a blank
 * or one-colour canvas has one or two).
 */
async function checkPictures(page: Page, rows: number): Promise<void> {
  for (const id of ["reconstructions", "samples"]) {
    const { rows: drawn, levels, dark } = await page.evaluate((id) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      const seen = new Set<number>();
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] === data[i + 1] && data[i] === data[i + 2]) seen.add(data[i]);
        if (data[i] < 128) dark++;
      }
      return { rows: Number(canvas.dataset.rows), levels: seen.size, dark: dark / (data.length / 4) };
    }, id);
    const expectedRows = id === "samples" ? rows - 1 : rows;
    assertEquals(drawn, expectedRows, `#${id} rows`);
    assert(levels > 64, `#${id} shows ${levels} grey levels`);
    assert(dark > 0.02, `#${id}: ${(dark * 100).toFixed(1)}% of its pixels are dark`);
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

async function setEstimators(page: Page, names: readonly string[]): Promise<void> {
  for (const box of await page.$$("input[name=estimator]")) {
    await box.setChecked(names.includes((await box.getAttribute("value"))!));
  }
}

/** Fills the form (the task first: choosing it fills in the paper's defaults), starts, waits for the end. */
async function train(page: Page, settings: {
  task: string;
  estimators: readonly string[];
  tau?: string;
  lr?: string;
  steps: number;
  backend: string;
}): Promise<StudioState> {
  if (await page.isEnabled("#reset")) await page.click("#reset");
  await page.selectOption("#task", settings.task);
  await setEstimators(page, settings.estimators);
  if (settings.tau) await page.fill("#tau", settings.tau);
  if (settings.lr) await page.fill("#lr", settings.lr);
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
