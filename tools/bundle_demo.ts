// Builds the browser studio (examples/browser/) into one self-contained static site with `deno bundle`.
//
//   deno run --allow-read --allow-write --allow-run --allow-env tools/bundle_demo.ts [--out DIR]
//
// The output directory (default examples/browser/dist/, git-ignored) gets index.html, main.js and worker.js
// (each a single ES module) and fixtures/ with the Fashion-MNIST files the VAEs train on, so any static
// server — or none beyond a file host, offline — serves the whole studio from it.
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const DEMO_DIR = fromFileUrl(new URL("../examples/browser/", import.meta.url));
const FIXTURES_DIR = fromFileUrl(new URL("../fixtures/", import.meta.url));
/** Where `deno task demo:browser` bundles to. */
export const DEFAULT_OUT_DIR = join(DEMO_DIR, "dist");
const ENTRY_POINTS = ["main.ts", "worker.ts"];
/** The data the studio fetches beside the page (the manifest lists every file's SHA-256). */
const FIXTURE_FILES = [
  "manifest.json",
  "fashion-mnist-10k/train-images-idx3-ubyte.gz",
  "fashion-mnist-10k/train-labels-idx1-ubyte.gz",
  "fashion-mnist-10k/t10k-images-idx3-ubyte.gz",
  "fashion-mnist-10k/t10k-labels-idx1-ubyte.gz",
];

/** Builds the site into `outDir`; throws with deno bundle's output when it fails. Returns the files written. */
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
  await Deno.copyFile(join(DEMO_DIR, "index.html"), join(outDir, "index.html"));
  outputs.push(join(outDir, "index.html"));
  for (const file of FIXTURE_FILES) {
    const to = join(outDir, "fixtures", file);
    await Deno.mkdir(join(to, ".."), { recursive: true });
    await Deno.copyFile(join(FIXTURES_DIR, file), to);
    outputs.push(to);
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
