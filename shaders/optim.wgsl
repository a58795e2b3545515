// The Adam family (PyTorch semantics), as asm/optim.ts: one thread per parameter. The host folds the bias
// corrections and RAdam's rectification into stepSize and denomScale.
//! use common

//! kernel adam_update
// grad += weightDecay·param; m = β₁m + (1−β₁)grad; v = β₂v + (1−β₂)grad²;
// param −= stepSize·m/(√v·denomScale + eps) if adaptive, else param −= stepSize·m.
@compute @workgroup_size(WORKGROUP_SIZE)
fn adam_update(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  let p = param[i];
  let g = grad[i] + params.weightDecay * p;
  let mi = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let vi = params.beta2 * v[i] + (1.0 - params.beta2) * (g * g); // grouped as the SIMD body of asm/optim.ts
  m[i] = mi;
  v[i] = vi;
  var update = params.stepSize * mi;
  if (params.adaptive != 0u) {
    update = params.stepSize * mi / (sqrt(vi) * params.denomScale + params.eps);
  }
  param[i] = p - update;
}
