"""Yin-Yang benchmark: the DelGrad reference configurations, several seeds, accuracy and speed.

    python benchmarks/yinyang.py --epochs 300 --seeds 0 1 2 3 4           # the full reference run
    python benchmarks/yinyang.py --configs "4-30-3 W" --update            # add/replace one config
    python benchmarks/yinyang.py --configs "4-30-3 W+synaptic" --seeds 0 --epochs 12 --timing --update
                                                         # speed only, on an otherwise idle machine
    python benchmarks/yinyang.py --backend event ...  # the closed-form event forward, no Brian2
    python benchmarks/yinyang.py --configs "4-30-3 W+synaptic" --seeds 5 6 --add-seeds   # more seeds, one entry

Writes {"<config>": {"test_acc_mean", "test_acc_std", "seeds", "n_weights", "n_delays", "epochs",
"acc_after_10_epochs_mean", "per_seed" (with a test-accuracy curve every 10 epochs), "command",
"partial", "machine"}, "epoch_seconds": {"runtime-cython": median seconds per epoch of 5000
samples}, "machine"}. A config is written after each of its seeds (labelled partial until all are
done); every run merges into the existing file (so several processes can share the work, one config
each), and an entry of an earlier run that a new run replaces is kept in its "earlier_runs". A config run with fewer than the reference 300 epochs is labelled partial. `--schedule`
replaces the reference learning-rate schedule (x0.95 every 20 epochs); such a run is stored under
"<config> schedule=EPOCHSxGAMMA", never over the reference entry (likewise `--final-decay N`, a
linear decay over the last N epochs, under "<config> final_decay=N", and `--bump-dead`, under
"<config> bump_dead"); a `--backend event` run
(models.lif_replay: exact first spike times from the closed forms instead of the Brian2 run, same
rule and settings) under "<config> simulator=replay". Timings are wall-clock seconds of `Trainer.train_epoch`
(the Brian2 run with the learning rule at every trial boundary); the file's "epoch_seconds" is
only written by a `--timing` run of "4-30-3 W+synaptic" (no other process should run meanwhile),
the first epoch (code generation) excluded; a timing run writes no accuracies.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_backend_argument  # noqa: E402
from brian2learn.datasets import ttfs_linear, yin_yang
from brian2learn.experiments.result_store import command, machine, write_results
from brian2learn.experiments.simulator_agreement import other_simulator_test_acc
from brian2learn.experiments.yinyang import CONFIGS, build
from brian2learn.experiments.yinyang_results import REFERENCE_EPOCHS, entry_key, record_seeds

TIMING_DEVICE = {"brian2": "runtime-cython", "replay": "replay (closed-form event forward, numpy)"}


def overrides(config, args):
    """The DEFAULTS / config entries this run changes: schedule, learning rates, batch size."""
    out = {}
    if args.schedule:
        out["schedule"] = (int(args.schedule[0]), args.schedule[1])
    if args.lr:
        kinds = ["weights", "delays"][:len(args.lr)]
        if len(args.lr) == 2 and "delays" not in CONFIGS[config]["lr"]:
            raise SystemExit(f"--lr: {config!r} has no delays to train; give one learning rate")
        out["lr"] = dict(zip(kinds, args.lr))
    if args.batch_size:
        out["batch_size"] = args.batch_size
    if args.final_decay:
        out["final_decay"] = args.final_decay
    if args.bump_dead:
        out["bump_dead"] = True
    return out


def run_one(config, seed, epochs, simulator="brian2", **changes):
    trainer, cfg = build(config, seed=seed, progress=False, simulator=simulator, epochs=epochs, **changes)
    x_val, y_val = yin_yang("validation")
    validation = (ttfs_linear(x_val), y_val)
    acc10 = None
    secs, curve, val_curve = [], {}, {}
    for e in range(epochs):
        row = trainer.train_epoch()
        secs.append(row["epoch_seconds"])
        if (e + 1) % 10 == 0 or e + 1 == epochs:
            acc, _, _ = trainer.evaluate()
            curve[e + 1] = acc
            val_curve[e + 1] = trainer.evaluate(validation)[0]
            if e + 1 == 10:
                acc10 = acc
    best = max(val_curve, key=lambda k: (val_curve[k], k))  # latest epoch among equal validation scores
    return dict(seed=seed, test_acc=acc, acc_after_10_epochs=acc10, epoch_seconds=secs, curve=curve,
                test_acc_other_simulator=other_simulator_test_acc(trainer), val_curve=val_curve,
                val_selected=dict(epoch=best, val_acc=val_curve[best], test_acc=curve[best]),
                n_weights=trainer.net.n_weights, n_delays=trainer.net.n_delays,
                settings=dict({k: cfg[k] for k in ("hidden", "delays", "lr", "loss", "dt", "duration", "batch_size",
                                                     "max_grad_norm", "schedule", "final_decay", "bump_dead")}, simulator=simulator))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="*", default=list(CONFIGS))
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=REFERENCE_EPOCHS)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "yinyang.json"))
    p.add_argument("--update", action="store_true",
                   help="accepted for old command lines: every run merges into the results file, and an entry "
                        "it replaces moves to the new entry's 'earlier_runs'")
    p.add_argument("--timing", action="store_true",
                   help="also write the file's epoch_seconds (run alone on an idle machine)")
    p.add_argument("--schedule", nargs=2, type=float, metavar=("EPOCHS", "GAMMA"), default=None,
                   help="learning rate x GAMMA every EPOCHS epochs instead of the reference x0.95 every 20 "
                        "(stored under '<config> schedule=EPOCHSxGAMMA')")
    p.add_argument("--lr", nargs="+", type=float, metavar="LR", default=None,
                   help="learning rates of the weights (and delays) instead of the config's (key ' lr=W/D')")
    p.add_argument("--batch-size", type=int, default=None, help="instead of the reference 150 (key ' batch=B')")
    p.add_argument("--final-decay", type=int, default=None, metavar="N",
                   help="also decay the learning rate linearly over the last N epochs (optimizers.StepLR; key "
                        "' final_decay=N')")
    p.add_argument("--bump-dead", action="store_true",
                   help="also bump hidden neurons silent for a whole batch (WeightBumping dead=True; key ' bump_dead')")
    p.add_argument("--add-seeds", action="store_true",
                   help="join these seeds to the stored entry of the same config, settings and epochs (one entry, "
                        "mean and std over all its seeds)")
    add_backend_argument(p)
    args = p.parse_args(argv)
    cmd = command(__file__, argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = {}
    for config in args.configs:
        changes = overrides(config, args)
        key = entry_key(config, changes.get("schedule"), args.simulator, changes.get("lr"), args.batch_size,
                        args.final_decay, args.bump_dead)
        runs, written = record_seeds(
            args.out, key, args.seeds, lambda seed: run_one(config, seed, args.epochs, args.simulator, **changes),
            args.epochs, cmd, started, add_seeds=args.add_seeds, write=not args.timing, label=config)
        results = written or results
        if args.timing and config == "4-30-3 W+synaptic":   # a timing run writes no accuracies
            secs = [s for r in runs for s in r["epoch_seconds"][1:]]
            device = TIMING_DEVICE[args.simulator]
            results = write_results(args.out, lambda stored: {
                "epoch_seconds": {**stored.get("epoch_seconds", {}), device: float(np.median(secs))},
                "epoch_seconds_commands": {**stored.get("epoch_seconds_commands", {"runtime-cython": stored[
                    "epoch_seconds_command"]} if "epoch_seconds_command" in stored else {}), device: cmd},
                "machine": machine()}, update=True)
    print(json.dumps({k: (v["test_acc_mean"] if isinstance(v, dict) and "test_acc_mean" in v else v)
                      for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
