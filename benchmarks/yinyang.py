"""Yin-Yang benchmark: the DelGrad reference configurations, several seeds, accuracy and speed.

    python benchmarks/yinyang.py --epochs 300 --seeds 0 1 2 3 4           # the full reference run
    python benchmarks/yinyang.py --configs "4-30-3 W" --update            # add/replace one config
    python benchmarks/yinyang.py --configs "4-30-3 W+synaptic" --seeds 0 --epochs 12 --timing --update
                                                         # speed only, on an otherwise idle machine
    python benchmarks/yinyang.py --simulator replay ...  # the closed-form event forward, no Brian2
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
"<config> bump_dead"); a `--simulator replay` run
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
from common import command, keep_replaced, machine, write_results  # noqa: E402

from brian2learn.datasets import ttfs_linear, yin_yang  # noqa: E402
from brian2learn.experiments.yinyang import CONFIGS, build  # noqa: E402

REFERENCE_EPOCHS = 300


TIMING_DEVICE = {"brian2": "runtime-cython", "replay": "replay (closed-form event forward, numpy)"}


def entry_key(config, schedule, simulator="brian2", lr=None, batch_size=None, final_decay=None, bump_dead=False):
    """'<config>[ schedule=STEPxGAMMA][ final_decay=N][ bump_dead][ lr=W/D][ batch=B][ simulator=replay]':
    runs with another learning-rate schedule, bumping, learning rates, batch size or simulator never
    overwrite the reference entry."""
    return (config + (f" schedule={schedule[0]:g}x{schedule[1]:g}" if schedule else "")
            + (f" final_decay={final_decay}" if final_decay else "")
            + (" bump_dead" if bump_dead else "")
            + (f" lr={'/'.join(f'{v:g}' for v in lr.values())}" if lr else "")
            + (f" batch={batch_size}" if batch_size else "")
            + (f" simulator={simulator}" if simulator != "brian2" else ""))


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


def other_simulator_test_acc(trainer):
    """{simulator: test accuracy} of the trained network's final parameters on the other simulator
    (Brian2 run <-> closed-form replay): tells whether a difference between simulators comes from
    training or from evaluating."""
    other = "replay" if trainer.net.simulator == "brian2" else "brian2"
    with trainer.net.use_simulator(other):
        return {other: trainer.evaluate()[0]}


def stored_runs(entry, epochs):
    """--add-seeds: the finished seeds of a stored entry as runs for `summarise` (their curves, selection
    and median epoch time), refused when that entry ran another number of epochs."""
    if entry.get("epochs") != epochs:
        raise SystemExit(f"--add-seeds: the stored entry ran {entry.get('epochs')} epochs, this run {epochs}; "
                         "give the same --epochs or drop --add-seeds")
    return [dict(seed=int(seed), test_acc=r["test_acc"], acc_after_10_epochs=r["acc_after_10_epochs"],
                 epoch_seconds=[r["median_epoch_seconds"]], curve=r["test_acc_every_10_epochs"],
                 val_curve=r["val_acc_every_10_epochs"], val_selected=r["val_selected"],
                 test_acc_other_simulator=r.get("test_acc_other_simulator"),
                 n_weights=entry["n_weights"], n_delays=entry["n_delays"], settings=entry["settings"],
                 command=entry["command"])
            for seed, r in entry["per_seed"].items()]


def merged_runs(stored_entry, runs, args):
    """This process's runs, with --add-seeds joined by the stored entry's other seeds as stored now
    (read under the results file's lock, so processes adding seeds in parallel keep each other's)."""
    if not (args.add_seeds and stored_entry):
        return runs
    mine = [r for r in runs if r["seed"] in args.seeds]
    others = [r for r in stored_runs(stored_entry, args.epochs) if r["seed"] not in args.seeds]
    return sorted(others + mine, key=lambda r: r["seed"])


def cross_simulator_summary(runs):
    """{"test_acc_other_simulator": {simulator: {"test_acc_mean", "trained_simulator_test_acc_mean",
    "seeds"}}} over the runs that evaluated their final network on the other simulator (none: {})."""
    by_sim = {}
    for r in runs:
        for sim, acc in (r.get("test_acc_other_simulator") or {}).items():
            by_sim.setdefault(sim, []).append((r["seed"], acc, r["test_acc"]))
    return {"test_acc_other_simulator": {
        sim: {"test_acc_mean": float(np.mean([a for _, a, _ in rows])),
              "trained_simulator_test_acc_mean": float(np.mean([own for _, _, own in rows])),
              "seeds": [seed for seed, _, _ in rows]}
        for sim, rows in by_sim.items()}} if by_sim else {}


def summarise(runs, args, cmd):
    """The results entry of one config from its finished seeds (stored ones first with --add-seeds)."""
    accs = np.array([r["test_acc"] for r in runs])
    acc10 = [r["acc_after_10_epochs"] for r in runs if r["acc_after_10_epochs"] is not None]
    sel = np.array([r["val_selected"]["test_acc"] for r in runs])
    partial = []
    if args.epochs < REFERENCE_EPOCHS:
        partial.append(f"{args.epochs} of the reference {REFERENCE_EPOCHS} epochs")
    new = [r for r in runs if "command" not in r]
    if len(new) < len(args.seeds):
        partial.append(f"{len(new)} of {len(args.seeds)} seeds of this run")
    commands = list(dict.fromkeys(c for r in runs if "command" in r
                                  for c in (r["command"] if isinstance(r["command"], list) else [r["command"]])))
    return {
        "test_acc_mean": float(accs.mean()), "test_acc_std": float(accs.std()), "seeds": [r["seed"] for r in runs],
        "n_weights": runs[0]["n_weights"], "n_delays": runs[0]["n_delays"], "epochs": args.epochs,
        "acc_after_10_epochs_mean": float(np.mean(acc10)) if acc10 else None,
        "test_acc_val_selected_mean": float(sel.mean()), "test_acc_val_selected_std": float(sel.std()),
        "val_selection": "test accuracy at the evaluated epoch (every 10) with the best accuracy on the "
                         "published validation split (1000 samples, seed 41); test_acc_mean is the last epoch",
        **cross_simulator_summary(runs),
        "settings": runs[0]["settings"],
        "per_seed": {str(r["seed"]): {"test_acc": r["test_acc"], "acc_after_10_epochs": r["acc_after_10_epochs"],
                                      "median_epoch_seconds": float(np.median(r["epoch_seconds"][1:] or r["epoch_seconds"])),
                                      "test_acc_every_10_epochs": r["curve"],
                                      "val_acc_every_10_epochs": r["val_curve"],
                                      "val_selected": r["val_selected"],
                                      **({"test_acc_other_simulator": r["test_acc_other_simulator"]}
                                         if r.get("test_acc_other_simulator") else {})}
                     for r in runs},
        "command": commands + [cmd] if commands else cmd, "machine": machine(),
        "partial": "; ".join(partial) or False,
    }


# settings that entries written before they existed ran at these values
SETTINGS_ADDED_LATER = {"bump_dead": False}


def comparable_settings(run):
    """A run's settings as stored (through JSON), with the settings added later at their old values."""
    return {**SETTINGS_ADDED_LATER, **json.loads(json.dumps(run["settings"]))}


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
    p.add_argument("--simulator", choices=("brian2", "replay"), default="brian2",
                   help="the Brian2 run, or the exact closed-form event forward (models.lif_replay; stored "
                        "under '<config> simulator=replay')")
    args = p.parse_args(argv)
    cmd = command(__file__, argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = {}
    for config in args.configs:
        changes = overrides(config, args)
        key = entry_key(config, changes.get("schedule"), args.simulator, changes.get("lr"), args.batch_size,
                        args.final_decay, args.bump_dead)
        runs = []
        if args.add_seeds and os.path.exists(args.out):
            with open(args.out) as f:
                stored = json.load(f).get(key)
            if stored:
                runs = stored_runs(stored, args.epochs)
                if set(args.seeds) & {r["seed"] for r in runs}:
                    raise SystemExit(f"--add-seeds: seeds {sorted(set(args.seeds) & {r['seed'] for r in runs})} "
                                     f"are already stored under {key!r}")
        for seed in args.seeds:
            t0 = time.perf_counter()
            r = run_one(config, seed, args.epochs, args.simulator, **changes)
            if runs and comparable_settings(r) != comparable_settings(runs[0]):
                raise SystemExit(f"--add-seeds: the stored entry {key!r} ran with settings {runs[0]['settings']}, "
                                 f"this run with {r['settings']}")
            runs.append(r)
            print(f"{config:22s} seed {seed}: test acc {r['test_acc']:.4f} (after 10 epochs "
                  f"{r['acc_after_10_epochs']}) {time.perf_counter() - t0:.0f} s", flush=True)
            if not args.timing:   # each finished seed is written at once (labelled partial until all are done)
                results = write_results(args.out, lambda stored: {
                    key: keep_replaced(stored, key, summarise(merged_runs(stored.get(key), runs, args), args, cmd),
                                       started, extends=args.add_seeds), "machine": machine()},
                    update=True)
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
