// Bundles the library for web developers: dist/reinmax.js, one ES module with the WebAssembly kernels and
// the WGSL shaders inside it (src/gen embeds them), dist/reinmax.d.ts, its type declarations, and
// dist/fixtures/, the bundled data sets, where the bundle's FIXTURES_URL points.
//
//   deno run --allow-read --allow-write --allow-run --allow-env tools/bundle.ts [--out DIR]
//
// `deno bundle --declaration` type-checks against tools/bundle.config.json: browser libraries (no Deno
// namespace, so a Deno API in src/ fails the bundle) and skipLibCheck, since the DOM and WebGPU libraries
// overlap. Its declaration file concatenates every module's declarations with their `export`s intact, so
// this script then keeps `export` only on the names mod.ts exports: the types then promise exactly what the
// module provides.
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../", import.meta.url));
/** Where `deno task bundle` writes. */
export const DEFAULT_OUT_DIR = join(ROOT, "dist");
const CONFIG = join(ROOT, "tools", "bundle.config.json");
const ENTRY = join(ROOT, "mod.ts");

/** Writes reinmax.js and reinmax.d.ts into `outDir`; returns their paths. */
export async function bundleLibrary(outDir: string = DEFAULT_OUT_DIR): Promise<{ js: string; dts: string }> {
  await Deno.mkdir(outDir, { recursive: true });
  const js = join(outDir, "reinmax.js"), dts = join(outDir, "reinmax.d.ts");
  await deno([
    "bundle",
    "--quiet",
    "--config",
    CONFIG,
    // The bundle config has no import map, so the project's lock file would look stale to it; the one
    // dependency is pinned by its full specifier (src/data/fflate.ts).
    "--no-lock",
    "--platform",
    "browser",
    "--packages",
    "bundle",
    "--declaration",
    "-o",
    js,
    ENTRY,
  ]);
  const names = await exportedNames(ENTRY);
  await Deno.writeTextFile(dts, publicDeclarations(await Deno.readTextFile(dts), names));
  // Deno takes a module's types from this comment; TypeScript finds reinmax.d.ts beside reinmax.js by itself.
  const code = withFixturesBeside(await Deno.readTextFile(js));
  await Deno.writeTextFile(js, `/* @ts-self-types="./reinmax.d.ts" */\n${code}`);
  await copyFixtures(join(outDir, "fixtures"));
  return { js, dts };
}

/** FIXTURES_URL as src/data/fixtures.ts computes it, from its place in the source tree. */
const SOURCE_FIXTURES_URL = `new URL("../../fixtures/", import.meta.url)`;

/**
 * The bundle with FIXTURES_URL pointing at fixtures/ beside reinmax.js, where copyFixtures puts them: in the
 * source tree it climbs from src/data/ to the root. The only import.meta left in the bundle.
 */
export function withFixturesBeside(code: string): string {
  const places = code.split(SOURCE_FIXTURES_URL).length - 1;
  if (places !== 1) {
    throw new Error(`expected FIXTURES_URL's definition once in the bundle, found ${places} times`);
  }
  return code.replace(SOURCE_FIXTURES_URL, `new URL("./fixtures/", import.meta.url)`);
}

/** The committed data sets and their manifest, what loadFixture reads, into `dir`. */
async function copyFixtures(dir: string): Promise<void> {
  const source = join(ROOT, "fixtures");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(join(source, "manifest.json"), join(dir, "manifest.json"));
  for (const set of ["fashion-mnist-10k", "digits"]) {
    await Deno.mkdir(join(dir, set), { recursive: true });
    for await (const entry of Deno.readDir(join(source, set))) {
      if (entry.isFile) await Deno.copyFile(join(source, set, entry.name), join(dir, set, entry.name));
    }
  }
}

