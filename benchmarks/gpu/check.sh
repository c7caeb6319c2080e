#!/bin/bash
# Run ON the lent GPU machine (after benchmarks/gpu/prepare.sh here), in the repository root:
#   device run: command "bash benchmarks/gpu/check.sh", carry [".whl", ".gpu_data"], timeout_s 580
# 1. installs the carried wheels (brian2 2.8.0, brian2cuda 1.0a7, numpy) into /tmp/site;
# 2. tests/test_cuda_standalone.py: two trained Yin-Yang epochs on the GPU equal to the runtime
#    device's parameters (the compile-only test is left out: the GPU test compiles the same network);
# 3. benchmarks/speed.py on the same machine: Yin-Yang 4-30-3 (one epoch) and MNIST 784-350-10
#    (960 images, scaled) on cuda_standalone and the best CPU devices, into $OUT/speed_gpu.json.
# Logs and results come back under $OUT (the device tool's folder); copy them to benchmarks/.
set -uo pipefail
OUT="${OUT:-/tmp/gpu_out}"; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/brian2learn
export PYTHONPATH=/tmp/pp:/tmp/site PYTHONUNBUFFERED=1
export BRIAN2LEARN_STANDALONE_DIR=/tmp/standalone
{ nvidia-smi -L; nvcc --version | tail -2; python3 -c "import brian2, brian2cuda, numpy; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__, 'numpy', numpy.__version__)"; } 2>&1 | tee "$OUT/versions.txt"
timeout 300 python3 -m pytest -q -p no:cacheprovider -x -k "not without_one" tests/test_cuda_standalone.py 2>&1 | tee "$OUT/test_cuda.log" | tail -15
note="lent GPU machine ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $(nproc) cores), nothing else running"
timeout 200 python3 benchmarks/speed.py --nets yinyang --devices cuda_standalone runtime-cython replay-cython \
    --out "$OUT/speed_gpu.json" --update --note "$note" 2>&1 | tee "$OUT/speed_yinyang.log" | tail -8
timeout 240 python3 benchmarks/speed.py --nets mnist --devices cuda_standalone replay-cython+openmp --n-train 960 \
    --data-dir .gpu_data --out "$OUT/speed_gpu.json" --update --note "$note" 2>&1 | tee "$OUT/speed_mnist.log" | tail -8
