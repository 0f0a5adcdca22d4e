#!/usr/bin/env bash
# What SageMaker's lifecycle scripts (on-create.sh, on-start.sh) run, from the gan_lab checkout in
# the persistent folder. SageMaker gives each script 5 minutes and keeps only
# /home/ec2-user/SageMaker across stops, so:
#   - the toolchain (RUSTUP_HOME, CARGO_HOME), the Jupyter venv, the evcxr kernel and every build
#     cache (GAN_LAB_HOME) live under /home/ec2-user/SageMaker/.gan_lab/;
#   - the long work (environment/setup.sh: ≈ 30 min the first time on 2 vCPUs) runs as a
#     background job, which records its state in .gan_lab/setup.status and its output in
#     .gan_lab/setup.log;
#   - at every start the kernel spec is registered again (the home folder is new) and an
#     unfinished setup is started again (each of its steps resumes where it stopped).
#
#   lifecycle.sh create | start | status
#
# It runs as the notebook user, never as root: on-create.sh and on-start.sh switch to that user
# before they touch anything in the persistent folder (which the user can change at will).
#
# Settings (environment, for tests and unusual layouts):
#   GAN_LAB_SAGEMAKER_DIR   the persistent folder (default /home/ec2-user/SageMaker)
#   GAN_LAB_KERNELS_DIR     where Jupyter finds kernel specs (default ~/.local/share/jupyter/kernels)
#   GAN_LAB_SETUP_COMMAND   the long job (default: this checkout's environment/setup.sh)
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
    echo "gan_lab: lifecycle.sh runs as the notebook user, not as root (on-create.sh and on-start.sh switch to it)" >&2
    exit 1
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SM_DIR=${GAN_LAB_SAGEMAKER_DIR:-/home/ec2-user/SageMaker}
STATE=$SM_DIR/.gan_lab
STATUS=$STATE/setup.status
LOG=$STATE/setup.log
KERNELS_DIR=${GAN_LAB_KERNELS_DIR:-$HOME/.local/share/jupyter/kernels}
SETUP=${GAN_LAB_SETUP_COMMAND:-$ROOT/environment/setup.sh}

write_env() {
    mkdir -p "$STATE"
    cat > "$STATE/env.sh.tmp" <<ENV
# Written by gan_lab's SageMaker lifecycle scripts: everything lives in the persistent folder.
export RUSTUP_HOME="$STATE/rustup"
export CARGO_HOME="$STATE/cargo"
export GAN_LAB_HOME="$STATE/home"
export CARGO_TARGET_DIR="$STATE/home/target"
export GAN_LAB_KERNELS_DIR="$KERNELS_DIR"
export PATH="$STATE/cargo/bin:\$PATH"
ENV
    mv "$STATE/env.sh.tmp" "$STATE/env.sh"
}

job_running() {
    local pid
    # "starting" is written just before the job is launched; the job replaces it within a second.
    if [ "$(cut -d' ' -f1 "$STATUS" 2>/dev/null)" = starting ] && [ $(( $(date +%s) - $(stat -c %Y "$STATUS") )) -lt 60 ]; then
        return 0
    fi
    pid=$(sed -n 's/^running pid=\([0-9]*\).*/\1/p' "$STATUS" 2>/dev/null)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start_job() {
    if job_running; then
        echo "gan_lab setup: already running ($(cat "$STATUS"))"
        return
    fi
    # The job: the setup, then its outcome in the status file.
    cat > "$STATE/setup-job.sh" <<JOB
#!/usr/bin/env bash
. "$STATE/env.sh"
echo "running pid=\$\$ since=\$(date -u +%FT%TZ) log=$LOG" > "$STATUS.tmp" && mv "$STATUS.tmp" "$STATUS"
start=\$(date +%s)
echo "== gan_lab setup started \$(date -u +%FT%TZ) on \$(hostname)"
"$SETUP"
rc=\$?
if [ \$rc -eq 0 ]; then
    echo "ok finished=\$(date -u +%FT%TZ) seconds=\$(( \$(date +%s) - start ))" > "$STATUS.tmp"
else
    echo "failed rc=\$rc finished=\$(date -u +%FT%TZ) log=$LOG" > "$STATUS.tmp"
fi
mv "$STATUS.tmp" "$STATUS"
exit \$rc
JOB
    chmod +x "$STATE/setup-job.sh"
    echo "starting since=$(date -u +%FT%TZ) log=$LOG" > "$STATUS"
    # setsid + nohup: the job outlives this script (SageMaker waits only for the script itself).
    setsid nohup "$STATE/setup-job.sh" >> "$LOG" 2>&1 < /dev/null &
    echo "gan_lab setup: started in the background; state in $STATUS, output in $LOG"
}

register_kernel() {
    # shellcheck source=/dev/null
    . "$STATE/env.sh"
    if [ -x "$GAN_LAB_HOME/tools/bin/evcxr_jupyter" ] && command -v rustc >/dev/null; then
        "$ROOT/environment/kernel-spec.sh" "$KERNELS_DIR" "$GAN_LAB_HOME/tools/bin/evcxr_jupyter" "$CARGO_TARGET_DIR" "${GAN_LAB_ENGINE_FEATURES:-}"
    else
        echo "gan_lab setup: the kernel is not installed yet; the setup job registers it when it ends"
    fi
}

case "${1:-}" in
    create)
        write_env
        start_job
        ;;
    start)
        write_env
        if [ "$(cut -d' ' -f1 "$STATUS" 2>/dev/null)" = ok ]; then
            register_kernel
        else
            start_job
        fi
        ;;
    status)
        cat "$STATUS" 2>/dev/null || echo "not started"
        ;;
    *)
        echo "usage: $0 create|start|status" >&2
        exit 2
        ;;
esac
