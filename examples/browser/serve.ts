// Serves the built studio (tools/bundle_demo.ts writes it to examples/browser/dist/) on 127.0.0.1: a plain
// static server, as any other would do — the site needs nothing from it but its files.
//
//   deno run --allow-read --allow-net=127.0.0.1 examples/browser/serve.ts [--port 8000] [--dir DIR]
import { extname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const DIST_DIR = fromFileUrl(new URL("./dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".gz": "application/gzip",
};

/** Options of {@link serveDemo}. */
export interface ServeDemoOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. Default 8000. */
  readonly port?: number;
  /** The built site. Default examples/browser/dist/. */
  readonly distDir?: string;
  /** Ends the server when aborted. */
  readonly signal?: AbortSignal;
}

/** Starts the server; `url` is the page's address and `finished` resolves when the server has shut down. */
export function serveDemo(options: ServeDemoOptions = {}): { url: string; finished: Promise<void> } {
  const distDir = options.distDir ?? DIST_DIR;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 8000,
    signal: options.signal,
    onListen: () => {},
  }, async (request) => {
    let path = decodeURIComponent(new URL(request.url).pathname);
    if (path.endsWith("/")) path += "index.html";
    const relative = normalize(path).replace(/^\/+/, "");
    if (
      relative.startsWith("..") || !(extname(relative) in TYPES) ||
      (request.method !== "GET" && request.method !== "HEAD")
    ) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(join(distDir, relative));
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { "content-type": TYPES[extname(relative)], "cache-control": "no-store" },
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
  const flag = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const port = Number(flag("--port") ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port needs a port number");
  const server = serveDemo({ port, distDir: flag("--dir") });
  console.log(`reinmax browser studio: ${server.url} (Ctrl-C stops)`);
  await server.finished;
}
