// The command-line examples as a user runs them, in a subprocess: every flag of examples/vae.ts is checked and
// named before any data or backend work (the files it will write too), a short run prints the metrics as JSON and
// --png writes a picture, Ctrl-C says how to resume, --resume refuses flags that contradict the checkpoint, the
// score-function estimators train the Bernoulli VAE at the K they take and are refused by name elsewhere, and
// examples/poly.ts and examples/gradient_quality.ts report their progress and errors.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { runExample, spawnExample } from "./util.ts";
import { decodeCheckpoint, ESTIMATOR_NAMES, type EstimatorName, ESTIMATORS } from "../mod.ts";
import { decodeSafetensors, encodeSafetensors } from "./internals.ts";

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

// ---------------------------------------------------------------------------------------------------------
// The files a run writes: checked before the work, written whole

/** The flags of a quick run: the 8×8 digits, the small 8×4 model, 3 steps per epoch, on WASM. */
const QUICK = ["--data", "digits", "--config", "8x4", "--batch", "500", "--backend", "wasm"];

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "reinmax-cli-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names in `dir`, sorted. */
async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Asserts that the run stopped before loading data, choosing a backend or training: it printed none of them. */
function assertNoWorkDone(out: { stdout: string; stderr: string }, what: string): void {
  const lines = `${out.stdout}\n${out.stderr}`.split("\n");
  const work = lines.find((line) => /^(data|backend|model): |^epoch /.test(line));
  assertEquals(work, undefined, `${what}: work was done before the error: ${out.stderr}`);
}

// Without these checks a missing permission or directory was found only when the first file was written:
// after the first epoch for a checkpoint, after the whole training for the PNG.
Deno.test("vae CLI: an output without --allow-write exits 2 naming its flag and --allow-write, before training", async () => {
  await inTempDir(async (dir) => {
    for (const flag of ["--png", "--checkpoint"]) {
      const path = `${dir}/out.file`;
      const out = await run([...QUICK, "--epochs", "1", flag, path], ["--allow-read"]);
      assertEquals(out.code, 2, `${flag}: ${out.stderr}`);
      assert(out.stderr.startsWith(`error: ${flag}: cannot write ${path}`), out.stderr);
      assertStringIncludes(out.stderr, "--allow-write");
      assertNoWorkDone(out, flag);
    }
    assertEquals(await listing(dir), []);
  });
});

Deno.test("vae CLI: --checkpoint in a missing directory exits 2 naming it, before training", async () => {
  await inTempDir(async (dir) => {
    const permissions = ["--allow-read", `--allow-write=${dir}`];
    const missing = await run(
      [...QUICK, "--epochs", "1", "--checkpoint", `${dir}/missing/run.safetensors`],
      permissions,
    );
    assertEquals(missing.code, 2, missing.stderr);
    assert(missing.stderr.startsWith("error: --checkpoint:"), missing.stderr);
    assertStringIncludes(missing.stderr, `the directory ${dir}/missing does not exist`);
    assertNoWorkDone(missing, "missing directory");
    // A directory where a file is expected is named too.
    const directory = await run([...QUICK, "--epochs", "1", "--png", dir], permissions);
    assertEquals(directory.code, 2, directory.stderr);
    assert(directory.stderr.startsWith(`error: --png: ${dir} is a directory`), directory.stderr);
    assertNoWorkDone(directory, "a directory");
    assertEquals(await listing(dir), []);
  });
});

