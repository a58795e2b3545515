// The maths helpers of the kernels, each defined once. A file that `//! use math` gets the functions; a
// kernel that `//! include math.row_max` gets row_max, which reads its row through the kernel's own
// row_value(i), as gemm_tile reads through a_at and b_at (core WGSL cannot pass a storage binding to a
// function).
//! use common

// ---- Vector maths: exp, log, log1p, σ, tanh by the operations of asm/vmath.ts (docs/math.md §4.12) --------------
// Same constants, same polynomials, same order of f32 operations. A shader compiler may fuse a product and a sum
// into one fused multiply-add and may reassociate (it does on Mesa), which changes the last bit and undoes the
// compensated steps; every product and rounded sum that matters therefore passes through `opaque`, an exclusive
// or with a word the compiler cannot see is 0 (it is 0 but for NaN inputs, whose results are NaN anyway). So
// the five functions give the WASM kernels' bits (tests/vmath_test.ts), exp above all, on which the samplers'
// comparisons rest.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_LO: f32 = -104.0;
const EXP_HI: f32 = 89.0;

// NaN lanes, from the bits: WGSL lets a compiler assume a float comparison never meets NaN.
fn vm_is_nan(x: vec4f) -> vec4<bool> {
  return (bitcast<vec4u>(x) & vec4u(0x7fffffffu)) > vec4u(0x7f800000u);
}

// 0, but for NaN lanes of x (whose results are NaN whatever is flipped), from bits no float assumption folds.
fn vm_guard(x: vec4f) -> vec4u {
  return select(vec4u(0u), vec4u(1u), vm_is_nan(x));
}

// v itself, as far as the compiler can tell some other value: it can neither fuse it into a following sum nor
// cancel it algebraically.
fn opaque(v: vec4f, guard: vec4u) -> vec4f {
  return bitcast<vec4f>(bitcast<vec4u>(v) ^ guard);
}

// e^x lane-wise: n = round(x·log₂e) (round-half-even, as the WASM magic-number add), r = x − n·ln 2, e^r by
// 1 + r + r²·P(r), scaled by 2^⌊n/2⌋·2^(n−⌊n/2⌋).
fn exp_v(x: vec4f) -> vec4f {
  let g = vm_guard(x);
  let xc = min(max(x, vec4f(EXP_LO)), vec4f(EXP_HI));
  let fn_ = round(xc * LOG2E);
  var r = xc - opaque(fn_ * LN2_HI, g);
  r = r - opaque(fn_ * LN2_LO, g);
  let r2 = r * r;
  var y = opaque(1.9875691500e-4 * r, g) + 1.3981999507e-3;
  y = opaque(y * r, g) + 8.3334519073e-3;
  y = opaque(y * r, g) + 4.1665795894e-2;
  y = opaque(y * r, g) + 1.6666665459e-1;
  y = opaque(y * r, g) + 5.0000001201e-1;
  y = opaque(opaque(y * r2, g) + r, g) + 1.0;
  let n = vec4i(fn_);
  let half = n >> vec4u(1u);
  let scale_a = bitcast<vec4f>((half + 127) << vec4u(23u));
  let scale_b = bitcast<vec4f>(((n - half) + 127) << vec4u(23u));
  return select((y * scale_a) * scale_b, x, vm_is_nan(x));
}

fn exp_f32(x: f32) -> f32 {
  return exp_v(vec4f(x)).x;
}

