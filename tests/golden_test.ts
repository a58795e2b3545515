// Golden random draws (fixtures/golden_samples.json, written once by tools/make_golden.ts from the reference):
// every backend must draw the committed categories exactly and the committed Gumbel perturbations and
// gradients to a tolerance. Tests that build their oracle from the same Philox words as the kernels cannot
// see a change of the counter layout, the key split or a tag made on both sides; this file can. The last test
// recomputes the file from the reference, so the file cannot drift from the documented layout either.
import { assertEquals, AssertionError } from "@std/assert";
import { computeGolden, type Golden, GOLDEN_PATH } from "../tools/make_golden.ts";
import { forEachBackend } from "./backends.ts";
import { assertClose } from "./util.ts";
import { grmck, reinmax, sampleWithEstimator } from "../mod.ts";
import { readF32, readI32 } from "./internals.ts";

const golden: Golden = JSON.parse(await Deno.readTextFile(GOLDEN_PATH));

forEachBackend("golden: categorical_sample draws the committed category of every row", async (backend) => {
  for (const entry of golden.samples) {
    const { rows, n, values } = golden.logits[entry.logits];
    const [logits, sample] = [backend.alloc(rows * n, "logits"), backend.alloc(rows, "sample")];
    backend.write(logits, Float32Array.from(values));
    backend.run("categorical_sample", [sample, logits], [rows, n, ...entry.key, entry.stream, entry.tag]);
    backend.submit();
    const label = `${entry.logits}, seed ${entry.seed}, stream ${entry.stream}, tag ${entry.tag}`;
    assertEquals([...await readI32(backend, sample)], entry.sample, label);
    for (const b of [logits, sample]) backend.free(b);
    // Through the public functions, the host's key split and estimator tag are pinned too.
    if (entry.tag === 1) {
      const r = await sampleWithEstimator(backend, "st", Float32Array.from(values), {
        n,
        seed: entry.seed,
        stream: entry.stream,
      });
      assertEquals([...r.sample], entry.sample, `${label}, through sampleWithEstimator`);
    }
  }
});

forEachBackend("golden: gumbel_perturbations draws the committed conditional Gumbels", async (backend) => {
  for (const entry of golden.perturbations) {
    const { rows, n, values } = golden.logits[entry.logits];
    const [out, logits, sample] = [
      backend.alloc(rows * entry.k * n, "perturbed"),
      backend.alloc(rows * n, "logits"),
      backend.alloc(rows, "sample"),
    ];
    backend.write(logits, Float32Array.from(values));
    backend.write(sample, Int32Array.from(entry.sample));
    backend.run("gumbel_perturbations", [out, logits, sample], [
      rows,
      n,
      entry.k,
      ...entry.key,
      entry.stream,
      entry.tag,
    ]);
    backend.submit();
    const perturbed = await readF32(backend, out);
    for (const [r, draws] of Object.entries(entry.rows)) {
      draws.forEach((want, j) => {
        const at = (Number(r) * entry.k + j) * n;
        assertClose(perturbed.subarray(at, at + n), want, {
          atol: 1e-4,
          rtol: 1e-4,
          label:
            `${entry.logits}, seed ${entry.seed}, stream ${entry.stream}, tag ${entry.tag}: row ${r} draw ${j}`,
        });
      });
    }
    for (const b of [out, logits, sample]) backend.free(b);
  }
});

forEachBackend("golden: ReinMax and Gumbel-Rao draw and differentiate as committed", async (backend) => {
  for (const entry of golden.backward) {
    const { n, values } = golden.logits[entry.logits];
    const options = { n, tau: entry.tau, k: entry.k, seed: entry.seed, stream: entry.stream };
    const draw = entry.estimator === "reinmax" ? reinmax : grmck;
    const r = await draw(backend, Float32Array.from(values), options);
    const label = `${entry.estimator} ${entry.logits}, seed ${entry.seed}, stream ${entry.stream}`;
    assertEquals([...r.sample], entry.sample, label);
    const grad = await r.backward(Float32Array.from(entry.gHard), Float32Array.from(entry.gSoft));
    assertClose(grad, entry.dLogits, { atol: 2e-6, rtol: 1e-4, label });
  }
});

/** Deep equality, integers exactly and other numbers to 1e-12 relative (an ulp of a libm may differ). */
function assertSameJson(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === "number" && typeof actual === "number") {
    const ok = Number.isInteger(expected)
      ? actual === expected
      : Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected));
    if (!ok) throw new AssertionError(`${path}: ${actual} vs committed ${expected}`);
  } else if (Array.isArray(expected) && Array.isArray(actual)) {
    if (actual.length !== expected.length) {
      throw new AssertionError(`${path}: length ${actual.length} vs committed ${expected.length}`);
    }
    expected.forEach((e, i) => assertSameJson(actual[i], e, `${path}[${i}]`));
  } else if (
    typeof expected === "object" && expected !== null && typeof actual === "object" && actual !== null
  ) {
    assertEquals(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const [k, e] of Object.entries(expected)) {
      assertSameJson((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
    }
  } else {
    assertEquals(actual, expected, path);
  }
}

Deno.test("golden: the reference still computes the committed file (tools/make_golden.ts)", () => {
  // Round-tripped through JSON so the comparison sees what the file can hold.
  assertSameJson(JSON.parse(JSON.stringify(computeGolden())), golden, "golden");
  // Enough draws to mean something: every category of the five-way rows, and rows that differ by stream.
  const five = golden.samples.filter((s) => s.logits === "five").flatMap((s) => s.sample);
  assertEquals(new Set(five).size, 5);
});