// A run killed between writing its temporary file and renaming it leaves `.NAME.PID.tmp` beside the target; the
// next run that writes the same target removes it (and only the temporary files of that target).
Deno.test('vae CLI: a 1-epoch run says "1 epoch" and removes the temporary file a killed run left', async () => {
  await inTempDir(async (dir) => {
    // A process id above Linux's largest (2^22), so it is never this run's own.
    const stale = ".run.safetensors.99999999.tmp", unrelated = ".other.safetensors.99999999.tmp";
    await Deno.writeTextFile(`${dir}/${stale}`, "half a checkpoint");
    await Deno.writeTextFile(`${dir}/${unrelated}`, "another target's");
    const out = await run(
      [...QUICK, "--epochs", "1", "--checkpoint", `${dir}/run.safetensors`],
      ["--allow-read", `--allow-write=${dir}`],
    );
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /^done: 1 epoch, 3 steps; train −ELBO /m);
    assert(!out.stdout.includes("1 epochs"), out.stdout);
    assertEquals(await listing(dir), [unrelated, "run.safetensors"]);
    assertEquals(decodeCheckpoint(await Deno.readFile(`${dir}/run.safetensors`), "run").state.step, 3);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Mistakes and failures: named, with the right exit code

Deno.test("vae CLI: a mistyped flag suggests the nearest known one", async () => {
  const mistakes = [["--epoch", "--epochs"], ["--estimater", "--estimator"], ["--checkpont", "--checkpoint"]];
  for (const [typed, meant] of mistakes) {
    const out = await run([typed, "3"]);
    assertEquals(out.code, 2, out.stderr);
    assert(out.stderr.startsWith(`error: ${typed}: unknown flag; did you mean ${meant}?`), out.stderr);
  }
});

// lr 1e6 sends step 1's update far enough that step 2's loss is beyond divergenceFactor × step 1's but still
// finite: a DivergenceError, which the command line reports as one line with exit code 1, not a stack trace.
Deno.test("vae CLI: a diverging learning rate exits 1 with a DivergenceError naming the step", async () => {
  const out = await run([...QUICK, "--lr", "1e6", "--epochs", "1"]);
  assertEquals(out.code, 1, out.stderr);
  assertMatch(out.stderr, /^error: DivergenceError: training diverged at step \d+: /m);
  assert(!out.stderr.includes("Uncaught"), out.stderr);
  assert(!out.stdout.includes("done:"), out.stdout);
});

// ---------------------------------------------------------------------------------------------------------
// The score-function estimators: --model bernoulli with --evaluations K, named flags for every other case

/** The estimators of the table that weigh the losses of K Bernoulli codes, and those every model takes. */
const SCORE = ESTIMATOR_NAMES.filter((name) => ESTIMATORS[name].scoreFunction);
const PATHWISE = ESTIMATOR_NAMES.filter((name) => !ESTIMATORS[name].scoreFunction);

/** The flags of a quick Bernoulli run: the 8×8 digits, 3 steps per epoch, on WASM. */
const QUICK_BERNOULLI = ["--model", "bernoulli", "--data", "digits", "--batch", "500", "--backend", "wasm"];

Deno.test("vae CLI: --help says which estimators need --model bernoulli and the K each takes", async () => {
  const { code, stdout } = await run(["--help"]);
  assertEquals(code, 0);
  const line = stdout.split("\n").find((l) => l.trimStart().startsWith("--estimator"))!;
  assertStringIncludes(line, "--model bernoulli");
  for (const name of SCORE) {
    const { min, max } = ESTIMATORS[name].scoreFunction!.evaluations;
    assertMatch(line, new RegExp(`\\b${name}\\b[^;]* K ${min}${min === max ? "" : `–${max}`}\\b`));
  }
  // --tau gives each estimator's default, or says the estimator has no use for it: the pathwise ones all relax.
  const tau = stdout.split("\n").find((l) => l.trimStart().startsWith("--tau"))!;
  const [defaults, unused = ""] = tau.split("; unused by ");
  for (const name of PATHWISE) assertMatch(defaults, new RegExp(`\\b${name} `));
  for (const name of SCORE) {
    const given = defaults.includes(`${name} ${ESTIMATORS[name].tau.default}`);
    assert(given !== unused.split(", ").includes(name), `${name} in ${tau}`);
  }
});

Deno.test("vae CLI: --model bernoulli --estimator rloo --evaluations 2 trains and reports finite metrics", async () => {
  const out = await run([
    ...QUICK_BERNOULLI,
    "--estimator",
    "rloo",
    "--evaluations",
    "2",
    "--epochs",
    "1",
    "--json",
  ]);
  assertEquals(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(lines.length, 2, out.stdout);
  const [epoch, last] = lines;
  assertEquals([epoch.epoch, epoch.step], [1, 3]); // 1,500 images / 500
  assertEquals([last.model, last.estimator, last.evaluations, last.steps], ["bernoulli", "rloo", 2, 3]);
  for (const value of [epoch.trainElbo, epoch.testElbo, epoch.trainReconstruction, epoch.testKl]) {
    assert(Number.isFinite(value) && value > 0, JSON.stringify(epoch));
  }
  assertEquals(last.testElbo, epoch.testElbo);
  // RLOO has no relaxation: the model line gives its K, not a τ it does not use.
  const model = out.stderr.split("\n").find((line) => line.startsWith("model: "))!;
  assertStringIncludes(model, "K=2");
  assertMatch(model, /, rloo, /);
  assert(!model.includes("τ="), model);
});

Deno.test("vae CLI: a score-function estimator of a categorical VAE names --estimator and lists what it takes", async () => {
  const runs = await Promise.all(
    SCORE.map((name) => run([...QUICK, "--epochs", "1", "--estimator", name])),
  );
  runs.forEach((out, i) => {
    assertEquals(out.code, 2, `${SCORE[i]}: ${out.stderr}`);
    const error = out.stderr.split("\n").find((line) => line.startsWith("error: "));
    assert(error?.startsWith(`error: --estimator: ${SCORE[i]} `), `${SCORE[i]}: ${out.stderr}`);
    assertStringIncludes(error, "--model bernoulli");
    assertStringIncludes(error, PATHWISE.join(", "));
    assert(!/^epoch /m.test(out.stdout), `${SCORE[i]} trained: ${out.stdout}`);
  });
});

Deno.test("vae CLI: a K a score-function estimator does not take names --evaluations and the K it needs", async () => {
  // DisARM is one antithetic pair. Each estimator is asked for a K beside its range: the flag's default of 1
  // where that is too few, one more than its largest otherwise.
  const cases: [EstimatorName, string | undefined][] = [
    ["disarm", "3"],
    ...SCORE.map((name): [EstimatorName, string | undefined] => {
      const { min, max } = ESTIMATORS[name].scoreFunction!.evaluations;
      return [name, min > 1 ? undefined : String(max + 1)];
    }),
  ];
  const runs = await Promise.all(
    cases.map(([name, k]) =>
      run([...QUICK_BERNOULLI, "--epochs", "1", "--estimator", name, ...(k ? ["--evaluations", k] : [])])
    ),
  );
  runs.forEach((out, i) => {
    const [name, k] = cases[i];
    const { min, max } = ESTIMATORS[name].scoreFunction!.evaluations;
    assertEquals(out.code, 2, `${name} K ${k}: ${out.stderr}`);
    const error = out.stderr.split("\n").find((line) => line.startsWith("error: "));
    assert(error?.startsWith("error: --evaluations: "), `${name} K ${k}: ${out.stderr}`);
    assertStringIncludes(error, ESTIMATORS[name].title);
    assertStringIncludes(error, min === max ? `${min}` : `${min} to ${max}`);
    assertStringIncludes(error, `got ${k ?? 1}`);
    assert(!/^epoch /m.test(out.stdout), `${name} trained: ${out.stdout}`);
  });
});

Deno.test("poly, classifier and your_images CLIs refuse a score-function estimator, listing theirs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reinmax-cli-" });
  try {
    for (
      const [program, args, flag] of [
        ["poly.ts", ["--estimator", "rloo"], "--estimator"],
        ["your_images.ts", ["--images", dir, "--estimator", "disarm"], "--estimator"],
        ["classifier.ts", ["--estimators", "reinmax,doublecv"], "--estimators"],
      ] as const
    ) {
      const out = await runExample(program, [...args]);
      assertEquals(out.code, 2, `${program}: ${out.stderr}`);
      assert(out.stderr.startsWith(`error: ${flag}: `), `${program}: ${out.stderr}`);
      assertStringIncludes(out.stderr, PATHWISE.join(", "));
      assertNoWorkDone(out, program);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Interrupting and resuming

/**
 * Reads `stream` until a whole line satisfies `accept` and returns that line (undefined if the stream ended
 * first), and `drained`, which reads the rest so that the process never blocks on a full pipe.
 */
async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  accept: (line: string) => boolean,
): Promise<{ line: string | undefined; drained: Promise<void> }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { line: undefined, drained: Promise.resolve() };
    text += decoder.decode(value, { stream: true });
    const line = text.split("\n").slice(0, -1).find(accept);
    if (line !== undefined) {
      const drained = (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })();
      return { line, drained };
    }
  }
}

Deno.test("vae CLI: Ctrl-C exits 130 naming the last checkpoint and the --resume command that continues it", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = `${dir}/run.safetensors`;
    const permissions = ["--allow-read", `--allow-write=${dir}`];
    const args = [...QUICK, "--epochs", "1000", "--json", "--checkpoint", checkpoint];
    const child = spawnExample("vae.ts", args, permissions);
    const stderr = new Response(child.stderr).text();
    // The first epoch's line comes after its checkpoint is written, so there is a checkpoint to name.
    const first = await waitForLine(
      child.stdout,
      (line) => line.startsWith("{") && "epoch" in JSON.parse(line),
    );
    if (first.line === undefined) {
      await child.status;
      throw new Error(`the run ended before its first epoch: ${await stderr}`);
    }
    child.kill("SIGINT");
    const [status, errors] = [await child.status, await stderr];
    await first.drained;
    assertEquals(status.code, 130, errors);
    assertMatch(errors, /^interrupted at step \d+\./m);
    assertMatch(errors, new RegExp(`the last checkpoint, after epoch \\d+, is ${checkpoint}; continue with`));
    assertStringIncludes(errors, `--resume ${checkpoint} --epochs 1000`);
    // The checkpoint named is whole: it decodes, at the end of an epoch.
    const { state } = decodeCheckpoint(await Deno.readFile(checkpoint), checkpoint);
    assert(state.step > 0 && state.step % 3 === 0, `step ${state.step}`);
    assertEquals(await listing(dir), ["run.safetensors"], "no temporary file is left");
  });
});

