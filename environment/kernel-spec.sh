#!/usr/bin/env bash
# Registers the evcxr Rust kernel with Jupyter: writes KERNELS_DIR/rust/kernel.json, only when its
# content changes (a second run leaves the file untouched). The kernel starts through
# evcxr-kernel.sh, which gives each notebook a build folder that is already built. Used by
# install.sh and by SageMaker's on-start.sh (whose home folder is rebuilt at every start).
#
#   environment/kernel-spec.sh KERNELS_DIR EVCXR_JUPYTER CARGO_TARGET_DIR [ENGINE_FEATURES]
#
# The spec's env carries: LD_LIBRARY_PATH = the toolchain's libstd folder (evcxr loads each cell as
# a shared library, and rustc's relative rpath misses libstd when the kernel's build folder and the
# toolchain share a parent such as $HOME: without it the kernel dies with "dlopen failed"), PATH with
# cargo (and the toolchain's RUSTUP_HOME/CARGO_HOME when set), CARGO_TARGET_DIR, and the engine's
# cargo features.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 KERNELS_DIR EVCXR_JUPYTER CARGO_TARGET_DIR [ENGINE_FEATURES]" >&2
    exit 2
fi
KERNELS_DIR=$1
EVCXR=$2
TARGET=$3
FEATURES=${4:-}
if [ ! -x "$EVCXR" ]; then
    echo "error: $EVCXR is not an executable evcxr_jupyter" >&2
    exit 1
fi
LIBDIR=$(rustc --print target-libdir)
CARGO_DIR=$(dirname "$(command -v cargo)")
mkdir -p "$KERNELS_DIR/rust"
LAUNCHER=$(cd "$(dirname "$0")" && pwd)/evcxr-kernel.sh
python3 - "$KERNELS_DIR/rust/kernel.json" "$LAUNCHER" "$EVCXR" "$LIBDIR" "$CARGO_DIR" "$TARGET" "$FEATURES" \
    "${RUSTUP_HOME:-}" "${CARGO_HOME:-}" "${GAN_LAB_HOME:-}" <<'PY'
import json, os, sys
path, launcher, kernel, libdir, cargo_dir, target, features, rustup_home, cargo_home, gan_lab_home = sys.argv[1:]
env = {
    "LD_LIBRARY_PATH": libdir,
    "PATH": cargo_dir + ":/usr/local/bin:/usr/bin:/bin",
    "CARGO_TARGET_DIR": target,
}
for key, value in [("RUSTUP_HOME", rustup_home), ("CARGO_HOME", cargo_home), ("GAN_LAB_HOME", gan_lab_home), ("GAN_LAB_ENGINE_FEATURES", features)]:
    if value:
        env[key] = value
spec = {
    "argv": [launcher, kernel, "--control_file", "{connection_file}"],
    "display_name": "Rust",
    "language": "rust",
    "interrupt_mode": "message",
    "env": env,
}
text = json.dumps(spec, indent=2) + "\n"
try:
    old = open(path).read()
except OSError:
    old = None
if old == text:
    print(f"   up to date: {path}")
else:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(f"   wrote {path}")
# evcxr_jupyter rewrites the whole spec (dropping this env) at start-up when the folder's
# version.txt differs from its own install version ("1" in 0.22.0): record that version.
version = os.path.join(os.path.dirname(path), "version.txt")
if not os.path.exists(version) or open(version).read() != "1":
    with open(version, "w") as f:
        f.write("1")
PY
