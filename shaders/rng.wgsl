// Philox4x32-10 (Salmon et al., SC 2011) with u32 arithmetic only, bit for bit as asm/philox.ts and
// tests/reference/philox.ts, and the kernels of asm/rng.ts. WGSL has no 64-bit integers, so the high word
// of each 32×32 product is assembled from 16-bit halves.
//! use common
//! use math

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The high 32 bits of a·b.
fn mul_hi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let hi_lo = a_hi * b_lo;
  let lo_hi = a_lo * b_hi;
  let carry = ((lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu)) >> 16u;
  return a_hi * b_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + carry;
}

// The four words of the block for counter `ctr` and key `key`.
fn philox_block(ctr: vec4u, key: vec2u) -> vec4u {
  var c = ctr;
  var k = key;
  for (var i = 0u; i < 10u; i++) {
    let hi0 = mul_hi(PHILOX_M0, c.x);
    let lo0 = PHILOX_M0 * c.x;
    let hi1 = mul_hi(PHILOX_M1, c.z);
    let lo1 = PHILOX_M1 * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2u(PHILOX_W0, PHILOX_W1);
  }
  return c;
}

// One row's stream: key (key0, key1), counter (w/4, row, stream, tag) for word w. `block` caches the last
// block so a sequential scan costs one Philox block per four words, as in asm/philox.ts.
struct Stream {
  key: vec2u,
  row: u32,
  stream: u32,
  tag: u32,
  block: u32,
  has_block: bool,
  words: vec4u,
}

fn make_stream(key0: u32, key1: u32, row: u32, stream: u32, tag: u32) -> Stream {
  return Stream(vec2u(key0, key1), row, stream, tag, 0u, false, vec4u());
}

fn stream_word(s: ptr<function, Stream>, w: u32) -> u32 {
  let block = w >> 2u;
  if (!(*s).has_block || (*s).block != block) {
    (*s).words = philox_block(vec4u(block, (*s).row, (*s).stream, (*s).tag), (*s).key);
    (*s).block = block;
    (*s).has_block = true;
  }
  return (*s).words[w & 3u];
}

// A uniform in [0, 1) from the top 24 bits of a word: exact in f32 on every backend.
fn uniform_from_word(w: u32) -> f32 {
  return f32(w >> 8u) * 5.9604644775390625e-8;
}

// A standard exponential from the uniform (k + ½)·2⁻²³ of the word's top 23 bits k: exact in f32 and inside
// (0, 1), so never 0 and never infinite (as asm/philox.ts).
fn exponential_from_word(w: u32) -> f32 {
  return -log_f32(open_uniform_from_word(w));
}

// The uniform (k + ½)·2⁻²³ of the word's top 23 bits k: exact in f32 and strictly inside (0, 1).
fn open_uniform_from_word(w: u32) -> f32 {
  return (f32(w >> 9u) + 0.5) * 1.1920928955078125e-7;
}

//! kernel philox_fill
// One thread per block of four words.
@compute @workgroup_size(WORKGROUP_SIZE)
fn philox_fill(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  let i = b << 2u;
  if (b >= (params.count + 3u) >> 2u) {
    return;
  }
  let words = philox_block(
    vec4u(params.ctr0 + b, params.ctr1, params.ctr2, params.ctr3),
    vec2u(params.key0, params.key1),
  );
  out[i] = words.x;
  if (i + 1u < params.count) { out[i + 1u] = words.y; }
  if (i + 2u < params.count) { out[i + 2u] = words.z; }
  if (i + 3u < params.count) { out[i + 3u] = words.w; }
}

//! kernel uniform_fill
// One thread per block of four words of row 0 of the stream.
@compute @workgroup_size(WORKGROUP_SIZE)
fn uniform_fill(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= (params.count + 3u) >> 2u) {
    return;
  }
  let width = params.high - params.low;
  let words = philox_block(vec4u(b, 0u, params.stream, params.tag), vec2u(params.key0, params.key1));
  for (var lane = 0u; lane < 4u; lane++) {
    let i = (b << 2u) + lane;
    if (i < params.count) {
      out[i] = params.low + width * uniform_from_word(words[lane]);
    }
  }
}
