#!/usr/bin/env bash
# The main job: train a 4-30-3 LIF network with weights + synaptic delays on Yin-Yang with exact
# event-based gradients; prints train/test accuracy per epoch, writes output/yinyang/{yinyang.png,results.json}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m brian2learn train yinyang --config "4-30-3 W+synaptic" --epochs "${EPOCHS:-100}" --out output/yinyang "$@"
