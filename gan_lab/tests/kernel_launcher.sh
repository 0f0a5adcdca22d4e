#!/usr/bin/env bash
# Tests environment/evcxr-kernel.sh with a stand-in for evcxr_jupyter (a script that records the
# build folder it was given and, when asked, holds it like a running kernel): a new notebook's
# folder is a copy of the warm-up folder; a reopened notebook gets the same folder back; a second
# kernel on an open notebook gets a temporary copy, removed once that kernel has ended; folders
# beyond GAN_LAB_KERNEL_FOLDERS are removed least recently started first, never while held;
# EVCXR_TMPDIR set by the caller is used as it is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAUNCH=$ROOT/environment/evcxr-kernel.sh
work=$(mktemp -d)
trap 'touch "$work"/release-d "$work"/release-e "$work"/release-h 2>/dev/null; wait; rm -rf "$work"' EXIT
export GAN_LAB_HOME=$work/home
base=$GAN_LAB_HOME/evcxr
fail() { echo "FAILED: $*" >&2; exit 1; }

# the stand-in kernel: writes EVCXR_TMPDIR to $1, then holds it until $2 exists (if given)
fake=$work/fake-evcxr
cat > "$fake" <<'EOF'
#!/usr/bin/env bash
echo "$EVCXR_TMPDIR" > "$1"
if [ -n "${2:-}" ]; then while [ ! -e "$2" ]; do sleep 0.05; done; fi
EOF
chmod +x "$fake"
# a warm-up folder as execute.py --warm-up leaves it
mkdir -p "$base/warm-up/target/debug/deps" "$base/warm-up/src"
echo built > "$base/warm-up/target/debug/deps/libgan_lab.so"
touch -d '2026-01-01 00:00' "$base/warm-up/target/debug/deps/libgan_lab.so"
echo "[package]" > "$base/warm-up/Cargo.toml"

folders_left() { # the notebook folders under evcxr/, by name without their hash
    find "$base" -maxdepth 1 -mindepth 1 -type d ! -name warm-up -printf '%f\n' | sed 's/-[0-9a-f]*$//' | sort | tr '\n' ' '
}

open_nb() { # NOTEBOOK OUT [RELEASE]: starts the launcher as JupyterLab would for NOTEBOOK
    JPY_SESSION_NAME=$1 "$LAUNCH" "$fake" "$2" "${3:-}"
}

open_nb /nb/03_dcgan.ipynb "$work/a"
a=$(cat "$work/a")
case "$(basename "$a")" in 03_dcgan-????????) ;; *) fail "folder name $a";; esac
[ "$(cat "$a/target/debug/deps/libgan_lab.so")" = built ] || fail "a new notebook's folder is not a copy of warm-up"
[ "$(stat -c %Y "$a/target/debug/deps/libgan_lab.so")" = "$(stat -c %Y "$base/warm-up/target/debug/deps/libgan_lab.so")" ] \
    || fail "the copy does not keep modification times (cargo would rebuild)"
echo "ok   a notebook opened for the first time starts from a copy of the warm-up folder ($(basename "$a"))"

echo "cell output" > "$a/target/marker"
open_nb /nb/03_dcgan.ipynb "$work/b"
{ [ "$(cat "$work/b")" = "$a" ] && [ -e "$a/target/marker" ]; } || fail "a reopened notebook did not get its folder back"
open_nb /other/03_dcgan.ipynb "$work/c"
[ "$(cat "$work/c")" != "$a" ] || fail "two notebooks of the same name in different folders share a build folder"
echo "ok   a reopened notebook gets its own folder back; the same name elsewhere gets another"

# a kernel holds the notebook; a second kernel on it gets a temporary copy
open_nb /nb/03_dcgan.ipynb "$work/d" "$work/release-d" &
pid_d=$!
while [ ! -s "$work/d" ]; do sleep 0.05; done
open_nb /nb/03_dcgan.ipynb "$work/e" "$work/release-e" &
pid_e=$!
while [ ! -s "$work/e" ]; do sleep 0.05; done
e=$(cat "$work/e")
case "$(basename "$e")" in tmp-*) ;; *) fail "a second kernel on an open notebook got $e";; esac
[ "$(cat "$e/target/debug/deps/libgan_lab.so")" = built ] || fail "the temporary folder is not a copy of warm-up"
JPY_SESSION_NAME='' "$LAUNCH" "$fake" "$work/f"
f=$(cat "$work/f")
[ -d "$e" ] || fail "a temporary folder was removed while its kernel ran"
case "$(basename "$f")" in tmp-*) ;; *) fail "a kernel without a notebook name got $f";; esac
touch "$work/release-e"; wait "$pid_e"
open_nb /nb/04_other.ipynb "$work/g"
{ [ ! -e "$e" ] && [ ! -e "$f" ]; } || fail "temporary folders of ended kernels were not removed: $(ls "$base")"
echo "ok   a second kernel on an open notebook, or one without a name, gets a temporary copy, removed after it ends"

# the limit: keep 2; the held notebook stays even when it is the oldest
touch "$work/release-d"; wait "$pid_d"
open_nb /nb/03_dcgan.ipynb "$work/h" "$work/release-h" &
pid_h=$!
while [ ! -s "$work/h" ]; do sleep 0.05; done
sleep 1.1
GAN_LAB_KERNEL_FOLDERS=2 open_nb /nb/05.ipynb "$work/i"
sleep 1.1
GAN_LAB_KERNEL_FOLDERS=2 open_nb /nb/06.ipynb "$work/j"
left=$(folders_left)
[ "$left" = "03_dcgan 05 06 " ] || fail "after the limit of 2 the folders left are: $left"
touch "$work/release-h"; wait "$pid_h"
GAN_LAB_KERNEL_FOLDERS=2 open_nb /nb/07.ipynb "$work/k"
left=$(folders_left)
[ "$left" = "06 07 " ] || fail "once released, the oldest folders go: left $left"
echo "ok   beyond GAN_LAB_KERNEL_FOLDERS the least recently started notebooks' folders go, never one a kernel holds"

EVCXR_TMPDIR=$work/mine JPY_SESSION_NAME=/nb/03_dcgan.ipynb "$LAUNCH" "$fake" "$work/l"
[ "$(cat "$work/l")" = "$work/mine" ] || fail "EVCXR_TMPDIR set by the caller was not used"
echo "ok   EVCXR_TMPDIR set by the caller is used as it is"
echo "kernel launcher test passed"
