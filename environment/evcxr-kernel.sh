#!/usr/bin/env bash
# Starts the evcxr kernel in a build folder that is already built: the kernel spec's command.
#
#   environment/evcxr-kernel.sh EVCXR_JUPYTER --control_file CONNECTION_FILE
#
# evcxr compiles a notebook's `:dep gan_lab` in its build folder (EVCXR_TMPDIR). A new folder costs
# a full kernel-side build (its dependencies from evcxr's `:cache`, gan_lab itself compiled again);
# a folder that was built before costs only cargo's freshness check. So each notebook gets its own
# persistent folder, GAN_LAB_HOME/evcxr/<notebook>-<hash of its path> (from JPY_SESSION_NAME, which
# JupyterLab and notebooks/execute.py set), and a folder that does not exist yet starts as a copy of
# the one `execute.py --warm-up` built (install.sh), so even a notebook opened for the first time
# starts built. A kernel without a notebook name (a console), or a second kernel on a notebook that
# is already open, gets a temporary copy, removed by the next start after that kernel ends.
# Each kernel holds a lock on its folder for its lifetime (flock on <folder>.lock, inherited by
# evcxr). A folder is about 1.3 GB: beyond the GAN_LAB_KERNEL_FOLDERS (default 12) most recently
# started notebooks, the folders of the others are removed when no kernel holds them (they are
# copied again when those notebooks open). An EVCXR_TMPDIR already set is used as it is.
set -euo pipefail
EVCXR=${1:?usage: $0 EVCXR_JUPYTER ARGS...}
shift
if [ -n "${EVCXR_TMPDIR:-}" ] || ! command -v flock >/dev/null; then
    exec "$EVCXR" "$@"  # (without flock, util-linux's, evcxr builds in a folder of its own as it would)
fi
BASE=${GAN_LAB_HOME:-$HOME/.cache/gan_lab}/evcxr
TEMPLATE=$BASE/warm-up
mkdir -p "$BASE"

# Removes the folder of lock file $1 (and the lock) when no kernel holds that lock.
remove_unless_held() {
    if ( exec 8>>"$1"; flock -n 8 ); then rm -rf "${1%.lock}" "$1"; fi
}

# Temporary folders of kernels that have ended.
for old in "$BASE"/tmp-*.lock; do
    [ -e "$old" ] && remove_unless_held "$old"
done

# A copy of the warm-up folder (or nothing: evcxr then builds from scratch) at $1, made under
# another name and renamed, so a kernel never sees half a copy.
seed() {
    local dest=$1 part
    [ -d "$TEMPLATE/target" ] || { mkdir -p "$dest"; return; }
    part=$(mktemp -d "$BASE/.seeding-XXXXXX")
    # shared lock: `execute.py --warm-up` holds it exclusively while it rebuilds the template
    if flock -s "$TEMPLATE.lock" cp -a --reflink=auto "$TEMPLATE/." "$part/"; then
        mv -T "$part" "$dest" 2>/dev/null || rm -rf "$part"  # another kernel seeded it first
    else
        rm -rf "$part"
        mkdir -p "$dest"
    fi
}

folder=
if [ -n "${JPY_SESSION_NAME:-}" ]; then
    stem=$(basename "$JPY_SESSION_NAME" .ipynb | tr -c 'A-Za-z0-9_.\n-' '_')
    hash=$(printf '%s' "$JPY_SESSION_NAME" | sha256sum | cut -c1-8)
    folder=$BASE/$stem-$hash
    [ -d "$folder" ] || seed "$folder"
    exec 9>>"$folder.lock"
    if flock -n 9; then
        touch "$folder.lock"
        # the least recently started notebooks' folders beyond the limit, when no kernel holds them
        keep=${GAN_LAB_KERNEL_FOLDERS:-12}
        find "$BASE" -maxdepth 1 -name '*.lock' ! -name 'tmp-*' ! -name 'warm-up.lock' -printf '%T@ %p\n' |
            sort -rn | tail -n +$((keep + 1)) | cut -d' ' -f2- | while read -r old; do remove_unless_held "$old"; done
    else
        exec 9>&-
        folder=
    fi
fi
if [ -z "$folder" ]; then
    folder=$(mktemp -u "$BASE/tmp-XXXXXX")
    exec 9>>"$folder.lock"
    flock -n 9
    seed "$folder"
fi
export EVCXR_TMPDIR=$folder
exec "$EVCXR" "$@"
