"""How far the Brian2 run and the closed-form replay (models.lif_replay) agree on a trainer's network:
the test accuracy of its final parameters on the other simulator, and one pass over the training set
comparing the two simulators' spikes and learning-rule gradients (benchmarks/yinyang.py,
benchmarks/yinyang_grid_gradients.py)."""
from __future__ import annotations

import numpy as np

from ..backends.event import EventDriven

__all__ = ["other_simulator_test_acc", "compare_epoch"]


def other_simulator_test_acc(trainer):
    """{simulator: test accuracy} of the trained network's final parameters on the other simulator
    (Brian2 run <-> closed-form replay): tells whether a difference between simulators comes from
    training or from evaluating."""
    other = "replay" if trainer.net.simulator == "brian2" else "brian2"
    with trainer.net.use_simulator(other):
        return {other: trainer.evaluate()[0]}


def _flat(grads):
    return np.concatenate([np.ravel(g[k]) for g in grads for k in sorted(g)])


def compare_epoch(trainer):
    """One pass over the training set without learning: Brian2 vs replay records and gradients."""
    net, (x, y) = trainer.net, trainer.train
    replay = EventDriven()
    B = net.batch_size
    order = np.arange(len(x))
    cosines, sums, n = [], {"brian2": 0.0, "replay": 0.0}, 0
    counts = dict(samples_with_a_spike_off=0, spikes_only_in_replay=0, spikes_only_in_brian2=0,
                  spikes_off_by_more_than_1e_3=0, spikes_in_both=0)

    def gradient(record, labels):
        _, dL = trainer._loss(record.output[:record.n_valid], labels)
        return _flat(trainer.gradients(record, dL))

    def on_trial(k, rec_b):
        nonlocal n
        idx = order[k * B:k * B + rec_b.n_valid]
        rec_r = replay.record(net, x[idx])
        m = rec_b.n_valid
        bad = np.zeros(m, bool)
        for tb, tr in zip(rec_b.layers[1:], rec_r.layers[1:]):
            fb, fr = np.isfinite(tb[:m]), np.isfinite(tr[:m])
            both = fb & fr
            with np.errstate(invalid="ignore"):   # inf - inf where both are silent: masked by `both`
                late = both & (np.abs(tb[:m] - tr[:m]) > 1e-3)
            counts["spikes_only_in_replay"] += int(np.sum(fr & ~fb))
            counts["spikes_only_in_brian2"] += int(np.sum(fb & ~fr))
            counts["spikes_off_by_more_than_1e_3"] += int(late.sum())
            counts["spikes_in_both"] += int(both.sum())
            bad |= np.any((fb != fr) | late, axis=1)
        counts["samples_with_a_spike_off"] += int(bad.sum())
        n += m
        gb, gr = gradient(rec_b, y[idx]), gradient(rec_r, y[idx])
        cosines.append(float(gb @ gr / (np.linalg.norm(gb) * np.linalg.norm(gr) + 1e-300)))
        sums["brian2"] = sums["brian2"] + gb
        sums["replay"] = sums["replay"] + gr

    net.run_trials(x, on_trial, batch_order=order)
    c = np.array(cosines)
    diff = np.linalg.norm(sums["brian2"] - sums["replay"]) / np.linalg.norm(sums["replay"])
    return {**counts, "samples": n, "cosine_median": float(np.median(c)),
            "cosine_p01": float(np.percentile(c, 1)), "cosine_min": float(c.min()),
            "epoch_gradient_relative_difference": float(diff), "minibatches": len(c)}
