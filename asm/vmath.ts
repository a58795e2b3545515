// Vector maths (docs/math.md §4.12): exp, log, log1p, σ and tanh on four f32 lanes, the only transcendental functions
// the kernels use. Each is a fixed sequence of f32 operations (no table, no branch), so a scalar is computed by
// the same code on a splat and every element gets bit-identical arithmetic wherever it sits in a row;
// shaders/math.wgsl evaluates exp by the same operations, so the samples drawn from exp agree across backends.
// Error bounds against float64, in ulps of the exact value (tests/vmath_test.ts checks them on every backend;
// the largest errors measured over millions of points are in brackets):
//   expV     ≤ 1.5 ulp for x ∈ [−87.3, 88.7] (0.97); subnormal results within 2^−149 (0.75·2^−149); 0 below
//            −104, +∞ above 88.73, NaN for NaN.
//   logV     ≤ 1.5 ulp for every positive x, subnormals included (0.80); −∞ at 0, +∞ at +∞, NaN below 0.
//   log1pV   ≤ 2 ulp for u > −1 (1.22), u itself when 1 + u rounds to 1; −∞ at −1.
//   sigmoidV ≤ 3 ulp for every x (2.51); never overflows.
//   tanhV    ≤ 1.5 ulp for every x (1.06, over every f32 in [0, 10]; ±1 beyond); odd; ±1 at ±∞; NaN only for NaN.

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// ln 2 = LN2_HI + LN2_LO with LN2_HI of 9 significant bits, so n·LN2_HI is exact for |n| ≤ 2^15.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;
// Below EXP_LO, e^x < 2^−150 rounds to 0; above EXP_HI, e^x overflows. Clamping to them keeps n in [−150, 129].
// @ts-ignore: decorator
@inline const EXP_LO: f32 = -104;
// @ts-ignore: decorator
@inline const EXP_HI: f32 = 89;
// 1.5·2^23: adding it to |v| < 2^22 rounds v to an integer held in the low mantissa bits.
// @ts-ignore: decorator
@inline const ROUND_MAGIC: f32 = 12582912;
// @ts-ignore: decorator
@inline const ROUND_MAGIC_BITS: i32 = 0x4B400000;

/**
 * e^x lane-wise: n = round(x·log₂e), r = x − n·ln 2 ∈ [−ln2/2, ln2/2], e^r by its minimax polynomial of degree
 * 7 (1 + r + r²·P(r)), then e^r·2^n as e^r·2^⌊n/2⌋·2^(n−⌊n/2⌋): two exact power-of-two scalings, so results
 * near the overflow threshold stay finite and subnormal results are rounded once.
 */
export function expV(x: v128): v128 {
  // pmax/pmin (one instruction each on x64) keep a NaN x: the comparison with NaN is false.
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const fn = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(fn, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fn, f32x4.splat(LN2_LO)));
  const r2 = f32x4.mul(r, r);
  let y = f32x4.add(f32x4.mul(f32x4.splat(1.9875691500e-4), r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, r2), r), f32x4.splat(1));
  const n = i32x4.sub(t, i32x4.splat(ROUND_MAGIC_BITS));
  const half = i32x4.shr_s(n, 1);
  const scaleA = i32x4.shl(i32x4.add(half, i32x4.splat(127)), 23);
  const scaleB = i32x4.shl(i32x4.add(i32x4.sub(n, half), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(y, scaleA), scaleB);
}

/**
 * log x lane-wise: x = m·2^e with m ∈ [√½, √2), log x = e·ln 2 + log m, log m = f − f²/2 + f³·P(f), f = m − 1
 * (exact). Subnormal x is first scaled by 2^23.
 */
export function logV(x: v128): v128 {
  const sub = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608)), x, sub);
  let e = i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126)); // xs = m·2^e with m ∈ [0.5, 1)
  e = i32x4.add(e, v128.and(sub, i32x4.splat(-23)));
  let m = v128.or(v128.and(xs, i32x4.splat(0x007FFFFF)), i32x4.splat(0x3F000000));
  // m < √½: use 2m − 1 and e − 1, so the polynomial argument stays in [√½ − 1, √2 − 1).
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.add(e, small); // true lanes are −1
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = f32x4.add(f32x4.mul(f32x4.splat(7.0376836292e-2), m), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  const result = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, f32x4.splat(LN2_HI)));
  // The special values: log 0 = −∞, log(+∞) = +∞, NaN for x < 0 or NaN.
  const zero = f32x4.eq(x, f32x4.splat(0));
  const inf = f32x4.eq(x, f32x4.splat(Infinity));
  const bad = v128.not(f32x4.ge(x, f32x4.splat(0)));
  let out = v128.bitselect(f32x4.splat(-Infinity), result, zero);
  out = v128.bitselect(x, out, inf);
  return v128.bitselect(f32x4.splat(NaN), out, bad);
}

