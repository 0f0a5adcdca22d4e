#!/usr/bin/env bash
# A real Slurm on this machine: installs Debian's slurm and munge packages if missing, starts munged,
# slurmctld and slurmd on loopback with a minimal configuration of its own (in a temporary folder;
# the system's /etc/slurm is not touched), submits a 4-run quick sweep with `gan-lab sweep --slurm`,
# waits for it, checks the four run folders and the grouped table, and stops the daemons.
#
#   gan_lab/tests/slurm_sweep.sh            # uses $GAN_LAB_BIN or $CARGO_TARGET_DIR/release/gan-lab
#
# Needs root (package install, daemons). Runs in CI after `cargo test --release`.
set -euo pipefail

target="${CARGO_TARGET_DIR:-$HOME/.cache/gan_lab/target}"
bin="${GAN_LAB_BIN:-$target/release/gan-lab}"
if [[ ! -x "$bin" ]]; then
    echo "gan-lab binary not found at $bin: run 'cargo build --release' first (or set GAN_LAB_BIN)" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "this test starts slurmd and munged and may install packages: run it as root" >&2
    exit 1
fi

t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 )) s"; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "== installing slurmctld, slurmd, slurm-client and munge from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
echo "== $(slurmctld -V), $(munged --version 2>&1 | head -1) ($(elapsed))"

state=$(mktemp -d /tmp/gan-lab-slurm.XXXXXX)
chmod 755 "$state"
mkdir -p "$state"/{munge,spool/ctld,spool/d,log}
chmod 700 "$state/munge"

stop() {
    for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/munged.pid"; do
        if [[ -f "$pidfile" ]]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    sleep 1
    rm -rf "$state"
}
trap stop EXIT

