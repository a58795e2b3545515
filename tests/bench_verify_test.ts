// The side-by-side benchmark (bench/torch/) hands PyTorch the exponentials behind reinmax's GR-MCK draws,
// recomputed on the host; its first-step check is only as good as that copy. This checks the copy against the
// kernel itself, without PyTorch: the perturbed logits built from the host's exponentials by docs/math.md §2.5
// must equal what `gumbel_perturbations` writes from the same stream.
import { assert } from "@std/assert";
import { gumbelExponentials } from "../bench/torch/verify.ts";
import { readF32, WasmBackend } from "./internals.ts";

Deno.test("bench verify: the host's GR-MCK exponentials reproduce gumbel_perturbations", async () => {
  const backend = await WasmBackend.create();
  const rows = 9, n = 5, k = 3, key = [0x9e3779b9, 7] as const, stream = 11, tag = 1;
  const logits = Float32Array.from({ length: rows * n }, (_, i) => Math.sin(i * 1.7) * 3);
  const sample = Int32Array.from({ length: rows }, (_, r) => (r * 3) % n);
  const [perturbed, logitsBuffer, sampleBuffer] = [
    backend.alloc(rows * k * n, "perturbed"),
    backend.alloc(rows * n, "logits"),
    backend.alloc(rows, "sample"),
  ];
  backend.write(logitsBuffer, logits);
  backend.write(sampleBuffer, sample);
  backend.run(
    "gumbel_perturbations",
    [perturbed, logitsBuffer, sampleBuffer],
    [rows, n, k, key[0], key[1], stream, tag],
  );
  backend.submit();
  const kernel = await readF32(backend, perturbed); // laid out (rows, k, n)
  const e = gumbelExponentials(key, stream, rows, n, k); // laid out (k, rows, n)
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    const row = [...logits.subarray(r * n, (r + 1) * n)], m = Math.max(...row);
    const logZ = Math.log(row.reduce((z, x) => z + Math.exp(x - m), 0));
    for (let j = 0; j < k; j++) {
      const es = e[(j * rows + r) * n + sample[r]];
      for (let i = 0; i < n; i++) {
        const ei = e[(j * rows + r) * n + i];
        const expected = i === sample[r]
          ? logZ - Math.log(es)
          : -Math.log(ei * Math.exp(-(row[i] - m)) + es * Math.exp(-logZ));
        const got = kernel[(r * k + j) * n + i];
        worst = Math.max(worst, Math.abs(got - expected) / Math.max(1, Math.abs(expected)));
      }
    }
  }
  assert(worst < 1e-5, `perturbed logits differ by ${worst} (relative)`);
  backend.destroy();
});
