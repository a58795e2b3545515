// Serves the browser demo on 127.0.0.1: index.html and the bundles under dist/ (made by
// tools/bundle_demo.ts).
//
//   deno run --allow-read --allow-net=127.0.0.1 examples/browser/serve.ts [--port 8000]
import { extname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const DEMO_DIR = fromFileUrl(new URL("./", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** Options of {@link serveDemo}. */
export interface ServeDemoOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. Default 8000. */
  readonly port?: number;
  /** The directory holding main.js and worker.js. Default examples/browser/dist/. */
  readonly distDir?: string;
  /** Ends the server when aborted. */
  readonly signal?: AbortSignal;
}

/** Starts the server; `url` is the page's address and `finished` resolves when the server has shut down. */
export function serveDemo(options: ServeDemoOptions = {}): { url: string; finished: Promise<void> } {
  const distDir = options.distDir ?? join(DEMO_DIR, "dist");
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 8000,
    signal: options.signal,
    onListen: () => {},
  }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    let file: string | null = null;
    if (path === "/" || path === "/index.html") file = join(DEMO_DIR, "index.html");
    else if (/^\/dist\/[\w.-]+$/.test(path)) file = join(distDir, path.slice("/dist/".length));
    if (
      file === null || !(extname(file) in TYPES) || (request.method !== "GET" && request.method !== "HEAD")
    ) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(file);
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { "content-type": TYPES[extname(file)], "cache-control": "no-store" },
      });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return new Response(`${path} not found (run tools/bundle_demo.ts first)`, { status: 404 });
      }
      throw e;
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, finished: server.finished };
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--port");
  const port = i >= 0 ? Number(Deno.args[i + 1]) : 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port needs a port number");
  const server = serveDemo({ port });
  console.log(`reinmax browser demo: ${server.url} (Ctrl-C stops)`);
  await server.finished;
}
