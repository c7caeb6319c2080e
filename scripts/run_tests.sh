#!/usr/bin/env bash
# The test suite (the default suite skips tests marked slow; RUN_SLOW=1 runs them too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MPLBACKEND=Agg BRIAN2LEARN_SMOKE=1
marker=(-m "not slow")
if [ "${RUN_SLOW:-0}" = 1 ]; then marker=(); fi
.venv/bin/python -m pytest "${marker[@]}" -p no:cacheprovider "$@"
