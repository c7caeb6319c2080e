#!/bin/bash
# Run ON the lent GPU machine (after benchmarks/gpu/prepare.sh here), in the repository root:
#   device run: command "bash benchmarks/gpu/check.sh", carry [".whl", ".gpu_data"], timeout_s 580
# 1. installs the carried cp312 wheels (brian2 2.10.1, brian2cuda 1.0b1, numpy, Cython) into /tmp/site
#    for the machine's Python 3.12 ($PYTHON, else python3 or python3.12 if it runs and is 3.12), and
#    says in versions.txt whether brian2's other requirements (sympy, jinja2, ...) are met there;
# 2. tests/test_cuda_standalone.py: two trained Yin-Yang epochs on the GPU equal to the runtime
#    device's parameters (the compile-only test is left out: the GPU test compiles the same network);
# 3. benchmarks/speed.py on the same machine: Yin-Yang 4-30-3 (one epoch) and MNIST 784-350-10
#    (960 images, scaled) on cuda_standalone and the best CPU devices, into $OUT/speed_gpu.json.
# Logs and results come back under $OUT (the device tool's folder); copy them to benchmarks/.
# CHECK_SETUP_ONLY=1 stops after step 1 (a dry run on a machine without a GPU).
set -uo pipefail
OUT="${OUT:-/tmp/gpu_out}"; mkdir -p "$OUT"
PY=""
for c in "${PYTHON:-}" python3 python3.12; do
  if [ -n "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then PY="$c"; break; fi
done
if [ -z "$PY" ]; then
  echo "[check] no Python 3.12 that runs (the carried wheels are cp312): set PYTHON=/path/to/python3.12" | tee "$OUT/versions.txt"
  exit 1
fi
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/brian2learn
export PYTHONPATH=/tmp/pp:/tmp/site PYTHONUNBUFFERED=1
export BRIAN2LEARN_STANDALONE_DIR=/tmp/standalone
{ nvidia-smi -L; nvcc --version | tail -2
  "$PY" -c "import sys, brian2, brian2cuda, numpy, Cython; print('python', sys.version.split()[0], 'brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__, 'numpy', numpy.__version__, 'Cython', Cython.__version__)"
  "$PY" -c "
from importlib.metadata import requires, version, PackageNotFoundError
try:
    from packaging.requirements import Requirement
except ImportError:
    raise SystemExit('brian2/brian2cuda requirements: NOT MET: packaging (missing; brian2 needs it)')
bad = []
for r in map(Requirement, requires('brian2') + requires('brian2cuda')):
    if r.marker is not None and not r.marker.evaluate({'extra': ''}):
        continue
    try:
        v = version(r.name)
    except PackageNotFoundError:
        bad.append(f'{r} (missing)')
        continue
    if not r.specifier.contains(v, prereleases=True):
        bad.append(f'{r} (have {v})')
print('brian2/brian2cuda requirements:', 'NOT MET: ' + '; '.join(bad) if bad else 'all met')
"; } 2>&1 | tee "$OUT/versions.txt"
if [ "${CHECK_SETUP_ONLY:-0}" = 1 ]; then exit 0; fi
timeout 300 "$PY" -m pytest -q -p no:cacheprovider -x -k "not without_one" tests/test_cuda_standalone.py 2>&1 | tee "$OUT/test_cuda.log" | tail -15
note="lent GPU machine ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $(nproc) cores), nothing else running"
timeout 200 "$PY" benchmarks/speed.py --nets yinyang --devices cuda_standalone runtime-cython replay-cython \
    --out "$OUT/speed_gpu.json" --update --note "$note" 2>&1 | tee "$OUT/speed_yinyang.log" | tail -8
timeout 240 "$PY" benchmarks/speed.py --nets mnist --devices cuda_standalone replay-cython+openmp --n-train 960 \
    --data-dir .gpu_data --out "$OUT/speed_gpu.json" --update --note "$note" 2>&1 | tee "$OUT/speed_mnist.log" | tail -8
