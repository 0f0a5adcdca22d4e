#!/usr/bin/env bash
# Sets up what is missing (environment/setup.sh), then executes every notebook headless with the
# evcxr kernel and writes reports/<notebook>.html. Arguments go to notebooks/execute.py:
#   --quick               about a minute of training per notebook (GAN_LAB_QUICK=1)
#   --reports DIR         where the HTML reports go (default reports/)
#   notebooks/03_*.ipynb  only these notebooks
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GAN_LAB_HOME=${GAN_LAB_HOME:-$HOME/.cache/gan_lab}
"$ROOT/environment/setup.sh"
exec "$GAN_LAB_HOME/venv/bin/python" "$ROOT/notebooks/execute.py" "$@"
