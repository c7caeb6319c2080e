"""Parameter efficiency on Yin-Yang: hidden size 5..30, weights only vs weights + axonal delays.

    python benchmarks/yinyang_sweep.py --hidden 5 10 15 20 25 30 --epochs 300 --seeds 0 1 2
    python benchmarks/yinyang_sweep.py --backend event ...   # the closed-form event forward, no Brian2

DelGrad (Goeltz et al. 2025) shows that adding delays (few extra parameters for axonal delays: one
per neuron) gives more accuracy per parameter than adding hidden neurons. Writes
benchmarks/results/yinyang_sweep.json = {"<W|W+axonal>/<hidden>": {"test_acc_mean", "test_acc_std",
"seeds", "n_weights", "n_delays", "n_params", "epochs", "simulator", "command", "partial"}, "machine"}
and the plot benchmarks/results/yinyang_sweep.png (test accuracy against number of trainable
parameters). An entry that a new run replaces moves to the new entry's "earlier_runs".
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_backend_argument  # noqa: E402
from brian2learn.experiments.result_store import command, keep_replaced, machine, write_results  # noqa: E402

from brian2learn.experiments.yinyang import build  # noqa: E402

VARIANTS = {"W": "4-30-3 W", "W+axonal": "4-30-3 W+axonal"}


def _per_entry_provenance(stored):
    """Files of the earlier layout kept one "command" and "partial" for all entries at the top:
    move them into each entry (so they travel with it into "earlier_runs")."""
    top = {k: stored[k] for k in ("command", "partial") if k in stored}
    return {k: (dict(top, **v) if isinstance(v, dict) and "test_acc_mean" in v else v)
            for k, v in stored.items() if k not in top}


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for variant in VARIANTS:
        rows = sorted((v["n_params"], v["test_acc_mean"], v["test_acc_std"], v["hidden"])
                      for k, v in results.items() if k.startswith(variant + "/"))
        if not rows:
            continue
        n, m, s, h = map(np.array, zip(*rows))
        ax.errorbar(n, 100 * m, yerr=100 * s, marker="o", capsize=3, label=variant)
        for x, y, hh in zip(n, m, h):
            ax.annotate(str(int(hh)), (x, 100 * y), textcoords="offset points", xytext=(3, -10), fontsize=7)
    ax.set(xscale="log", xlabel="trainable parameters (hidden size annotated)", ylabel="test accuracy (%)",
           title="Yin-Yang: accuracy per parameter")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", nargs="*", type=int, default=[5, 10, 15, 20, 25, 30])
    p.add_argument("--variants", nargs="*", default=list(VARIANTS))
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "yinyang_sweep.json"))
    p.add_argument("--update", action="store_true",
                   help="accepted for old command lines: every run merges into the results file (nothing stored is dropped)")
    add_backend_argument(p)
    args = p.parse_args(argv)
    results = {}
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    for variant in args.variants:
        for hidden in args.hidden:
            accs = []
            for seed in args.seeds:
                trainer, _ = build(VARIANTS[variant], seed=seed, progress=False, hidden=hidden,
                                   simulator=args.simulator)
                trainer.fit(args.epochs, log=None)
                accs.append(trainer.evaluate()[0])
                print(f"{variant} hidden {hidden} seed {seed}: {accs[-1]:.4f}", flush=True)
            net = trainer.net
            key = f"{variant}/{hidden}"
            entry = {"test_acc_mean": float(np.mean(accs)), "test_acc_std": float(np.std(accs)), "seeds": args.seeds,
                     "per_seed": accs, "hidden": hidden, "n_weights": net.n_weights, "n_delays": net.n_delays,
                     "n_params": net.n_weights + net.n_delays, "epochs": args.epochs, "simulator": args.simulator,
                     "command": command(__file__, argv),
                     "partial": f"{args.epochs} of the reference 300 epochs" if args.epochs < 300 else False}
            results = write_results(args.out, lambda stored: dict(
                _per_entry_provenance(stored), **{key: keep_replaced(_per_entry_provenance(stored), key, entry,
                                                                     started), "machine": machine()}), update=False)
    plot(results, os.path.splitext(args.out)[0] + ".png")


if __name__ == "__main__":
    main()
