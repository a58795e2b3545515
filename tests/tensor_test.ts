// The reductions between kernels: count_nonfinite on every backend, against counts the test places itself.
import { assertEquals } from "@std/assert";
import { readF32 } from "../src/backend.ts";
import { forEachBackend } from "./backends.ts";
import { testRandom, uniformArray } from "./util.ts";

forEachBackend("count_nonfinite counts NaN and ±∞ only, in the vector body and the tail", async (backend) => {
  const random = testRandom(41);
  // Finite values at the edges of the format must not count: the largest float, subnormals, ±0.
  const edge = [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, 0, -0];
  const special = [NaN, Infinity, -Infinity];
  const out = backend.alloc(8, "out");
  try {
    for (const length of [1, 3, 4, 7, 255, 256, 257, 1000, 4099]) {
      const x = uniformArray(random, length, -1e6, 1e6);
      for (let i = 0; i < Math.min(length, edge.length); i++) x[(i * 37) % length] = edge[i];
      let placed = 0;
      for (let i = 0; i < length; i += 1 + Math.floor(random() * 97)) {
        if (Number.isFinite(x[i])) placed++;
        x[i] = special[placed % 3];
      }
      if (length > 3) { // the last element lies in the scalar tail for lengths that are not multiples of 4
        if (Number.isFinite(x[length - 1])) placed++;
        x[length - 1] = NaN;
      }
      const buffer = backend.alloc(length, "x");
      backend.write(buffer, x);
      backend.run("count_nonfinite", [out, buffer], [length, 5]);
      backend.submit();
      const counts = await readF32(backend, out);
      assertEquals(counts[5], placed, `length ${length}`);
      assertEquals([...counts.subarray(0, 5), ...counts.subarray(6)], [0, 0, 0, 0, 0, 0, 0], "other slots");
      backend.free(buffer);
    }
  } finally {
    backend.free(out);
  }
});
