#!/bin/bash
# SageMaker notebook instance lifecycle configuration — "Create notebook" script (paste it there).
# Runs once, as root, when the instance is created; returns within seconds and leaves the long
# setup (≈ 30 min on 2 vCPUs) to a background job: follow it with
#   cat /home/ec2-user/SageMaker/.gan_lab/setup.status   # running … / ok … / failed …
#   tail -f /home/ec2-user/SageMaker/.gan_lab/setup.log
# The gan_lab checkout must be in /home/ec2-user/SageMaker/gan_lab: attach it as the instance's
# git repository, or set GAN_LAB_REPO below to have this script clone it.
#
# Root does one thing here: switch to the notebook user (runuser, by absolute path). It reads,
# runs and writes nothing under /home/ec2-user, which the notebook user owns and can fill with
# symlinks; everything else, the checkout's own scripts included, runs as that user.
set -euo pipefail
GAN_LAB_REPO=${GAN_LAB_REPO:-}   # e.g. https://github.com/your-org/gan_lab.git (your copy of the project)
SM_USER=${GAN_LAB_SAGEMAKER_USER:-ec2-user}
export GAN_LAB_REPO GAN_LAB_SAGEMAKER_USER=$SM_USER

as_notebook_user() {
    # The part that runs as the notebook user: clone when asked, then the checkout's lifecycle.sh.
    set -euo pipefail
    local sm_dir=${GAN_LAB_SAGEMAKER_DIR:-/home/ec2-user/SageMaker}
    local repo_dir=${GAN_LAB_REPO_DIR:-$sm_dir/gan_lab}
    if [ ! -f "$repo_dir/environment/sagemaker/lifecycle.sh" ]; then
        if [ -z "$GAN_LAB_REPO" ]; then
            echo "gan_lab: no checkout in $repo_dir and GAN_LAB_REPO is empty: attach the repository to the instance or set GAN_LAB_REPO" >&2
            exit 1
        fi
        timeout 180 git clone --depth 1 "$GAN_LAB_REPO" "$repo_dir"
    fi
    exec /bin/bash "$repo_dir/environment/sagemaker/lifecycle.sh" create
}

if [ "$(/usr/bin/id -u)" = 0 ]; then
    uid=$(/usr/bin/id -u "$SM_USER") || { echo "gan_lab: no user $SM_USER" >&2; exit 1; }
    if [ "$uid" = 0 ]; then echo "gan_lab: the notebook user $SM_USER is root; refusing" >&2; exit 1; fi
    cd /
    exec /usr/sbin/runuser -u "$SM_USER" -- /bin/bash -c "$(declare -f as_notebook_user); as_notebook_user"
fi
as_notebook_user
