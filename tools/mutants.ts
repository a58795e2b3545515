/**
 * Mutation check of the test suite, run by hand (not in CI): each entry of MUTANTS below is a deliberate
 * small bug that a green suite must not allow, a one-line edit `{ file, find, replace, why }` whose `find`
 * occurs exactly once in `file` (plus, for a bug made on both backends, the matching edits in `also`). For
 * each one the tool applies the edit, rebuilds src/gen when
 * asm/ or shaders/ changed (`deno task build`), runs the suite (the command of `deno task test`, with
 * REINMAX_REQUIRE_BACKENDS=wasm,webgpu and --fail-fast), records whether it failed, and always puts the file
 * and the build back (also on Ctrl-C or an error), checking the bytes and `git diff --quiet -- <file>`. It
 * prints a table and exits 1 if any bug was not caught (or could not be applied).
 *
 * It edits src/, asm/, shaders/ and examples/ while it runs, so run it on a private copy of the working tree,
 * never on a tree someone is editing:
 *
 *   cp -a /path/to/reinmax /tmp/mutants-tree
 *   deno run -A tools/mutants.ts --root /tmp/mutants-tree              # every bug against the whole suite
 *   deno run -A tools/mutants.ts --list                                # the bugs, numbered
 *   deno run -A tools/mutants.ts --root DIR --only 7                   # bug 7 alone
 *   deno run -A tools/mutants.ts --root DIR --tests tests/poly_test.ts tests/optim_test.ts   # a quick run
 *
 * Options:
 *   --root DIR      the tree to mutate (default: the repository this file lives in)
 *   --only N        only bug N (1-based, as --list numbers them); may be repeated
 *   --tests FILES…  run only these test files instead of tests/ (quick runs; the real run is the full suite)
 *   --timeout S     seconds one suite run may take before it counts as caught (a hang); default 1200
 *   --no-baseline   skip the first, unmutated run (which must pass, or nothing below means anything)
 *
 * A suite run that ends in a type error counts as "invalid", not "caught": the bug must be one the type
 * checker lets through. The full run takes about the suite's time per bug (less for bugs caught early).
 */

