"""Yin-Yang benchmark: the DelGrad reference configurations, several seeds, accuracy and speed.

    python benchmarks/yinyang.py --epochs 300 --seeds 0 1 2 3 4           # the full reference run
    python benchmarks/yinyang.py --epochs 30 --seeds 0 1 2 3 4 --out benchmarks/results/yinyang.json

Writes {"<config>": {"test_acc_mean", "test_acc_std", "seeds", "n_weights", "n_delays", "epochs",
"acc_after_10_epochs_mean", "per_seed"}, "epoch_seconds": {"runtime-cython": median seconds per
epoch of 5000 samples}, "machine", "command", "partial"}. A run with fewer than the reference 300
epochs is labelled partial. Timings are wall-clock seconds of `Trainer.train_epoch` (the Brian2
run with the learning rule at every trial boundary), measured on this machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time

import numpy as np

from brian2learn.experiments.yinyang import CONFIGS, build

REFERENCE_EPOCHS = 300


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu or platform.processor()}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def run_one(config, seed, epochs):
    trainer, _ = build(config, seed=seed, progress=False)
    acc10 = None
    secs = []
    for e in range(epochs):
        row = trainer.train_epoch()
        secs.append(row["epoch_seconds"])
        if e + 1 == 10 or e + 1 == epochs:
            acc, _, _ = trainer.evaluate()
            if e + 1 == 10:
                acc10 = acc
    return dict(seed=seed, test_acc=acc, acc_after_10_epochs=acc10, epoch_seconds=secs,
                n_weights=trainer.net.n_weights, n_delays=trainer.net.n_delays)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="*", default=list(CONFIGS))
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=REFERENCE_EPOCHS)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "yinyang.json"))
    args = p.parse_args(argv)
    results = {}
    all_secs = []
    for config in args.configs:
        runs = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            r = run_one(config, seed, args.epochs)
            runs.append(r)
            all_secs += r["epoch_seconds"][1:]  # the first epoch includes code generation
            print(f"{config:22s} seed {seed}: test acc {r['test_acc']:.4f} (after 10 epochs "
                  f"{r['acc_after_10_epochs']}) {time.perf_counter() - t0:.0f} s", flush=True)
        accs = np.array([r["test_acc"] for r in runs])
        acc10 = [r["acc_after_10_epochs"] for r in runs if r["acc_after_10_epochs"] is not None]
        results[config] = {
            "test_acc_mean": float(accs.mean()), "test_acc_std": float(accs.std()), "seeds": args.seeds,
            "n_weights": runs[0]["n_weights"], "n_delays": runs[0]["n_delays"], "epochs": args.epochs,
            "acc_after_10_epochs_mean": float(np.mean(acc10)) if acc10 else None,
            "per_seed": {str(r["seed"]): {"test_acc": r["test_acc"], "acc_after_10_epochs": r["acc_after_10_epochs"],
                                          "median_epoch_seconds": float(np.median(r["epoch_seconds"][1:] or r["epoch_seconds"]))}
                         for r in runs},
        }
    results["epoch_seconds"] = {"runtime-cython": float(np.median(all_secs)) if all_secs else None}
    results["machine"] = machine()
    results["command"] = "python " + shlex.join([os.path.relpath(__file__)] + (argv if argv is not None else sys.argv[1:]))
    results["partial"] = (f"{args.epochs} of the reference {REFERENCE_EPOCHS} epochs" if args.epochs < REFERENCE_EPOCHS
                          else False)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, args.out)
    print(json.dumps({k: (v["test_acc_mean"] if isinstance(v, dict) and "test_acc_mean" in v else v)
                      for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
