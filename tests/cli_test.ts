// The VAE command line (examples/vae.ts) as a user runs it, in a subprocess: every flag is checked and named
// before any data or backend work, a short run prints the metrics as JSON, and --png writes a picture.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runExample } from "./util.ts";

const run = (args: string[], permissions?: string[]) => runExample("vae.ts", args, permissions);

Deno.test("vae CLI: --help lists every flag", async () => {
  const { code, stdout } = await run(["--help"]);
  assertEquals(code, 0);
  for (
    const flag of [
      "--model",
      "--config",
      "--estimator",
      "--tau",
      "--optimizer",
      "--lr",
      "--epochs",
      "--batch",
    ]
  ) {
    assertStringIncludes(stdout, flag);
  }
  for (const flag of ["--data", "--seed", "--backend", "--png", "--json", "--read-every"]) {
    assertStringIncludes(stdout, flag);
  }
});

Deno.test("vae CLI: a bad flag is named, with exit code 2, before any data or backend work", async () => {
  for (
    const [args, flag] of [
      [["--config", "9x9"], "--config"],
      [["--model", "gaussian"], "--model"],
      [["--estimator", "reinforce"], "--estimator"],
      [["--tau", "0"], "--tau"],
      [["--estimator", "reinmax", "--tau", "0.9"], "--tau"],
      [["--lr", "-1"], "--lr"],
      [["--epochs", "0"], "--epochs"],
      [["--batch", "2.5"], "--batch"],
      [["--read-every", "0"], "--read-every"],
      [["--seed", "-3"], "--seed"],
      [["--k", "0", "--estimator", "grmck"], "--k"],
      [["--png"], "--png"],
      [["--model", "bernoulli", "--evaluations", "0"], "--evaluations"],
      [["--binarize", "sometimes"], "--binarize"],
    ] as const
  ) {
    const { code, stderr, stdout } = await run([...args]);
    assertEquals(code, 2, `${args}: ${stderr}`);
    assert(stderr.startsWith(`error: ${flag}:`), `${args}: ${stderr}`);
    assert(!stdout.includes("backend:") && !stderr.includes("backend:"), "no backend was selected");
  }
});

Deno.test("vae CLI: a missing data directory is a DatasetError naming it, exit code 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stderr } = await run(["--data", dir]);
    assertEquals(code, 1, stderr);
    assertStringIncludes(stderr, "DatasetError");
    assertStringIncludes(stderr, dir);
    assertStringIncludes(stderr, "train-images-idx3-ubyte");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vae CLI: a short run on the digits prints one JSON object per epoch and a final one", async () => {
  const dir = await Deno.makeTempDir();
  const png = `${dir}/grid.png`;
  try {
    const { code, stdout, stderr } = await run(
      ["--data", "digits", "--config", "8x4", "--epochs", "2", "--backend", "wasm", "--json", "--png", png],
      ["--allow-read", `--allow-write=${dir}`],
    );
    assertEquals(code, 0, stderr);
    const lines = stdout.trim().split("\n").map((line) => JSON.parse(line));
    assertEquals(lines.length, 3, stdout);
    assertEquals(lines.slice(0, 2).map((e) => [e.epoch, e.step]), [[1, 15], [2, 30]]); // 1,500 images / 100
    const last = lines[2];
    assertEquals([last.epochs, last.steps, last.backend, last.config, last.estimator], [
      2,
      30,
      "wasm",
      "8x4",
      "reinmax",
    ]);
    assertEquals([last.tau, last.optimizer, last.lr], [1.3, "adam", 5e-4], "the 8x4 defaults");
    assert(last.trainElbo > 0 && last.testElbo > 0 && last.msPerStep > 0, JSON.stringify(last));
    assertEquals(last.trainElbo, lines[1].trainElbo);
    assertStringIncludes(stderr, "backend: wasm");
    // 16 test images of 8×8 drawn 7× larger with 2 pixels of padding, in three bands.
    const bytes = await Deno.readFile(png);
    assertEquals([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const header = new DataView(bytes.buffer, 16, 8);
    assertEquals([header.getUint32(0), header.getUint32(4)], [16 * 56 + 17 * 2, 3 * 56 + 4 * 2]);
    assertStringIncludes(stderr, `wrote ${await Deno.realPath(png)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const runPoly = (args: string[]) => runExample("poly.ts", args, []);

Deno.test("poly CLI: every flag is checked before a backend is chosen, and named", async () => {
  for (
    const [args, flag] of [
      [["--batch", "0"], "--batch"],
      [["--steps", "0"], "--steps"],
      [["--latents", "1e7"], "--latents"],
      [["--read-every", "0"], "--read-every"],
      [["--p", "-1"], "--p"],
      [["--seed", "0.5"], "--seed"],
    ] as const
  ) {
    const { code, stdout, stderr } = await runPoly([...args]);
    assertEquals(code, 2, `${args}: ${stderr}`);
    assert(stderr.startsWith(`error: ${flag}:`), `${args}: ${stderr}`);
    assert(!stdout.includes("backend:") && !stderr.includes("backend:"), `${args}: no backend was chosen`);
  }
});

Deno.test("poly CLI: a model too large for the backend names --batch; a diverging run exits 1", async () => {
  const big = await runPoly(["--latents", "1048576", "--batch", "1048576", "--backend", "wasm"]);
  assertEquals(big.code, 2, big.stderr);
  assertStringIncludes(big.stderr, "error: --batch: buffer");
  // The largest buffer of the fused step is the samples, one per row.
  assertStringIncludes(big.stderr, "needs batch × latents = 1099511627776 elements");
  const diverged = await runPoly(["--lr", "1e38", "--steps", "400", "--backend", "wasm"]);
  assertEquals(diverged.code, 1, diverged.stderr);
  assertStringIncludes(diverged.stderr, "NonFiniteError");
  assertStringIncludes(diverged.stderr, "at step 1");
});
