#!/usr/bin/env bash
# Installs what the notebooks need and prebuilds gan_lab, so the first notebook cell is fast.
# Safe to run again: each step checks first and a second run changes nothing.
#
#   GAN_LAB_HOME      where everything goes (default ~/.cache/gan_lab):
#                       venv/      Python venv with Jupyter (environment/requirements-notebooks.txt)
#                       tools/     evcxr_jupyter, the Rust kernel (pinned version below)
#                       target/    cargo's build cache for the gan-lab engine (CARGO_TARGET_DIR)
#                       evcxr/     the kernel-side build (warm-up/) and a copy of it per notebook
#                                  (EVCXR_TMPDIR; see evcxr-kernel.sh)
#   GAN_LAB_ENGINE_FEATURES  cargo features of the engine build (e.g. "cuda" on a GPU machine);
#                     also written into the kernel spec, so notebooks build the same engine
#   GAN_LAB_KERNELS_DIR  where the kernel spec goes (default: Jupyter's user data folder, kernels/)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GAN_LAB_HOME=${GAN_LAB_HOME:-$HOME/.cache/gan_lab}
EVCXR_VERSION=0.22.0
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$GAN_LAB_HOME/target}
VENV=$GAN_LAB_HOME/venv
TOOLS=$GAN_LAB_HOME/tools

started=$(date +%s)
step() { echo "== $* (at $(( $(date +%s) - started )) s)"; }
need() {
    command -v "$1" >/dev/null || { echo "error: $1 not found: $2" >&2; exit 1; }
}
need cargo "install Rust with rustup (https://rustup.rs), then run this again"
need rustc "install Rust with rustup (https://rustup.rs), then run this again"
need python3 "install Python 3.9 or newer with its venv module (Debian: apt-get install python3-venv)"
mkdir -p "$GAN_LAB_HOME" "$CARGO_TARGET_DIR"

step "Python venv with Jupyter: $VENV"
REQ=$ROOT/environment/requirements-notebooks.txt
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ "$(cat "$VENV/.gan_lab-requirements" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$want" > "$VENV/.gan_lab-requirements"
else
    echo "   up to date"
fi

step "evcxr_jupyter $EVCXR_VERSION: $TOOLS/bin"
if ! { [ -x "$TOOLS/bin/evcxr_jupyter" ] && grep -q "^\"evcxr_jupyter $EVCXR_VERSION " "$TOOLS/.crates.toml" 2>/dev/null; }; then
    echo "   building it (about 10-20 minutes on 2 cores, once)"
    cargo install --quiet --locked evcxr_jupyter --version "$EVCXR_VERSION" --root "$TOOLS" \
        --target-dir "$GAN_LAB_HOME/tools-build"
    rm -rf "$GAN_LAB_HOME/tools-build"
else
    echo "   up to date"
fi

step "Jupyter kernel spec 'rust'"
KERNELS_DIR=${GAN_LAB_KERNELS_DIR:-$("$VENV/bin/jupyter" --data-dir)/kernels}
"$ROOT/environment/kernel-spec.sh" "$KERNELS_DIR" "$TOOLS/bin/evcxr_jupyter" "$CARGO_TARGET_DIR" "${GAN_LAB_ENGINE_FEATURES:-}"

step "gan-lab engine (release build${GAN_LAB_ENGINE_FEATURES:+, features $GAN_LAB_ENGINE_FEATURES})"
(cd "$ROOT" && cargo build --release --locked -p gan_lab --bin gan-lab ${GAN_LAB_ENGINE_FEATURES:+--features "$GAN_LAB_ENGINE_FEATURES"})

step "notebook kernel build cache (the first cell of every notebook)"
"$VENV/bin/python" "$ROOT/notebooks/execute.py" --warm-up
# Build folders named after a notebook alone, from before evcxr-kernel.sh (which names them
# <notebook>-<hash> and locks them): nothing uses them any more.
for old in "$GAN_LAB_HOME"/evcxr/[0-9][0-9]_* "$GAN_LAB_HOME"/evcxr/check-interrupt "$GAN_LAB_HOME"/evcxr/measure-throughput; do
    if [ -d "$old" ] && [ ! -e "$old.lock" ]; then rm -rf "$old"; fi
done

step "done. Open the notebooks with:"
echo "   $VENV/bin/jupyter lab --ip 127.0.0.1 $ROOT/notebooks"
echo "   (bound to this machine only; Jupyter prints a URL with its access token)"
