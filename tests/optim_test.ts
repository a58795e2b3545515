// Adam and RAdam on every backend against PyTorch's update rules (tests/reference/optim.ts).
import { assert } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { adamStep, type OptimizerHyper, radamStep } from "./reference/optim.ts";
import { assertClose, testRandom, uniformArray } from "./util.ts";
import { adam, radam } from "../mod.ts";
import { enqueueUpdate, launcher, readF32 } from "./internals.ts";

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
      enqueueUpdate(launcher(backend), opt, slot, t);
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

forEachBackend(
  "Adam and RAdam follow PyTorch where ε is comparable to √v, with weight decay, across RAdam's switch",
  async (backend) => {
    // With ε far below √v (the case above) it makes no difference where ε is added; here the gradients and
    // the decay term λθ are ~1e-4, so Adam's ε = 1e-4 competes with the bias-corrected √v and RAdam's
    // ε = 1e-5 with its uncorrected √v (docs/math.md §5.1, §5.2). A kernel or host that adds ε before the
    // bias correction instead of after (or the reverse for RAdam) moves the parameters by far more than the
    // tolerance, which the power check below makes sure of.
    const beta2 = 0.999, steps = 14;
    const rho = (t: number) => 2 / (1 - beta2) - 1 - 2 * t * beta2 ** t / (1 - beta2 ** t);
    // RAdam's first five steps are momentum SGD, the rest adaptive (ρ_5 ≈ 4.996, ρ_6 ≈ 5.994).
    assert(rho(5) <= 5 && rho(6) > 5, `ρ_5 = ${rho(5)}, ρ_6 = ${rho(6)}`);
    const cases: { name: "adam" | "radam"; hyper: OptimizerHyper }[] = [
      { name: "adam", hyper: { lr: 1e-3, eps: 1e-4, weightDecay: 0.02 } },
      { name: "radam", hyper: { lr: 1e-3, eps: 1e-5, weightDecay: 0.02 } },
    ];
    const random = testRandom(21);
    const length = 37; // a SIMD body and a scalar tail
    for (const { name, hyper } of cases) {
      const opt = (name === "adam" ? adam : radam)({
        lr: hyper.lr,
        betas: [0.9, beta2],
        eps: hyper.eps,
        weightDecay: hyper.weightDecay,
      });
      const step = name === "adam" ? adamStep : radamStep;
      const [param_, grad, m, v] = ["w", "w.grad", "w.m", "w.v"].map((label) => backend.alloc(length, label));
      const slot = { param: param_, grad, m, v, length };
      const initial = uniformArray(random, length, -0.01, 0.01);
      backend.write(slot.param, initial);
      const param = Float64Array.from(initial),
        state = { m: new Float64Array(length), v: new Float64Array(length) };
      // The same run with ε a hundred times smaller: ε must matter at this scale, or the test proves nothing.
      const small = Float64Array.from(initial),
        smallState = { m: new Float64Array(length), v: new Float64Array(length) };
      for (let t = 1; t <= steps; t++) {
        const g = uniformArray(random, length, -2e-4, 2e-4);
        backend.write(slot.grad, g);
        enqueueUpdate(launcher(backend), opt, slot, t);
        step(param, Float64Array.from(g), state, t, hyper);
        step(small, Float64Array.from(g), smallState, t, { ...hyper, eps: hyper.eps! / 100 });
      }
      backend.submit();
      const tol = { atol: 1e-7, rtol: 1e-5 };
      const moved = param.reduce((s, x, i) => Math.max(s, Math.abs(x - small[i])), 0);
      assert(moved > 100 * tol.atol, `${name}: ε changes the parameters by only ${moved}`);
      assertClose(await readF32(backend, slot.param), param, {
        ...tol,
        label: `${name} ε=${hyper.eps} param`,
      });
      assertClose(await readF32(backend, slot.m), state.m, { atol: 2e-9, rtol: 1e-5, label: `${name} m` });
      assertClose(await readF32(backend, slot.v), state.v, { atol: 1e-16, rtol: 1e-4, label: `${name} v` });
      for (const b of [slot.param, slot.grad, slot.m, slot.v]) backend.free(b);
    }
  },
);
