// tools/reproduce.ts as a user runs it, on a tiny grid: the shards of a sharded run, merged, give the same
// files as one unsharded run (whichever way each shard learns its index), for the sweep and for --table6, and
// every bad flag is named before any job starts.
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { type EstimatorName, ESTIMATORS, SCORE_ESTIMATOR_NAMES } from "../mod.ts";

const PROGRAM = new URL("../tools/reproduce.ts", import.meta.url).pathname;
/** The bundled 10,000 Fashion-MNIST training images, as a directory a user could name. */
const FASHION_10K = new URL("../fixtures/fashion-mnist-10k", import.meta.url).pathname;
/** Six jobs: two VAE runs on the 8×8 digits and four short poly runs. */
const TINY = [
  "--p",
  "2",
  "--tau",
  "1,2",
  "--estimators",
  "reinmax,st",
  "--steps",
  "40",
  "--vae-data",
  "digits",
  "--vae-epochs",
  "1",
];
/**
 * Three Table 6 jobs of 6 steps on the 8×8 digits: ReinMax at K = 2 and 3, DisARM at K = 2 (its row allows no
 * other K).
 */
const TINY_TABLE6 = [
  "--table6",
  "--quick",
  "--vae-data",
  "digits",
  "--estimators",
  "reinmax,disarm",
  "--steps",
  "6",
];
/** No scheduler index unless a test sets one. */
const NO_SCHEDULER = {
  JOB_COMPLETION_INDEX: "",
  SLURM_ARRAY_TASK_ID: "",
  SLURM_ARRAY_TASK_COUNT: "",
  SLURM_ARRAY_TASK_MIN: "",
};

async function reproduce(args: readonly string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-write", "--allow-env", PROGRAM, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...NO_SCHEDULER, ...env },
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function filesIn(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) files.set(e.name, await Deno.readTextFile(`${dir}/${e.name}`));
  }
  return files;
}

interface Results {
  results: { id: string; kind: string; exactLoss?: number[]; testElbo?: number[] }[];
}

