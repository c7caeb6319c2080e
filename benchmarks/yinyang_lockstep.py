"""Do training on the Brian2 run and on the closed-form replay follow the same path?

    python benchmarks/yinyang_lockstep.py                                # W+synaptic, seed 0, 300 epochs
    python benchmarks/yinyang_lockstep.py --config "4-30-3 W+axonal" --final-decay 100
    python benchmarks/yinyang_lockstep.py --final-decay 100 --pair perturbed-replay   # the replay against itself

Builds the same configuration and seed twice, one trainer on the Brian2 runtime (dt = 0.01 tau_s) and
one on the replay (models.lif_replay), and trains both epoch by epoch. After every epoch it records
the largest difference between their parameters (weights and delays); every `--every` epochs also
both test accuracies. The Brian2 LIF computes exact spike times (models.lif), so the two start out
equal to rounding; how many epochs that lasts before training's own sensitivity (a sample whose
class, or a neuron whose silence, flips on a rounding difference) parts them is what this measures.
`--pair perturbed-replay` instead trains two replay trainers, the second from parameters changed by a
relative 1e-15 (rounding size): how far training itself amplifies a difference of that size.
Writes `benchmarks/results/yinyang_lockstep.json` under "<config> seed=S[ final_decay=N][ pair=P]".
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

from brian2learn.experiments.yinyang import build  # noqa: E402


def max_param_difference(a, b):
    return max(float(np.max(np.abs(pa[k] - pb[k]))) for pa, pb in zip(a.net.params, b.net.params) for k in pa)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="4-30-3 W+synaptic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--every", type=int, default=10, help="test both networks every N epochs")
    p.add_argument("--final-decay", type=int, default=None, metavar="N")
    p.add_argument("--pair", choices=("brian2-replay", "perturbed-replay"), default="brian2-replay")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "yinyang_lockstep.json"))
    args = p.parse_args(argv)
    extra = {"final_decay": args.final_decay} if args.final_decay else {}
    sims = {"brian2": "brian2", "replay": "replay"} if args.pair == "brian2-replay" else \
        {"replay": "replay", "perturbed": "replay"}
    built = {name: build(args.config, seed=args.seed, progress=False, simulator=sim, epochs=args.epochs, **extra)
             for name, sim in sims.items()}
    trainers = {name: tr for name, (tr, _) in built.items()}
    if "perturbed" in trainers:
        rng = np.random.default_rng(args.seed)
        for p in trainers["perturbed"].net.params:
            for k in p:
                p[k] *= 1.0 + 1e-15 * rng.standard_normal(p[k].shape)
        trainers["perturbed"].net.params_changed()
    first, second = trainers
    rows, first_apart, t0 = {}, {}, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for tr in trainers.values():
            tr.train_epoch()
        diff = max_param_difference(trainers[first], trainers[second])
        for level in (1e-9, 1e-6, 1e-3):
            if diff > level and str(level) not in first_apart:
                first_apart[str(level)] = epoch
        row = {"max_param_difference": diff}
        if epoch % args.every == 0 or epoch == args.epochs:
            row.update({f"test_acc_{sim}": tr.evaluate()[0] for sim, tr in trainers.items()})
            print(epoch, row, f"{time.perf_counter() - t0:.0f} s", flush=True)
        rows[str(epoch)] = row
    key = f"{args.config} seed={args.seed}" + (f" final_decay={args.final_decay}" if args.final_decay else "") \
        + (f" pair={args.pair}" if args.pair != "brian2-replay" else "")
    write_results(args.out, {key: {
        "by_epoch": rows, "first_epoch_parameters_differ_by_more_than": first_apart,
        "epochs": args.epochs, "dt": built[first][1]["dt"], "command": command(__file__, argv), "machine": machine(),
        "seconds": time.perf_counter() - t0}}, update=True)


if __name__ == "__main__":
    main()
