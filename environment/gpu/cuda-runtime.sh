#!/usr/bin/env bash
# What the cuda backend needs on an NVIDIA machine beyond the driver, installed from the system's
# packages when missing: NVRTC (burn-cuda compiles every kernel with it at run time) and the CUDA
# headers its kernels include (cuda_runtime.h, from the folder cubecl-cuda picks: CUDA_PATH, else
# /usr/local/cuda, /opt/cuda, or /usr when /usr/bin/nvcc exists), no newer than the CUDA version
# the driver supports. Says what it found and what it did. setup.sh runs it on a machine whose
# nvidia-smi works; `gan-lab doctor` checks the same things once the engine is built.
#
#   environment/gpu/cuda-runtime.sh [--check]     (--check: report only, install nothing)
#
# Packages, in this order: NVIDIA's CUDA repository when the machine has it configured (apt:
# cuda-nvrtc-dev-X-Y + cuda-cudart-dev-X-Y, dnf: cuda-nvrtc-devel-X-Y + cuda-cudart-devel-X-Y, for
# the driver's CUDA X.Y or the newest older minor release), else the distribution's
# nvidia-cuda-toolkit (Debian contrib/non-free, Ubuntu multiverse). Installing needs root or sudo
# without a password. Exit status: 0 when nothing is missing afterwards, 1 otherwise.
# GAN_LAB_CUDA_ROOT (default /) is the file-system root the folders are looked for under (tests).
set -euo pipefail
CHECK_ONLY=0
case "${1:-}" in
    --check) CHECK_ONLY=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
R=${GAN_LAB_CUDA_ROOT:-}
R=${R%/}

# The driver's CUDA version as "X Y" (nvidia-smi's header), empty when unknown.
driver_cuda() {
    nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -1
}

# The toolkit folder cubecl-cuda takes, in its order; empty when none.
toolkit() {
    if [ -n "${CUDA_PATH:-}" ]; then echo "$CUDA_PATH"; return; fi
    local d
    for d in /usr/local/cuda /opt/cuda; do
        if [ -e "$R$d" ]; then echo "$R$d"; return; fi
    done
    if [ -e "$R/usr/bin/nvcc" ]; then echo "$R/usr"; fi
}

# libnvrtc.so* in the toolkit's library folders or the loader's cache; prints the first found.
nvrtc() {
    local t d f
    t=$(toolkit)
    for d in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }} ${t:+$t/lib64} ${t:+$t/targets/x86_64-linux/lib} "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib64" "$R/usr/lib"; do
        for f in "$d"/libnvrtc.so*; do
            if [ -e "$f" ]; then echo "$f"; return; fi
        done
    done
}

headers() { local t; t=$(toolkit); [ -n "$t" ] && [ -f "$t/include/cuda_runtime.h" ] && echo "$t/include/cuda_runtime.h"; }

report() {
    local v n h
    v=$(driver_cuda)
    n=$(nvrtc || true)
    h=$(headers || true)
    v=${v/ /.}
    echo "   driver supports CUDA ${v:-unknown (nvidia-smi shows no CUDA Version)}"
    echo "   nvrtc: ${n:-missing}"
    echo "   headers: ${h:-missing (toolkit folder: $(toolkit || true))}"
    [ -n "$n" ] && [ -n "$h" ]
}

echo "== CUDA run-time for the cuda backend"
if report; then
    echo "   up to date"
    exit 0
fi
if [ "$CHECK_ONLY" = 1 ]; then
    echo "   missing parts: run environment/gpu/cuda-runtime.sh to install them"
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "error: NVRTC or the CUDA headers are missing and installing needs root: run 'sudo $0'" >&2
    exit 1
fi

# The packages that provide them: NVIDIA's repository for the driver's X.Y (or an older minor),
# else the distribution's toolkit.
major='' minor=''
read -r major minor <<<"$(driver_cuda)" || true
packages=()
if command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null || true
    for ((m = ${minor:--1}; m >= 0; m--)); do
        if apt-cache show "cuda-nvrtc-dev-$major-$m" >/dev/null 2>&1; then
            packages=("cuda-nvrtc-dev-$major-$m" "cuda-cudart-dev-$major-$m"); break
        fi
    done
    if [ ${#packages[@]} -eq 0 ] && apt-cache show nvidia-cuda-toolkit >/dev/null 2>&1; then packages=(nvidia-cuda-toolkit); fi
    install=(apt-get install -y --no-install-recommends)
elif command -v dnf >/dev/null; then
    for ((m = ${minor:--1}; m >= 0; m--)); do
        if dnf list -q "cuda-nvrtc-devel-$major-$m" >/dev/null 2>&1; then
            packages=("cuda-nvrtc-devel-$major-$m" "cuda-cudart-devel-$major-$m"); break
        fi
    done
    install=(dnf install -y)
else
    install=()
fi
if [ ${#packages[@]} -eq 0 ]; then
    echo "error: no package here provides NVRTC and the CUDA headers${major:+ for CUDA $major.x}: add NVIDIA's CUDA repository (https://developer.nvidia.com/cuda-downloads, 'network' installer) or your distribution's non-free/multiverse section, then run this again" >&2
    exit 1
fi
echo "   installing ${packages[*]}"
"${sudo[@]}" "${install[@]}" "${packages[@]}" >/dev/null
if [ -z "$(toolkit)" ] && [ -n "${major:-}" ]; then
    for d in "$R/usr/local/cuda-$major".*; do
        if [ -d "$d" ]; then
            echo "   the toolkit went to $d and there is no /usr/local/cuda link: add 'export CUDA_PATH=$d' to your shell profile"
            export CUDA_PATH=$d
        fi
    done
fi
if report; then
    echo "   installed: ${packages[*]}"
    exit 0
fi
echo "error: installed ${packages[*]}, yet NVRTC or the headers are still not where burn-cuda looks (see above; set CUDA_PATH)" >&2
exit 1
