#!/usr/bin/env bash
# The SageMaker lifecycle scripts against a fake instance layout: a temporary
# home/ec2-user/SageMaker, this checkout as the attached repository, and a stand-in for the long
# setup (a few seconds, then a fake evcxr_jupyter in the persistent GAN_LAB_HOME). Checks that
# on-create returns at once and its background job records running → ok, that a second on-create
# does not start a second job, that on-start registers the kernel spec with persistent paths (again
# after a "reboot" wiped the home folder), and that a failing setup is recorded as failed.
#
#   gan_lab/tests/sagemaker_lifecycle.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fake=$(mktemp -d /tmp/gan-lab-sagemaker.XXXXXX)
trap 'rm -rf "$fake"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

sm="$fake/home/ec2-user/SageMaker"
kernels="$fake/home/ec2-user/.local/share/jupyter/kernels"
mkdir -p "$sm"
export GAN_LAB_SAGEMAKER_DIR="$sm" GAN_LAB_SAGEMAKER_USER
GAN_LAB_SAGEMAKER_USER=$(id -un)
export GAN_LAB_REPO_DIR="$ROOT" GAN_LAB_KERNELS_DIR="$kernels"

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
chmod +x "$fake/fake-setup.sh"
export GAN_LAB_SETUP_COMMAND="$fake/fake-setup.sh"

ms() { date +%s%3N; }
t=$(ms)
"$ROOT/environment/sagemaker/on-create.sh"
took=$(( $(ms) - t ))
echo "== on-create returned in $took ms"
[ "$took" -lt 5000 ] || fail "on-create took $took ms: SageMaker allows 5 minutes, and the foreground part should take seconds"
status=$(cat "$sm/.gan_lab/setup.status")
case "$status" in starting*|running*) ;; *) fail "status right after on-create: '$status'" ;; esac
sleep 1
"$ROOT/environment/sagemaker/on-create.sh" | grep -q "already running" || fail "a second on-create started a second job"
pid=$(sed -n 's/^running pid=\([0-9]*\).*/\1/p' "$sm/.gan_lab/setup.status")
[ -n "$pid" ] || fail "the job did not record its pid: $(cat "$sm/.gan_lab/setup.status")"
for _ in $(seq 60); do
    grep -q '^ok' "$sm/.gan_lab/setup.status" && break
    sleep 0.5
done
echo "== status: $(cat "$sm/.gan_lab/setup.status")"
grep -q '^ok finished=.* seconds=' "$sm/.gan_lab/setup.status" || fail "the background job did not record ok"
grep -q "fake setup: GAN_LAB_HOME=$sm/.gan_lab/home CARGO_HOME=$sm/.gan_lab/cargo" "$sm/.gan_lab/setup.log" \
    || fail "the job did not run with the persistent homes: $(cat "$sm/.gan_lab/setup.log")"

t=$(ms)
"$ROOT/environment/sagemaker/on-start.sh"
echo "== on-start returned in $(( $(ms) - t )) ms"
spec="$kernels/rust/kernel.json"
[ -f "$spec" ] || fail "on-start registered no kernel spec"
python3 - "$spec" "$sm" <<'PY'
import json, sys
spec, sm = json.load(open(sys.argv[1])), sys.argv[2]
assert spec["argv"][0] == f"{sm}/.gan_lab/home/tools/bin/evcxr_jupyter", spec["argv"]
assert spec["env"]["CARGO_TARGET_DIR"] == f"{sm}/.gan_lab/home/target", spec["env"]
assert spec["env"]["RUSTUP_HOME"] == f"{sm}/.gan_lab/rustup", spec["env"]
assert spec["env"]["GAN_LAB_HOME"] == f"{sm}/.gan_lab/home", spec["env"]
assert spec["env"]["LD_LIBRARY_PATH"].startswith(f"{sm}/.gan_lab/rustup/toolchains/"), spec["env"]
assert spec["env"]["PATH"].startswith(f"{sm}/.gan_lab/cargo/bin:"), spec["env"]
print("   kernel spec:", json.dumps(spec["env"]))
PY

# A stop and start: everything outside SageMaker/ is gone; on-start registers the kernel again.
rm -rf "$fake/home/ec2-user/.local"
"$ROOT/environment/sagemaker/on-start.sh" >/dev/null
[ -f "$spec" ] || fail "on-start after a restart did not register the kernel again"
echo "== kernel spec registered again after a restart"

# A setup that fails is recorded as failed, with its exit status; on-start starts it again.
sm2="$fake/other/SageMaker"
mkdir -p "$sm2"
FAKE_SETUP_FAIL=1 FAKE_SETUP_SECONDS=0 GAN_LAB_SAGEMAKER_DIR="$sm2" "$ROOT/environment/sagemaker/on-create.sh" >/dev/null
for _ in $(seq 40); do grep -q '^failed' "$sm2/.gan_lab/setup.status" && break; sleep 0.25; done
echo "== failing setup: $(cat "$sm2/.gan_lab/setup.status")"
grep -q '^failed rc=3 ' "$sm2/.gan_lab/setup.status" || fail "a failing setup was not recorded as failed rc=3"
FAKE_SETUP_SECONDS=0 GAN_LAB_SAGEMAKER_DIR="$sm2" "$ROOT/environment/sagemaker/on-start.sh" | grep -q "started in the background" \
    || fail "on-start did not restart an unfinished setup"
for _ in $(seq 40); do grep -q '^ok' "$sm2/.gan_lab/setup.status" && break; sleep 0.25; done
grep -q '^ok' "$sm2/.gan_lab/setup.status" || fail "the restarted setup did not finish: $(cat "$sm2/.gan_lab/setup.status")"
echo "== SageMaker lifecycle test passed"
