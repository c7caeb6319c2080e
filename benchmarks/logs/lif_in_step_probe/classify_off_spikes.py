"""Probe (2026-12-07): why were ~0.1 % of the Brian2 run's spikes off the closed form at dt = 0.01 tau_s?

    PYTHONPATH=<dir with brian2learn -> a checkout of 41eabc1> python classify_off_spikes.py "4-30-3 W+synaptic" 100

Trains the config (seed 0) on the replay for the given epochs, then runs the training set once on
Brian2 and on the replay with those parameters, and classifies each hidden/output spike that is
missing from one run or off by more than 1e-3 tau_s: (layer, kind, inputs arriving in the step of the
replay's crossing, of those after the crossing, whether one of these is inhibitory). An output spike
whose sample also has an off hidden spike is counted as 'inherited'. Output: classify_off_spikes.log
(run on commit 41eabc1, before models/lif.py took a step's inputs in order; on later commits it finds
none).
"""
import sys
from collections import Counter

import numpy as np

from brian2learn.experiments.yinyang import build

config = sys.argv[1] if len(sys.argv) > 1 else "4-30-3 W+synaptic"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
trainer, cfg = build(config, seed=0, progress=False, simulator="replay")
for _ in range(epochs):
    trainer.train_epoch()
net, dt = trainer.net, cfg["dt"]
x, _ = trainer.train
B = net.batch_size
D = [net.total_delays(l) for l in range(net.n_layers)]
counts, diffs = Counter(), {}


def on_trial(k, rec_b):
    m = rec_b.n_valid
    rec_r = net._replay_record(x[k * B:k * B + m])
    for l in range(net.n_layers):
        tb, tr = rec_b.layers[l + 1][:m], rec_r.layers[l + 1][:m]
        pre = rec_r.presynaptic(l)[:m]
        fb, fr = np.isfinite(tb), np.isfinite(tr)
        with np.errstate(invalid="ignore"):
            bad = (fb != fr) | (fb & fr & (np.abs(tb - tr) > 1e-3))
        if l == 0:
            bad_hidden = bad.any(axis=1)
        for s, j in zip(*np.nonzero(bad)):
            if l == 1 and bad_hidden[s]:
                counts[(l, "inherited")] += 1
                continue
            T = tr[s, j] if fr[s, j] else tb[s, j]
            arrivals, w = pre[s] + D[l][:, j], net.params[l]["w"][:, j]
            in_step = np.isfinite(arrivals) & (np.ceil(arrivals / dt) - 1 == np.ceil(T / dt) - 1)
            late = in_step & (arrivals > T)
            kind = "missed" if not fb[s, j] else "extra" if not fr[s, j] else "off"
            key = (l, kind, int(in_step.sum()), int(late.sum()), bool(np.any(w[late] < 0)))
            counts[key] += 1
            diffs.setdefault(key, []).append(tb[s, j] - tr[s, j])


net.simulator = "brian2"
net.run_trials(x, on_trial)
for key, n in sorted(counts.items()):
    print(key, n)
print("total", sum(counts.values()))
for key, d in sorted(diffs.items()):
    print(key, "Brian2 - replay:", np.round(np.sort(d), 4)[:12])