/**
 * log(1 + u) lane-wise for u > −1: log w + (u − (w − 1))/w with w = 1 + u rounded, which restores what the
 * rounding of 1 + u lost (w − 1 is exact); u itself where w = 1, so tiny u keep their relative accuracy.
 */
export function log1pV(u: v128): v128 {
  const one = f32x4.splat(1);
  const w = f32x4.add(one, u);
  const wm1 = f32x4.sub(w, one);
  // The correction is 0 where w is 0 (u = −1: −∞), ∞ or NaN, and NaN where w < 0 through logV.
  const finite = f32x4.lt(f32x4.abs(w), f32x4.splat(Infinity));
  const positive = f32x4.gt(w, f32x4.splat(0));
  const correction = v128.and(f32x4.div(f32x4.sub(u, wm1), w), v128.and(finite, positive));
  return v128.bitselect(u, f32x4.add(logV(w), correction), f32x4.eq(wm1, f32x4.splat(0)));
}

/** σ(x) = 1/(1 + e^{−x}) lane-wise, from e^{−|x|} so neither side overflows. */
export function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const inv = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(inv, f32x4.mul(e, inv), f32x4.ge(x, f32x4.splat(0)));
}

// Where tanh switches from its polynomial to exp: at 0.75, 2/(1 + e^{2|x|}) ≤ 0.37, so the final subtraction
// from 1 loses at most about one bit, while the polynomial still needs only six coefficients.
// @ts-ignore: decorator
@inline const TANH_POLY_MAX: f32 = 0.75;
// tanh(10) rounds to 1 in f32 (1 − 2e^{−20} is within 2^−25 of 1): clamping there keeps e^{2|x|} finite.
// @ts-ignore: decorator
@inline const TANH_SATURATED: f32 = 10;

/**
 * tanh x lane-wise on a = |x|, with the sign of x put back (so tanh is odd bit for bit and tanh(−0) = −0).
 * For a < 0.75: a + a·(a²·P(a²)), P the degree-5 polynomial minimising the relative error of tanh on [0, 0.75]
 * (fitted for this file), so small a keep their relative accuracy where 1 − 2/(e^{2a} + 1) would cancel. For
 * a ≥ 0.75: 1 − 2/(1 + e^{2·min(a, 10)}) (doubling is exact), whose quotient is ≤ 0.37 and is rounded, not
 * cancelled. Both branches are computed and one is selected, as in the other functions of this file.
 */
export function tanhV(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.mul(f32x4.splat(1.7369359266e-3), z), f32x4.splat(-7.6572555117e-3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.1452033892e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.3892724216e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.3332694769e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.3333316445e-1));
  const small = f32x4.add(a, f32x4.mul(a, f32x4.mul(z, p)));
  // pmin keeps a NaN a (the comparison with NaN is false), so NaN comes out of expV and the large branch.
  const ac = f32x4.pmin(a, f32x4.splat(TANH_SATURATED));
  const e = expV(f32x4.add(ac, ac));
  const large = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(f32x4.splat(1), e)));
  const r = v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(TANH_POLY_MAX)));
  return v128.or(r, v128.and(x, i32x4.splat(0x80000000)));
}

/** log(1 + e^{−|x|}) lane-wise: the non-linear part of softplus and log σ. */
// @ts-ignore: decorator
@inline export function softplusTailV(x: v128): v128 {
  return log1pV(expV(f32x4.neg(f32x4.abs(x))));
}

// Scalar twins of expV and logV: the same f32 operations in the same order (a lane of f32x4 arithmetic rounds
// as scalar f32 arithmetic does), so a scalar and a vector lane of the same input agree bit for bit (tested
// through vmath_apply's tail); cheaper than a splat and an extract in the row kernels.

