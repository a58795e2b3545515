#!/usr/bin/env bash
# The WebGPU measurements for a machine with a real GPU, as one prepared run: the adapter Deno sees,
# bench/webgpu_bench.ts (the poly step against WASM, GPU round trips, a matmul sweep) and two 60,000-image
# epochs of the categorical VAE 10×30 on WebGPU (bench/webgpu_epoch.ts; target: an epoch in at most 1 s).
# Everything it prints also goes to gpu-bench.log.
#
#   tools/gpu_bench.sh [DATA_DIR]      DATA_DIR holds the four Fashion-MNIST IDX files
#                                      (default /usr/share/datasets/fashion-mnist; Debian: dataset-fashion-mnist)
#
# Needs Deno (or `npx deno@2.9.6`, used when `deno` is not on PATH) and a Vulkan, Metal or D3D12 driver.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-/usr/share/datasets/fashion-mnist}"
if command -v deno >/dev/null 2>&1; then deno="deno"; else deno="npx --yes deno@2.9.6"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
{
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  echo "== bench/webgpu_bench.ts"
  $deno bench --allow-env bench/webgpu_bench.ts
  echo "== bench/webgpu_epoch.ts (10x30, batch 100, ReinMax, 60,000 images)"
  $deno run --allow-read --allow-env bench/webgpu_epoch.ts --backend webgpu --data "$data" --epochs 2
} 2>&1 | tee gpu-bench.log
