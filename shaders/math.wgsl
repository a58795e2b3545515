// The maths helpers of the kernels, each defined once. A file that `//! use math` gets the functions; a
// kernel that `//! include math.row_max` gets row_max, which reads its row through the kernel's own
// row_value(i), as gemm_tile reads through a_at and b_at (core WGSL cannot pass a storage binding to a
// function).
//
// The vector maths (exp for x ≤ 0 and σ) is the same Cephes-style f32 polynomial as the WASM kernels, on
// vec4f lanes where WASM uses f32x4, so both backends round alike (log(1 + u) differs, see log1p_unit).

// 2·atanh(s) = log((1 + s)/(1 − s)) lane-wise for |s| ≤ 1/3, by its series 2·Σ_{k≤8} s^{2k+1}/(2k+1) (the
// first omitted term is below 2^-30 of the sum): the logarithm near 1 without the cancellation of log(x).
fn two_atanh(s: vec4f) -> vec4f {
  let s2 = s * s;
  var y = 2.0 / 17.0 * s2 + 2.0 / 15.0;
  y = y * s2 + 2.0 / 13.0;
  y = y * s2 + 2.0 / 11.0;
  y = y * s2 + 2.0 / 9.0;
  y = y * s2 + 2.0 / 7.0;
  y = y * s2 + 2.0 / 5.0;
  y = y * s2 + 2.0 / 3.0;
  y = y * s2 + 2.0;
  return s * y;
}

// log(x) with relative accuracy near x = 1. GPU log only promises an absolute error of 2^-21 on [0.5, 2]
// (WGSL, Vulkan), which is a large relative error where log x is small; there, 2·atanh(s) with
// s = (x − 1)/(x + 1) ∈ [−1/3, 1/3] has no cancellation (x − 1 is exact on [0.5, 2]).
fn precise_log(x: f32) -> f32 {
  if (!(x >= 0.5 && x <= 2.0)) {
    return log(x);
  }
  return two_atanh(vec4f((x - 1.0) / (x + 1.0))).x;
}

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_LO: f32 = -87.3365447505531; // below: the result would be subnormal; flushed to 0

// e^x lane-wise for x ≤ 0 (relative error ≈ 1 ulp); 0 below EXP_LO.
fn exp_neg(x: vec4f) -> vec4f {
  let xc = max(x, vec4f(EXP_LO));
  let fx = round(xc * LOG2E); // ties to even, as f32x4.nearest; ∈ [−126, 0]
  var r = xc - fx * LN2_HI;
  r = r - fx * LN2_LO;
  let z = r * r;
  var y = 1.9875691500e-4 * r + 1.3981999507e-3;
  y = y * r + 8.3334519073e-3;
  y = y * r + 4.1665795894e-2;
  y = y * r + 1.6666665459e-1;
  y = y * r + 5.0000001201e-1;
  y = (y * z + r) + 1.0;
  // 2^fx built directly in the exponent field (fx ≥ −126 keeps it normal).
  let pow2 = bitcast<vec4f>((vec4i(fx) + 127) << vec4u(23u));
  return select(y * pow2, vec4f(0.0), x < vec4f(EXP_LO));
}

// log(1 + u) lane-wise for u ∈ [0, 1], accurate for tiny u: 2·atanh(s) with s = u/(2 + u) ∈ [0, 1/3], a
// series with no cancellation. (The WASM kernel corrects log(1 + u) by (u − ((1 + u) − 1))/(1 + u); shader
// compilers may simplify that correction to zero — llvmpipe does — so the GPU takes this route instead.)
fn log1p_unit(u: vec4f) -> vec4f {
  return two_atanh(u / (2.0 + u));
}

// log(1 + e^{−|x|}), the non-linear part of softplus and log-sigmoid.
fn softplus_tail(x: vec4f) -> vec4f {
  return log1p_unit(exp_neg(-abs(x)));
}

// σ(x) lane-wise, from e^{−|x|} so neither branch overflows.
fn sigmoid_v(x: vec4f) -> vec4f {
  let e = exp_neg(-abs(x));
  let inv = 1.0 / (1.0 + e);
  return select(e * inv, inv, x >= vec4f(0.0));
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
