/**
 * The SDK's random draws on the host, bit for bit as the WebAssembly and WebGPU kernels make them, for code
 * that holds its logits outside a reinmax backend (the TensorFlow.js adapter): the categorical sample of
 * `categorical_sample` (docs/math.md §3.4) and the exponentials behind the conditional Gumbels of
 * `gumbel_backward` (§2.5, §3.3). Being bit-identical needs float32 arithmetic on doubles, so every operation
 * of the kernels' exp and log (asm/vmath.ts `expf`, `logf`) is rounded with Math.fround in the kernels' order:
 * +, −, × of two float32 values computed in float64 and rounded once are the correctly rounded float32 results.
 * @module
 */
import { philoxBlock, type RandomStream } from "../src/random.ts";

const f32 = Math.fround;

// One scratch word to reinterpret float32 bits as an integer and back, as the kernels' `reinterpret`.
const BITS = new ArrayBuffer(4);
const BITS_F32 = new Float32Array(BITS);
const BITS_I32 = new Int32Array(BITS);

function bitsOf(x: number): number {
  BITS_F32[0] = x;
  return BITS_I32[0];
}

function fromBits(bits: number): number {
  BITS_I32[0] = bits;
  return BITS_F32[0];
}

// The constants of asm/vmath.ts, as the float32 values the kernels hold.
const LOG2E = f32(1.44269504088896341);
const LN2_HI = f32(0.693359375);
const LN2_LO = f32(-2.12194440e-4);
const EXP_LO = -104;
const EXP_HI = 89;
const ROUND_MAGIC = 12582912;
const ROUND_MAGIC_BITS = 0x4b400000;
const EXP_POLY = [
  1.9875691500e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
]
  .map(f32);
const LOG_POLY = [
  7.0376836292e-2,
  -1.1514610310e-1,
  1.1676998740e-1,
  -1.2420140846e-1,
  1.4249322787e-1,
  -1.6668057665e-1,
  2.0000714765e-1,
  -2.4999993993e-1,
  3.3333331174e-1,
].map(f32);
const SMALLEST_NORMAL = f32(1.17549435e-38);
const SQRT_HALF = f32(0.707106781186547524);

/**
 * e^x for a float32 x, bit for bit the kernels' exp (asm/vmath.ts `expf`, shaders' `exp_f32`): the
 * categorical sample compares partial sums of these values, so an exp that differs in one ulp could move a
 * sample across a category boundary.
 */
export function expF32(x: number): number {
  let xc = x < EXP_LO ? EXP_LO : x;
  xc = EXP_HI < xc ? EXP_HI : xc;
  const t = f32(f32(xc * LOG2E) + ROUND_MAGIC);
  const fn = f32(t - ROUND_MAGIC);
  let r = f32(xc - f32(fn * LN2_HI));
  r = f32(r - f32(fn * LN2_LO));
  const r2 = f32(r * r);
  let y = f32(f32(EXP_POLY[0] * r) + EXP_POLY[1]);
  for (let i = 2; i < EXP_POLY.length; i++) y = f32(f32(y * r) + EXP_POLY[i]);
  y = f32(f32(f32(y * r2) + r) + 1);
  // 2^n as two exact power-of-two factors, so results near overflow stay finite and subnormals round once.
  const n = bitsOf(t) - ROUND_MAGIC_BITS;
  const half = n >> 1;
  return f32(f32(y * fromBits((half + 127) << 23)) * fromBits((n - half + 127) << 23));
}

/** log x for a float32 x, bit for bit the kernels' log (asm/vmath.ts `logf`). */
export function logF32(x: number): number {
  const subnormal = x < SMALLEST_NORMAL;
  const xs = subnormal ? f32(x * 8388608) : x;
  const bits = bitsOf(xs);
  let e = (bits >>> 23) - 126;
  if (subnormal) e -= 23;
  let m = fromBits((bits & 0x007fffff) | 0x3f000000);
  if (m < SQRT_HALF) {
    e -= 1;
    m = f32(f32(m + m) - 1);
  } else {
    m = f32(m - 1);
  }
  const z = f32(m * m);
  let y = f32(f32(LOG_POLY[0] * m) + LOG_POLY[1]);
  for (let i = 2; i < LOG_POLY.length; i++) y = f32(f32(y * m) + LOG_POLY[i]);
  y = f32(f32(y * m) * z);
  y = f32(y + f32(e * LN2_LO));
  y = f32(y - f32(z * 0.5));
  const result = f32(f32(m + y) + f32(e * LN2_HI));
  if (x === 0) return -Infinity;
  if (x === Infinity) return x;
  return x >= 0 ? result : NaN;
}

/** The uniform in [0, 1) of a word: its top 24 bits times 2⁻²⁴, exact in float32 (docs/math.md §3.3). */
export function uniformFromWord(word: number): number {
  return (word >>> 8) * 2 ** -24;
}

/**
 * The standard exponential of a word, from the midpoint uniform (k + ½)·2⁻²³ of its top 23 bits k, so it is
 * never 0 and never infinite (docs/math.md §3.3).
 */
export function exponentialFromWord(word: number): number {
  return -logF32(f32(((word >>> 9) + 0.5) * 2 ** -23));
}

/**
 * One category per row of `logits` (rows·n float32 values, row-major, all finite), drawn as the kernel
 * `categorical_sample` draws it for the same stream: u from word 0 of row r's stream, then the first k with
 * u·Z < Σ_{i≤k} exp(θ_i − max θ), the sums unnormalised and accumulated left to right in float32.
 */
export function categoricalSamples(logits: Float32Array, n: number, rng: RandomStream): Int32Array {
  const rows = logits.length / n;
  const sample = new Int32Array(rows);
  const words = new Uint32Array(4);
  const exps = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    philoxBlock(words, 0, r, rng.stream, rng.tag, rng.key0, rng.key1);
    const u = uniformFromWord(words[0]);
    const base = r * n;
    let max = logits[base];
    for (let i = 1; i < n; i++) max = Math.max(max, logits[base + i]);
    let z = 0;
    for (let i = 0; i < n; i++) {
      exps[i] = expF32(f32(logits[base + i] - max));
      z = f32(z + exps[i]);
    }
    const target = f32(u * z);
    let s = n - 1;
    let cumulative = 0;
    for (let i = 0; i < n - 1; i++) {
      cumulative = f32(cumulative + exps[i]);
      if (target < cumulative) {
        s = i;
        break;
      }
    }
    sample[r] = s;
  }
  return sample;
}

/**
 * The exponentials E (rows·n) behind the first conditional Gumbel draw of every row, the one Gumbel-softmax
 * ST uses: E_i of row r is the exponential of word 1 + i of row r's stream (word 0 drew the sample).
 */
export function gumbelExponentials(rows: number, n: number, rng: RandomStream): Float32Array {
  const out = new Float32Array(rows * n);
  const words = new Uint32Array(4);
  for (let r = 0; r < rows; r++) {
    let block = -1;
    for (let i = 0; i < n; i++) {
      const word = 1 + i;
      if (word >> 2 !== block) {
        block = word >> 2;
        philoxBlock(words, block, r, rng.stream, rng.tag, rng.key0, rng.key1);
      }
      out[r * n + i] = exponentialFromWord(words[word & 3]);
    }
  }
  return out;
}
