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
# brian2cuda 1.0a7 pins brian2 2.8.0 (setup.cfg's gpu extra); numpy < 2.4 as setup.cfg pins
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl brian2==2.8.0 brian2cuda==1.0a7 numpy==2.3.5
mkdir -p .gpu_data/mnist
cp "${1:-../shared/datasets}"/mnist/*.gz .gpu_data/mnist/
du -sh .whl .gpu_data
