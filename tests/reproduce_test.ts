// tools/reproduce.ts as a user runs it, on a tiny grid: the shards of a sharded run, merged, give the same
// files as one unsharded run (whichever way each shard learns its index), and every bad flag is named before
// any job starts.
import { assert, assertEquals, assertNotEquals } from "@std/assert";

const PROGRAM = new URL("../tools/reproduce.ts", import.meta.url).pathname;
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
