#!/usr/bin/env bash
# Set up (first time) and start the Machi POS counter app. Try: ./run.sh --demo
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
setup_machi app
exec .venv/bin/python main.py "$@"