/** One edit: replace the single occurrence of `find` in `file` by `replace`. */
export interface Edit {
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/**
 * One deliberate bug: an edit, and the same edit in other files when the bug is the same on both backends
 * (`also`). A bug in one backend's kernel alone is also caught by the WASM-vs-WebGPU agreement tests; the
 * both-backend version shows that an oracle test catches it where agreement cannot.
 */
export interface Mutant extends Edit {
  readonly why: string;
  readonly also?: readonly Edit[];
}

export const MUTANTS: readonly Mutant[] = [
  // --- polynomial programming: poly_loss (docs/math.md §6.1) -------------------------------------------
  {
    file: "asm/poly.ts",
    find: "store<f32>(gHard + at, invL * p * adP1 *",
    replace: "store<f32>(gHard + at, invL * p * ad *",
    why: "WASM poly_loss gradient uses |d| instead of |d|^(p−1) (right only at p = 2)",
  },
  {
    file: "shaders/poly.wgsl",
    find: "gHard[at] = inv_l * p * ad_p1 *",
    replace: "gHard[at] = inv_l * p * ad *",
    why: "WGSL poly_loss gradient uses |d| instead of |d|^(p−1) (right only at p = 2)",
  },
  {
    file: "asm/poly.ts",
    find: "store<f32>(gHard + at, invL * p * adP1",
    replace: "store<f32>(gHard + at, invL * adP1",
    why: "WASM poly_loss gradient drops the factor p",
  },
  {
    file: "shaders/poly.wgsl",
    find: "gHard[at] = inv_l * p * ad_p1",
    replace: "gHard[at] = inv_l * ad_p1",
    why: "WGSL poly_loss gradient drops the factor p",
  },
  {
    file: "shaders/poly.wgsl",
    find: "return sqrt(x);",
    replace: "return x;",
    why: "WGSL power(x, ½) returns x instead of √x (p = 1.5 only)",
  },
  // --- Adam and RAdam (docs/math.md §5) ----------------------------------------------------------------
  {
    file: "asm/optim.ts",
    find: "f32x4.add(f32x4.mul(f32x4.sqrt(vi), scale), epsilon)",
    replace: "f32x4.mul(f32x4.add(f32x4.sqrt(vi), epsilon), scale)",
    why: "WASM Adam (SIMD body): ε inside the bias-correction scale, (√v + ε)·s instead of √v·s + ε",
  },
  {
    file: "asm/optim.ts",
    find: "(Mathf.sqrt(vi) * denomScale + eps)",
    replace: "((Mathf.sqrt(vi) + eps) * denomScale)",
    why: "WASM Adam (scalar tail): ε inside the bias-correction scale",
  },
  {
    file: "shaders/optim.wgsl",
    find: "(sqrt(vi) * params.denomScale + params.eps)",
    replace: "((sqrt(vi) + params.eps) * params.denomScale)",
    why: "WGSL Adam: ε inside the bias-correction scale",
  },
  {
    file: "src/optim.ts",
    find: "return { stepSize: (opt.lr * rect * Math.sqrt(bc2)) / bc1, denomScale: 1, adaptive: true };",
    replace: "return { stepSize: (opt.lr * rect) / bc1, denomScale: 1 / Math.sqrt(bc2), adaptive: true };",
    why: "RAdam adds ε to the bias-corrected √v (Adam's convention) instead of the uncorrected one",
  },
  {
    file: "src/optim.ts",
    find: "weightDecay: opt.weightDecay,",
    replace: "weightDecay: 0,",
    why: "the optimiser ignores the weight decay",
  },
  // --- elementwise kernels and reductions (docs/math.md §4.9) -----------------------------------------
  {
    file: "asm/tensor.ts",
    find: "v128.store(out + (<usize>i << 2), f32x4.mul(acc, f32x4.splat(scale)));",
    replace: "v128.store(out + (<usize>i << 2), acc);",
    why: "WASM sum_tiles (SIMD body) ignores its scale",
  },
  {
    file: "asm/tensor.ts",
    find: "store<f32>(out + (<usize>i << 2), acc * scale);",
    replace: "store<f32>(out + (<usize>i << 2), acc);",
    why: "WASM sum_tiles (scalar tail) ignores its scale",
  },
  {
    file: "shaders/tensor.wgsl",
    find: "out[i] = acc * params.scale;",
    replace: "out[i] = acc;",
    why: "WGSL sum_tiles ignores its scale",
  },
  {
    file: "asm/tensor.ts",
    find: "t < times; t++) memory.copy",
    replace: "t + 1 < times; t++) memory.copy",
    why: "WASM tile writes one copy too few",
  },
  {
    file: "asm/tensor.ts",
    find: "for (; i < count; i++) store<f32>(out + (<usize>i << 2), value);",
    replace: "for (; i + 1 < count; i++) store<f32>(out + (<usize>i << 2), value);",
    why: "WASM fill misses the last element of a SIMD tail",
  },
  {
    file: "asm/tensor.ts",
    find: "for (let i: u32 = 0; i < count; i++) acc += <f64>load<f32>",
    replace: "for (let i: u32 = 1; i < count; i++) acc += <f64>load<f32>",
    why: "WASM mean skips x[0]",
  },
  {
    file: "shaders/tensor.wgsl",
    find: "compensation = (t - sum) - y;",
    replace: "compensation = 0.0;",
    why: "WGSL mean loses its Kahan compensation",
  },
  // --- Gapped ST (docs/math.md §2.4) -------------------------------------------------------------------
  {
    file: "src/estimators.ts",
    find: "{ rows, n, tau: est.tau, gap: est.gap }",
    replace: "{ rows, n, tau: est.tau, gap: 1 }",
    why: "Gapped ST receives gap 1 whatever the user asked",
  },
  {
    file: "asm/estimators.ts",
    find: "gapRow(out, row, s, cols, m, gap);",
    replace: "gapRow(out, row, s, cols, m, 1);",
    why: "WASM gst_backward builds θ' with gap 1",
  },
  {
    file: "shaders/estimators.wgsl",
    find: "dLogits[base + i] = select(min(logits[base + i], m - params.gap), m, i == s);",
    replace: "dLogits[base + i] = select(min(logits[base + i], m - 1.0), m, i == s);",
    why: "WGSL gst_backward builds θ' with gap 1",
  },
  // --- ReinMax (docs/math.md §2.1) ---------------------------------------------------------------------
  {
    file: "asm/estimators.ts",
    find: "pi * (at(h, i) - 0.5 * gi - piq)",
    replace: "pi * (at(h, i) + 0.5 * gi - piq)",
    why: "WASM ReinMax: the sign of −½·J(π)g flipped",
  },
  {
    file: "shaders/estimators.wgsl",
    find: "pi * (gSoft[base + i] - 0.5 * gi - piq)",
    replace: "pi * (gSoft[base + i] + 0.5 * gi - piq)",
    why: "WGSL ReinMax: the sign of −½·J(π)g flipped",
  },
  // --- random numbers: the counter layout, the key, the tags (docs/math.md §3) -------------------------
  {
    file: "asm/philox.ts",
    find: "philoxBlock(<u32>block, row, stream, tag, k0, k1);",
    replace: "philoxBlock(<u32>block, row, tag, stream, k0, k1);",
    why: "WASM stream words: stream and tag swapped in the Philox counter",
  },
  {
    file: "shaders/rng.wgsl",
    find: "philox_block(vec4u(block, (*s).row, (*s).stream, (*s).tag), (*s).key)",
    replace: "philox_block(vec4u(block + 1u, (*s).row, (*s).stream, (*s).tag), (*s).key)",
    why: "WGSL stream words: off by one in the counter's block word",
  },
  {
    file: "shaders/estimators.wgsl",
    find: "uniform_from_word(stream_word(&stream, 0u))",
    replace: "uniform_from_word(stream_word(&stream, 1u))",
    why: "WGSL categorical_sample reads word 1 (a Gumbel draw's) instead of word 0",
  },
  {
    file: "src/random.ts",
    find: "  estimator: 1,",
    replace: "  estimator: 5,",
    why: "the estimator tag changes (every estimator draw moves to other words, on both backends)",
  },
  {
    file: "src/random.ts",
    find: "return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];",
    replace: "return [Math.floor(seed / 2 ** 32), seed % 2 ** 32];",
    why: "the seed's key words swapped",
  },
  // --- the same bugs on both backends at once: agreement between the backends cannot see these -----------
  {
    file: "asm/poly.ts",
    find: "store<f32>(gHard + at, invL * p * adP1 *",
    replace: "store<f32>(gHard + at, invL * p * ad *",
    also: [{
      file: "shaders/poly.wgsl",
      find: "gHard[at] = inv_l * p * ad_p1 *",
      replace: "gHard[at] = inv_l * p * ad *",
    }],
    why: "both backends: poly_loss gradient uses |d| instead of |d|^(p−1)",
  },
  {
    file: "asm/poly.ts",
    find: "store<f32>(gHard + at, invL * p * adP1",
    replace: "store<f32>(gHard + at, invL * adP1",
    also: [{
      file: "shaders/poly.wgsl",
      find: "gHard[at] = inv_l * p * ad_p1",
      replace: "gHard[at] = inv_l * ad_p1",
    }],
    why: "both backends: poly_loss gradient drops the factor p",
  },
  {
    file: "asm/optim.ts",
    find: "f32x4.add(f32x4.mul(f32x4.sqrt(vi), scale), epsilon)",
    replace: "f32x4.mul(f32x4.add(f32x4.sqrt(vi), epsilon), scale)",
    also: [
      {
        file: "asm/optim.ts",
        find: "(Mathf.sqrt(vi) * denomScale + eps)",
        replace: "((Mathf.sqrt(vi) + eps) * denomScale)",
      },
      {
        file: "shaders/optim.wgsl",
        find: "(sqrt(vi) * params.denomScale + params.eps)",
        replace: "((sqrt(vi) + params.eps) * params.denomScale)",
      },
    ],
    why: "both backends: Adam's ε inside the bias-correction scale",
  },
  {
    file: "asm/tensor.ts",
    find: "v128.store(out + (<usize>i << 2), f32x4.mul(acc, f32x4.splat(scale)));",
    replace: "v128.store(out + (<usize>i << 2), acc);",
    also: [
      {
        file: "asm/tensor.ts",
        find: "store<f32>(out + (<usize>i << 2), acc * scale);",
        replace: "store<f32>(out + (<usize>i << 2), acc);",
      },
      { file: "shaders/tensor.wgsl", find: "out[i] = acc * params.scale;", replace: "out[i] = acc;" },
    ],
    why: "both backends: sum_tiles ignores its scale",
  },
  {
    file: "asm/estimators.ts",
    find: "gapRow(out, row, s, cols, m, gap);",
    replace: "gapRow(out, row, s, cols, m, 1);",
    also: [{
      file: "shaders/estimators.wgsl",
      find: "dLogits[base + i] = select(min(logits[base + i], m - params.gap), m, i == s);",
      replace: "dLogits[base + i] = select(min(logits[base + i], m - 1.0), m, i == s);",
    }],
    why: "both backends: gst_backward builds θ' with gap 1",
  },
  {
    file: "asm/estimators.ts",
    find: "pi * (at(h, i) - 0.5 * gi - piq)",
    replace: "pi * (at(h, i) + 0.5 * gi - piq)",
    also: [{
      file: "shaders/estimators.wgsl",
      find: "pi * (gSoft[base + i] - 0.5 * gi - piq)",
      replace: "pi * (gSoft[base + i] + 0.5 * gi - piq)",
    }],
    why: "both backends: ReinMax's −½·J(π)g with the wrong sign",
  },
  {
    file: "asm/philox.ts",
    find: "philoxBlock(<u32>block, row, stream, tag, k0, k1);",
    replace: "philoxBlock(<u32>block, row, tag, stream, k0, k1);",
    also: [
      {
        file: "shaders/rng.wgsl",
        find: "philox_block(vec4u(block, (*s).row, (*s).stream, (*s).tag), (*s).key)",
        replace: "philox_block(vec4u(block, (*s).row, (*s).tag, (*s).stream), (*s).key)",
      },
      {
        file: "shaders/rng.wgsl",
        find: "philox_block(vec4u(b, 0u, params.stream, params.tag), vec2u(params.key0, params.key1))",
        replace: "philox_block(vec4u(b, 0u, params.tag, params.stream), vec2u(params.key0, params.key1))",
      },
    ],
    why: "both backends: stream and tag swapped in the Philox counter of every stream word",
  },
  {
    file: "asm/estimators.ts",
    find: "v128.store(UNIFORMS, uniformsFromWords(firstWords4(r, key0, key1, stream, tag)));",
    replace:
      "firstWords4(r, key0, key1, stream, tag);\n    v128.store(UNIFORMS, uniformsFromWords(blockWord1));",
    also: [
      {
        file: "asm/estimators.ts",
        find: "import { exponentialFromWord, firstWords4,",
        replace: "import { blockWord1, exponentialFromWord, firstWords4,",
      },
      {
        file: "shaders/estimators.wgsl",
        find: "uniform_from_word(stream_word(&stream, 0u))",
        replace: "uniform_from_word(stream_word(&stream, 1u))",
      },
    ],
    why: "both backends: categorical_sample reads word 1 (a Gumbel draw's) instead of word 0",
  },
  // --- the loss log, the trainer and the models --------------------------------------------------------
  {
    file: "src/models/loss_log.ts",
    find: "ring[c * this.capacity + ((this.#read + i) % this.capacity)]",
    replace: "ring[c * this.capacity + ((this.#read + count - 1 - i) % this.capacity)]",
    why: "the loss log returns losses newest first",
  },
  {
    file: "src/train/trainer.ts",
    find: "losses[i] += values[i];",
    replace: "losses[i] += read.channels[0][i];",
    why: "the trainer's per-step losses read the first channel for every channel",
  },
  {
    file: "src/train/trainer.ts",
    find: "sums[c] += values[i];",
    replace: "sums[0] += values[i];",
    why: "the trainer adds every channel into the first channel's epoch mean",
  },
  {
    file: "src/layers/latent.ts",
    find: "      const scale = 1 / rows;\n      if (this.prior) {",
    replace: "      const scale = 1;\n      if (this.prior) {",
    why: "a categorical layer's KL gradient is not divided by the batch size",
  },
  {
    file: "src/models/poly.ts",
    find: "      scale: 1 / batch,\n",
    replace: "      scale: 1,\n",
    why: "the polynomial task sums its per-sample gradients instead of averaging them",
  },
  // --- the Bernoulli VAE, checkpoints and the trainer's safety net ------------------------------------------
  {
    file: "src/models/discrete_model.ts",
    find: 'if (this.binarize === "static") return training ? 0 : 1;',
    replace: 'if (this.binarize === "static") return training ? this.steps : 1;',
    why: "static binarisation draws afresh every step",
  },
  {
    file: "src/layers/latent.ts",
    find: "{ out: dA, x: this.#aTiledGrad.buffer }, { count: rows * L, times: K, scale: 1 }",
    replace: "{ out: dA, x: this.#aTiledGrad.buffer }, { count: rows * L, times: 1, scale: 1 }",
    why: "a Bernoulli layer keeps only the first of an example's K codes' gradients",
  },
  {
    file: "src/models/discrete_model.ts",
    find: "this.#draws = counters.draws ?? 0;",
    replace: "this.#draws = 0;",
    why: "a loaded checkpoint restarts the draws made outside training",
  },
  {
    file: "src/train/trainer.ts",
    find: "        guard.snapshot();\n        read.channels.forEach((values, c) => {",
    replace: "        read.channels.forEach((values, c) => {",
    why: "the trainer snapshots only at the start, so a replay redoes the whole run",
  },
  {
    file: "src/train/trainer.ts",
    find: '    if (bad.length > 0) {\n      throw new ReinmaxInputError(\n        "model",',
    replace: '    if (bad.length < 0) {\n      throw new ReinmaxInputError(\n        "model",',
    why: "the trainer starts training a model whose parameters already hold non-finite values",
  },
  {
    file: "src/checkpoint/checkpoint.ts",
    find: "  for (const name of checkpoint.state.tensors.keys()) {",
    replace: "  for (const name of expected) {",
    why: "a checkpoint holding a tensor the model does not have loads (the extra tensor is ignored)",
  },
  // --- random numbers across launches: the WASM module keeps the last Philox block between launches -------
  {
    file: "asm/philox.ts",
    find: "    k0 != cachedK0 || k1 != cachedK1\n",
    replace: "    false\n",
    why:
      "WASM streamWord's block cache ignores the key: a launch under another seed reuses the last one's words",
  },
  {
    file: "asm/philox.ts",
    find: "row != cachedRow || stream != cachedStream || tag",
    replace: "row != cachedRow || tag",
    why: "WASM streamWord's block cache ignores the stream: the next step reuses the last step's words",
  },
  // --- analyses -------------------------------------------------------------------------------------------
  {
    file: "src/analysis/gradient_quality.ts",
    find: "relativeStd: Math.sqrt(s2 / m2),",
    replace: "relativeStd: Math.sqrt(s2 / e2),",
    why: "gradient quality's spread is taken relative to the exact gradient instead of the draws' mean",
  },
  {
    file: "src/analysis/gradient_quality.ts",
    find: "Math.sqrt(s / (draws - 1))",
    replace: "Math.sqrt(s / draws)",
    why: "gradient quality's standard deviation divides by M instead of M − 1",
  },
  // --- data: the fixtures' manifest, and what the command line's reader keeps --------------------------------
  {
    file: "src/data/fixtures.ts",
    find: 'if (actual.join("×") !== recorded.join("×")) {',
    replace: "if (actual.length !== recorded.length) {",
    why: "the fixture manifest's recorded shapes are compared by rank only",
  },
  {
    file: "examples/data_source.ts",
    find:
      "for (const bytes of reads) if (!kept.has(bytes.buffer)) (bytes.buffer as ArrayBuffer).transfer(0);",
    replace: "for (const bytes of reads) (bytes.buffer as ArrayBuffer).transfer(0);",
    why:
      "openDataset frees the bytes of uncompressed IDX files, which the data set keeps as its pixels and labels",
  },
  {
    file: "examples/data_source.ts",
    find: "[data.train, data.test].flatMap((set) => [set.pixels.buffer, set.labels?.buffer])",
    replace: "[data.train, data.test].flatMap((set) => [set.pixels.buffer])",
    why: "openDataset frees the labels of an uncompressed IDX directory",
  },
  // --- the command line: atomic writes, --resume --------------------------------------------------------------
  {
    file: "examples/output_file.ts",
    find: "    await Deno.writeFile(temporary, bytes);\n    await Deno.rename(temporary, path);\n",
    replace: "    await Deno.writeFile(path, bytes);\n",
    why: "checkpoints and PNGs are written straight to the target, so a failed write leaves half a file",
  },
  // One bug per flag that --resume compares with the checkpoint: each comparison must have its own test.
  ...([
    ["model", "model"],
    ["config", "config"],
    ["evaluations", "settings.evaluations"],
    ["binarize", "settings.binarize"],
    ["estimator", "est.name"],
    ["tau", "est.tau"],
    ["k", "est.k"],
    ["optimizer", "checkpoint.optimizer.name"],
    ["lr", "checkpoint.optimizer.lr"],
    ["batch", "settings.batch"],
    ["seed", "settings.seed"],
    ["data", "settings.data"],
  ] as const).map(([flag, stored]): Mutant => ({
    file: "examples/vae.ts",
    find: `  contradicts("${flag}", ${stored}, flags.${flag});\n`,
    replace: "",
    why: `--resume silently ignores a --${flag} that contradicts the checkpoint`,
  })),
  // --- declared models: the layer engine (docs/math.md §6.5) and its kernels (§4.13–§4.17) ------------------
  {
    file: "src/random.ts",
    find: "return layer === 0 ? rng : { ...rng, tag: rng.tag + 256 * layer };",
    replace: "return rng;",
    why: "a model's second stochastic layer draws the same random words as its first",
  },
  {
    file: "src/layers/latent.ts",
    find:
      "k.sum_tiles({ out: dLogits.buffer, x: tiled.grad.buffer }, { count: rows * code, times: K, scale: 1 });",
    replace:
      "k.sum_tiles({ out: dLogits.buffer, x: tiled.grad.buffer }, { count: rows * code, times: 1, scale: 1 });",
    why: "a categorical layer keeps only the first of an example's K codes' gradients",
  },
  {
    file: "src/layers/latent.ts",
    find: "{ batch: rows, latents: L, scale: 1 / rows },",
    replace: "{ batch: rows, latents: L, scale: 1 },",
    why: "a Bernoulli layer's KL gradient is not divided by the batch size",
  },
  {
    file: "asm/layers.ts",
    find: "return f32x4.add(dx, f32x4.mul(dy, f32x4.mul(f32x4.sub(one, y), f32x4.add(one, y))));",
    replace: "return f32x4.add(dx, f32x4.mul(dy, f32x4.sub(one, y)));",
    why: "tanh's backward uses 1 − y instead of 1 − y² (both backends)",
    also: [{
      file: "shaders/layers.wgsl",
      find: "dx[i] = dx[i] + dy[i] * ((1.0 - v) * (1.0 + v));",
      replace: "dx[i] = dx[i] + dy[i] * (1.0 - v);",
    }],
  },
  {
    file: "asm/layers.ts",
    find: "const constant: f32 = <f32>dim * (logf(sigma) + HALF_LOG_2PI);",
    replace: "const constant: f32 = <f32>dim * HALF_LOG_2PI;",
    why: "the Gaussian likelihood leaves out log σ (right only at σ = 1; both backends)",
    also: [{
      file: "shaders/layers.wgsl",
      find: "loss[b] = 0.5 * s + f32(dim) * (log_f32(params.sigma) + HALF_LOG_2PI);",
      replace: "loss[b] = 0.5 * s + f32(dim) * HALF_LOG_2PI;",
    }],
  },
  {
    file: "asm/layers.ts",
    find: "const k = f32x4.splat(scale * inv);",
    replace: "const k = f32x4.splat(scale);",
    why: "the Gaussian likelihood's gradient divides by σ instead of σ² (right only at σ = 1; WASM)",
  },
  {
    file: "asm/layers.ts",
    find: "if (j == label) g = label == k ? -rest * inv : g - 1;",
    replace: "if (j == label) g = g - 1;",
    why: "softmax cross-entropy's gradient at a confident correct label cancels to 0 (WASM)",
  },
];

// ---------------------------------------------------------------------------------------------------------

interface Options {
  root: string;
  list: boolean;
  only: number[];
  tests: string[] | null;
  timeoutS: number;
  baseline: boolean;
}

function usage(message: string): never {
  console.error(
    `${message}\nusage: deno run -A tools/mutants.ts [--root DIR] [--list] [--only N]… ` +
      `[--tests FILES…] [--timeout S] [--no-baseline]`,
  );
  Deno.exit(2);
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    root: decodeURIComponent(new URL("../", import.meta.url).pathname),
    list: false,
    only: [],
    tests: null,
    timeoutS: 1200,
    baseline: true,
  };
  for (let i = 0; i < args.length; i++) {
    const value = () => args[++i] ?? usage(`${args[i - 1]} needs a value`);
    switch (args[i]) {
      case "--root":
        options.root = value();
        break;
      case "--list":
        options.list = true;
        break;
      case "--only": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > MUTANTS.length) usage(`--only takes 1..${MUTANTS.length}`);
        options.only.push(n);
        break;
      }
      case "--tests":
        options.tests = [];
        while (i + 1 < args.length && !args[i + 1].startsWith("--")) options.tests.push(args[++i]);
        if (options.tests.length === 0) usage("--tests needs at least one file");
        break;
      case "--timeout":
        options.timeoutS = Number(value());
        if (!(options.timeoutS > 0)) usage("--timeout takes a number of seconds");
        break;
      case "--no-baseline":
        options.baseline = false;
        break;
      default:
        usage(`unknown argument ${args[i]}`);
    }
  }
  return options;
}

