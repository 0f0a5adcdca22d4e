#!/usr/bin/env bash
# The GPU checks in one go, for a machine with an NVIDIA GPU and a gan-lab built with
# `--features cuda` (build it on any x86-64 Linux machine: the CUDA libraries load at run time).
#
#   GAN_LAB_BIN=path/to/gan-lab environment/gpu/verify.sh OUT_DIR
#
#   1. gan-lab doctor                                                  → OUT_DIR/doctor.txt
#   2. agreement: one dcgan28 checkpoint (1 step on flex) resumed for 10 steps on flex and on the
#      GPU; their D/G losses, D(x), D(G(z)) compared step by step       → OUT_DIR/agreement.txt
#   3. start-up: the same short run twice from an empty kernel cache (OUT_DIR/home): the first
#      compiles the GPU kernels, the second reuses them; the seconds of each → OUT_DIR/start-up.txt
#   4. a 500-step dcgan28 run on the GPU                                 → OUT_DIR/train-500.txt
#   5. gan-lab bench on the GPU: dcgan28 and pytorch-dcgan64, batch 64 and 256 → OUT_DIR/bench.csv
#   6. the study's platform question (notebook 12_study, "Which platform?") as the same sweep
#      plan: dcgan28 on flex and on the GPU, 3 seeds, VERIFY_PLATFORM_STEPS steps each (default
#      50); the throughput table and the answer table against flex      → OUT_DIR/study-platform.txt
#   7. side by side with PyTorch CUDA (bench/pytorch, in alternation, 2 rounds), when the Python
#      in GAN_LAB_TORCH_PYTHON (default python3) has torch with CUDA   → OUT_DIR/compare.md
#   OUT_DIR/summary.txt collects the outcome of each, with its seconds. Exit status: 0 when all
#   that ran passed. Everything runs from the binary: nothing is installed or downloaded.
#
# GAN_LAB_VERIFY_BACKEND=ndarray (or wgpu on lavapipe, or flex) runs the same checks on a machine
# without a GPU (with VERIFY_STEPS, VERIFY_BATCH, VERIFY_LONG_STEPS and VERIFY_PLATFORM_STEPS to
# keep that short): how the script is tested, and how its CPU side is timed.
# The checks are functions that `check` calls by name.
# shellcheck disable=SC2317,SC2329
set -uo pipefail
OUT=${1:?usage: $0 OUT_DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${GAN_LAB_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gan-lab}
BACKEND=${GAN_LAB_VERIFY_BACKEND:-cuda}
STEPS=${VERIFY_STEPS:-10}
BATCH=${VERIFY_BATCH:-64}
LONG=${VERIFY_LONG_STEPS:-500}
PLATFORM_STEPS=${VERIFY_PLATFORM_STEPS:-50}
TOLERANCE=${VERIFY_TOLERANCE:-1e-2}
TORCH_PYTHON=${GAN_LAB_TORCH_PYTHON:-python3}
mkdir -p "$OUT"
runs="$OUT/runs"
summary="$OUT/summary.txt"
: > "$summary"
failed=0
note() { echo "$*" | tee -a "$summary"; }
check() { # NAME FILE FUNCTION: runs FUNCTION with its output in OUT_DIR/FILE, records ok / FAILED
    local name=$1 file=$2 start rc
    start=$(date +%s)
    "$3" > "$OUT/$file" 2>&1
    rc=$?
    cat "$OUT/$file"
    if [ $rc -eq 0 ]; then note "ok      $name ($(( $(date +%s) - start )) s)"; else note "FAILED  $name (exit $rc; see $file)"; failed=1; fi
}

[ -x "$BIN" ] || { echo "no gan-lab binary at $BIN (set GAN_LAB_BIN)" >&2; exit 1; }
verify_start=$(date +%s)
note "gan-lab: $BIN; backend under test: $BACKEND; $(date -u +%FT%TZ)"
cfg="$OUT/dcgan28.json"
# without dropout: each backend draws its own dropout masks, so with dropout no two agree
"$BIN" presets --show dcgan28 | sed -e 's/"eval_samples": [0-9]*/"eval_samples": 0/' -e 's/"dropout": 0\.3/"dropout": null/' > "$cfg"

doctor() {
    "$BIN" doctor && "$BIN" doctor | grep -q "^ok      backend $BACKEND "
}

# The same checkpoint (1 step on flex) resumed on flex and on the backend under test.
agreement() {
    GAN_LAB_BIN=$BIN "$ROOT/environment/gpu/agreement.sh" "$cfg" "$runs/agree" "$BACKEND" "$STEPS" "$BATCH" 4096 "$TOLERANCE"
}

# The same short run twice with GAN_LAB_HOME in OUT_DIR: the first from an empty kernel cache, the
# second from what the first kept (on cuda its PTX folder must not be empty; src/gpu_cache.rs).
start_up() {
    local home="$OUT/home" i t
    for i in 1 2; do
        t=$(date +%s.%N)
        GAN_LAB_HOME=$home "$BIN" train --config "$cfg" --backend "$BACKEND" --steps "$STEPS" --set train.batch_size="$BATCH" \
            --runs-dir "$runs/start-$i" --quiet || return 1
        echo "run $i: $(awk -v a="$(date +%s.%N)" -v b="$t" 'BEGIN { printf "%.1f", a - b }') s from start to end ($STEPS steps)"
    done
    if [ "$BACKEND" = cuda ] && [ -z "$(ls -A "$home"/cubecl/ptx/*/ 2>/dev/null)" ]; then
        echo "no PTX kept under $home/cubecl/ptx"
        return 1
    fi
    du -sh "$home/cubecl" 2>/dev/null || true
}

long_run() {
    "$BIN" train --config "$cfg" --backend "$BACKEND" --steps "$LONG" --set train.batch_size="$BATCH" --set train.log_every=50 \
        --runs-dir "$runs/long"
}

bench() {
    if [ "$BACKEND" = cuda ]; then
        "$BIN" bench --preset dcgan28 --preset pytorch-dcgan64 --batch 64 --batch 256 --backend cuda --format csv --out "$OUT/bench.parquet"
    else
        "$BIN" bench --preset dcgan28 --batch "$BATCH" --backend "$BACKEND" --reps 2 --steps 1 --warmup 1 --format csv
    fi
}

# The study notebook's platform plan, from the command line (the notebook needs Jupyter, which a
# GPU machine without a package registry may not have): the same base, data and no evaluation.
study_platform() {
    local plan="$OUT/study-platform.json" dir="$runs/study"
    local backends='"flex"'
    [ "$BACKEND" != flex ] && backends="\"flex\", \"$BACKEND\""
    cat > "$plan" <<PLAN
{"name": "study-platform", "base": "dcgan28", "backends": [$backends],
 "set": {"data.limit": 2048, "train.eval_samples": 0, "train.batch_size": $BATCH},
 "seeds": [1, 2, 3], "steps": $PLATFORM_STEPS}
PLAN
    "$BIN" sweep "$plan" --runs-dir "$dir" --local 1 || return 1
    "$BIN" runs "$dir" --group-by config || return 1
    [ "$BACKEND" = flex ] || "$BIN" runs "$dir" --baseline backend=flex --metric images_per_s
}

# gan_lab and PyTorch, same presets, batches and step, one after the other (bench/compare.sh's
# comparison with PyTorch on the GPU; on the CPU test path, a short one on the CPU).
versus_pytorch() {
    local device=cuda plan=(--preset pytorch-dcgan64 --preset dcgan28 --batch 64 --batch 256 --rounds 2 --sgemm 8192)
    if [ "$BACKEND" != cuda ]; then
        device=cpu plan=(--preset dcgan28 --batch "$BATCH" --rounds 1 --reps 2 --steps 1 --warmup 1 --sgemm 512)
    fi
    PYTHONPATH="$ROOT/bench/pytorch" "$TORCH_PYTHON" -m gan_torch_bench.compare --gan-lab "$BIN" --backend "$BACKEND" \
        --torch-device "$device" "${plan[@]}"
}

check "doctor: backend $BACKEND usable" doctor.txt doctor
check "losses on $BACKEND match flex's from the same checkpoint (first $STEPS steps, tolerance $TOLERANCE)" agreement.txt agreement
check "start-up twice from an empty kernel cache on $BACKEND" start-up.txt start_up
check "$LONG-step dcgan28 run on $BACKEND" "train-$LONG.txt" long_run
check "bench on $BACKEND" bench.csv bench
check "the study's platform plan: flex and $BACKEND, 3 seeds, $PLATFORM_STEPS steps each" study-platform.txt study_platform
want=cpu; [ "$BACKEND" = cuda ] && want=cuda
if "$TORCH_PYTHON" -c "import sys, torch; sys.exit(0 if '$want' == 'cpu' or torch.cuda.is_available() else 1)" 2>/dev/null; then
    check "side by side with PyTorch ($want)" compare.md versus_pytorch
else
    note "skipped side by side with PyTorch: no torch for $want in $TORCH_PYTHON (set GAN_LAB_TORCH_PYTHON)"
fi
note "verify took $(( $(date +%s) - verify_start )) s"
if [ $failed -eq 0 ]; then note "all checks passed"; else note "some checks FAILED"; fi
exit $failed
