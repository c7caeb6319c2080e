"""How far the Brian2 run's gradients are from the exact (replay) gradients during Yin-Yang training.

    python benchmarks/yinyang_grid_gradients.py                       # W+synaptic, seed 0
    python benchmarks/yinyang_grid_gradients.py --config "4-30-3 W+axonal" --checkpoints 1 10 50
    python benchmarks/yinyang_grid_gradients.py --dt 0.005 --checkpoints 1 10 100   # a finer grid

Trains the network on the Brian2 runtime (reference settings) and, at each checkpoint epoch, runs one
epoch of the training set without learning: for every minibatch it takes the spike times of the
Brian2 run (dt = 0.01 tau_s, exact sub-step times) and those of the closed-form replay for the same
parameters and inputs, and forms the learning rule's gradient from each (each with its own loss
gradient, as training would). Records
per checkpoint: the hidden and output spikes present in one simulator only or off by more than
1e-3 tau_s, the samples with any of those, the cosine between the two minibatch gradients (median, 1st
percentile, minimum) and the relative difference of the epoch's summed gradients. Writes
`benchmarks/results/yinyang_grid_gradients.json`, under "<config> seed=S[ dt=DT] exact-steps".

Entries without " exact-steps" ran before the Brian2 LIF took the inputs of a step in time order
(models.lif, commit 7478553): then about 0.1 % of the spikes were off (several inputs in the step of
a crossing) and a few missed (an inhibitory input after the crossing in the same step).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import command, machine, write_results  # noqa: E402

from brian2learn.backends import EventDriven  # noqa: E402
from brian2learn.experiments.yinyang import build  # noqa: E402


def flat(grads):
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
        return flat(trainer.gradients(record, dL))

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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="4-30-3 W+synaptic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dt", type=float, default=None, help="time step in tau_s (default: the config's, 0.01)")
    p.add_argument("--checkpoints", nargs="*", type=int, default=[1, 10, 100, 200, 300])
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "yinyang_grid_gradients.json"))
    args = p.parse_args(argv)
    trainer, cfg = build(args.config, seed=args.seed, progress=False, **({"dt": args.dt} if args.dt else {}))
    rows = {}
    for epoch in sorted(args.checkpoints):
        while trainer.epoch < epoch:
            trainer.train_epoch()
        rows[str(epoch)] = {"test_acc": trainer.evaluate()[0], **compare_epoch(trainer)}
        print(epoch, rows[str(epoch)], flush=True)
    key = f"{args.config} seed={args.seed}" + (f" dt={args.dt}" if args.dt else "") + " exact-steps"
    write_results(args.out, {key: {"by_epoch": rows, "dt": cfg["dt"], "command": command(__file__, argv), "machine": machine()}},
                  update=True)


if __name__ == "__main__":
    main()