/** Every name the module at `path` exports, values and types, as `deno doc` lists them. */
export async function exportedNames(path: string): Promise<Set<string>> {
  const doc = JSON.parse(await deno(["doc", "--json", path])) as {
    nodes: Record<string, { symbols: { name: string }[] }>;
  };
  return new Set(Object.values(doc.nodes).flatMap((node) => node.symbols.map((s) => s.name)));
}

const TOP_LEVEL_EXPORT =
  /^export ((?:declare )?(?:abstract )?(?:class|const|function|interface|type|enum) )([\w$]+)/gm;

/**
 * The bundled declarations with `export` kept only on `publicNames`: the other modules' declarations stay,
 * private, for the public ones to refer to; re-export lists are dropped, since every declaration is now
 * in this one file. Throws when a public name has no declaration here, or when an import of another file
 * is left: the declaration bundler leaves one, without the declarations it names, for a type that a module
 * imports and re-exports (so mod.ts exports such a type from the module that declares it).
 */
export function publicDeclarations(dts: string, publicNames: ReadonlySet<string>): string {
  const declared = new Set<string>();
  const out = withoutUnusedImports(withoutInternalMembers(dts))
    .replace(/^export (?:type )?\{[^}]*\};\n/gm, "")
    .replace(TOP_LEVEL_EXPORT, (_, kind: string, name: string) => {
      declared.add(name);
      return publicNames.has(name) ? `export ${kind}${name}` : `${kind}${name}`;
    });
  const missing = [...publicNames].filter((name) => !declared.has(name));
  if (missing.length > 0) {
    throw new Error(`the bundled declarations do not declare ${missing.join(", ")}, which mod.ts exports`);
  }
  const leftover = out.match(/^(?:import|export \*) .*$/m);
  if (leftover) throw new Error(`the bundled declarations still refer to another file: ${leftover[0]}`);
  // In a declaration file every top-level declaration counts as exported unless the file has an export
  // statement of its own; this empty one keeps the unexported declarations private.
  return `${out}\nexport {};\n`;
}

/**
 * The declarations without the class members documented `@internal` (as TypeScript's stripInternal leaves
 * them out): the seams between the library's own classes, whose types are not part of the public API. The
 * declaration emitter prints a member after its comment at the same indentation: on one line, or, when its
 * type has an object literal, over several, the last of them back at that indentation and ending in ";".
 */
export function withoutInternalMembers(dts: string): string {
  return dts.replace(
    /^( +)\/\*\*(?:(?!\*\/)[\s\S])*?@internal(?:(?!\*\/)[\s\S])*?\*\/\n(?:\1[^\n]*[^;\n]\n|\1 [^\n]*\n)*\1[^\n]*;\n/gm,
    "",
  );
}

/**
 * The declarations without the import statements none of whose names is used any more (those the internal
 * members alone referred to). An import still used is kept, so publicDeclarations reports it.
 */
export function withoutUnusedImports(dts: string): string {
  const imports = /^import (?:type )?\{([^}]*)\} from "[^"]*";\n/gm;
  const rest = dts.replace(imports, "");
  return dts.replace(imports, (line, names: string) => {
    const used = names.split(",").map((n) => n.replace(/^\s*type\s+/, "").trim().split(/\s+as\s+/).pop()!)
      .filter((n) => n.length > 0)
      .some((n) => new RegExp(`\\b${n.replace(/\$/g, "\\$")}\\b`).test(rest));
    return used ? line : "";
  });
}

async function deno(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (code !== 0) {
    throw new Error(`deno ${args[0]} failed (exit ${code}):\n${new TextDecoder().decode(stderr)}`);
  }
  return new TextDecoder().decode(stdout);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const outDir = i >= 0 ? Deno.args[i + 1] : DEFAULT_OUT_DIR;
  if (!outDir) throw new Error("--out needs a directory");
  for (const file of Object.values(await bundleLibrary(outDir))) {
    console.log(`wrote ${file} (${((await Deno.stat(file)).size / 1024).toFixed(0)} KiB)`);
  }
}
