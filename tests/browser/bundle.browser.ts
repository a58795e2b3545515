// dist/reinmax.js and dist/reinmax.d.ts as a web developer uses them (`deno task test:bundle` builds them
// with `deno task bundle`, then runs this file): the module exports what mod.ts exports and loads nothing
// else; the declarations declare exactly those names and type-check a browser program while rejecting
// wrong ones; and a plain HTML page importing reinmax.js with <script type="module"> trains 100 polynomial
// steps on WebAssembly in headless Chromium. Not part of `deno task test` (no _test suffix).
//
// CHROMIUM_PATH overrides /usr/bin/chromium. A missing Chromium skips the browser test, except under CI
// (CI set), where it fails.
import { assert, assertEquals } from "@std/assert";
import { type Browser, chromium } from "playwright-core";
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL as toFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const DIST = join(ROOT, "dist");
const BUNDLE = join(DIST, "reinmax.js");
const DECLARATIONS = join(DIST, "reinmax.d.ts");
const PAGE = join(ROOT, "tests", "browser", "bundle.html");
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const IN_CI = !["", "0", "false"].includes(Deno.env.get("CI") ?? "");
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
// Only the browser's own libraries: the declarations must need neither Deno's nor WebGPU's types.
const BROWSER_CONFIG = { compilerOptions: { lib: ["esnext", "dom", "dom.iterable", "dom.asynciterable"] } };

/** Fails unless dist/ holds a bundle at least as new as every file it is built from. */
async function requireFreshBundle(): Promise<void> {
  const built = await Deno.stat(BUNDLE).then((s) => s.mtime!, () => null);
  if (built === null || !await Deno.stat(DECLARATIONS).then(() => true, () => false)) {
    throw new Error(`${BUNDLE} or reinmax.d.ts is missing: run \`deno task bundle\` first`);
  }
  const sources = [
    join(ROOT, "mod.ts"),
    join(ROOT, "tools", "bundle.ts"),
    ...await filesUnder(join(ROOT, "src")),
  ];
  for (const file of sources) {
    if ((await Deno.stat(file)).mtime! > built) {
      throw new Error(`${BUNDLE} is older than ${file}: run \`deno task bundle\` again`);
    }
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await filesUnder(path));
    else files.push(path);
  }
  return files;
}

