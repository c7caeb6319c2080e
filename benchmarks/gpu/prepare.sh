#!/bin/bash
# Run HERE (a machine with pip access), in the repository root, before a GPU check on a lent device
# machine (which has Python 3.12, CUDA 13 and no package index): downloads the wheels that machine
# lacks into .whl/ and copies MNIST into .gpu_data/ (both ignored by git, carried by the device call).
#
#   bash benchmarks/gpu/prepare.sh [SHARED_DATASETS]      # default ../shared/datasets
#   then the device call: command "bash benchmarks/gpu/check.sh", carry [".whl", ".gpu_data"]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
for d in /.whl/ /.gpu_data/; do grep -qxF "$d" "$exclude" 2>/dev/null || echo "$d" >> "$exclude"; done
rm -rf .whl && mkdir -p .whl
# brian2cuda 1.0b1 pins brian2 2.10.1 (setup.cfg's gpu extra and install_requires), which needs
# numpy >= 2.0 and Cython < 3.1.4 (stricter than brian2 2.8, so both are carried: the device's own
# may not fit; numpy 2.3.5 as before, the suite here also passes with 2.5). Any pip that runs does:
# --python-version picks the wheels for the device's Python 3.12, whatever this machine's Python is.
pip_download() {
  local py
  for py in "${PYTHON:-}" python3 python3.12 python3.13; do
    if [ -n "$py" ] && "$py" -m pip --version >/dev/null 2>&1; then
      "$py" -m pip download "$@"; return
    fi
  done
  echo "[prepare] no python with pip found (set PYTHON=/path/to/python3)" >&2; return 1
}
pip_download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl brian2==2.10.1 brian2cuda==1.0b1 numpy==2.3.5 cython==3.1.3
mkdir -p .gpu_data/mnist
cp "${1:-../shared/datasets}"/mnist/*.gz .gpu_data/mnist/
du -sh .whl .gpu_data
