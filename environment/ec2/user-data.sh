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
set -euo pipefail
GAN_LAB_REPO="https://github.com/your-org/gan_lab.git"   # your copy of the project
GAN_LAB_REF="main"

exec > >(tee -a /var/log/gan-lab-setup.log) 2>&1
echo "== gan_lab user data started $(date -u +%FT%TZ)"
user=""
for candidate in ec2-user ubuntu admin; do
    if id "$candidate" >/dev/null 2>&1; then user=$candidate; break; fi
done
if [ -z "$user" ]; then echo "no ec2-user, ubuntu or admin account" >&2; exit 1; fi
home=$(getent passwd "$user" | cut -d: -f6)

if ! command -v git >/dev/null; then
    if command -v dnf >/dev/null; then dnf install -y git; else apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y git; fi
fi
if [ ! -d "$home/gan_lab/.git" ]; then
    sudo -u "$user" -H git clone --branch "$GAN_LAB_REF" "$GAN_LAB_REPO" "$home/gan_lab"
fi

features=""
if grep -qs 0x10de /sys/bus/pci/devices/*/vendor; then
    features=cuda
    echo "== NVIDIA device found: building the engine with the cuda feature"
fi

status="$home/gan-lab-setup.status"
start=$(date +%s)
if sudo -u "$user" -H env GAN_LAB_ENGINE_FEATURES="$features" "$home/gan_lab/environment/setup.sh"; then
    echo "ok seconds=$(( $(date +%s) - start ))" > "$status"
else
    echo "failed rc=$? log=/var/log/gan-lab-setup.log" > "$status"
fi
chown "$user" "$status"
echo "== gan_lab user data finished $(date -u +%FT%TZ): $(cat "$status")"