async function deno(args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

/** Every name `path` exports, types included, as `deno doc` lists them. */
async function documentedExports(path: string): Promise<string[]> {
  const { code, output } = await deno(["doc", "--json", path]);
  assertEquals(code, 0, output);
  const doc = JSON.parse(output) as {
    nodes: Record<string, { symbols: { name: string; declarations: { declarationKind: string }[] }[] }>;
  };
  // deno doc also lists, as "private", a declaration the file does not export that an exported one names.
  return Object.values(doc.nodes).flatMap((node) =>
    node.symbols.filter((s) => s.declarations.some((d) => d.declarationKind !== "private")).map((s) => s.name)
  ).sort();
}

Deno.test("dist/reinmax.js exports what mod.ts exports and imports nothing", async () => {
  await requireFreshBundle();
  const bundle = await import(toFileUrl(BUNDLE).href);
  const library = await import("../../mod.ts");
  assertEquals(Object.keys(bundle).sort(), Object.keys(library).sort());
  const code = await Deno.readTextFile(BUNDLE);
  // No other module, wasm or shader file to host: no import statement, dynamic import or import.meta, but for
  // FIXTURES_URL, the place of the data sets a caller may fetch (fixtures/ beside the bundle).
  const fixturesUrl = `new URL("./fixtures/", import.meta.url)`;
  assertEquals(code.split(fixturesUrl).length, 2, "FIXTURES_URL points beside the bundle, once");
  const reference = code.replace(fixturesUrl, "")
    .match(/^\s*import\s*[\w{*"'].*$|\bimport\s*\(|\bimport\.meta\b/m);
  assertEquals(reference, null, `the bundle refers to another file: ${reference?.[0]}`);
});

Deno.test("dist/reinmax.d.ts declares mod.ts's exports and type-checks a browser program", async () => {
  await requireFreshBundle();
  assertEquals(await documentedExports(DECLARATIONS), await documentedExports(join(ROOT, "mod.ts")));

  // A web developer's project: reinmax.js and reinmax.d.ts copied beside their code.
  const project = await Deno.makeTempDir({ prefix: "reinmax-bundle-types-" });
  try {
    await Deno.copyFile(BUNDLE, join(project, "reinmax.js"));
    await Deno.copyFile(DECLARATIONS, join(project, "reinmax.d.ts"));
    await Deno.writeTextFile(join(project, "deno.json"), JSON.stringify(BROWSER_CONFIG));
    await Deno.writeTextFile(
      join(project, "good.ts"),
      `import { adam, estimator, type PolyEpoch, ReinmaxInputError, selectBackend, trainPoly } from "./reinmax.js";
const backend = await selectBackend({ prefer: "wasm" });
const epochs: PolyEpoch[] = [];
try {
  for await (const e of trainPoly(backend, { steps: 100, estimator: estimator("st", { tau: 1 }), optimizer: adam({ lr: 0.01 }) })) {
    epochs.push(e);
  }
} catch (e) {
  if (e instanceof ReinmaxInputError) console.log(e.argument);
}
const loss: number = epochs[epochs.length - 1].exactLoss;
document.body.textContent = \`\${backend.report.chosen}: \${loss.toFixed(4)}\`;
`,
    );
    // Each of these is wrong in one way the declarations must catch.
    const wrong: Record<string, [code: string, program: string]> = {
      "internal.ts": ["TS2459", `import { requireOptions } from "./reinmax.js";\nrequireOptions({});\n`],
      "option.ts": [
        "TS2322",
        `import { selectBackend, trainPoly } from "./reinmax.js";\n` +
        `trainPoly(await selectBackend(), { steps: "100" });\n`,
      ],
      "result.ts": [
        "TS2322",
        `import { polyOptimum, polyTargets } from "./reinmax.js";\n` +
        `const s: string = polyOptimum(polyTargets(8, "const"), 2);\nconsole.log(s);\n`,
      ],
    };
    for (const [file, [, program]] of Object.entries(wrong)) {
      await Deno.writeTextFile(join(project, file), program);
    }

    const good = await deno(["check", "--quiet", "good.ts"], project);
    assertEquals(good.code, 0, `a correct program failed to type-check:\n${good.output}`);
    const bad = await deno(["check", "--quiet", ...Object.keys(wrong)], project);
    assert(bad.code !== 0, `the wrong programs type-checked:\n${bad.output}`);
    // Deno prints one block per error: "TS2322 [ERROR]: …", the line, "at file:///…/result.ts:3:7".
    const errors = bad.output.split(/\n\s*\n/).filter((block) => block.includes("[ERROR]"));
    for (const [file, [code]] of Object.entries(wrong)) {
      assert(
        errors.some((block) => block.startsWith(`${code} `) && block.includes(`/${file}:`)),
        `expected ${code} in ${file}, got:\n${bad.output}`,
      );
    }
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});

const chromiumMissing = await Deno.stat(CHROMIUM).then(() => null, () => `${CHROMIUM} does not exist`);
if (chromiumMissing && !IN_CI) console.log(`SKIPPED: bundle page in Chromium: ${chromiumMissing}`);

Deno.test({
  name: chromiumMissing && !IN_CI
    ? `a plain page trains with dist/reinmax.js [skipped: ${chromiumMissing}]`
    : "a plain page trains 100 polynomial steps with dist/reinmax.js in Chromium",
  ignore: chromiumMissing !== null && !IN_CI,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    if (chromiumMissing) throw new Error(`CI is set and ${chromiumMissing} (set CHROMIUM_PATH)`);
    await requireFreshBundle();
    const abort = new AbortController();
    let browser: Browser | null = null;
    try {
      const requested: string[] = [];
      const files: Record<string, [string, string]> = {
        "/": [PAGE, "text/html; charset=utf-8"],
        "/reinmax.js": [BUNDLE, "text/javascript; charset=utf-8"],
      };
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen: () => {} },
        async (request) => {
          const path = new URL(request.url).pathname;
          requested.push(path);
          // The fixtures deno task bundle copied into dist/fixtures/.
          const file = files[path] ??
            (path.startsWith("/fixtures/") && !path.includes("..")
              ? [join(dirname(BUNDLE), path), "application/octet-stream"]
              : undefined);
          if (!file) return new Response("not found", { status: 404 });
          return new Response(await Deno.readFile(file[0]), { headers: { "content-type": file[1] } });
        },
      );

      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console error: ${m.text()}`);
      });
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      await page.exposeFunction("reportRejection", (reason: string) => problems.push(`unhandled: ${reason}`));
      await page.addInitScript(() => {
        const report = (globalThis as unknown as { reportRejection(r: string): void }).reportRejection;
        addEventListener("unhandledrejection", (e) => report(String(e.reason?.stack ?? e.reason)));
      });

      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      await page.waitForFunction(() => "result" in globalThis, null, { timeout: 120_000 });
      const result = await page.evaluate(() =>
        (globalThis as unknown as { result: Record<string, unknown> }).result
      );
      assertEquals(result.error, undefined, `the page failed: ${result.error}`);
      console.log(`  ${result.backend} (${result.details}): ${await page.textContent("#status")}`);
      assertEquals(result.backend, "wasm");

      const sampled = result.sampled as number[], exact = result.exact as number[];
      assertEquals(sampled.length, 100, "one sampled loss per step");
      assertEquals(exact.length, 10, "one exact loss per 10-step epoch");
      for (const loss of [...sampled, ...exact]) assert(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
      assert(exact[9] < exact[0] - 1e-3, `the exact loss did not fall: ${exact[0]} → ${exact[9]}`);
      assert(exact[9] > (result.optimum as number), `exact loss ${exact[9]} below the optimum`);
      assertEquals(
        result.fixture,
        { train: 1500, test: 297, size: 64 },
        "the digits, read through FIXTURES_URL",
      );
      assertEquals(problems, []);
      assertEquals(
        [...new Set(requested)].filter((p) => !p.startsWith("/fixtures/")).sort(),
        ["/", "/reinmax.js"],
        "the page loads nothing else but the data it asked for",
      );
    } finally {
      await browser?.close();
      abort.abort();
    }
  },
});
