// The browser demo end to end in headless Chromium (playwright-core): bundles examples/browser/, serves it on
// an ephemeral port, trains a short run with backend "wasm", "auto" and (when the browser has a WebGPU
// adapter) "webgpu", checks what the page shows, and that Stop ends a run. Not part of `deno task test`
// (the file name has no _test suffix); run it with `deno task test:browser`.
//
// CHROMIUM_PATH overrides /usr/bin/chromium. REINMAX_REQUIRE_BACKENDS=webgpu makes a skipped webgpu run fail.
// The page as it looks after the last run is saved to /tmp/demo.png (DEMO_SCREENSHOT overrides).
import { assert, assertEquals } from "@std/assert";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { DemoState } from "../../examples/browser/protocol.ts";
import { serveDemo } from "../../examples/browser/serve.ts";
import { bundleDemo } from "../../tools/bundle_demo.ts";
import { backendNames } from "../../src/registry.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const SCREENSHOT = Deno.env.get("DEMO_SCREENSHOT") ?? "/tmp/demo.png";
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
const STEPS = 400, BATCH = 64;

const chromiumMissing = await Deno.stat(CHROMIUM).then(() => null, () => `${CHROMIUM} does not exist`);
if (chromiumMissing) console.log(`SKIPPED: browser demo test: ${chromiumMissing} (set CHROMIUM_PATH)`);

