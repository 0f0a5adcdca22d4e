#!/usr/bin/env bash
# The SageMaker lifecycle scripts and the EC2 user data against fake instances.
#
# 1. Function: a temporary home/ec2-user/SageMaker holding a copy of the checkout, and a stand-in
#    for the long setup (a few seconds, then a fake evcxr_jupyter in the persistent GAN_LAB_HOME).
#    on-create returns at once and its background job records running → ok; a second on-create
#    starts no second job; on-start registers the kernel spec with persistent paths (again after a
#    "reboot" wiped the home folder); a failing setup is recorded as failed and restarted.
# 2. Privilege (when run as root, as CI does): the notebook user is `nobody`, and its folders hold
#    symlinks to root-owned files and a lifecycle.sh of its own. Root must run nothing of the
#    user's (that lifecycle.sh records the uid it ran as) and nothing outside the user's folders
#    may change (owner, mode, size, mtime and sha256 of every root-owned file, before and after).
#
#   gan_lab/tests/cloud_scripts.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fake=$(mktemp -d /tmp/gan-lab-cloud.XXXXXX)
trap 'rm -rf "$fake"' EXIT
chmod 755 "$fake"
fail() { echo "FAILED: $*" >&2; exit 1; }

# Run as root, the scripts switch to the notebook user; the fake instance uses `nobody` for it.
if [ "$(id -u)" = 0 ]; then nb_user=nobody; else nb_user=$(id -un); fi
export GAN_LAB_SAGEMAKER_USER=$nb_user

# A fake instance: SM/gan_lab is a copy of the checkout's environment/ folder, owned by the user.
new_instance() {
    local home=$1
    mkdir -p "$home/SageMaker/gan_lab" "$home/.local/share/jupyter/kernels"
    cp -r "$ROOT/environment" "$home/SageMaker/gan_lab/"
    chown -R "$nb_user" "$home"
}

cat > "$fake/fake-setup.sh" <<'SH'
#!/usr/bin/env bash
# Stands in for environment/setup.sh: takes a while, then leaves a toolchain (rustc, cargo) and
# the kernel program behind in the persistent homes.
echo "fake setup: GAN_LAB_HOME=$GAN_LAB_HOME CARGO_HOME=$CARGO_HOME"
sleep "${FAKE_SETUP_SECONDS:-3}"
if [ -n "${FAKE_SETUP_FAIL:-}" ]; then echo "fake setup: failing as asked" >&2; exit 3; fi
mkdir -p "$GAN_LAB_HOME/tools/bin" "$CARGO_HOME/bin"
printf '#!/bin/sh\nexit 0\n' > "$GAN_LAB_HOME/tools/bin/evcxr_jupyter"
printf '#!/bin/sh\necho "%s/rustup/toolchains/stable/lib/rustlib/x86_64-unknown-linux-gnu/lib"\n' "${RUSTUP_HOME%/rustup}" > "$CARGO_HOME/bin/rustc"
printf '#!/bin/sh\nexit 0\n' > "$CARGO_HOME/bin/cargo"
chmod +x "$GAN_LAB_HOME/tools/bin/evcxr_jupyter" "$CARGO_HOME/bin/rustc" "$CARGO_HOME/bin/cargo"
echo "fake setup: done"
SH
chmod 755 "$fake/fake-setup.sh"
export GAN_LAB_SETUP_COMMAND="$fake/fake-setup.sh"

home="$fake/home/ec2-user"
sm="$home/SageMaker"
kernels="$home/.local/share/jupyter/kernels"
new_instance "$home"
lc="$sm/gan_lab/environment/sagemaker"
export GAN_LAB_SAGEMAKER_DIR="$sm" GAN_LAB_KERNELS_DIR="$kernels"

echo "== SageMaker, as $(id -un) with notebook user $nb_user"
ms() { date +%s%3N; }
t=$(ms)
"$lc/on-create.sh"
took=$(( $(ms) - t ))
echo "== on-create returned in $took ms"
[ "$took" -lt 5000 ] || fail "on-create took $took ms: SageMaker allows 5 minutes, and the foreground part should take seconds"
status=$(cat "$sm/.gan_lab/setup.status")
case "$status" in starting*|running*) ;; *) fail "status right after on-create: '$status'" ;; esac
sleep 1
"$lc/on-create.sh" | grep -q "already running" || fail "a second on-create started a second job"
pid=$(sed -n 's/^running pid=\([0-9]*\).*/\1/p' "$sm/.gan_lab/setup.status")
[ -n "$pid" ] || fail "the job did not record its pid: $(cat "$sm/.gan_lab/setup.status")"
[ "$(stat -c %U "/proc/$pid")" = "$nb_user" ] || fail "the setup job runs as $(stat -c %U "/proc/$pid"), not as $nb_user"
for _ in $(seq 60); do
    grep -q '^ok' "$sm/.gan_lab/setup.status" && break
    sleep 0.5
