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
