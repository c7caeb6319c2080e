#!/usr/bin/env bash
# Install everything a fresh machine needs: a C++ compiler for Brian2's Cython target, a Python
# >= 3.12 venv (brian2 2.10.1 and brian2cuda 1.0b1 need it), and the package with its test extras.
# Idempotent; called by run_main.sh and run_tests.sh.
#
# The interpreter: $PYTHON if set; else the first of python3.12, python3.13, python3 on the PATH that
# runs and is >= 3.12 (a pyenv shim for a version that is not pyenv's active one is on the PATH but
# fails, so each candidate is run, not just looked up); else pyenv's installs
# (~/.pyenv/versions/3.1[2-9]*). 3.12 first: the version of the lent GPU machine (benchmarks/gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
MIN="3.12"
if ! command -v g++ >/dev/null 2>&1; then
  echo "[bootstrap] installing a C++ compiler (g++) for Brian2's Cython target"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq g++ >/dev/null
fi

# usable PY: runs, and is >= 3.12
usable() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
version_of() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo "?"; }

find_python() {
  local c d
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return 0; fi
  for c in python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && usable "$c"; then command -v "$c"; return 0; fi
  done
  for d in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
    for c in "$d"/bin/python3.1[2-9]; do
      if [ -x "$c" ] && usable "$c"; then echo "$c"; return 0; fi
    done
  done
  return 1
}

if [ -n "${PYTHON:-}" ] && ! usable "$PYTHON"; then
  echo "[bootstrap] PYTHON=$PYTHON does not run or is older than $MIN (Python $(version_of "$PYTHON"));" \
       "unset it or point it at a Python >= $MIN" >&2
  exit 1
fi
venv_python_ok() { [ -x .venv/bin/python ] && usable .venv/bin/python; }

if ! venv_python_ok; then
  if ! PY=$(find_python); then
    cat >&2 <<EOF
[bootstrap] no Python >= $MIN found (brian2 2.10.1 and brian2cuda 1.0b1 need it).
  Tried: \$PYTHON (unset), python3.12 / python3.13 / python3 on the PATH, ~/.pyenv/versions/3.1[2-9]*.
  Install one, then rerun:
    - pyenv:        pyenv install 3.12          (found under ~/.pyenv/versions without pyenv global)
    - Debian/Ubuntu: sudo apt-get install python3.12 python3.12-venv   (deadsnakes PPA on older releases)
    - or point at one: PYTHON=/path/to/python3.12 bash $0
EOF
    exit 1
  fi
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    v=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "[bootstrap] $PY ($(version_of "$PY")) has no venv/ensurepip module: install python$v-venv" \
         "(sudo apt-get install python$v-venv) or use another interpreter (PYTHON=...)" >&2
    exit 1
  fi
  if [ -e .venv ]; then
    echo "[bootstrap] .venv has Python $(version_of .venv/bin/python), older than $MIN or not runnable: recreating it"
    rm -rf .venv
  fi
  echo "[bootstrap] creating .venv with $PY (Python $(version_of "$PY"))"
  "$PY" -m venv .venv
fi
stamp=.venv/.brian2learn-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
  echo "[bootstrap] pip install -e .[test,hardware]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,hardware]"
  touch "$stamp"
fi
