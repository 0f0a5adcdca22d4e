#!/usr/bin/env bash
# One checkpoint (1 step on flex) resumed for STEPS steps on flex and on BACKEND, their D/G
# losses, D(x) and D(G(z)) compared step by step: how a backend is checked against flex.
#
#   GAN_LAB_BIN=path/to/gan-lab environment/gpu/agreement.sh CONFIG DIR BACKEND STEPS BATCH LIMIT TOLERANCE
#
# CONFIG should have no dropout (each backend draws its own masks) and eval_samples 0. DIR is
# emptied first and receives start/, flex/, BACKEND/ (the three runs) and resume-BACKEND.txt.
# Exit status: compare-losses's (0 when every step agrees within TOLERANCE, relative).
# Used by environment/gpu/verify.sh (the GPU) and gan_lab/tests/wgpu_lavapipe.sh (lavapipe).
set -euo pipefail
[ $# -eq 7 ] || { echo "usage: $0 CONFIG DIR BACKEND STEPS BATCH LIMIT TOLERANCE" >&2; exit 2; }
cfg=$1 dir=$2 backend=$3 steps=$4 batch=$5 limit=$6 tolerance=$7
BIN=${GAN_LAB_BIN:?set GAN_LAB_BIN to the gan-lab binary}
rm -rf "$dir"
mkdir -p "$dir"
"$BIN" train --config "$cfg" --backend flex --steps 1 --set data.limit="$limit" --set train.batch_size="$batch" \
    --set train.log_every=1 --set train.sample_every=100000 --set train.checkpoint_every=100000 \
    --runs-dir "$dir/start" --quiet
start=$(find "$dir/start" -mindepth 1 -maxdepth 1 -type d | head -1)
cp -r "$start" "$dir/flex"
cp -r "$start" "$dir/$backend"
"$BIN" resume "$dir/flex" --backend flex --steps "$steps" --quiet
"$BIN" resume "$dir/$backend" --backend "$backend" --steps "$steps" --quiet | tee "$dir/resume-$backend.txt"
grep -q "at step 1 on $backend" "$dir/resume-$backend.txt" || { echo "the resumed run did not start at step 1 on $backend" >&2; exit 1; }
"$BIN" compare-losses "$dir/flex" "$dir/$backend" --steps "$steps" --tolerance "$tolerance"
