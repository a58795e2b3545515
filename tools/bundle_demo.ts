// Bundles the browser demo (examples/browser/main.ts and worker.ts) for browsers with `deno bundle`.
//
//   deno run --allow-read --allow-write --allow-run --allow-env tools/bundle_demo.ts [--out DIR]
//
// The output directory (default examples/browser/dist/, git-ignored) gets main.js and worker.js, each a
// single ES module; index.html loads dist/main.js, which starts dist/worker.js.
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const DEMO_DIR = fromFileUrl(new URL("../examples/browser/", import.meta.url));
/** Where `deno task demo:browser` bundles to. */
export const DEFAULT_OUT_DIR = join(DEMO_DIR, "dist");
const ENTRY_POINTS = ["main.ts", "worker.ts"];

/** Bundles every entry point into `outDir`; throws with deno bundle's output when it fails. */
export async function bundleDemo(outDir: string = DEFAULT_OUT_DIR): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const outputs: string[] = [];
  for (const entry of ENTRY_POINTS) {
    const output = join(outDir, entry.replace(/\.ts$/, ".js"));
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--sourcemap",
        "linked",
        "-o",
        output,
        join(DEMO_DIR, entry),
      ],
      stdout: "inherit",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (code !== 0) {
      throw new Error(`deno bundle ${entry} failed (exit ${code}):\n${new TextDecoder().decode(stderr)}`);
    }
    outputs.push(output);
  }
  return outputs;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const outDir = i >= 0 ? Deno.args[i + 1] : DEFAULT_OUT_DIR;
  if (!outDir) throw new Error("--out needs a directory");
  for (const file of await bundleDemo(outDir)) {
    console.log(`bundled ${file} (${((await Deno.stat(file)).size / 1024).toFixed(0)} KiB)`);
  }
}
