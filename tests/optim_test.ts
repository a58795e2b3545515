// Adam and RAdam on every backend against PyTorch's update rules (tests/reference/optim.ts).
import { readF32 } from "../src/backend.ts";
import { adam, enqueueUpdate, radam } from "../src/optim.ts";
import { forEachBackend } from "./backends.ts";
import { adamStep, type OptimizerHyper, radamStep } from "./reference/optim.ts";
import { assertClose, testRandom, uniformArray } from "./util.ts";

const CASES: { name: "adam" | "radam"; hyper: OptimizerHyper }[] = [
  { name: "adam", hyper: { lr: 1e-2 } },
  { name: "adam", hyper: { lr: 5e-3, beta1: 0.5, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 } },
  // RAdam's first steps (ρ_t ≤ 5) are SGD with momentum; later ones are rectified: 12 steps cross over.
  { name: "radam", hyper: { lr: 1e-2 } },
  { name: "radam", hyper: { lr: 7e-4, beta2: 0.9, weightDecay: 0.01 } },
];

forEachBackend("Adam and RAdam follow PyTorch's update over 12 steps", async (backend) => {
  const random = testRandom(20);
  const length = 37; // a SIMD tail
  for (const { name, hyper } of CASES) {
    const opt = (name === "adam" ? adam : radam)({
      lr: hyper.lr,
      betas: [hyper.beta1 ?? 0.9, hyper.beta2 ?? 0.999],
      eps: hyper.eps,
      weightDecay: hyper.weightDecay,
    });
    const [param_, grad, m, v] = ["w", "w.grad", "w.m", "w.v"].map((label) => backend.alloc(length, label));
    const slot = { param: param_, grad, m, v, length };
    const initial = uniformArray(random, length);
    backend.write(slot.param, initial);
    const param = Float64Array.from(initial);
    const state = { m: new Float64Array(length), v: new Float64Array(length) };
    for (let t = 1; t <= 12; t++) {
      const grad = uniformArray(random, length, -2, 2);
      backend.write(slot.grad, grad);
      enqueueUpdate(backend, opt, slot, t);
      (name === "adam" ? adamStep : radamStep)(param, Float64Array.from(grad), state, t, hyper);
    }
    backend.submit();
    assertClose(await readF32(backend, slot.param), param, {
      atol: 1e-6,
      rtol: 1e-5,
      label: `${name} ${JSON.stringify(hyper)}`,
    });
    assertClose(await readF32(backend, slot.m), state.m, { atol: 1e-6, rtol: 1e-5, label: `${name} m` });
    assertClose(await readF32(backend, slot.v), state.v, { atol: 1e-7, rtol: 1e-5, label: `${name} v` });
    for (const b of [slot.param, slot.grad, slot.m, slot.v]) backend.free(b);
  }
});
