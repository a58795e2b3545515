/**
 * Peak resident memory of a training run, measured from outside the process: runs examples/vae.ts (by
 * default the categorical VAE 10×30, one epoch on the full Fashion-MNIST, on WASM) with only the permission it
 * needs, samples the child's VmHWM (the kernel's high-water mark of its resident set, which is what
 * `/usr/bin/time -v` reports as "Maximum resident set size") until it exits, and prints it against the target.
 * Exits 1 above the target. Linux only: it reads /proc, hence -A.
 *
 *   deno run -A tools/peak_memory.ts
 *   deno run -A tools/peak_memory.ts --data fixture --epochs 2 --target 120
 * @module
 */
import { parseFlags, runCli } from "../examples/flags.ts";

const FLAGS = {
  data: {
    type: "string",
    help: "the --data of examples/vae.ts (apt-get install dataset-fashion-mnist for the default)",
    default: "/usr/share/datasets/fashion-mnist",
  },
  config: { type: "string", help: "the --config of examples/vae.ts", default: "10x30" },
  epochs: { type: "number", help: "epochs to train", default: 1 },
  backend: { type: "string", help: "compute backend", default: "wasm", choices: ["wasm", "webgpu", "auto"] },
  target: { type: "number", help: "the target peak, MiB", default: 150 },
} as const;

/** How often the child's high-water mark is read; it only grows, so the last reading before exit is the peak. */
const SAMPLE_MS = 10;

await runCli(FLAGS, async () => {
  const flags = parseFlags(Deno.args, FLAGS, "usage: deno run -A tools/peak_memory.ts [flags]");
  if (Deno.build.os !== "linux") throw new Error("tools/peak_memory.ts reads /proc: it runs on Linux only");
  const script = new URL("../examples/vae.ts", import.meta.url).pathname;
  const args = [
    "run",
    "--allow-read",
    script,
    "--data",
    flags.data,
    "--config",
    flags.config,
    "--epochs",
    String(flags.epochs),
    "--backend",
    flags.backend,
    "--json",
  ];
  const command = `${Deno.execPath()} ${args.join(" ")}`;
  console.log(`running: ${command}`);
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).spawn();
  let peakKiB = 0;
  let done = false;
  const status = child.status.finally(() => done = true);
  const output = child.output();
  while (!done) {
    const hwm = readHighWaterKiB(child.pid);
    if (hwm !== undefined) peakKiB = Math.max(peakKiB, hwm);
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
  const { success, code } = await status;
  const { stdout, stderr } = await output;
  if (!success) {
    throw new Error(`examples/vae.ts exited with ${code}:\n${new TextDecoder().decode(stderr)}`);
  }
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  const result = JSON.parse(lines[lines.length - 1]);
  const peakMiB = peakKiB / 1024;
  console.log(
    `trained ${
      result.config ?? result.model
    } for ${result.epochs} epoch(s) on ${result.data} (${result.backend}): ` +
      `test −ELBO ${result.testElbo.toFixed(2)}, ${result.msPerStep.toFixed(1)} ms/step`,
  );
  console.log(
    `peak resident memory (VmHWM): ${peakKiB} KiB = ${peakMiB.toFixed(1)} MiB; target ${flags.target} MiB: ` +
      `${(peakMiB / flags.target).toFixed(2)}× the target, ${peakMiB <= flags.target ? "met" : "NOT met"}`,
  );
  if (peakMiB > flags.target) Deno.exit(1);
});

/** The child's VmHWM in KiB, or undefined once it has exited (a zombie's status has no memory lines). */
function readHighWaterKiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return match ? Number(match[1]) : undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
