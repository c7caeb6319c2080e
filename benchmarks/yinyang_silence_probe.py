"""Probe one Yin-Yang training run for silent neurons (a diagnostic, writes no results file).

    python benchmarks/yinyang_silence_probe.py SEED > logs/yinyang_453_seed<SEED>_probe.log

Trains 4-5-3 W+synaptic on the replay simulator with the settings of the benchmark's
"4-5-3 W+synaptic final_decay=100 bump_dead batch=50 simulator=replay" entry and, after epochs 1-3
and every 25th, prints the training-set accuracy, the number of batches that needed a weight bump,
the fraction of training samples for which each hidden and each output neuron stays silent, and the
test accuracy. Used to tell a dead-neuron failure (a hidden neuron silent for every sample) from a
poor minimum (benchmarks/README.md, Yin-Yang).
"""
import sys

import numpy as np

from brian2learn.experiments.yinyang import build
from brian2learn.training import predict

seed = int(sys.argv[1])
tr, cfg = build("4-5-3 W+synaptic", seed=seed, simulator="replay", progress=False, batch_size=50,
                final_decay=100, bump_dead=True)
x, y = tr.train
for e in range(300):
    r = tr.train_epoch()
    if (e + 1) % 25 == 0 or e < 3:
        hid, outs = [], []
        tr.net.run_trials(x, lambda k, rec: (hid.append(rec.layers[1][:rec.n_valid].copy()),
                                             outs.append(rec.output[:rec.n_valid].copy())))
        H, O = np.concatenate(hid), np.concatenate(outs)
        acc = np.mean(predict(O) == y)
        print(e + 1, "train acc %.3f" % acc, "bumped", r["bumped_batches"], "hidden silent frac",
              np.round(np.isinf(H).mean(0), 2), "out silent", np.round(np.isinf(O).mean(0), 2),
              "test %.3f" % tr.evaluate()[0], flush=True)