/** Raised when Ctrl-C (or SIGTERM) asks the tool to stop; files are restored on the way out. */
class Interrupted extends Error {}

let interrupted = false;
let running: Deno.ChildProcess | null = null;

function onSignal(): void {
  if (interrupted) return;
  interrupted = true;
  console.error("\ninterrupted: stopping the current run and restoring the tree…");
  try {
    running?.kill("SIGTERM");
  } catch { /* already gone */ }
}

interface RunResult {
  code: number;
  timedOut: boolean;
  output: string;
  seconds: number;
}

/** Runs `deno args…` in `cwd`, collecting stdout and stderr together, killed after `timeoutS`. */
async function runDeno(cwd: string, args: string[], timeoutS: number): Promise<RunResult> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { REINMAX_REQUIRE_BACKENDS: "wasm,webgpu", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutS * 1000);
  try {
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (interrupted) throw new Interrupted();
    return { code: out.code, timedOut, output: text, seconds: (performance.now() - started) / 1000 };
  } finally {
    clearTimeout(timer);
    running = null;
  }
}

/** The arguments of `deno task test` (from deno.json), restricted to `tests` when given. */
async function testArgs(root: string, tests: string[] | null, failFast: boolean): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const words: string[] = String(config.tasks.test).split(/\s+/).filter((w) => w.length > 0);
  if (words[0] !== "deno" || words[1] !== "test" || !words.includes("tests/")) {
    throw new Error(`deno.json's test task is not "deno test … tests/": ${config.tasks.test}`);
  }
  const args = words.slice(1).flatMap((w) => (w === "tests/" && tests ? tests : [w]));
  if (failFast) args.splice(1, 0, "--fail-fast");
  return args;
}