done
echo "== status: $(cat "$sm/.gan_lab/setup.status")"
grep -q '^ok finished=.* seconds=' "$sm/.gan_lab/setup.status" || fail "the background job did not record ok"
grep -q "fake setup: GAN_LAB_HOME=$sm/.gan_lab/home CARGO_HOME=$sm/.gan_lab/cargo" "$sm/.gan_lab/setup.log" \
    || fail "the job did not run with the persistent homes: $(cat "$sm/.gan_lab/setup.log")"
bad=$(find "$home" ! -user "$nb_user" | head -3)
[ -z "$bad" ] || fail "files in the user's folders not owned by $nb_user: $bad"

t=$(ms)
"$lc/on-start.sh"
echo "== on-start returned in $(( $(ms) - t )) ms"
spec="$kernels/rust/kernel.json"
[ -f "$spec" ] || fail "on-start registered no kernel spec"
python3 - "$spec" "$sm" <<'PY'
import json, sys
spec, sm = json.load(open(sys.argv[1])), sys.argv[2]
assert spec["argv"][0] == f"{sm}/gan_lab/environment/evcxr-kernel.sh", spec["argv"]
assert spec["argv"][1] == f"{sm}/.gan_lab/home/tools/bin/evcxr_jupyter", spec["argv"]
assert spec["env"]["CARGO_TARGET_DIR"] == f"{sm}/.gan_lab/home/target", spec["env"]
assert spec["env"]["RUSTUP_HOME"] == f"{sm}/.gan_lab/rustup", spec["env"]
assert spec["env"]["GAN_LAB_HOME"] == f"{sm}/.gan_lab/home", spec["env"]
assert spec["env"]["LD_LIBRARY_PATH"].startswith(f"{sm}/.gan_lab/rustup/toolchains/"), spec["env"]
assert spec["env"]["PATH"].startswith(f"{sm}/.gan_lab/cargo/bin:"), spec["env"]
print("   kernel spec:", json.dumps(spec["env"]))
PY

# A stop and start: everything outside SageMaker/ is gone; on-start registers the kernel again.
rm -rf "$home/.local/share/jupyter"
"$lc/on-start.sh" >/dev/null
[ -f "$spec" ] || fail "on-start after a restart did not register the kernel again"
echo "== kernel spec registered again after a restart"

# A setup that fails is recorded as failed, with its exit status; on-start starts it again.
home2="$fake/other/ec2-user"
new_instance "$home2"
sm2="$home2/SageMaker"
FAKE_SETUP_FAIL=1 FAKE_SETUP_SECONDS=0 GAN_LAB_SAGEMAKER_DIR="$sm2" "$sm2/gan_lab/environment/sagemaker/on-create.sh" >/dev/null
for _ in $(seq 40); do grep -q '^failed' "$sm2/.gan_lab/setup.status" && break; sleep 0.25; done
echo "== failing setup: $(cat "$sm2/.gan_lab/setup.status")"
grep -q '^failed rc=3 ' "$sm2/.gan_lab/setup.status" || fail "a failing setup was not recorded as failed rc=3"
FAKE_SETUP_SECONDS=0 GAN_LAB_SAGEMAKER_DIR="$sm2" "$sm2/gan_lab/environment/sagemaker/on-start.sh" | grep -q "started in the background" \
    || fail "on-start did not restart an unfinished setup"
for _ in $(seq 40); do grep -q '^ok' "$sm2/.gan_lab/setup.status" && break; sleep 0.25; done
grep -q '^ok' "$sm2/.gan_lab/setup.status" || fail "the restarted setup did not finish: $(cat "$sm2/.gan_lab/setup.status")"
echo "== SageMaker lifecycle works"

if [ "$(id -u)" != 0 ]; then
    echo "== privilege checks skipped: they need root (the scripts' root part switches users)"
    exit 0
fi

