// Shared by every kernel module (each kernel is compiled as its own module: the prelude of its file, the
// preludes that file names with `//! use`, and its own section; see src/webgpu/shaders.ts).

// Threads per workgroup of every kernel but the single-workgroup reductions; the backend's dispatch table
// (src/webgpu/dispatch.ts) uses the same number.
const WORKGROUP_SIZE: u32 = 64u;

// The backend launches ceil(threads / WORKGROUP_SIZE) workgroups, folded into a 2-D grid when that exceeds
// maxComputeWorkgroupsPerDimension; this unfolds the grid into one linear thread index.
fn thread_index(id: vec3u, groups: vec3u) -> u32 {
  return id.x + id.y * groups.x * WORKGROUP_SIZE;
}

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
