#!/usr/bin/env bash
# gan-lab bench and the PyTorch reference (bench/pytorch) in alternation on this machine, with the
# same threads; prints each pair's ratio as it is measured, then a table (markdown) with images/s,
# ratio, GFLOP/s and the share of this CPU's FLOP limit.
#
#   bench/compare.sh [--preset dcgan28 ...] [--batch 64 --batch 128]     (default: the four presets
#                    dcgan28, mlp-gan, dcgan-emoji32, pytorch-dcgan64)
#                    [--backend flex --backend ndarray] [--threads 2] [--rounds 2] [--out rows.csv]
#
# PyTorch is installed on first use into $GAN_LAB_HOME/torch-venv (default ~/.cache/gan_lab; about
# 5 GB: PyPI's Linux wheel brings its CUDA libraries even for CPU use). GAN_LAB_BIN=path skips the
# cargo build of gan-lab.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GAN_LAB_HOME=${GAN_LAB_HOME:-$HOME/.cache/gan_lab}
VENV=${GAN_LAB_TORCH_VENV:-$GAN_LAB_HOME/torch-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$GAN_LAB_HOME/target}

if ! "$VENV/bin/python" -c "import torch, numpy" 2>/dev/null; then
    echo "== installing PyTorch into $VENV (once)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "$ROOT/bench/pytorch"
fi
BIN=${GAN_LAB_BIN:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build --release --locked --bin gan-lab)
    BIN=$CARGO_TARGET_DIR/release/gan-lab
fi
cd "$ROOT"
# the repository's copy of the reference, not an older installed one
export PYTHONPATH="$ROOT/bench/pytorch${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m gan_torch_bench.compare --gan-lab "$BIN" "$@"
