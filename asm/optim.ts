// The Adam family (PyTorch semantics). The host folds bias corrections and RAdam's rectification into
// stepSize and denomScale, computed once per step in float64, so every backend applies the same scalars.

/**
 * grad += weightDecay·param; m = β₁m + (1−β₁)grad; v = β₂v + (1−β₂)grad²;
 * param −= stepSize·m/(√v·denomScale + eps) if adaptive, else param −= stepSize·m.
 */
export function adam_update(
  param: usize, m: usize, v: usize, grad: usize, count: u32, beta1: f32, beta2: f32, stepSize: f32,
  denomScale: f32, eps: f32, weightDecay: f32, adaptive: u32,
): void {
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(1 - beta2);
  const step = f32x4.splat(stepSize), scale = f32x4.splat(denomScale), epsilon = f32x4.splat(eps);
  const decay = f32x4.splat(weightDecay);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    const g = f32x4.add(v128.load(grad + o), f32x4.mul(decay, p));
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, g));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(c2, f32x4.mul(g, g)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const update = adaptive != 0
      ? f32x4.div(f32x4.mul(step, mi), f32x4.add(f32x4.mul(f32x4.sqrt(vi), scale), epsilon))
      : f32x4.mul(step, mi);
    v128.store(param + o, f32x4.sub(p, update));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    const g = load<f32>(grad + o) + weightDecay * p;
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const update = adaptive != 0 ? stepSize * mi / (Mathf.sqrt(vi) * denomScale + eps) : stepSize * mi;
    store<f32>(param + o, p - update);
  }
}
