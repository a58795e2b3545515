// The library as a program outside the repository sees it: a project of its own, without this repository's
// deno.json, importing mod.ts by URL must type-check with Deno's default libraries and with the DOM's.
import { assertEquals } from "@std/assert";

const MOD = new URL("../mod.ts", import.meta.url).href;

const PROGRAM = `
import { CategoricalVae, estimator, type ModelState, saveCheckpoint, selectBackend } from "${MOD}";
const backend = await selectBackend();
const model = new CategoricalVae(backend, { config: "8x4", estimator: estimator("st", { tau: 1.4 }) });
const state: ModelState = await model.readState();
const bytes: Uint8Array = await saveCheckpoint(model);
const words: ArrayBuffer = await backend.read(model.parameters[0].value.buffer);
console.log(state.step, bytes.length, words.byteLength);
`;

for (
  const [name, config] of [["Deno's default libraries", null], ["deno.window and dom", [
    "deno.window",
    "dom",
  ]]] as const
) {
  Deno.test(`a program outside the repository type-checks against mod.ts with ${name}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/main.ts`, PROGRAM);
      const args = ["check", "--quiet"];
      if (config) {
        await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ compilerOptions: { lib: config } }));
        args.push("--config", `${dir}/deno.json`);
      } else {
        // An empty config of its own, so that no deno.json above the directory is found.
        await Deno.writeTextFile(`${dir}/deno.json`, "{}");
      }
      const out = await new Deno.Command(Deno.execPath(), {
        args: [...args, `${dir}/main.ts`],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