Deno.test({
  name: chromiumMissing ? `browser demo [skipped: ${chromiumMissing}]` : "browser demo",
  ignore: chromiumMissing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const dist = await Deno.makeTempDir({ prefix: "reinmax-demo-dist-" });
    const profile = await Deno.makeTempDir({ prefix: "reinmax-demo-profile-" });
    const abort = new AbortController();
    let context: BrowserContext | null = null;
    try {
      await bundleDemo(dist);
      const server = serveDemo({ port: 0, distDir: dist, signal: abort.signal });
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 960, height: 760 },
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
      await page.goto(server.url);
      assertEquals(await page.textContent("h1"), "ReinMax in the browser");

      const { unavailable: webgpuSkip, softwareAdapter } = await browserWebgpu(page);
      const runs: ("wasm" | "auto" | "webgpu")[] = ["wasm", "auto", "webgpu"];
      for (const backend of runs) {
        if (backend === "webgpu" && webgpuSkip !== null) {
          const required = REQUIRED.includes("webgpu");
          console.log(`${required ? "FAILED" : "SKIPPED"}: webgpu browser run: ${webgpuSkip}`);
          await t.step({
            name: `train reinmax with backend webgpu [${
              required ? "required but unavailable" : "skipped"
            }: ${webgpuSkip}]`,
            ignore: !required,
            fn: () => {
              throw new Error(`REINMAX_REQUIRE_BACKENDS requires webgpu, but ${webgpuSkip}`);
            },
          });
          continue;
        }
        await t.step(`train reinmax with backend ${backend}`, async () => {
          const state = await train(page, backend);
          const expected = backend === "auto" ? state.backend! : backend;
          if (backend === "auto") {
            assert(backendNames().includes(expected as never), `auto chose ${state.backend}`);
            // auto takes a hardware WebGPU adapter; a software one (SwiftShader) is declined with its reason.
            if (webgpuSkip === null && !softwareAdapter) {
              assertEquals(expected, "webgpu", "auto should prefer an available hardware webgpu");
            }
          }
          assertEquals(state.backend, expected);
          // The status line names the backend; the report says which, why, and what was rejected.
          const status = (await page.textContent("#status"))!;
          const report = (await page.textContent("#report"))!;
          assert(status.startsWith(`Done on ${expected}:`), `status: ${status}`);
          assert(report.startsWith(`backend: ${expected} (`), `report: ${report}`);
          assert(/requested explicitly|available/.test(report), `report: ${report}`);
          if (backend === "auto" && expected !== "webgpu") assert(/webgpu rejected: /.test(report), report);
          console.log(`  ${backend}: ${report.replaceAll("\n", " /")}`);
          console.log(`  ${backend}: ${status}`);

          assertEquals(state.sampled.length, STEPS, "one sampled loss per step");
          assertEquals(state.sampled.map(([s]) => s), Array.from({ length: STEPS }, (_, i) => i + 1));
          for (const [s, loss] of [...state.sampled, ...state.exact]) {
            assert(Number.isFinite(loss) && loss > 0, `loss at step ${s} is ${loss}`);
          }
          const exact = state.exact.map(([, loss]) => loss);
          const first = exact[0], last = exact[exact.length - 1];
          assertEquals(state.exact[state.exact.length - 1][0], STEPS);
          assert(last < first - 1e-3, `the exact loss did not decrease: ${first} → ${last}`);
          assert(last > state.optimum, `exact loss ${last} below the optimum ${state.optimum}`);
          assertEquals(problems, []);
          await page.screenshot({ path: SCREENSHOT }); // the last finished run is what stays in the file
        });
      }

      await t.step("a bad setting ends the run with the library's error on the status line", async () => {
        await page.fill("#tau", "0.5"); // ReinMax needs τ ≥ 1
        await runToEnd(page, 60_000);
        const status = (await page.textContent("#status"))!;
        assert(status.startsWith("Error: ReinmaxInputError:") && status.includes("tau"), status);
        assert(await page.isEnabled("#start"), "Start is enabled after an error");
        assertEquals(problems, []);
        await page.fill("#tau", "1");
      });

      await t.step("a diverging learning rate ends the run with the step and the quantity", async () => {
        await page.selectOption("#backend", "wasm");
        await page.fill("#lr", "1e38"); // Adam's first step is then beyond f32 (docs/math.md §5.3)
        await runToEnd(page, 60_000);
        const status = (await page.textContent("#status"))!;
        assert(
          status.startsWith("Error: NonFiniteError:") && status.includes("theta") &&
            status.includes("step 1"),
          status,
        );
        assertEquals(problems, []);
        await page.fill("#lr", "0.001");
      });

      await t.step("Stop ends a long run and the page stays usable", async () => {
        await page.selectOption("#backend", "wasm");
        await page.fill("#steps", "1000000");
        await page.click("#start");
        await page.waitForFunction(
          () => (globalThis as unknown as { reinmaxDemo: DemoState }).reinmaxDemo.sampled.length >= 100,
          null,
          { timeout: 60_000 },
        );
        await page.click("#stop");
        const state = await page.evaluate(demo);
        assertEquals(state.phase, "stopped");
        assert(await page.isEnabled("#start"), "Start is enabled after Stop");
        assert(await page.isDisabled("#stop"), "Stop is disabled after Stop");
        assert((await page.textContent("#status"))!.startsWith("Stopped at step"));
        assertEquals(problems, []);
        await page.fill("#steps", String(STEPS));
      });
    } finally {
      await context?.close();
      abort.abort();
      await Deno.remove(dist, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});

/** The page's state; runs in the page (page.evaluate serialises the function). */
function demo(): DemoState {
  return (globalThis as unknown as { reinmaxDemo: DemoState }).reinmaxDemo;
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

/** Starts a reinmax run with the given backend on the page and waits until it is done or failed. */
async function train(page: Page, backend: string): Promise<DemoState> {
  await page.selectOption("#estimator", "reinmax");
  await page.fill("#tau", "1");
  await page.fill("#lr", "0.01");
  await page.fill("#steps", String(STEPS));
  await page.fill("#batch", String(BATCH));
  await page.selectOption("#backend", backend);
  const state = await runToEnd(page, 180_000);
  assertEquals(state.phase, "done", `the run ended in ${state.phase}: ${state.error}`);
  return state;
}

/** Clicks Start and waits until the run is no longer running (done, stopped or failed); returns its state. */
async function runToEnd(page: Page, timeout: number): Promise<DemoState> {
  await page.click("#start");
  await page.waitForFunction(
    () => (globalThis as unknown as { reinmaxDemo: DemoState }).reinmaxDemo.phase !== "running",
    null,
    { timeout },
  );
  return await page.evaluate(demo);
}
