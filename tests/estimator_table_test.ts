// The estimator table is the one place an estimator's defaults live: the guide's table says what it says, every
// model and example takes its τ from it, and the fused poly step's codes are its codes on both backends.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  type Backend,
  BERNOULLI_VAE_SETTINGS,
  BernoulliVae,
  CATEGORICAL_CONFIGS,
  CategoricalVae,
  defaultTau,
  estimator,
  ESTIMATOR_NAMES,
  ESTIMATORS,
  PATHWISE_ESTIMATOR_NAMES,
  PolyProgramming,
  SCORE_ESTIMATOR_NAMES,
  TAU_RANGE,
} from "../mod.ts";
import { BACKENDS } from "./backends.ts";
import { runExample } from "./util.ts";

Deno.test("docs/estimators.md's table states each row of ESTIMATORS: τ domain, default, tuned range", async () => {
  const guide = await Deno.readTextFile(new URL("../docs/estimators.md", import.meta.url));
  for (const name of ESTIMATOR_NAMES) {
    const row = ESTIMATORS[name];
    const line = guide.split("\n").find((l) => l.includes(`\`"${name}"\``));
    assert(line !== undefined, `no row for ${name}`);
    assertStringIncludes(line, `| ${row.title} `, name);
    if (row.scoreFunction) {
      // A score-function estimator states the K it takes; one without a relaxation has no τ.
      const { min, max } = row.scoreFunction.evaluations;
      assertStringIncludes(line, `K ${min === max ? `= ${min}` : `${min}–${max}`}`, name);
      if (row.scoreFunction.learns !== "relaxation network") {
        assertStringIncludes(line, "none: unbiased", name);
        continue;
      }
    }
    const low = Math.max(row.tau.min, TAU_RANGE.min);
    const stated = row.tau.default === "model" ? "the model's" : String(row.tau.default);
    assertStringIncludes(
      line,
      `[${low}, ${TAU_RANGE.max}], default: ${stated} (tuned ${row.tau.tuned})`,
      name,
    );
  }
});

Deno.test("the relaxed and the score-function names split the table as its rows say", () => {
  assertEquals(
    [...PATHWISE_ESTIMATOR_NAMES],
    ESTIMATOR_NAMES.filter((n) => ESTIMATORS[n].enqueueBackward !== null && !ESTIMATORS[n].scoreFunction),
  );
  assertEquals(
    [...SCORE_ESTIMATOR_NAMES],
    ESTIMATOR_NAMES.filter((n) => ESTIMATORS[n].enqueueBackward === null && ESTIMATORS[n].scoreFunction),
  );
});

Deno.test("defaults come from the table: estimator(), defaultTau and the models' own τ", () => {
  for (const name of ESTIMATOR_NAMES) {
    const d = ESTIMATORS[name].tau.default;
    assertEquals(estimator(name).tau, d === "model" ? 1 : d, name);
    assertEquals(defaultTau(name, 1.7), d === "model" ? 1.7 : d, name);
  }
});

Deno.test({
  name: "each model's default estimator is ReinMax at the τ the model is tuned for",
  ignore: typeof BACKENDS.get("wasm") !== "object",
  fn: () => {
    const backend = BACKENDS.get("wasm") as Backend;
    const models = [
      [
        new CategoricalVae(backend, { config: "16x12", inputSize: 4, hidden: [3] }),
        CATEGORICAL_CONFIGS["16x12"].tau,
      ],
      [new BernoulliVae(backend, { latents: 2, inputSize: 4, hidden: [3] }), BERNOULLI_VAE_SETTINGS.tau],
      [new PolyProgramming(backend, { latents: 2 }), 1],
    ] as const;
    for (const [model, tau] of models) {
      try {
        assertEquals([model.estimator.name, model.estimator.tau], ["reinmax", tau]);
      } finally {
        model.destroy();
      }
    }
  },
});

Deno.test("the command line's τ default per estimator is the table's, and --help says so", async () => {
  const { stdout } = await runExample("vae.ts", ["--help"]);
  // Every estimator that relaxes its samples has a τ and its default; the others have none.
  const relaxing = ESTIMATOR_NAMES.filter((n) =>
    (ESTIMATORS[n].scoreFunction?.learns ?? "relaxation network") === "relaxation network"
  );
  for (const name of relaxing) {
    const d = ESTIMATORS[name].tau.default;
    assertStringIncludes(stdout, `${name} ${d === "model" ? "the model's" : d}`);
  }
  assertStringIncludes(
    stdout,
    `unused by ${ESTIMATOR_NAMES.filter((n) => !relaxing.includes(n)).join(", ")}`,
  );
});