show_logs() {
    for f in "$state"/log/*.log; do
        echo "---- $f" >&2
        tail -20 "$f" >&2
    done
}

# munge: a fresh key and its own socket.
head -c 1024 /dev/urandom > "$state/munge/munge.key"
chmod 400 "$state/munge/munge.key"
munged --force --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munge/munged.pid" --log-file="$state/log/munged.log" --seed-file="$state/munge/seed"

node=$(hostname -s)
cat > "$state/slurm.conf" <<CONF
ClusterName=ganlab
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=lab Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$state/slurm.conf"
slurmctld
slurmd
for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then break; fi
    sleep 0.5
done
if ! sinfo -h -o %T | grep -q idle; then
    echo "slurm did not come up:" >&2
    sinfo >&2 || true
    show_logs
    exit 1
fi
echo "== slurmctld + slurmd up on $node, $(nproc) CPUs ($(elapsed))"
sinfo

# A 4-run quick sweep: 2 optimisers × 2 seeds of the MLP GAN, 20 steps on 1,024 MNIST images.
runs="$state/runs"
cat > "$state/plan.json" <<'PLAN'
{
  "name": "slurm-quick",
  "base": "mlp-gan",
  "set": {"data.limit": 1024, "train.log_every": 10, "train.sample_every": 20, "train.checkpoint_every": 20, "train.eval_samples": 256},
  "axes": {"optimizer": ["sgd", "adam"]},
  "seeds": [0, 1],
  "steps": 20
}
PLAN
submitted=$(date +%s)
"$bin" sweep "$state/plan.json" --runs-dir "$runs" --slurm --threads 1
for _ in $(seq 300); do
    status=$("$bin" sweep status "$state/plan.json" --runs-dir "$runs" | tail -1)
    if [[ "$status" != *pending* && "$status" != *running* ]] && ! squeue -h | grep -q .; then break; fi
    sleep 1
done
echo "== the sweep ran in $(( $(date +%s) - submitted )) s ($(elapsed))"
"$bin" sweep status "$state/plan.json" --runs-dir "$runs"
if [[ "$status" != "sweep slurm-quick: 4 runs: done 4" ]]; then
    echo "expected all four runs done, got: $status" >&2
    squeue >&2 || true
    for f in "$runs"/.sweeps/*/slurm-*.out "$runs"/*/worker.log; do echo "---- $f" >&2; tail -5 "$f" >&2; done
    show_logs
    exit 1
fi

fail() { echo "FAILED: $*" >&2; exit 1; }
count=0
for dir in "$runs"/slurm-quick-*; do
    count=$((count + 1))
    for f in config.json sweep.json summary.json metrics.parquet worker.log; do
        [[ -f "$dir/$f" ]] || fail "$dir has no $f"
    done
    grep -q "== slurm job" "$dir/worker.log" || fail "$dir/worker.log does not come from a Slurm task"
    grep -q '"steps": 20' "$dir/summary.json" || fail "$dir/summary.json does not record 20 steps"
done
[[ $count -eq 4 ]] || fail "expected 4 run folders, found $count"
echo "== four run folders with config, summary, metrics and the task's log"

table=$("$bin" runs "$runs" --group-by config)
echo "$table"
grep -q "^4 runs in 2 groups" <<<"$table" || fail "the grouped table does not have 4 runs in 2 groups"
[[ $(grep -cE "slurm-quick-(sgd|adam) .* 2 .* 0,1 " <<<"$table") -eq 2 ]] || fail "each group should hold 2 runs with seeds 0,1"

again=$("$bin" sweep "$state/plan.json" --runs-dir "$runs" --slurm --threads 1)
echo "$again"
[[ "$again" == *"nothing to submit (done 4)"* ]] || fail "a second submission should skip the finished runs"

# A run that reaches its time limit: Slurm's warning signal (SIGTERM to the worker, here 100 s
# before a 2-minute limit) stops it after the step in progress with a checkpoint; a new submission
# (with a budget it can finish) continues it.
cat > "$state/long.json" <<'PLAN'
{"name": "slurm-limit", "base": "mlp-gan", "set": {"data.limit": 1024, "train.log_every": 10, "train.checkpoint_every": 1000000, "train.eval_samples": 0}, "seeds": [0], "steps": 100000000}
PLAN
"$bin" sweep "$state/long.json" --runs-dir "$runs" --slurm --threads 1 --slurm-arg=--time=2 --slurm-arg=--signal=B:TERM@100
for _ in $(seq 120); do
    status=$("$bin" sweep status "$state/long.json" --runs-dir "$runs" | tail -1)
    if [[ "$status" != *pending* && "$status" != *running* ]] && ! squeue -h | grep -q .; then break; fi
    sleep 1
done
long_log=$(cat "$runs"/slurm-limit-*/worker.log)
grep -E "stopped by SIGTERM at step [0-9]+ of 100000000; checkpoint written" <<<"$long_log" || { echo "$long_log" | tail -5 >&2; fail "the worker was not stopped by Slurm's warning signal"; }
[[ "$status" == "sweep slurm-limit: 1 runs: unfinished 1" ]] || fail "expected the run unfinished, got: $status"
[[ ! -e "$(echo "$runs"/slurm-limit-*)/.lock" ]] || fail "the stopped worker left its lock"
reached=$(grep -oE "stopped by SIGTERM at step [0-9]+" <<<"$long_log" | grep -oE "[0-9]+$")
sed -i "s/\"steps\": 100000000/\"steps\": $((reached + 5))/" "$state/long.json"
"$bin" sweep "$state/long.json" --runs-dir "$runs" --slurm --threads 1
for _ in $(seq 120); do
    status=$("$bin" sweep status "$state/long.json" --runs-dir "$runs" | tail -1)
    if [[ "$status" != *pending* && "$status" != *running* && "$status" != *unfinished* ]] && ! squeue -h | grep -q .; then break; fi
    sleep 1
done
[[ "$status" == "sweep slurm-limit: 1 runs: done 1" ]] || fail "the resubmitted run did not finish: $status"
grep -q "step $reached of $((reached + 5))" "$runs"/slurm-limit-*/worker.log || fail "the resubmitted worker did not continue from step $reached"
echo "== a run stopped by Slurm's time-limit signal at step $reached continued on resubmission ($(elapsed))"
echo "== slurm sweep test passed in $(elapsed)"