async function gitClean(root: string, path: string): Promise<boolean> {
  const out = await new Deno.Command("git", { args: ["-C", root, "diff", "--quiet", "--", path] }).output();
  return out.code === 0;
}

/** Every file under src/gen, by path relative to the root. */
async function readGenerated(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(`${root}/src/gen`)) {
    if (entry.isFile) {
      files.set(`src/gen/${entry.name}`, await Deno.readFile(`${root}/src/gen/${entry.name}`));
    }
  }
  return files;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

function count(text: string, find: string): number {
  let n = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) n++;
  return n;
}

const needsBuild = (file: string) => file.startsWith("asm/") || file.startsWith("shaders/");

/** The names of the tests a run reports as failed, in order. */
function failedTests(output: string): string[] {
  return output.split("\n").filter((l) => /\.\.\. FAILED/.test(l)).map((l) =>
    l.replace(/\s*\.\.\. FAILED.*$/, "")
  );
}

type Outcome = "caught" | "caught (timeout)" | "NOT CAUGHT" | "invalid";

interface Row {
  index: number;
  mutant: Mutant;
  outcome: Outcome;
  seconds: number;
  detail: string;
}

/** The edits of a mutant, the main one first. */
const editsOf = (mutant: Mutant): readonly Edit[] => [mutant, ...(mutant.also ?? [])];

