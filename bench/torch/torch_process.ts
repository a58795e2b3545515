// The PyTorch side of the side-by-side benchmark as seen from Deno: finds PyTorch, starts bench/torch/server.py
// once as a child process and exchanges one JSON line per request with it, and runs a command under
// bench/torch/peak_rss.py to learn its peak resident memory.

/** The environment the comparison pins for Python (see the install hint). */
export function pythonEnv(): Record<string, string> {
  const blas = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  const libraryPath = Deno.env.get("LD_LIBRARY_PATH");
  return {
    LD_LIBRARY_PATH: libraryPath ? `${blas}:${libraryPath}` : blas,
    // Without these, glibc maps and unmaps every large tensor each step, which slows PyTorch by about a
    // quarter: the fair comparison pins them.
    MALLOC_MMAP_THRESHOLD_: "33554432",
    MALLOC_TRIM_THRESHOLD_: "67108864",
    OMP_NUM_THREADS: "1",
  };
}

export const INSTALL_HINT = [
  "PyTorch is needed for the side-by-side benchmark. On Debian or Ubuntu:",
  "",
  "  sudo apt-get install python3-torch libopenblas0-openmp",
  "",
  "then run `deno task bench:torch` again (it sets LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp",
  "and MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864 for the Python side itself).",
  "Another interpreter with torch installed can be given with --python /path/to/python3.",
].join("\n");

const HERE = new URL(".", import.meta.url).pathname;

/** Why `python` cannot import torch, or null when it can. */
export async function torchMissing(python: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch, numpy"],
      env: pythonEnv(),
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    return lines[lines.length - 1] || `exit status ${out.code}`;
  } catch (e) {
    return `${python}: ${(e as Error).message}`;
  }
}

/** Lines of a byte stream, without their newline. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
  if (pending) yield pending;
}

/** bench/torch/server.py, kept running for the whole benchmark. */
export class TorchProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #answers: AsyncGenerator<string>;

  constructor(python: string) {
    this.#child = new Deno.Command(python, {
      args: [`${HERE}server.py`],
      cwd: HERE,
      env: pythonEnv(),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#answers = lines(this.#child.stdout);
  }

  /** Sends one request and returns its answer; an answer with an error throws it. */
  async request<T = Record<string, unknown>>(request: Record<string, unknown>): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const { value, done } = await this.#answers.next();
    if (done) throw new Error(`the PyTorch process ended while answering ${JSON.stringify(request)}`);
    const answer = JSON.parse(value);
    if (answer.error) throw new Error(`PyTorch side, ${request.op}: ${answer.error}`);
    return answer as T;
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#child.status;
  }
}

/** Peak resident set size (bytes), exit code and wall seconds of a command, from wait4's ru_maxrss. */
export async function peakResident(
  python: string,
  command: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ peakBytes: number; exitCode: number; seconds: number; log: string }> {
  const out = await new Deno.Command(python, {
    args: [`${HERE}peak_rss.py`, ...command],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success || !last.startsWith("{")) throw new Error(`peak_rss.py failed:\n${log}`);
  const { peakKiB, exitCode, seconds } = JSON.parse(last);
  return { peakBytes: peakKiB * 1024, exitCode, seconds, log };
}
