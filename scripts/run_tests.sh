#!/usr/bin/env bash
# The test suite (the default suite skips tests marked slow; RUN_SLOW=1 runs them too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MPLBACKEND=Agg BRIAN2LEARN_SMOKE=1
marker=(-m "not slow")
if [ "${RUN_SLOW:-0}" = 1 ]; then marker=(); fi
# Two worker processes (pytest-xdist; TEST_WORKERS=0 runs in one process), each test file in one
# worker: on a fresh machine most of the suite's time is Cython compiling each code object once,
# and two workers compile in parallel (cold cache, 2 loaded cores: 602 s instead of 1285 s).
workers=(-n "${TEST_WORKERS:-2}" --dist loadfile)
# one OpenMP thread per worker (the compiled event loops of models/lif_events_native.py would
# otherwise start one thread per core in each worker, and two workers would fight over the cores)
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
if [ "${TEST_WORKERS:-2}" = 0 ]; then workers=(); fi
.venv/bin/python -m pytest "${marker[@]}" "${workers[@]}" -p no:cacheprovider "$@"