Deno.test("reproduce: three shards merged equal the unsharded run", async () => {
  const root = await Deno.makeTempDir();
  try {
    const whole = `${root}/whole`, sharded = `${root}/sharded`;
    const run = await reproduce([...TINY, "--out", whole]);
    assertEquals(run.code, 0, run.stderr);

    // Each way a shard can learn its index: the flag, a Kubernetes Indexed Job, a Slurm array from 1.
    const shards = [
      await reproduce([...TINY, "--out", sharded, "--shard", "0/3"]),
      await reproduce([...TINY, "--out", sharded, "--shards", "3"], { JOB_COMPLETION_INDEX: "1" }),
      await reproduce([...TINY, "--out", sharded], {
        SLURM_ARRAY_TASK_ID: "3",
        SLURM_ARRAY_TASK_MIN: "1",
        SLURM_ARRAY_TASK_COUNT: "3",
      }),
    ];
    for (const s of shards) assertEquals(s.code, 0, s.stderr);
    const shardFiles = await filesIn(sharded);
    assertEquals([...shardFiles.keys()].sort(), [
      "shard-0-of-3.json",
      "shard-1-of-3.json",
      "shard-2-of-3.json",
    ]);
    // Every third job: 6 jobs make two per shard, and no job runs twice.
    const ids = [...shardFiles.values()].flatMap((f) => (JSON.parse(f) as Results).results.map((r) => r.id));
    assertEquals(ids.length, 6);
    assertEquals(new Set(ids).size, 6);

    const merge = await reproduce(["--merge", sharded]);
    assertEquals(merge.code, 0, merge.stderr);
    const expected = await filesIn(whole), merged = await filesIn(sharded);
    assertEquals(
      [...expected.keys()].sort(),
      ["poly-curves-p2.svg", "poly-tau-p2.svg", "results.json", "results.md", "vae-curves.svg"],
    );
    for (const [name, content] of expected) assertEquals(merged.get(name), content, name);

    // The jobs are real runs whose settings matter: τ changes ReinMax's loss, and the VAE runs differ.
    const { results } = JSON.parse(expected.get("results.json")!) as Results;
    const loss = (id: string) => results.find((r) => r.id === id)!.exactLoss!;
    assertEquals(loss("poly p=2 reinmax τ=1").length, 40);
    assertNotEquals(loss("poly p=2 reinmax τ=1"), loss("poly p=2 reinmax τ=2"));
    const elbo = (id: string) => results.find((r) => r.id === id)!.testElbo!;
    assertNotEquals(elbo("vae reinmax τ=1.3"), elbo("vae st τ=1.4"));
    assert(expected.get("results.md")!.includes("| ReinMax   |"));
    assert(expected.get("poly-curves-p2.svg")!.startsWith("<svg "));

    // A merge refuses an incomplete set of shards, and shards run with other settings.
    await Deno.remove(`${sharded}/shard-1-of-3.json`);
    const incomplete = await reproduce(["--merge", sharded]);
    assertEquals(incomplete.code, 2);
    assert(incomplete.stderr.startsWith("error: --merge: missing shard 1 of 3"), incomplete.stderr);
    const other = await reproduce([...TINY, "--steps", "20", "--out", sharded, "--shard", "1/3"]);
    assertEquals(other.code, 0, other.stderr);
    const mixed = await reproduce(["--merge", sharded]);
    assertEquals(mixed.code, 2);
    assert(
      mixed.stderr.startsWith("error: --merge:") && mixed.stderr.includes("other settings"),
      mixed.stderr,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

interface Table6Results {
  settings: { table6: { steps: number } };
  results: {
    id: string;
    trainImages: number;
    windowSteps: number[];
    windowElbo: number[];
    trainElbo: number;
    reconstruction: number;
    kl: number;
    secondsPerStep?: number;
  }[];
}

/** Table 6's files without the wall-clock seconds per step: the rest is a pure function of the flags. */
function withoutTimings(files: Map<string, string>): Map<string, string> {
  const out = new Map(files);
  const json = JSON.parse(files.get("table6.json")!) as Table6Results;
  for (const r of json.results) {
    assert(r.secondsPerStep! > 0, `${r.id}: ${r.secondsPerStep} s per step`);
    delete r.secondsPerStep;
  }
  out.set("table6.json", JSON.stringify(json));
  // The s/step cells are the table's only numbers with four decimals (the −ELBO has two).
  out.set("table6.md", files.get("table6.md")!.replace(/\b\d+\.\d{4}\b/g, "s/step"));
  return out;
}

Deno.test("reproduce --table6: three shards merged equal the unsharded run", async () => {
  const root = await Deno.makeTempDir();
  try {
    const whole = `${root}/whole`, sharded = `${root}/sharded`;
    const run = await reproduce([...TINY_TABLE6, "--out", whole]);
    assertEquals(run.code, 0, run.stderr);
    const shards = [
      await reproduce([...TINY_TABLE6, "--out", sharded, "--shard", "0/3"]),
      await reproduce([...TINY_TABLE6, "--out", sharded, "--shards", "3"], { JOB_COMPLETION_INDEX: "1" }),
      await reproduce([...TINY_TABLE6, "--out", sharded, "--shard", "2/3"]),
    ];
    for (const s of shards) assertEquals(s.code, 0, s.stderr);
    const shardFiles = await filesIn(sharded);
    // Named apart from the sweep's shards, so both experiments can shard into one directory.
    assertEquals([...shardFiles.keys()].sort(), [
      "table6-shard-0-of-3.json",
      "table6-shard-1-of-3.json",
      "table6-shard-2-of-3.json",
    ]);
    const ids = [...shardFiles.values()].flatMap((f) => (JSON.parse(f) as Results).results.map((r) => r.id));
    assertEquals(ids.sort(), ["table6 disarm K=2", "table6 reinmax K=2", "table6 reinmax K=3"]);

    const merge = await reproduce(["--merge", sharded]);
    assertEquals(merge.code, 0, merge.stderr);
    const expected = await filesIn(whole), merged = await filesIn(sharded);
    assertEquals([...expected.keys()].sort(), ["table6-curves.svg", "table6.json", "table6.md"]);
    assert(!merged.has("results.md"), "a merge of Table 6 shards writes no sweep report");
    const [want, got] = [withoutTimings(expected), withoutTimings(merged)];
    for (const [name, content] of want) assertEquals(got.get(name), content, name);

    // Real training runs: the loss falls over the 6 steps, the table's −ELBO is its two terms over all 1,500
    // training digits, and the estimator and K each change the numbers.
    const { settings, results } = JSON.parse(expected.get("table6.json")!) as Table6Results;
    assertEquals(settings.table6.steps, 6);
    for (const r of results) {
      assertEquals(r.trainImages, 1500, r.id);
      assertEquals(r.windowSteps, [1, 2, 3, 4, 5, 6], r.id);
      assert(r.windowElbo[5] < r.windowElbo[0], `${r.id}: ${r.windowElbo}`);
      assert(Number.isFinite(r.trainElbo) && r.trainElbo > 0, `${r.id}: ${r.trainElbo}`);
      assert(Math.abs(r.reconstruction + r.kl - r.trainElbo) < 1e-6 * r.trainElbo, r.id);
    }
    const elbo = (id: string) => results.find((r) => r.id === id)!.trainElbo;
    assertNotEquals(elbo("table6 reinmax K=2"), elbo("table6 reinmax K=3"));
    assertNotEquals(elbo("table6 reinmax K=2"), elbo("table6 disarm K=2"));
    const md = expected.get("table6.md")!;
    assert(md.includes("A quick run (`--quick`), not the protocol"), md);
    assert(/\| DisARM +\| +[\d.]+ \| —, K = 2 only \| not transcribed \| +— \|/.test(md), md);
    assert(md.includes("Liu et al. (2023), Table 6, quoting Shi et al. (2022)"), md);
    // The protocol's command gives every run of the whole table a shard: each estimator at each K it allows.
    // K counts the loss's evaluations per image: RELAX's one code is scored three times.
    const runs = ["reinmax", ...SCORE_ESTIMATOR_NAMES].flatMap((name) =>
      [2, 3].filter((k) => {
        const score = ESTIMATORS[name as EstimatorName].scoreFunction;
        const codes = score?.learns === "relaxation network" ? k / 3 : k;
        return score === undefined || (codes >= score.evaluations.min && codes <= score.evaluations.max);
      })
    ).length;
    assert(md.includes(`--table6 --vae-data DIR --shards ${runs} --out table6`), md);
    assert(expected.get("table6-curves.svg")!.startsWith("<svg "));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("reproduce: a bad flag or scheduler variable is named, exit code 2, before any job", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = `${root}/out`;
    const cases: [string[], Record<string, string>, string][] = [
      [["--shard", "3/3"], {}, "--shard"],
      [["--shard", "one/2"], {}, "--shard"],
      [["--shard", "0/0"], {}, "--shard"],
      [["--shards", "2"], {}, "--shards"],
      [["--shards", "0"], { JOB_COMPLETION_INDEX: "0" }, "--shards"],
      [["--shard", "0/2", "--shards", "2"], {}, "--shards"],
      [[], { JOB_COMPLETION_INDEX: "2" }, "--shards"],
      [["--shards", "2"], { JOB_COMPLETION_INDEX: "x" }, "JOB_COMPLETION_INDEX"],
      [["--shards", "2"], { JOB_COMPLETION_INDEX: "2" }, "JOB_COMPLETION_INDEX"],
      [["--tau", "0"], {}, "--tau"],
      [["--tau", "1,,2"], {}, "--tau"],
      [["--tau", "1,1"], {}, "--tau"],
      [["--estimators", "reinmax", "--tau", "0.5"], {}, "--tau"],
      [["--p", "-1"], {}, "--p"],
      [["--steps", "0"], {}, "--steps"],
      [["--steps", "2.5"], {}, "--steps"],
      [["--estimators", "reinforce"], {}, "--estimators"],
      [["--vae-epochs", "-1"], {}, "--vae-epochs"],
      [["--seed", "-1"], {}, "--seed"],
      [["--backend", "cuda"], {}, "--backend"],
      [["--merge", root, "--tau", "1"], {}, "--tau"],
      [["--merge", `${root}/absent`], {}, "--merge"],
      [["--merge", root], {}, "--merge"],
      [["--bogus"], {}, "--bogus"],
      // Polynomial programming refuses the score-function estimators; Table 6 runs them.
      [["--estimators", "rloo"], {}, "--estimators"],
      [["--table6", "--quick", "--estimators", "st"], {}, "--estimators"],
      [["--table6", "--quick", "--estimators", "reinmax,reinmax"], {}, "--estimators"],
      [["--table6", "--quick", "--tau", "1"], {}, "--tau"],
      [["--table6", "--quick", "--p", "2"], {}, "--p"],
      [["--table6", "--quick", "--vae-epochs", "1"], {}, "--vae-epochs"],
      [["--table6", "--quick", "--steps", "0"], {}, "--steps"],
      [["--table6", "--quick", "--shard", "1/1"], {}, "--shard"],
      [["--table6", "--quick", "--vae-data", `${root}/absent`], {}, "--vae-data"],
      // The protocol's 50,000 training images: the bundled sets are refused by name, a directory once loaded.
      [["--table6"], {}, "--vae-data"],
      [["--table6", "--vae-data", FASHION_10K], {}, "--vae-data"],
      [["--merge", root, "--table6"], {}, "--table6"],
    ];
    for (const [args, env, flag] of cases) {
      const run = await reproduce([...args, "--out", out], env);
      const what = `${args.join(" ")} ${JSON.stringify(env)}`;
      assertEquals(run.code, 2, `${what}: ${run.stderr}`);
      assert(run.stderr.startsWith(`error: ${flag}:`), `${what}: ${run.stderr}`);
      assert(!run.stderr.includes("[1/"), `${what}: no job ran`);
    }
    // Nothing was written by any of them.
    await Deno.stat(out).then(() => assert(false, `${out} was created`), () => {});
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
