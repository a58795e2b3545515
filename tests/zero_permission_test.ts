// The zero-permission promise, checked as a user meets it: the repository is served over HTTP on 127.0.0.1,
// and a program run with `--allow-import` for that host and no other permission imports mod.ts by its URL
// (as from deno.land/x) and trains 10 polynomial steps on WebAssembly. The library's one dependency, fflate,
// is an npm: specifier inside the served modules, resolved from the npm registry (or Deno's cache).
import { assert, assertEquals } from "@std/assert";
import { extname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../", import.meta.url));
const PROGRAM = join(ROOT, "tests", "zero_permission", "train_by_url.ts");
const TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/** Serves the repository's .ts and .js files read-only; `requested` collects every path asked for. */
function serveRepository(signal: AbortSignal): { origin: string; requested: string[] } {
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal, onListen: () => {} },
    async (request) => {
      const path = normalize(decodeURIComponent(new URL(request.url).pathname));
      requested.push(path);
      if (request.method !== "GET" || path.includes("..") || !(extname(path) in TYPES)) {
        return new Response("not found", { status: 404 });
      }
      try {
        const body = await Deno.readFile(join(ROOT, path));
        return new Response(body, { headers: { "content-type": TYPES[extname(path)] } });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return new Response("not found", { status: 404 });
        throw e;
      }
    },
  );
  return { origin: `http://127.0.0.1:${server.addr.port}`, requested };
}

Deno.test({
  name: "mod.ts imported by URL trains with no permission but --allow-import for its host",
  // Deno.serve's listener and the subprocess end inside the test, but the server's close is asynchronous.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const abort = new AbortController();
    const cwd = await Deno.makeTempDir({ prefix: "reinmax-zero-permission-" });
    try {
      const { origin, requested } = serveRepository(abort.signal);
      const host = new URL(origin).host;
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          `--allow-import=${host}`,
          // Not permissions: no config or lock file of this repository applies to the user's program, and
          // modules are fetched afresh rather than from Deno's cache of an earlier run on the same port.
          "--no-config",
          "--no-lock",
          `--reload=${origin}/`,
          "--no-prompt",
          PROGRAM,
          `${origin}/mod.ts`,
        ],
        cwd,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const err = new TextDecoder().decode(stderr);
      assertEquals(code, 0, `the program failed:\n${err}`);
      const result = JSON.parse(new TextDecoder().decode(stdout).trim());
      assertEquals(result.granted, [], "the program must run with no permission besides --allow-import");
      assertEquals(result.backend, "wasm");
      assertEquals(result.steps, 10);
      const losses: number[] = result.exactLosses;
      assertEquals(losses.length, 10);
      assert(losses.every((l) => Number.isFinite(l) && l > 0), `losses: ${losses}`);
      assert(losses[9] < losses[0], `the exact loss did not fall over 10 steps: ${losses}`);
      // Everything the program imported came from the served library: mod.ts and src/, nothing else.
      assert(requested.includes("/mod.ts"), `requested: ${requested}`);
      const outside = requested.filter((p) => p !== "/mod.ts" && !p.startsWith("/src/"));
      assertEquals(outside, [], "only mod.ts and src/ are imported");
    } finally {
      abort.abort();
      await Deno.remove(cwd, { recursive: true });
    }
  },
});
