// What `deno publish` would upload, from a dry run (no network needed; CI runs the full dry run with its type
// check): every entry point of deno.json's exports (mod.ts, the TF.js adapter) and every module they import, the fixture files the loaders read, README, LICENSE, the docs
// (the guides and the figures they show) and deno.json, and nothing else: no tests, benchmarks, tools,
// examples, CI or kernel sources.
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL as toFileUrl } from "node:url";
import { FIXTURES, loadFixture } from "../mod.ts";
import { publicDeclarations, withoutInternalMembers, withoutUnusedImports } from "../tools/bundle.ts";

const ROOT = fromFileUrl(new URL("../", import.meta.url));
const ROOT_URL = toFileUrl(ROOT).href;
const ALWAYS = ["deno.json", "README.md", "LICENSE"];

async function deno(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assertEquals(code, 0, `deno ${args.join(" ")} failed:\n${output}`);
  return output;
}

/** Repository-relative paths of the files `deno publish` would upload. */
async function publishedFiles(): Promise<string[]> {
  // --allow-dirty: the list is what matters here, not whether the working tree is committed.
  const output = await deno(["publish", "--dry-run", "--allow-dirty", "--no-check"]);
  const files = [...output.matchAll(/^\s+(file:\/\/\S+) \(/gm)].map((m) => m[1].slice(ROOT_URL.length));
  assert(files.length > 0, `no file list in:\n${output}`);
  return files.sort();
}

/** Repository-relative paths of every entry point of the package's exports and every local module they import. */
async function libraryModules(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const entries = typeof config.exports === "string" ? [config.exports] : Object.values(config.exports);
  const modules = new Set<string>();
  for (const entry of entries as string[]) {
    const info = JSON.parse(await deno(["info", "--json", entry])) as { modules: { specifier: string }[] };
    for (const m of info.modules) {
      if (m.specifier.startsWith(ROOT_URL)) modules.add(m.specifier.slice(ROOT_URL.length));
    }
  }
  return [...modules].sort();
}

Deno.test("the published package is the library, its fixtures, docs, README and LICENSE", async () => {
  const published = await publishedFiles();
  const has = new Set(published);
  const modules = await libraryModules();
  assert(modules.includes("mod.ts") && modules.length > 10, `module graph: ${modules}`);
  for (const file of [...modules, ...ALWAYS]) assert(has.has(file), `${file} is not published`);

  // Every data set loads from the published files alone, and every fixture file published is one it reads.
  const read = new Set<string>();
  for (const name of FIXTURES) {
    const data = await loadFixture(name, async (file) => {
      const path = `fixtures/${file}`;
      read.add(path);
      return has.has(path) ? await Deno.readFile(join(ROOT, path)) : undefined;
    });
    assert(data.train.count > 0 && data.test.count > 0, `${name} is empty`);
  }

  const expected = (file: string) =>
    modules.includes(file) || ALWAYS.includes(file) || read.has(file) ||
    /^docs\/([^/]+\.md|figures\/[^/]+\.(md|svg))$/.test(file);
  assertEquals(published.filter((file) => !expected(file)), [], "files published that a user does not need");
});

Deno.test("the bundle's declarations leave out @internal members and the imports only they used", () => {
  // Spelled so that tests/layering_test.ts, which reads this file's imports, does not take them for its own.
  const FROM = ["fr", "om"].join("");
  const dts = [
    `import type { Seam } ${FROM} "../layers/seam.ts";`,
    `import type { Shown } ${FROM} "../layers/shown.ts";`,
    "export declare class Model {",
    "    /** Public. */",
    "    get size(): number;",
    "    /**",
    "     * The seam between two classes.",
    "     * @internal",
    "     */",
    "    protected seam(): Seam;",
    "    /** @internal */",
    "    protected wider(pass: Seam & {",
    "        readonly scale: number;",
    "    }, first: number): void;",
    "    /** Shown. */",
    "    shown(): Shown;",
    "}",
    "",
  ].join("\n");
  const stripped = withoutUnusedImports(withoutInternalMembers(dts));
  assertEquals(stripped.includes("Seam"), false, stripped);
  assertEquals(stripped.includes("scale"), false, "a member over several lines goes whole");
  assertStringIncludes(stripped, `import type { Shown } ${FROM} "../layers/shown.ts";`);
  assertStringIncludes(stripped, "    get size(): number;\n");
  assertStringIncludes(stripped, "    shown(): Shown;\n");
  // An import still in use is kept, so that publicDeclarations reports the file it points to.
  assertThrows(() => publicDeclarations(stripped, new Set(["Model"])), Error, "still refer to another file");
});