/** The files a mutant edits, each once, in order. */
const filesOf = (mutant: Mutant): string[] => [...new Set(editsOf(mutant).map((e) => e.file))];

/**
 * Applies a mutant's edits to the texts of its files, in order; each `find` must occur exactly once in the
 * text it is applied to. Returns the new texts, or why it cannot be applied.
 */
function applyEdits(mutant: Mutant, texts: ReadonlyMap<string, string>): Map<string, string> | string {
  const out = new Map(texts);
  for (const edit of editsOf(mutant)) {
    const text = out.get(edit.file) ?? "";
    const n = count(text, edit.find);
    if (n !== 1) return `${edit.file}: find occurs ${n} times`;
    out.set(edit.file, text.replace(edit.find, () => edit.replace));
  }
  return out;
}

/** A file's bytes before the mutation, and whether `git diff` was clean for it. */
interface Saved {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly clean: boolean;
}

async function save(root: string, path: string): Promise<Saved> {
  return { path, bytes: await Deno.readFile(`${root}/${path}`), clean: await gitClean(root, path) };
}

/**
 * Puts the mutated files and src/gen back as they were and checks it: the same bytes, and a clean `git diff`
 * for the paths that were clean before. Throws if the tree could not be restored (the caller then stops).
 */
async function restore(
  root: string,
  files: readonly Saved[],
  generated: Map<string, Uint8Array> | null,
  genWasClean: boolean,
): Promise<void> {
  for (const { path, bytes } of files) await Deno.writeFile(`${root}/${path}`, bytes);
  if (generated) {
    for (const [path, bytes] of generated) await Deno.writeFile(`${root}/${path}`, bytes);
  }
  for (const { path, bytes, clean } of files) {
    if (!sameBytes(await Deno.readFile(`${root}/${path}`), bytes)) {
      throw new Error(`${path} was not restored`);
    }
    if (clean && !(await gitClean(root, path))) {
      throw new Error(`git diff -- ${path} is not empty after restore`);
    }
  }
  if (generated) {
    const now = await readGenerated(root);
    for (const [path, bytes] of generated) {
      if (!sameBytes(now.get(path) ?? new Uint8Array(), bytes)) throw new Error(`${path} was not restored`);
    }
    if (genWasClean && !(await gitClean(root, "src/gen"))) {
      throw new Error("git diff -- src/gen is not empty");
    }
  }
}