/** A 1-epoch run's checkpoint (digits, 8×4, ReinMax τ 1.3, Adam 5e-4, batch 500, seed 0) at `path`. */
async function trainedCheckpoint(path: string, dir: string): Promise<void> {
  const permissions = ["--allow-read", `--allow-write=${dir}`];
  const out = await run([...QUICK, "--epochs", "1", "--checkpoint", path], permissions);
  assertEquals(out.code, 0, out.stderr);
}

// Every flag that sets what the checkpoint already fixes must agree with it: a contradicting one silently
// ignored would train a run other than the one asked for.
Deno.test("vae CLI: --resume refuses every flag that contradicts the checkpoint, naming it", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = `${dir}/a.safetensors`;
    await trainedCheckpoint(checkpoint, dir);
    const contradicting = [
      ["--model", "bernoulli"],
      ["--config", "10x30"],
      ["--evaluations", "3"],
      ["--binarize", "static"],
      ["--estimator", "st"],
      ["--tau", "1.5"],
      ["--k", "2"],
      ["--optimizer", "radam"],
      ["--lr", "0.1"],
      ["--batch", "100"],
      ["--seed", "9"],
      ["--data", "fixture"],
    ];
    // Each run stops before any data or backend work, so they can run side by side.
    const runs = await Promise.all(
      contradicting.map(([flag, value]) =>
        run(["--resume", checkpoint, "--epochs", "2", "--backend", "wasm", flag, value])
      ),
    );
    runs.forEach((out, i) => {
      const [flag, value] = contradicting[i];
      assertEquals(out.code, 2, `${flag} ${value}: ${out.stderr}`);
      assert(out.stderr.startsWith(`error: ${flag}: `), `${flag} ${value}: ${out.stderr}`);
      assertStringIncludes(out.stderr, "contradicts the checkpoint");
      assertStringIncludes(out.stderr, checkpoint);
      assertNoWorkDone(out, flag);
    });
    // The same flags with the checkpoint's own values are accepted (the run has its epoch already).
    const agreeing = await run([
      "--resume",
      checkpoint,
      "--epochs",
      "1",
      ...["--model", "categorical", "--config", "8x4", "--evaluations", "1", "--binarize", "dynamic"],
      ...["--estimator", "reinmax", "--tau", "1.3", "--k", "1", "--optimizer", "adam", "--lr", "0.0005"],
      ...["--batch", "500", "--seed", "0", "--data", "digits", "--backend", "wasm"],
    ]);
    assertEquals(agreeing.code, 0, agreeing.stderr);
    assertStringIncludes(agreeing.stdout, "nothing to do");
  });
});

