// Elementwise fills and the reductions a training step needs between kernels.

/** out[i] = value. */
export function fill(out: usize, count: u32, value: f32): void {
  const splat = f32x4.splat(value);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), splat);
  for (; i < count; i++) store<f32>(out + (<usize>i << 2), value);
}

/** out[t·count + i] = x[i] for t < times. */
export function tile(out: usize, x: usize, count: u32, times: u32): void {
  const bytes = <usize>count << 2;
  for (let t: u32 = 0; t < times; t++) memory.copy(out + <usize>t * bytes, x, bytes);
}

/** out[i] = scale·Σ_t x[t·count + i] (written). */
export function sum_tiles(out: usize, x: usize, count: u32, times: u32, scale: f32): void {
  const rowBytes = <usize>count << 2;
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    let acc = f32x4.splat(0);
    let p = x + (<usize>i << 2);
    for (let t: u32 = 0; t < times; t++) {
      acc = f32x4.add(acc, v128.load(p));
      p += rowBytes;
    }
    v128.store(out + (<usize>i << 2), f32x4.mul(acc, f32x4.splat(scale)));
  }
  for (; i < count; i++) {
    let acc: f32 = 0;
    for (let t: u32 = 0; t < times; t++) acc += load<f32>(x + <usize>t * rowBytes + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), acc * scale);
  }
}

/** out[index] = mean of x[0..count). */
export function mean(out: usize, x: usize, count: u32, index: u32): void {
  let acc: f64 = 0;
  for (let i: u32 = 0; i < count; i++) acc += <f64>load<f32>(x + (<usize>i << 2));
  store<f32>(out + (<usize>index << 2), count > 0 ? <f32>(acc / <f64>count) : 0);
}

// @ts-ignore: decorator
@inline const EXPONENT_BITS: u32 = 0x7f800000;

/** out[index] = the number of non-finite values in x[0..count): an f32 is NaN or ±∞ iff its exponent is all ones. */
export function count_nonfinite(out: usize, x: usize, count: u32, index: u32): void {
  const mask = i32x4.splat(EXPONENT_BITS);
  let lanes = i32x4.splat(0);
  let i: u32 = 0;
  // A true comparison lane is −1, so subtracting counts it.
  for (; i + 4 <= count; i += 4) {
    lanes = i32x4.sub(lanes, i32x4.eq(v128.and(v128.load(x + (<usize>i << 2)), mask), mask));
  }
  let n: u32 = <u32>(i32x4.extract_lane(lanes, 0) + i32x4.extract_lane(lanes, 1)) +
    <u32>(i32x4.extract_lane(lanes, 2) + i32x4.extract_lane(lanes, 3));
  for (; i < count; i++) {
    if ((load<u32>(x + (<usize>i << 2)) & EXPONENT_BITS) == EXPONENT_BITS) n++;
  }
  store<f32>(out + (<usize>index << 2), <f32>n);
}
