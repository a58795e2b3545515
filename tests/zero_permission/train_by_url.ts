// A user's program that imports the library by URL: run by tests/zero_permission_test.ts as
//
//   deno run --allow-import=HOST:PORT tests/zero_permission/train_by_url.ts http://HOST:PORT/mod.ts
//
// with no other permission. It prints one JSON line: the permissions it was granted, the backend, and the
// exact loss after every step of a 10-step polynomial run.
type Library = typeof import("../../mod.ts");

const granted = (["read", "write", "net", "env", "run", "ffi", "sys"] as const)
  .filter((name) => Deno.permissions.querySync({ name }).state === "granted");
const { adam, estimator, selectBackend, trainPoly }: Library = await import(Deno.args[0]);
const backend = await selectBackend({ prefer: "wasm" });
const exactLosses: number[] = [];
let steps = 0;
for await (
  const epoch of trainPoly(backend, {
    steps: 10,
    stepsPerEpoch: 1,
    readEvery: 1,
    estimator: estimator("reinmax", { tau: 1 }),
    optimizer: adam({ lr: 0.05 }),
    onLosses: (_, losses) => void (steps += losses.length),
  })
) {
  exactLosses.push(epoch.exactLoss);
}
backend.destroy();
console.log(JSON.stringify({ granted, backend: backend.name, steps, exactLosses }));
