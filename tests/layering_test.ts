// The shape of the library, checked on its sources: src/ does no file or network I/O and uses no bare
// specifier (deno.land/x users do not get our import map), and the layers above the core — data, models,
// train — never import a backend.
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

Deno.test("data, models and train never import a backend", async () => {
  for await (const { path, code } of sources(SRC)) {
    if (!/^(data|models|train)\//.test(path)) continue;
    for (const specifier of imports(code)) {
      assert(!/\/(wasm|webgpu)\/|registry\.ts$/.test(specifier), `src/${path} imports ${specifier}`);
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
