#!/usr/bin/env bash
# SageMaker notebook instance lifecycle configuration — "Create notebook" script (paste it there).
# Runs once, as root, when the instance is created; returns within seconds and leaves the long
# setup (≈ 30 min on 2 vCPUs) to a background job: follow it with
#   cat /home/ec2-user/SageMaker/.gan_lab/setup.status   # running … / ok … / failed …
#   tail -f /home/ec2-user/SageMaker/.gan_lab/setup.log
# The gan_lab checkout must be in /home/ec2-user/SageMaker/gan_lab: attach it as the instance's
# git repository, or set GAN_LAB_REPO below to have this script clone it.
set -euo pipefail
GAN_LAB_REPO=""   # e.g. https://github.com/your-org/gan_lab.git (your copy of the project)
SM_DIR=${GAN_LAB_SAGEMAKER_DIR:-/home/ec2-user/SageMaker}
REPO_DIR=${GAN_LAB_REPO_DIR:-$SM_DIR/gan_lab}
SM_USER=${GAN_LAB_SAGEMAKER_USER:-ec2-user}

if [ ! -x "$REPO_DIR/environment/sagemaker/lifecycle.sh" ]; then
    if [ -z "$GAN_LAB_REPO" ]; then
        echo "gan_lab: no checkout in $REPO_DIR and GAN_LAB_REPO is empty: attach the repository to the instance or set GAN_LAB_REPO" >&2
        exit 1
    fi
    if [ "$(id -un)" = "$SM_USER" ]; then
        timeout 180 git clone --depth 1 "$GAN_LAB_REPO" "$REPO_DIR"
    else
        timeout 180 sudo -u "$SM_USER" -H git clone --depth 1 "$GAN_LAB_REPO" "$REPO_DIR"
    fi
fi
exec "$REPO_DIR/environment/sagemaker/lifecycle.sh" create
