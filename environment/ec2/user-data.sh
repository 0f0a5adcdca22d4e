#!/bin/bash
# EC2 user data for gan_lab: paste this file into "Advanced details → User data" when launching an
# Amazon Linux 2023 or Ubuntu instance. It runs once, as root, at first boot, and sets the lab up for
# the default user (ec2-user or ubuntu) with environment/setup.sh:
#   - clones your copy of gan_lab (GAN_LAB_REPO below) into ~/gan_lab;
#   - on a GPU instance (an NVIDIA device on the PCI bus) builds the engine with the `cuda` feature
#     — use an AMI with the NVIDIA driver and CUDA toolkit (e.g. a Deep Learning AMI), since burn-cuda
#     loads the driver and NVRTC at run time;
#   - logs to /var/log/gan-lab-setup.log and leaves ~/gan-lab-setup.status (ok … / failed …).
# Then: ssh -L 8888:127.0.0.1:8888 <user>@<instance>, and on the instance run the JupyterLab command
# printed at the end of the log (it listens on 127.0.0.1 only and asks for its token).
#
# As root it only installs git when missing, looks for an NVIDIA device and writes its own log; it
# calls every program by absolute path and touches nothing in the user's home, which runs as that
# user (runuser): the clone, setup.sh and the status file.
# Settings for tests: GAN_LAB_EC2_USER, GAN_LAB_EC2_HOME, GAN_LAB_EC2_LOG, GAN_LAB_SETUP_COMMAND.
set -euo pipefail
GAN_LAB_REPO="https://github.com/your-org/gan_lab.git"   # your copy of the project
GAN_LAB_REF="main"
LOG=${GAN_LAB_EC2_LOG:-/var/log/gan-lab-setup.log}

exec > >(/usr/bin/tee -a "$LOG") 2>&1
echo "== gan_lab user data started $(/usr/bin/date -u +%FT%TZ)"
user=${GAN_LAB_EC2_USER:-}
for candidate in ec2-user ubuntu admin; do
    if [ -z "$user" ] && /usr/bin/id "$candidate" >/dev/null 2>&1; then user=$candidate; fi
done
if [ -z "$user" ]; then echo "no ec2-user, ubuntu or admin account" >&2; exit 1; fi
if [ "$(/usr/bin/id -u "$user")" = 0 ]; then echo "the default user $user is root; refusing" >&2; exit 1; fi

if [ ! -x /usr/bin/git ]; then
    if [ -x /usr/bin/dnf ]; then /usr/bin/dnf install -y git
    else /usr/bin/apt-get update -q && DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y git; fi
fi
features=""
if /usr/bin/grep -qs 0x10de /sys/bus/pci/devices/*/vendor; then
    features=cuda
    echo "== NVIDIA device found: building the engine with the cuda feature"
fi
export GAN_LAB_REPO GAN_LAB_REF GAN_LAB_ENGINE_FEATURES=$features

as_default_user() {
    # The part that runs as the default user: clone, setup.sh, and the status file.
    set -uo pipefail
    cd "${GAN_LAB_EC2_HOME:-$HOME}" || exit 1
    if [ ! -d gan_lab/.git ]; then
        git clone --branch "$GAN_LAB_REF" "$GAN_LAB_REPO" gan_lab || exit 1
    fi
    local start rc
    start=$(date +%s)
    "${GAN_LAB_SETUP_COMMAND:-$PWD/gan_lab/environment/setup.sh}"
    rc=$?
    rm -f gan-lab-setup.status.tmp
    if [ $rc -eq 0 ]; then
        echo "ok seconds=$(( $(date +%s) - start ))" > gan-lab-setup.status.tmp
    else
        echo "failed rc=$rc log=$LOG" > gan-lab-setup.status.tmp
    fi
    mv -f gan-lab-setup.status.tmp gan-lab-setup.status
    echo "== gan_lab user data finished $(date -u +%FT%TZ): $(cat gan-lab-setup.status)"
    exit $rc
}

cd /
LOG=$LOG /usr/sbin/runuser -u "$user" -- /bin/bash -c "$(declare -f as_default_user); as_default_user"
