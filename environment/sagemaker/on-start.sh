#!/usr/bin/env bash
# SageMaker notebook instance lifecycle configuration — "Start notebook" script (paste it there).
# Runs as root at every start (the first one included); returns within seconds. Registers the
# Rust kernel with Jupyter again (only /home/ec2-user/SageMaker survives a stop), or, while the
# setup is unfinished, starts it again in the background (it resumes where it stopped).
set -euo pipefail
SM_DIR=${GAN_LAB_SAGEMAKER_DIR:-/home/ec2-user/SageMaker}
REPO_DIR=${GAN_LAB_REPO_DIR:-$SM_DIR/gan_lab}
if [ ! -x "$REPO_DIR/environment/sagemaker/lifecycle.sh" ]; then
    echo "gan_lab: no checkout in $REPO_DIR (see on-create.sh); nothing to do" >&2
    exit 0
fi
exec "$REPO_DIR/environment/sagemaker/lifecycle.sh" start
