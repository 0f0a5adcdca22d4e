#!/usr/bin/env bash
# The wgpu backend on Mesa's lavapipe, a Vulkan driver that runs on the CPU: the GPU code path
# (cubecl kernels compiled at run time, device memory, read-back) checked on a machine without a GPU.
#
#   GAN_LAB_BIN=path/to/gan-lab (built with --features wgpu) gan_lab/tests/wgpu_lavapipe.sh [OUT_DIR]
#
#   1. doctor lists the lavapipe driver and `backend wgpu` as usable
#   2. for dcgan28, mlp-gan and goodfellow2014-mnist, dropout off (each backend draws its own
#      masks), batch 16: one checkpoint (1 step on flex) resumed for 3 steps on flex and on wgpu;
#      their losses, D(x) and D(G(z)) agree to 1e-4 relative (`gan-lab compare-losses`)
#   3. a 50-step mlp-gan run on wgpu, with its sample grid
#   4. the bench row of mlp-gan at batch 64 on wgpu and on flex
#   5. a broken Vulkan setup (no driver registered; a driver file naming a missing library) stops
#      `--backend wgpu` with one sentence, not a panic, and leaves no run directory
# lavapipe runs the convolution kernels about 300 times slower than flex (dcgan28 at batch 64:
# about 1 image/s against 300 here), so the long run and the bench use the MLP.
# Installs mesa-vulkan-drivers when no lavapipe is registered and this runs as root (CI).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${GAN_LAB_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gan-lab}
OUT=${1:-$(mktemp -d)}
STEPS=3
TOLERANCE=1e-4
[ -x "$BIN" ] || { echo "no gan-lab binary at $BIN (set GAN_LAB_BIN)" >&2; exit 1; }

lavapipe=$(find /usr/share/vulkan/icd.d -name 'lvp_icd*.json' 2>/dev/null | head -1 || true)
if [ -z "$lavapipe" ] && [ "$(id -u)" = 0 ]; then
    echo "   installing mesa-vulkan-drivers (lavapipe)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
    lavapipe=$(find /usr/share/vulkan/icd.d -name 'lvp_icd*.json' | head -1)
fi
[ -n "$lavapipe" ] || { echo "no lavapipe ICD in /usr/share/vulkan/icd.d: install mesa-vulkan-drivers" >&2; exit 1; }
# only lavapipe, whatever other drivers the machine has
export VK_DRIVER_FILES=$lavapipe VK_ICD_FILENAMES=$lavapipe
mkdir -p "$OUT"

echo "== doctor"
"$BIN" doctor | tee "$OUT/doctor.txt" | grep -E "^(ok|missing|info) +(backend wgpu|vulkan)"
grep -q "^ok      backend wgpu .*llvmpipe" "$OUT/doctor.txt" || { echo "backend wgpu is not usable on lavapipe (doctor above)" >&2; exit 1; }

# A preset's configuration with every dropout rate set to 0 and no evaluation.
no_dropout() {
    "$BIN" presets --show "$1" | python3 -c '
import json, sys
def off(v):
    if isinstance(v, dict):
        return {k: (0.0 if k == "dropout" and isinstance(x, (int, float)) else
                    {"input": 0.0, "hidden": 0.0} if k == "dropout" and isinstance(x, dict) else off(x))
                for k, x in v.items()}
    return [off(x) for x in v] if isinstance(v, list) else v
cfg = off(json.load(sys.stdin))
cfg["train"]["eval_samples"] = 0
json.dump(cfg, sys.stdout, indent=2)'
}

echo "== the same checkpoint resumed for $STEPS steps on flex and on wgpu (tolerance $TOLERANCE)"
for preset in ${PRESETS:-dcgan28 mlp-gan goodfellow2014-mnist}; do
    mkdir -p "$OUT/agree"
    no_dropout "$preset" > "$OUT/agree/$preset.json"
    echo "-- $preset"
    GAN_LAB_BIN=$BIN "$ROOT/environment/gpu/agreement.sh" "$OUT/agree/$preset.json" "$OUT/agree/$preset" wgpu "$STEPS" 16 2048 "$TOLERANCE" \
        | tee "$OUT/agree/$preset.txt"
done

echo "== 50 mlp-gan steps on wgpu"
"$BIN" train --preset mlp-gan --backend wgpu --steps 50 --set data.limit=2048 --set train.log_every=10 \
    --set train.eval_samples=0 --runs-dir "$OUT/long" | tee "$OUT/train-50.txt" | tail -3
run=$(find "$OUT/long" -mindepth 1 -maxdepth 1 -type d | head -1)
ls "$run"/samples/*.png >/dev/null

echo "== bench: mlp-gan batch 64 on wgpu (lavapipe) and flex"
"$BIN" bench --preset mlp-gan --batch 64 --backend wgpu --backend flex --reps 2 --steps 2 --warmup 1 | tee "$OUT/bench.txt"
echo "== a broken Vulkan setup: one sentence, no panic, no run directory"
printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "/nonexistent/libvulkan_gone.so", "api_version": "1.3.0"}}' > "$OUT/gone_icd.json"
for case in "/nonexistent/icd.json:no Vulkan driver is registered" "$OUT/gone_icd.json:wgpu found no usable GPU adapter"; do
    icd=${case%%:*} want=${case#*:}
    if VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd "$BIN" train --preset mlp-gan --backend wgpu --steps 1 --runs-dir "$OUT/broken" > "$OUT/broken.txt" 2>&1; then
        echo "training on wgpu with driver file $icd did not fail" >&2; exit 1
    fi
    errors=$(grep -v XDG_RUNTIME_DIR "$OUT/broken.txt")
    if [ "$(echo "$errors" | wc -l)" != 1 ] || [[ "$errors" != "error: backend 'wgpu' is not available: $want"* ]] || [ -e "$OUT/broken" ]; then
        echo "driver file $icd: expected one line saying '$want' and no run directory, got:" >&2
        echo "$errors" >&2
        exit 1
    fi
    echo "   $errors"
done
echo "wgpu on lavapipe: all checks passed"
