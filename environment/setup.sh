#!/usr/bin/env bash
# One command on a fresh Debian/Ubuntu or Amazon Linux machine — a laptop, an EC2 instance, a
# SageMaker notebook instance: installs what is missing, prebuilds gan_lab so the first notebook cell
# is fast, and prints how to open JupyterLab. A second run checks each step and changes nothing.
#
#   environment/setup.sh [--no-system-packages]
#
#   1. system packages: a C compiler, Python 3 with venv, git, curl (apt-get or dnf, as root or
#      through sudo; --no-system-packages skips this step and only reports what is missing)
#   2. Rust ≥ the workspace's rust-version: the rustc on PATH, else rustup's stable toolchain,
#      else rustup itself, installed into $CARGO_HOME / $RUSTUP_HOME from static.rust-lang.org
#      (the Rust project's own distribution; checked against its published SHA-256)
#   3. GPU: with a working nvidia-smi and GAN_LAB_ENGINE_FEATURES unset, the engine is built with
#      the `cuda` feature, and NVRTC and the CUDA headers are installed when missing
#      (environment/gpu/cuda-runtime.sh)
#   4. environment/install.sh: Jupyter venv, the evcxr kernel at a pinned version, the kernel spec,
#      the engine's release build, the notebook kernel's build cache
#
# Everything but step 1 goes under $GAN_LAB_HOME (default ~/.cache/gan_lab) and, when Rust is
# installed here, $CARGO_HOME and $RUSTUP_HOME (default ~/.cargo, ~/.rustup). Downloads come from the OS package repositories,
# static.rust-lang.org (only when no Rust is installed), crates.io and PyPI; nothing else.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SYSTEM_PACKAGES=1
for arg in "$@"; do
    case "$arg" in
        --no-system-packages) SYSTEM_PACKAGES=0 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "error: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    esac
done
started=$(date +%s)
step() { echo "== $*"; }

# 1. System packages --------------------------------------------------------------------------
step "system packages"
missing=()
command -v cc >/dev/null || missing+=(compiler)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python-venv)
command -v git >/dev/null || missing+=(git)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -eq 0 ]; then
    echo "   up to date (cc, python3 with venv, git, curl)"
else
    if command -v apt-get >/dev/null; then
        declare -A deb=([compiler]=gcc [python-venv]="python3 python3-venv" [git]=git [curl]="curl ca-certificates")
        manager=(apt-get install -y --no-install-recommends); update=(apt-get update -q); names=()
        for m in "${missing[@]}"; do read -ra p <<<"${deb[$m]}"; names+=("${p[@]}"); done
    elif command -v dnf >/dev/null || command -v yum >/dev/null; then
        declare -A rpm=([compiler]=gcc [python-venv]="python3 python3-pip" [git]=git [curl]=curl)
        pm=$(command -v dnf || command -v yum)
        manager=("$pm" install -y); update=(true); names=()
        for m in "${missing[@]}"; do read -ra p <<<"${rpm[$m]}"; names+=("${p[@]}"); done
    else
        echo "error: missing ${missing[*]} and no apt-get or dnf to install them: install them, then run this again" >&2
        exit 1
    fi
    if [ "$SYSTEM_PACKAGES" -eq 0 ]; then
        echo "error: missing ${missing[*]}: install ${names[*]} (or run without --no-system-packages)" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
        echo "error: missing ${missing[*]}: run 'sudo ${manager[*]} ${names[*]}', then this again" >&2
        exit 1
    fi
    echo "   installing ${names[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" "${update[@]}" >/dev/null
    "${sudo[@]}" "${manager[@]}" "${names[@]}" >/dev/null
fi

# 2. Rust -------------------------------------------------------------------------------------
RUST_MIN=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml")
# A rustup installed earlier whose bin folder is not on this shell's PATH yet.
if ! command -v rustc >/dev/null && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/rustc" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
rust_ok() {
    local have
    have=$(rustc --version 2>/dev/null | awk '{print $2}') || return 1
    [ -n "$have" ] && command -v cargo >/dev/null && [ "$(printf '%s\n%s\n' "$RUST_MIN" "$have" | sort -V | head -1)" = "$RUST_MIN" ]
}
step "Rust ≥ $RUST_MIN"
if rust_ok; then
    echo "   up to date ($(rustc --version))"
else
    if ! command -v rustup >/dev/null; then
        export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
        export PATH="$CARGO_HOME/bin:$PATH"
        arch=$(uname -m)
        url="https://static.rust-lang.org/rustup/dist/$arch-unknown-linux-gnu/rustup-init"
        tmp=$(mktemp -d)
        echo "   installing rustup into $CARGO_HOME from $url"
        curl --proto '=https' --tlsv1.2 -sSf -o "$tmp/rustup-init" "$url"
        curl --proto '=https' --tlsv1.2 -sSf -o "$tmp/rustup-init.sha256" "$url.sha256"
        (cd "$tmp" && echo "$(cut -d' ' -f1 rustup-init.sha256)  rustup-init" | sha256sum -c --quiet -)
        chmod +x "$tmp/rustup-init"
        "$tmp/rustup-init" -y --quiet --profile minimal --default-toolchain none --no-modify-path
        rm -rf "$tmp"
    fi
    echo "   installing the stable toolchain with rustup (minimal profile)"
    rustup toolchain install stable --profile minimal
    rustup default stable
    rust_ok || { echo "error: $(rustc --version 2>&1) is older than $RUST_MIN" >&2; exit 1; }
    echo "   $(rustc --version); add $(dirname "$(command -v cargo)") to PATH in your shell profile"
fi

# 3. GPU --------------------------------------------------------------------------------------
step "GPU"
if [ -n "${GAN_LAB_ENGINE_FEATURES+set}" ]; then
    echo "   GAN_LAB_ENGINE_FEATURES='${GAN_LAB_ENGINE_FEATURES}' (as given)"
elif command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    export GAN_LAB_ENGINE_FEATURES=cuda
    echo "   $(nvidia-smi -L | head -1): building the engine with the cuda feature"
    # NVRTC and the CUDA headers, which burn-cuda needs at run time beyond the driver
    if [ "$SYSTEM_PACKAGES" -eq 1 ]; then cuda_args=(); else cuda_args=(--check); fi
    "$ROOT/environment/gpu/cuda-runtime.sh" "${cuda_args[@]}" || echo "   (the cuda backend will not start until the above is fixed; the CPU backends work)"
else
    echo "   none found (CPU backends only; GAN_LAB_ENGINE_FEATURES=cuda builds the GPU engine anyway)"
fi

# 4. Jupyter, the kernel, the builds ----------------------------------------------------------
"$ROOT/environment/install.sh"
echo "== setup finished in $(( $(date +%s) - started )) s"