async function runMutant(root: string, index: number, mutant: Mutant, options: Options): Promise<Row> {
  const files = filesOf(mutant);
  const saved = await Promise.all(files.map((f) => save(root, f)));
  const decoder = new TextDecoder();
  const mutated = applyEdits(mutant, new Map(saved.map((f) => [f.path, decoder.decode(f.bytes)])));
  if (typeof mutated === "string") return { index, mutant, outcome: "invalid", seconds: 0, detail: mutated };
  const build = files.some(needsBuild);
  const genWasClean = build ? await gitClean(root, "src/gen") : true;
  const generated = build ? await readGenerated(root) : null;
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const row = (outcome: Outcome, detail: string): Row => ({
    index,
    mutant,
    outcome,
    seconds: seconds(),
    detail,
  });
  try {
    for (const [path, text] of mutated) await Deno.writeTextFile(`${root}/${path}`, text);
    if (build) {
      const built = await runDeno(root, ["task", "build"], 600);
      if (built.code !== 0) return row("invalid", "does not build");
    }
    const run = await runDeno(root, await testArgs(root, options.tests, true), options.timeoutS);
    if (run.timedOut) return row("caught (timeout)", `> ${options.timeoutS} s`);
    if (run.code === 0) return row("NOT CAUGHT", "");
    if (/error: TS\d+|Type checking failed/.test(run.output)) return row("invalid", "type error");
    return row("caught", failedTests(run.output)[0] ?? run.output.trim().split("\n").slice(-1)[0]);
  } finally {
    await restore(root, saved, generated, genWasClean);
  }
}