# Root-owned files the user must not be able to reach through the scripts.
vault="$fake/root-owned"
mkdir -p "$vault/dir"
echo "root's secret" > "$vault/secret"; chmod 600 "$vault/secret"
echo "root's config" > "$vault/config"; chmod 644 "$vault/config"
echo "root's program" > "$vault/program"; chmod 755 "$vault/program"
snapshot() { find "$vault" -printf '%p %U:%G %m %s %T@\n' | sort; find "$vault" -type f -exec sha256sum {} + | sort; }
before=$(snapshot)

# SageMaker instance A: the whole state folder is a symlink to a root-owned folder.
hA="$fake/a/ec2-user"; new_instance "$hA"
ln -s "$vault/dir" "$hA/SageMaker/.gan_lab"; chown -h "$nb_user" "$hA/SageMaker/.gan_lab"
# Instance B: every file the scripts write is a symlink to a root-owned file, and the user has
# replaced the checkout's lifecycle.sh with one that records who runs it.
hB="$fake/b/ec2-user"; new_instance "$hB"
mkdir "$hB/SageMaker/.gan_lab"
for f in env.sh env.sh.tmp setup.log setup.status setup.status.tmp setup-job.sh; do
    ln -s "$vault/config" "$hB/SageMaker/.gan_lab/$f"
done
ln -sf "$vault/secret" "$hB/SageMaker/.gan_lab/setup.status"
chown -hR "$nb_user" "$hB/SageMaker/.gan_lab"
# Instance C: the user's own lifecycle.sh, to see who runs it.
hC="$fake/c/ec2-user"; new_instance "$hC"
cat > "$hC/SageMaker/gan_lab/environment/sagemaker/lifecycle.sh" <<SH
#!/bin/bash
id -u > "$hC/SageMaker/ran-as"
chown $nb_user "$vault/secret"; echo pwned >> "$vault/config"
SH
for h in "$hA" "$hB" "$hC"; do
    for script in on-create on-start; do
        out=$(GAN_LAB_SAGEMAKER_DIR="$h/SageMaker" FAKE_SETUP_SECONDS=0 "$ROOT/environment/sagemaker/$script.sh" 2>&1) || true
        echo "   ${h#"$fake"/} $script: $(echo "$out" | tail -1)"
    done
done
ran_as=$(cat "$hC/SageMaker/ran-as")
[ "$ran_as" = "$(id -u "$nb_user")" ] || fail "the user's lifecycle.sh ran as uid $ran_as, not as $nb_user"
echo "== the user's own lifecycle.sh ran as uid $ran_as ($nb_user)"

# EC2: the user's home holds a checkout and a status file that is a symlink to a root-owned file.
ec2home="$fake/ec2/ec2-user"
mkdir -p "$ec2home/gan_lab/.git"
ln -s "$vault/secret" "$ec2home/gan-lab-setup.status"
ln -s "$vault/config" "$ec2home/gan-lab-setup.status.tmp"
chown -hR "$nb_user" "$fake/ec2"
GAN_LAB_EC2_USER=$nb_user GAN_LAB_EC2_HOME="$ec2home" GAN_LAB_EC2_LOG="$fake/ec2.log" FAKE_SETUP_SECONDS=0 \
    GAN_LAB_HOME="$ec2home/.cache/gan_lab" CARGO_HOME="$ec2home/.cargo" RUSTUP_HOME="$ec2home/.rustup" \
    "$ROOT/environment/ec2/user-data.sh" >/dev/null
if [ -L "$ec2home/gan-lab-setup.status" ] || ! grep -q '^ok seconds=' "$ec2home/gan-lab-setup.status"; then
    fail "EC2: the status file is not a fresh 'ok' file: $(ls -l "$ec2home/gan-lab-setup.status")"
fi
grep -q "gan_lab user data finished .*: ok" "$fake/ec2.log" || fail "EC2: the log has no end line: $(cat "$fake/ec2.log")"
bad=$(find "$ec2home" ! -user "$nb_user" | head -3)
[ -z "$bad" ] || fail "EC2: files in the user's home not owned by $nb_user: $bad"
echo "== EC2 user data: setup ran as $nb_user, status '$(cat "$ec2home/gan-lab-setup.status")'"

sleep 1   # any background job the hostile instances started has ended
after=$(snapshot)
if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after") >&2 || true
    fail "root-owned files changed"
fi
echo "== $(echo "$before" | wc -l) root-owned entries unchanged (owner, mode, size, mtime, sha256)"
echo "== cloud scripts test passed"
