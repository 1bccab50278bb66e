#!/usr/bin/env bash
# The real-GPU figures of issue 12 in one call, on a device machine: matmul 2048³ as a share of the fp32
# peak, SmolLM2-135M-shaped decode at batch 1, and a GRPO step of 16 x 128 tokens (scripts/bench/device-gpu.ts),
# then `bench:engine` (tiny and SmolLM2 shapes, both kernel families, per-kernel timings) if time is left.
# It installs nothing: Node Dawn is the `webgpu` package already in node_modules. Dawn needs the Vulkan
# loader (libvulkan.so.1) and the GPU's Vulkan driver (an ICD); without a loader the script says so and stops.
#
#   bash scripts/bench/device-gpu.sh [OUT_DIR]        # default $OUT, else ./device-gpu-out
#   TABSWARM_PEAK_TFLOPS=67 bash scripts/bench/device-gpu.sh   # fp32 peak when the device is not in the table
#   TABSWARM_VULKAN_LIB=/path/dir                       # a directory holding libvulkan.so.1, if not installed
#   TABSWARM_DEVICE_QUICK=1                             # tiny shapes: checks the script on SwiftShader
#   TABSWARM_DEVICE_TIMEOUT=900                         # seconds for the goals part (170; SwiftShader compiles for minutes)
# Budget: ~5 minutes in all; each part runs under its own timeout and writes its JSON as it finishes.
set -u
cd "$(dirname "$0")/../.."
out="${1:-${OUT:-./device-gpu-out}}"
mkdir -p "$out"
log() { echo "[device-gpu $(date +%H:%M:%S)] $*" | tee -a "$out/device-gpu.log" >&2; }

if [ -n "${TABSWARM_VULKAN_LIB:-}" ]; then export LD_LIBRARY_PATH="${TABSWARM_VULKAN_LIB}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
if ! { ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; } && ! ls "${TABSWARM_VULKAN_LIB:-/nonexistent}"/libvulkan.so.1 >/dev/null 2>&1; then
  log "no Vulkan loader (libvulkan.so.1): Dawn cannot reach the GPU. Install libvulkan1 (Debian/Ubuntu) or set TABSWARM_VULKAN_LIB."
  exit 2
fi
quick=()
if [ -n "${TABSWARM_DEVICE_QUICK:-}" ]; then
  quick=(--quick)
  # SwiftShader ships with Debian's chromium: the only Vulkan driver on a machine without a GPU
  export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
fi
peak=()
if [ -n "${TABSWARM_PEAK_TFLOPS:-}" ]; then peak=(--peak-tflops "$TABSWARM_PEAK_TFLOPS"); fi
{ command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; } >"$out/nvidia-smi.txt" 2>&1 || true
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d >"$out/vulkan-icds.txt" 2>&1 || true
log "node $(node --version); Vulkan ICDs: $(tr '\n' ' ' <"$out/vulkan-icds.txt")"

node_ts() { node --experimental-websocket --no-warnings=ExperimentalWarning --import ./scripts/register.mjs "$@"; }

log "goals: matmul 2048³, decode batch 1, GRPO step 16x128"
timeout "${TABSWARM_DEVICE_TIMEOUT:-170}" bash -c "$(declare -f node_ts); node_ts scripts/bench/device-gpu.ts --json '$out/device-gpu.json' ${quick[*]:-} ${peak[*]:-}" \
  >"$out/device-gpu.stdout" 2> >(tee -a "$out/device-gpu.log" >&2)
rc=$?
log "device-gpu.ts exit $rc"

if [ -z "${TABSWARM_DEVICE_QUICK:-}" ]; then
  log "bench:engine, both kernel families, with per-kernel timings"
  timeout "${TABSWARM_BENCH_TIMEOUT:-110}" bash -c "$(declare -f node_ts); node_ts scripts/bench-engine.ts --backend webgpu --kernels both --profile --json '$out/bench-engine.json'" \
    >"$out/bench-engine.stdout" 2> >(tee -a "$out/device-gpu.log" >&2)
  log "bench:engine exit $? ($(tail -n 1 "$out/bench-engine.stdout" 2>/dev/null))"
fi
exit $rc