/** e^x, bit for bit a lane of expV. */
export function expf(x: f32): f32 {
  let xc = x < EXP_LO ? EXP_LO : x; // as pmax/pmin: NaN passes through
  xc = EXP_HI < xc ? EXP_HI : xc;
  const t = xc * LOG2E + ROUND_MAGIC;
  const fn = t - ROUND_MAGIC;
  let r = xc - fn * LN2_HI;
  r = r - fn * LN2_LO;
  const r2 = r * r;
  let y: f32 = <f32>1.9875691500e-4 * r + <f32>1.3981999507e-3;
  y = y * r + <f32>8.3334519073e-3;
  y = y * r + <f32>4.1665795894e-2;
  y = y * r + <f32>1.6666665459e-1;
  y = y * r + <f32>5.0000001201e-1;
  y = (y * r2 + r) + 1;
  const n = reinterpret<i32>(t) - ROUND_MAGIC_BITS;
  const half = n >> 1;
  return (y * reinterpret<f32>((half + 127) << 23)) * reinterpret<f32>(((n - half) + 127) << 23);
}

/** log x, bit for bit a lane of logV. */
export function logf(x: f32): f32 {
  const sub = x < <f32>1.17549435e-38;
  const xs = sub ? x * <f32>8388608 : x;
  const bits = reinterpret<i32>(xs);
  let e = <i32>(<u32>bits >> 23) - 126;
  if (sub) e -= 23;
  let m = reinterpret<f32>((bits & 0x007FFFFF) | 0x3F000000);
  if (m < <f32>0.707106781186547524) {
    e -= 1;
    m = (m + m) - 1;
  } else {
    m = (m + 0) - 1;
  }
  const fe = <f32>e;
  const z = m * m;
  let y: f32 = <f32>7.0376836292e-2 * m + <f32>-1.1514610310e-1;
  y = y * m + <f32>1.1676998740e-1;
  y = y * m + <f32>-1.2420140846e-1;
  y = y * m + <f32>1.4249322787e-1;
  y = y * m + <f32>-1.6668057665e-1;
  y = y * m + <f32>2.0000714765e-1;
  y = y * m + <f32>-2.4999993993e-1;
  y = y * m + <f32>3.3333331174e-1;
  y = (y * m) * z;
  y = y + fe * LN2_LO;
  y = y - z * <f32>0.5;
  const result = (m + y) + fe * LN2_HI;
  if (x == 0) return -Infinity;
  if (x == Infinity) return x;
  return x >= 0 ? result : NaN;
}

// Rows of exponentials, four lanes at a time: what the row kernels (softmax, sampling, estimators) spend most
// of their time on.

/**
 * dst[i] = e^((src[i] − shift)·scale) for i < n, each bit for bit expf((src[i] − shift)·scale) (with scale = 1
 * the product is exact, so this is expf(src[i] − shift)). dst may be src.
 */
export function expShiftedRow(dst: usize, src: usize, n: i32, shift: f32, scale: f32): void {
  const sv = f32x4.splat(shift), kv = f32x4.splat(scale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dst + at, expV(f32x4.mul(f32x4.sub(v128.load(src + at), sv), kv)));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(dst + at, expf((load<f32>(src + at) - shift) * scale));
  }
}

/** Scratch for ROW_CHUNK exponentials of a row; kernels take long rows a chunk at a time. */
// @ts-ignore: decorator
@inline export const ROW_CHUNK: i32 = 1024;
export const ROW_EXP: usize = memory.data(ROW_CHUNK << 2, 16);

// The kernel that exposes these functions to the host (tests measure them against float64 on every backend).

// @ts-ignore: decorator
@inline const FN_EXP: u32 = 0;
// @ts-ignore: decorator
@inline const FN_LOG: u32 = 1;
// @ts-ignore: decorator
@inline const FN_LOG1P: u32 = 2;
// @ts-ignore: decorator
@inline const FN_SIGMOID: u32 = 3;

// @ts-ignore: decorator
@inline function apply(which: u32, x: v128): v128 {
  if (which == FN_EXP) return expV(x);
  if (which == FN_LOG) return logV(x);
  if (which == FN_LOG1P) return log1pV(x);
  return which == FN_SIGMOID ? sigmoidV(x) : tanhV(x);
}

/** out[i] = f(x[i]) for f = exp, log, log1p, σ, tanh (which = 0, 1, 2, 3, 4). */
export function vmath_apply(out: usize, x: usize, count: u32, which: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const p = <usize>i << 2;
    v128.store(out + p, apply(which, v128.load(x + p)));
  }
  // The tail through the scalar twins where there are (so tests compare them with the vector lanes).
  for (; i < count; i++) {
    const p = <usize>i << 2;
    const v = load<f32>(x + p);
    const y = which == FN_EXP ? expf(v) : which == FN_LOG ? logf(v) : f32x4.extract_lane(apply(which, f32x4.splat(v)), 0);
    store<f32>(out + p, y);
  }
}