// log x lane-wise: x = m·2^e, m ∈ [√½, √2), log m = f − f²/2 + f³·P(f) with f = m − 1; subnormals scaled by 2^23.
fn log_v(x: vec4f) -> vec4f {
  let g = vm_guard(x);
  let sub = x < vec4f(1.17549435e-38);
  let xs = select(x, x * 8388608.0, sub);
  let bits = bitcast<vec4i>(xs);
  var e = (bits >> vec4u(23u)) - 126 - select(vec4i(0), vec4i(23), sub);
  var m = bitcast<vec4f>((bits & vec4i(0x007FFFFF)) | vec4i(0x3F000000));
  let small = m < vec4f(0.707106781186547524);
  e = e - select(vec4i(0), vec4i(1), small);
  m = opaque(m + select(vec4f(0.0), m, small), g) - 1.0;
  let fe = vec4f(e);
  let z = m * m;
  var y = opaque(7.0376836292e-2 * m, g) + -1.1514610310e-1;
  y = opaque(y * m, g) + 1.1676998740e-1;
  y = opaque(y * m, g) + -1.2420140846e-1;
  y = opaque(y * m, g) + 1.4249322787e-1;
  y = opaque(y * m, g) + -1.6668057665e-1;
  y = opaque(y * m, g) + 2.0000714765e-1;
  y = opaque(y * m, g) + -2.4999993993e-1;
  y = opaque(y * m, g) + 3.3333331174e-1;
  y = opaque(y * m, g) * z;
  y = opaque(y + opaque(fe * LN2_LO, g), g);
  y = opaque(y - opaque(z * 0.5, g), g);
  let result = opaque(m + y, g) + opaque(fe * LN2_HI, g);
  // −∞ and NaN from runtime bits: as constant expressions (a bitcast of a literal) they are rejected by
  // compilers that evaluate constants in f32 (Chromium's Tint: "value inf cannot be represented").
  let minus_inf = bitcast<vec4f>(vec4u(0xff800000u) ^ g);
  let nan = bitcast<vec4f>(vec4u(0x7fc00000u) ^ g);
  var out = select(result, minus_inf, x == vec4f(0.0));
  out = select(out, x, bitcast<vec4u>(x) == vec4u(0x7f800000u));
  return select(out, nan, (x < vec4f(0.0)) | vm_is_nan(x));
}

fn log_f32(x: f32) -> f32 {
  return log_v(vec4f(x)).x;
}

// log(1 + u) = log w + (u − (w − 1))/w with w = 1 + u; u itself where w = 1; no correction where w is 0 or ∞.
fn log1p_v(u: vec4f) -> vec4f {
  let g = vm_guard(u);
  let w = opaque(1.0 + u, g);
  let wm1 = opaque(w - 1.0, g);
  let finite = (bitcast<vec4u>(w) & vec4u(0x7f800000u)) != vec4u(0x7f800000u);
  let correction = select(vec4f(0.0), (u - wm1) / w, finite & (w > vec4f(0.0)));
  return select(log_v(w) + correction, u, wm1 == vec4f(0.0));
}

// log(1 + e^{−|x|}), the non-linear part of softplus and log-sigmoid.
fn softplus_tail(x: vec4f) -> vec4f {
  return log1p_v(exp_v(-abs(x)));
}

// σ(x) from e^{−|x|}, so neither branch overflows.
fn sigmoid_v(x: vec4f) -> vec4f {
  let e = exp_v(-abs(x));
  let inv = 1.0 / (1.0 + e);
  return select(e * inv, inv, x >= vec4f(0.0));
}

// tanh x lane-wise as asm/vmath.ts's tanhV: on a = |x|, a + a·(a²·P(a²)) below 0.75, else
// 1 − 2/(1 + e^{2·min(a, 10)}); then the sign bit of x. NaN is passed through from the bits, since min() of a
// NaN may give 10 here where WASM's pmin keeps the NaN.
fn tanh_v(x: vec4f) -> vec4f {
  let g = vm_guard(x);
  let a = abs(x);
  let z = a * a;
  var p = opaque(1.7369359266e-3 * z, g) + -7.6572555117e-3;
  p = opaque(p * z, g) + 2.1452033892e-2;
  p = opaque(p * z, g) + -5.3892724216e-2;
  p = opaque(p * z, g) + 1.3332694769e-1;
  p = opaque(p * z, g) + -3.3333316445e-1;
  let small = a + opaque(a * opaque(z * p, g), g);
  let ac = min(a, vec4f(10.0));
  let e = exp_v(ac + ac);
  let large = 1.0 - opaque(2.0 / opaque(1.0 + e, g), g);
  let r = select(large, small, a < vec4f(0.75));
  let signed = bitcast<vec4f>(bitcast<vec4u>(r) | (bitcast<vec4u>(x) & vec4u(0x80000000u)));
  return select(signed, x, vm_is_nan(x));
}

//! snippet row_max
// max over row_value(base .. base + n) (n ≥ 1); −∞ entries (masked logits) are fine.
fn row_max(base: u32, n: u32) -> f32 {
  var m = row_value(base);
  for (var i = 1u; i < n; i++) {
    m = max(m, row_value(base + i));
  }
  return m;
}

//! kernel vmath_apply
// out[i] = f(x[i]) for f = exp, log, log1p, σ, tanh (which = 0, 1, 2, 3, 4).

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
    case 3u: { y = sigmoid_v(v); }
    default: { y = tanh_v(v); }
  }
  out[i] = y.x;
}
