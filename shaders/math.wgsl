// Shared maths helpers.
//! use common

// ---- Vector maths: exp, log, log1p, σ by the operations of asm/vmath.ts (docs/math.md §7) --------------------
// Same constants, same polynomials, same order of f32 operations, so where the GPU rounds every operation (no
// fused multiply-add) the results equal the WASM kernels' bit for bit; the sampler's comparisons depend on
// exp only. log1p and σ are built on exp_v and log_v exactly as there.

const VM_LOG2E: f32 = 1.44269504088896341;
const VM_LN2_HI: f32 = 0.693359375;
const VM_LN2_LO: f32 = -2.12194440e-4;
const VM_EXP_LO: f32 = -104.0;
const VM_EXP_HI: f32 = 89.0;

// e^x lane-wise: n = round(x·log₂e) (round-half-even, as the WASM magic-number add), r = x − n·ln 2, e^r by
// 1 + r + r²·P(r), scaled by 2^⌊n/2⌋·2^(n−⌊n/2⌋).
fn exp_v(x: vec4f) -> vec4f {
  let xc = min(max(x, vec4f(VM_EXP_LO)), vec4f(VM_EXP_HI));
  let fn_ = round(xc * VM_LOG2E);
  var r = xc - fn_ * VM_LN2_HI;
  r = r - fn_ * VM_LN2_LO;
  let r2 = r * r;
  var y = 1.9875691500e-4 * r + 1.3981999507e-3;
  y = y * r + 8.3334519073e-3;
  y = y * r + 4.1665795894e-2;
  y = y * r + 1.6666665459e-1;
  y = y * r + 5.0000001201e-1;
  y = (y * r2 + r) + 1.0;
  let n = vec4i(fn_);
  let half = n >> vec4u(1u);
  let scale_a = bitcast<vec4f>((half + 127) << vec4u(23u));
  let scale_b = bitcast<vec4f>(((n - half) + 127) << vec4u(23u));
  return select((y * scale_a) * scale_b, x, x != x); // NaN stays NaN (WGSL's min and max may drop it)
}

fn exp_f32(x: f32) -> f32 {
  return exp_v(vec4f(x)).x;
}

// log x lane-wise: x = m·2^e, m ∈ [√½, √2), log m = f − f²/2 + f³·P(f) with f = m − 1; subnormals scaled by 2^23.
fn log_v(x: vec4f) -> vec4f {
  let sub = x < vec4f(1.17549435e-38);
  let xs = select(x, x * 8388608.0, sub);
  let bits = bitcast<vec4i>(xs);
  var e = (bits >> vec4u(23u)) - 126 - select(vec4i(0), vec4i(23), sub);
  var m = bitcast<vec4f>((bits & vec4i(0x007FFFFF)) | vec4i(0x3F000000));
  let small = m < vec4f(0.707106781186547524);
  e = e - select(vec4i(0), vec4i(1), small);
  m = (m + select(vec4f(0.0), m, small)) - 1.0;
  let fe = vec4f(e);
  let z = m * m;
  var y = 7.0376836292e-2 * m + -1.1514610310e-1;
  y = y * m + 1.1676998740e-1;
  y = y * m + -1.2420140846e-1;
  y = y * m + 1.4249322787e-1;
  y = y * m + -1.6668057665e-1;
  y = y * m + 2.0000714765e-1;
  y = y * m + -2.4999993993e-1;
  y = y * m + 3.3333331174e-1;
  y = (y * m) * z;
  y = y + fe * VM_LN2_LO;
  y = y - z * 0.5;
  let result = (m + y) + fe * VM_LN2_HI;
  let inf = bitcast<f32>(0x7f800000u);
  var out = select(result, vec4f(-inf), x == vec4f(0.0));
  out = select(out, x, x == vec4f(inf));
  return select(out, vec4f(bitcast<f32>(0x7fc00000u)), !(x >= vec4f(0.0)));
}

fn log_f32(x: f32) -> f32 {
  return log_v(vec4f(x)).x;
}

// log(1 + u) = log w + (u − (w − 1))/w with w = 1 + u; u itself where w = 1.
fn log1p_v(u: vec4f) -> vec4f {
  let w = 1.0 + u;
  let wm1 = w - 1.0;
  return select(log_v(w) + (u - wm1) / w, u, wm1 == vec4f(0.0));
}

// σ(x) from e^{−|x|}.
fn sigmoid_v(x: vec4f) -> vec4f {
  let e = exp_v(-abs(x));
  let inv = 1.0 / (1.0 + e);
  return select(e * inv, inv, x >= vec4f(0.0));
}

//! kernel vmath_apply
// out[i] = f(x[i]) for f = exp, log, log1p, σ (which = 0, 1, 2, 3).
struct Params {
  count: u32,
  which: u32,
}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn vmath_apply(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  let v = vec4f(x[i]);
  var y: vec4f;
  switch params.which {
    case 0u: { y = exp_v(v); }
    case 1u: { y = log_v(v); }
    case 2u: { y = log1p_v(v); }
    default: { y = sigmoid_v(v); }
  }
  out[i] = y.x;
}
