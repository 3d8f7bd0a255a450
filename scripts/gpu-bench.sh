#!/usr/bin/env bash
# Measures Joule's OpenCL training step on a GPU machine that has no JDK, from the runtime image that
# scripts/jlink-image.sh builds. Records first what OpenCL driver the machine has, then times the step on
# the GPU and on the CPU for comparison, writing everything to OUT_DIR (default: $OUT, or ./gpu-bench).
#
#   scripts/gpu-bench.sh [IMAGE_DIR] [OUT_DIR]
#
# IMAGE_DIR defaults to target/joule-image. Each run is short (a few steps per model) so that the whole
# script finishes in a few minutes on one GPU.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${1:-$root/target/joule-image}"
out="${2:-${OUT:-$root/gpu-bench}}"
mkdir -p "$out"
joule="$image/bin/joule"
if [[ ! -x "$joule" ]]; then
  echo "gpu-bench.sh: no launcher at $joule; build the image with scripts/jlink-image.sh first" >&2
  exit 2
fi

{
  echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# uname: $(uname -srm)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "# /etc/OpenCL/vendors:"
  ls -l /etc/OpenCL/vendors 2>&1 | sed 's/^/#   /'
  for f in /etc/OpenCL/vendors/*.icd; do [[ -f "$f" ]] && echo "#   $f: $(cat "$f")"; done
  echo "# libnvidia-opencl.so:"
  (ldconfig -p 2>/dev/null | grep -i 'libnvidia-opencl' || find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -5) \
    | sed 's/^/#   /'
  echo "# libOpenCL.so:"
  (ldconfig -p 2>/dev/null | grep -i 'libOpenCL.so' || echo "none found by ldconfig") | sed 's/^/#   /'
  echo "# nvidia-smi:"
  (nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true) | sed 's/^/#   /'
} >"$out/driver.txt"
cat "$out/driver.txt"

# Containers often mount the NVIDIA library without the ICD loader or without an ICD file for it. The
# ocl-icd loader reads OCL_ICD_VENDORS, so point it at a folder naming the library when none is listed,
# and use a carried loader (apt-get download ocl-icd-libopencl1, unpacked into .ocl/) when the system
# has none.
if [[ -d "$root/.ocl" ]]; then
  loader="$(find "$root/.ocl" -name 'libOpenCL.so.1*' | head -1)"
  if [[ -n "$loader" ]]; then
    export LD_LIBRARY_PATH="$(dirname "$loader")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "using the carried ICD loader $loader" | tee -a "$out/driver.txt"
  fi
fi
nvidia="$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl.so/ {print $NF; exit}') )"
if [[ -n "$nvidia" ]] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
  mkdir -p "$out/vendors"
  echo "$nvidia" >"$out/vendors/nvidia.icd"
  export OCL_ICD_VENDORS="$out/vendors"
  echo "no NVIDIA ICD file installed; OCL_ICD_VENDORS=$OCL_ICD_VENDORS names $nvidia" | tee -a "$out/driver.txt"
fi

"$joule" devices >"$out/devices.txt" 2>&1
echo "joule devices: exit $?"
cat "$out/devices.txt"

# One JSON line per figure; a failed run is recorded with its exit code and goes on to the next.
run() {
  local name="$1"
  shift
  echo "== $name: joule $*" | tee -a "$out/bench.log"
  "$joule" "$@" --json >>"$out/bench.jsonl" 2>>"$out/bench.log"
  echo "   exit $?" | tee -a "$out/bench.log"
}
: >"$out/bench.jsonl"
: >"$out/bench.log"
for model in tiny llmc small; do
  run "$model opencl" bench step --device opencl --model "$model" --steps 10 --warmup 3
done
run "llmc opencl, gated-linear" bench step --device opencl --model llmc --energy gated-linear --steps 10 --warmup 3
run "llmc opencl, newton" bench step --device opencl --model llmc --optimizer newton --steps 5 --warmup 2
for model in tiny llmc; do
  run "$model cpu" bench step --model "$model" --steps 5 --warmup 2
done
cat "$out/bench.jsonl"
