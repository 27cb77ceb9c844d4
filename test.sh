#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
setup_machi dev
export QT_QPA_PLATFORM=offscreen
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "[machi-pos] pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
