#!/usr/bin/env bash
# environment/gpu/cuda-runtime.sh against fake machines: a fake nvidia-smi (driver for CUDA 12.4),
# fake apt-get / apt-cache whose "packages" put files under a fake root (GAN_LAB_CUDA_ROOT).
#   1. nothing installed, --check: reports NVRTC and the headers missing, exits 1, installs nothing
#   2. NVIDIA's repository offering CUDA 12.3 (not 12.4): installs cuda-nvrtc-dev-12-3 and
#      cuda-cudart-dev-12-3, says to set CUDA_PATH (no /usr/local/cuda link); a second run is up to
#      date and installs nothing
#   3. only the distribution's nvidia-cuda-toolkit: installs it (/usr/bin/nvcc, /usr/include)
#   4. no package at all: one error naming where to get them, exit 1
#
#   gan_lab/tests/cuda_runtime_script.sh
# the checks read as "A && B || fail": fail runs when either does not hold, as meant
# shellcheck disable=SC2015
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT="$ROOT/environment/gpu/cuda-runtime.sh"
work=$(mktemp -d /tmp/gan-lab-cuda-runtime.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
unset CUDA_PATH LD_LIBRARY_PATH

mkdir -p "$work/bin"
cat > "$work/bin/nvidia-smi" <<'FAKE'
#!/usr/bin/env bash
echo "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4     |"
FAKE
# apt-cache show PACKAGE succeeds for the packages listed in $FAKE_PACKAGES
cat > "$work/bin/apt-cache" <<'FAKE'
#!/usr/bin/env bash
[ "$1" = show ] && [[ " $FAKE_PACKAGES " == *" $2 "* ]]
FAKE
# apt-get install: records the call and lays out each package's files under $GAN_LAB_CUDA_ROOT
cat > "$work/bin/apt-get" <<'FAKE'
#!/usr/bin/env bash
echo "apt-get $*" >> "$FAKE_LOG"
[ "$1" = install ] || exit 0
R=$GAN_LAB_CUDA_ROOT
for p in "$@"; do
    case "$p" in
        cuda-nvrtc-dev-12-3) mkdir -p "$R/usr/local/cuda-12.3/lib64"; touch "$R/usr/local/cuda-12.3/lib64/libnvrtc.so.12.3.107" ;;
        cuda-cudart-dev-12-3) mkdir -p "$R/usr/local/cuda-12.3/include"; touch "$R/usr/local/cuda-12.3/include/cuda_runtime.h" ;;
        nvidia-cuda-toolkit) mkdir -p "$R/usr/bin" "$R/usr/include" "$R/usr/lib/x86_64-linux-gnu"
            touch "$R/usr/bin/nvcc" "$R/usr/include/cuda_runtime.h" "$R/usr/lib/x86_64-linux-gnu/libnvrtc.so.12.0.140" ;;
    esac
done
FAKE
cat > "$work/bin/sudo" <<'FAKE'
#!/usr/bin/env bash
[ "$1" = -n ] && shift
"$@"
FAKE
chmod +x "$work/bin"/*
export PATH="$work/bin:$PATH" FAKE_LOG="$work/apt.log"

machine() { # NAME PACKAGES: a fresh fake root offering PACKAGES
    export GAN_LAB_CUDA_ROOT="$work/$1" FAKE_PACKAGES=$2
    mkdir -p "$GAN_LAB_CUDA_ROOT"
    : > "$FAKE_LOG"
}

# 1
machine empty "cuda-nvrtc-dev-12-3 cuda-cudart-dev-12-3"
if "$SCRIPT" --check > "$work/out" 2>&1; then fail "--check passed with nothing installed"; fi
grep -q "driver supports CUDA 12.4" "$work/out" && grep -q "nvrtc: missing" "$work/out" && grep -q "headers: missing" "$work/out" || fail "--check report: $(cat "$work/out")"
[ ! -s "$FAKE_LOG" ] || fail "--check ran the package manager: $(cat "$FAKE_LOG")"
echo "ok  --check reports what is missing and installs nothing"

# 2
machine nvidia-repo "cuda-nvrtc-dev-12-3 cuda-cudart-dev-12-3 nvidia-cuda-toolkit"
"$SCRIPT" > "$work/out" 2>&1 || fail "install from NVIDIA's repository: $(cat "$work/out")"
grep -q "install -y --no-install-recommends cuda-nvrtc-dev-12-3 cuda-cudart-dev-12-3$" "$FAKE_LOG" || fail "packages: $(cat "$FAKE_LOG")"
grep -q "export CUDA_PATH=$GAN_LAB_CUDA_ROOT/usr/local/cuda-12.3" "$work/out" || fail "no CUDA_PATH advice: $(cat "$work/out")"
grep -q "nvrtc: $GAN_LAB_CUDA_ROOT/usr/local/cuda-12.3/lib64/libnvrtc.so.12.3.107" "$work/out" || fail "report after install: $(cat "$work/out")"
: > "$FAKE_LOG"
CUDA_PATH="$GAN_LAB_CUDA_ROOT/usr/local/cuda-12.3" "$SCRIPT" > "$work/out" 2>&1 || fail "second run: $(cat "$work/out")"
grep -q "up to date" "$work/out" && [ ! -s "$FAKE_LOG" ] || fail "second run changed something: $(cat "$work/out" "$FAKE_LOG")"
echo "ok  NVIDIA's repository: the driver's CUDA or the newest older minor (12.3 for a 12.4 driver); a second run is up to date"

# 3
machine distribution "nvidia-cuda-toolkit"
"$SCRIPT" > "$work/out" 2>&1 || fail "install the distribution's toolkit: $(cat "$work/out")"
grep -q "install -y --no-install-recommends nvidia-cuda-toolkit$" "$FAKE_LOG" || fail "packages: $(cat "$FAKE_LOG")"
grep -q "headers: $GAN_LAB_CUDA_ROOT/usr/include/cuda_runtime.h" "$work/out" || fail "report after install: $(cat "$work/out")"
echo "ok  the distribution's nvidia-cuda-toolkit when NVIDIA's repository is not configured"

# 4
machine nothing ""
if "$SCRIPT" > "$work/out" 2>&1; then fail "passed with no package available"; fi
[ "$(grep -c '^error:' "$work/out")" = 1 ] && grep -q "no package here provides NVRTC and the CUDA headers for CUDA 12.x" "$work/out" || fail "error: $(cat "$work/out")"
echo "ok  no package: one error saying where to get them"
