// The shape of the library, checked on its sources: src/ does no file or network I/O and uses no bare
// specifier (deno.land/x users do not get our import map); its layers import only downwards, with no circle;
// nothing above the backends launches kernels positionally; examples and tests use the public API.
import { assert, assertEquals } from "@std/assert";

const SRC = new URL("../src/", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));

async function* sources(dir: URL, path = ""): AsyncGenerator<{ path: string; code: string }> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && entry.name !== "gen") {
      yield* sources(new URL(`${entry.name}/`, dir), `${path}${entry.name}/`);
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      const text = await Deno.readTextFile(new URL(entry.name, dir));
      // Comments may mention anything; only code counts.
      yield {
        path: `${path}${entry.name}`,
        code: text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""),
      };
    }
  }
}

function imports(code: string): string[] {
  return [...code.matchAll(/\b(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
}

Deno.test("src/ does no I/O and imports only relative modules and pinned npm: specifiers", async () => {
  let files = 0;
  for await (const { path, code } of sources(SRC)) {
    files++;
    assert(!/\bDeno\./.test(code), `src/${path} uses Deno.*`);
    assert(!/\bfetch\s*\(/.test(code), `src/${path} calls fetch`);
    for (const specifier of imports(code)) {
      if (specifier.startsWith("./") || specifier.startsWith("../")) continue;
      // A package is imported by the exact specifier the import map pins, so both resolve alike.
      assert(Object.values(config.imports).includes(specifier), `src/${path} imports "${specifier}"`);
      assert(specifier.startsWith("npm:"), `src/${path}: "${specifier}" is not a full specifier`);
    }
  }
  assert(files > 20, `found only ${files} files under src/`);
  assertEquals(config.imports.fflate, "npm:fflate@0.8.3", "src/data pins this version");
});

/**
 * The layers of src/, lowest first: a module imports only from its own folder and the layers below it. The
 * core (the ABI table, the backends and their registry, estimators, optimisers, random streams, errors) is
 * the root of src/ with wasm/, webgpu/ and gen/.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["", "wasm", "webgpu", "gen"],
  ["data"],
  ["layers"],
  ["models"],
  ["train", "analysis"],
  ["checkpoint"],
];

function folderOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : "";
}

function rankOf(folder: string): number {
  const rank = LAYERS.findIndex((layer) => layer.includes(folder));
  assert(rank >= 0, `src/${folder}/ is in no layer of tests/layering_test.ts`);
  return rank;
}

/** The src-relative path an import specifier of src/`from` names. */
function resolved(from: string, specifier: string): string {
  return new URL(specifier, new URL(from, "file:///src/")).pathname.slice("/src/".length);
}

Deno.test("every import in src/ points down a layer (or within its folder), and none is a circle", async () => {
  const graph = new Map<string, string[]>();
  for await (const { path, code } of sources(SRC)) {
    const local = imports(code).filter((s) => s.startsWith("./") || s.startsWith("../"));
    graph.set(path, local.map((s) => resolved(path, s)));
  }
  for (const [path, targets] of graph) {
    const here = folderOf(path);
    for (const target of targets) {
      const there = folderOf(target);
      // The core's folders are one layer; above it a folder is a layer of its own.
      if (there === here || (rankOf(here) === 0 && rankOf(there) === 0)) continue;
      assert(
        rankOf(there) < rankOf(here),
        `src/${path} imports src/${target}: ${here || "the core"} may not import ${there || "the core"}`,
      );
      // Above the core, the backends are reached only through the Backend interface and the registry.
      if (here !== "" && !["wasm", "webgpu", "gen"].includes(here)) {
        assert(
          !["wasm", "webgpu"].includes(there) && target !== "registry.ts",
          `src/${path} imports ${target}`,
        );
      }
    }
  }
  // No circle, even inside a folder: a depth-first search that meets a module on its own path has found one.
  const state = new Map<string, "open" | "done">();
  const visit = (path: string, trail: string[]) => {
    if (state.get(path) === "done") return;
    assert(state.get(path) !== "open", `import circle: ${[...trail, path].join(" → ")}`);
    state.set(path, "open");
    for (const target of graph.get(path) ?? []) visit(target, [...trail, path]);
    state.set(path, "done");
  };
  for (const path of graph.keys()) visit(path, []);
});

Deno.test("no code above the backends launches a kernel positionally: launches are named (src/launcher.ts)", async () => {
  for await (const { path, code } of sources(SRC)) {
    if (/^(wasm|webgpu)\//.test(path) || path === "launcher.ts") continue;
    assert(!/\.run\(\s*"/.test(code), `src/${path} calls run() with a kernel name`);
  }
});

async function* files(dir: URL, path = ""): AsyncGenerator<{ path: string; code: string }> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && !["dist", "reference"].includes(entry.name)) {
      yield* files(new URL(`${entry.name}/`, dir), `${path}${entry.name}/`);
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      const text = await Deno.readTextFile(new URL(entry.name, dir));
      yield {
        path: `${path}${entry.name}`,
        code: text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""),
      };
    }
  }
}

Deno.test("examples and tests use the public API: mod.ts, the TF.js entry, their own helpers, std", async () => {
  for (const top of ["examples", "tests"]) {
    for await (const { path, code } of files(new URL(`../${top}/`, import.meta.url))) {
      for (const specifier of imports(code)) {
        const where = `${top}/${path}`;
        if (!specifier.startsWith(".")) continue; // std, npm: and node: specifiers
        const target = new URL(specifier, new URL(where, "file:///")).pathname.slice(1);
        // tests/internals.ts is the one door to internals, for white-box tests of the backends and codecs.
        if (target.startsWith("src/")) {
          assertEquals(where, "tests/internals.ts", `${where} imports ${target}`);
        } else {
          assert(
            target === "mod.ts" || target === "adapters/tfjs.ts" || target.startsWith(`${top}/`) ||
              (top === "tests" && target.startsWith("adapters/")) ||
              // A test may run the programs it tests: the examples, the tools and the benchmarks.
              (top === "tests" && /^(examples|tools|bench)\//.test(target)),
            `${where} imports ${target}`,
          );
        }
      }
    }
  }
});

Deno.test("mod.ts needs no permission: a VAE step and a PNG in a subprocess run with --no-prompt", async () => {
  const body = `
    import { CategoricalVae, encodePng, selectBackend } from "${new URL("../mod.ts", import.meta.url)}";
    const backend = await selectBackend({ prefer: "wasm" });
    const model = new CategoricalVae(backend, { categories: 3, latents: 2, inputSize: 4, hidden: [3], batch: 2 });
    model.step(new Float32Array(8).fill(0.5));
    const { reconstruction } = await model.readLosses();
    console.log(JSON.stringify({ loss: reconstruction[0], png: encodePng(new Uint8Array(4), 2, 2).length }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-prompt", "--ext=ts", body],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  // Four pixels at 0.5 against a fresh decoder: each BCE term is near log 2.
  assert(Math.abs(result.loss - 4 * Math.log(2)) < 1, JSON.stringify(result));
  assert(result.png > 8, JSON.stringify(result));
});
