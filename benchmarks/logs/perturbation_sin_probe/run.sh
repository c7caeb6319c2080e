#!/usr/bin/env bash
# The probe settings, in order (each line of probe.log's RESULT lines comes from one of them).
P="env PYTHONPATH=/tmp/pp-run OMP_NUM_THREADS=1 /work/main/.venv/bin/python probe.py"
$P 6000 0.02 8 0.01
$P 6000 0.005 8 0.01
$P 6000 0.05 8 0.01
$P 6000 0.02 8 0.001
$P 6000 0.02 8 0.05
$P 6000 0.02 32 0.01
$P 6000 0.02 8 0.01 gaussian 0
