#!/usr/bin/env bash
# Install everything a fresh machine needs: a C++ compiler for Brian2's Cython target, a venv,
# and the package with its test extras. Idempotent; called by run_main.sh and run_tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v g++ >/dev/null 2>&1; then
  echo "[bootstrap] installing a C++ compiler (g++) for Brian2's Cython target"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq g++ >/dev/null
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[bootstrap] creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
stamp=.venv/.brian2learn-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
  echo "[bootstrap] pip install -e .[test,hardware]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,hardware]"
  touch "$stamp"
fi