// A checkpoint with a tensor this model does not have was written for another model (or edited): loading only
// the tensors the model knows would continue a run that is not the one saved.
Deno.test("vae CLI: --resume of a checkpoint holding a tensor the model lacks is a CheckpointError", async () => {
  await inTempDir(async (dir) => {
    const original = `${dir}/a.safetensors`, extended = `${dir}/b.safetensors`;
    await trainedCheckpoint(original, dir);
    const file = decodeSafetensors(await Deno.readFile(original), original);
    file.tensors.set("encoder.fc9.weight", { dtype: "F32", shape: [2], data: Float32Array.of(1, 2) });
    // encodeSafetensors recomputes the contents checksum, so the file is valid and only the tensor is wrong.
    await Deno.writeFile(extended, encodeSafetensors(file.tensors, file.metadata));
    const out = await run(["--resume", extended, "--epochs", "2", "--backend", "wasm"]);
    assertEquals(out.code, 1, out.stderr);
    assertStringIncludes(out.stderr, `error: CheckpointError: ${extended}`);
    assertStringIncludes(out.stderr, `"encoder.fc9.weight"`);
    assert(!out.stdout.includes("epoch"), out.stdout);
  });
});

// ---------------------------------------------------------------------------------------------------------
// examples/gradient_quality.ts

// The analysis takes minutes at its defaults, so it reports each estimator as it finishes; off a terminal (here
// stderr is a pipe) as plain lines. An untrained model is analysed by default, which the output says.
Deno.test("gradient_quality CLI: progress per estimator on stderr, and a note that the model is untrained", async () => {
  const out = await runExample("gradient_quality.ts", [
    ...["--draws", "4", "--images", "2", "--estimators", "st,gst", "--tau", "1"],
    ...["--data", "digits", "--backend", "wasm"],
  ]);
  assertEquals(out.code, 0, out.stderr);
  const progress = out.stderr.split("\n").filter((line) => / done$/.test(line));
  assertEquals(progress, ["1/2: st τ=1 done", "2/2: gst τ=1 done"]);
  assertStringIncludes(out.stdout, "note: the model is untrained");
  assertEquals(
    out.stdout.split("\n").filter((line) => /^\| (st|gst) \| 1 \|/.test(line)).length,
    2,
    out.stdout,
  );
});
