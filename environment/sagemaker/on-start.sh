#!/bin/bash
# SageMaker notebook instance lifecycle configuration — "Start notebook" script (paste it there).
# Runs as root at every start (the first one included); returns within seconds. Registers the
# Rust kernel with Jupyter again (only /home/ec2-user/SageMaker survives a stop), or, while the
# setup is unfinished, starts it again in the background (it resumes where it stopped).
#
# Root does one thing here: switch to the notebook user (runuser, by absolute path). It reads,
# runs and writes nothing under /home/ec2-user, which the notebook user owns and can fill with
# symlinks; everything else, the checkout's own scripts included, runs as that user.
set -euo pipefail
SM_USER=${GAN_LAB_SAGEMAKER_USER:-ec2-user}
export GAN_LAB_SAGEMAKER_USER=$SM_USER

as_notebook_user() {
    # The part that runs as the notebook user: the checkout's lifecycle.sh, if there is a checkout.
    set -euo pipefail
    local sm_dir=${GAN_LAB_SAGEMAKER_DIR:-/home/ec2-user/SageMaker}
    local repo_dir=${GAN_LAB_REPO_DIR:-$sm_dir/gan_lab}
    if [ ! -f "$repo_dir/environment/sagemaker/lifecycle.sh" ]; then
        echo "gan_lab: no checkout in $repo_dir (see on-create.sh); nothing to do" >&2
        exit 0
    fi
    exec /bin/bash "$repo_dir/environment/sagemaker/lifecycle.sh" start
}

if [ "$(/usr/bin/id -u)" = 0 ]; then
    uid=$(/usr/bin/id -u "$SM_USER") || { echo "gan_lab: no user $SM_USER" >&2; exit 1; }
    if [ "$uid" = 0 ]; then echo "gan_lab: the notebook user $SM_USER is root; refusing" >&2; exit 1; fi
    cd /
    exec /usr/sbin/runuser -u "$SM_USER" -- /bin/bash -c "$(declare -f as_notebook_user); as_notebook_user"
fi
as_notebook_user