function printTable(rows: readonly Row[]): void {
  const header = ["#", "result", "s", "file", "bug", "first failing test"];
  const cells = rows.map((r) => [
    String(r.index),
    r.outcome,
    r.seconds.toFixed(0),
    filesOf(r.mutant).join(" + "),
    r.mutant.why,
    r.detail,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((v, c) => v.padEnd(widths[c])).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of cells) console.log(line(row));
}

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  const selected = MUTANTS.map((mutant, i) => ({ index: i + 1, mutant }))
    .filter(({ index }) => options.only.length === 0 || options.only.includes(index));
  const root = options.root.replace(/\/+$/, "");
  if (options.list) {
    let bad = 0;
    for (const { index, mutant } of selected) {
      const texts = new Map<string, string>();
      for (const f of filesOf(mutant)) texts.set(f, await Deno.readTextFile(`${root}/${f}`).catch(() => ""));
      const applied = applyEdits(mutant, texts);
      if (typeof applied === "string") bad++;
      console.log(
        `${index}. ${mutant.why}${
          typeof applied === "string" ? ` [cannot apply in ${root}: ${applied}]` : ""
        }`,
      );
      for (const edit of editsOf(mutant)) {
        console.log(
          `     ${edit.file}: ${JSON.stringify(edit.find)}\n       -> ${JSON.stringify(edit.replace)}`,
        );
      }
    }
    return bad === 0 ? 0 : 1;
  }
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  console.log(`mutating ${root}; suite: deno ${(await testArgs(root, options.tests, true)).join(" ")}`);
  if (options.baseline) {
    const base = await runDeno(root, await testArgs(root, options.tests, false), options.timeoutS);
    if (base.code !== 0) {
      console.error(base.output.split("\n").slice(-40).join("\n"));
      console.error("the unmutated suite fails: fix that first (or it is no baseline at all)");
      return 2;
    }
    console.log(`baseline: the unmutated suite passes (${base.seconds.toFixed(0)} s)`);
  }
  const rows: Row[] = [];
  for (const { index, mutant } of selected) {
    if (interrupted) throw new Interrupted();
    console.log(`[${index}/${MUTANTS.length}] ${filesOf(mutant).join(" + ")}: ${mutant.why}`);
    const row = await runMutant(root, index, mutant, options);
    console.log(`    ${row.outcome} (${row.seconds.toFixed(0)} s)${row.detail ? `: ${row.detail}` : ""}`);
    rows.push(row);
  }
  console.log("");
  printTable(rows);
  const bad = rows.filter((r) => r.outcome === "NOT CAUGHT" || r.outcome === "invalid");
  console.log(
    `\n${rows.length - bad.length} of ${rows.length} bugs caught${
      options.tests ? ` (by ${options.tests.join(" ")} only)` : ""
    }`,
  );
  return bad.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    if (e instanceof Interrupted) {
      console.error("interrupted; every file was restored");
      code = 130;
    } else {
      console.error(e);
      code = 3;
    }
  }
  Deno.exit(code);
}
