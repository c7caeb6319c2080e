"""Delay-only vs weight training on MNIST / Fashion-MNIST (Grappolini & Subramoney, ICONS 2023).

    python benchmarks/delay_only.py                                  # the full comparison (long)
    python benchmarks/delay_only.py --cells mnist/delays/normal --n-train 10000 --epochs 3 --seeds 0 --update
    python benchmarks/delay_only.py --cells mnist/delays/normal --n-train 960 --n-test 64 --epochs 2 --seeds 0 --timing --update
    python benchmarks/delay_only.py --cells mnist/delays/normal --in-simulation --epochs 10 --seeds 0 --update
                                 # the rule and Adam as generated code, one compiled run per epoch
    python benchmarks/delay_only.py --cells mnist/delays/normal --backend event --epochs 8 --seeds 1 2 --add-seeds
                                 # seeds 1 and 2 join the stored seed 0 of the same cell and settings
    python benchmarks/delay_only.py --cells mnist/delays/normal --in-simulation --set 'normal=[[0.015,0.05],[0.06,0.1]]'
                                 # any DEFAULTS entry of experiments/delay_only.py, stored under its own key

Cells are "<dataset>/<training>/<weights>" with dataset in {mnist, fashion}, training in
{delays, weights, both} and weights in {normal, ternary} (ternary only with delay training).
Writes benchmarks/results/delay_only.json = {"<cell>" (784-350-10; other hidden sizes h as
"<cell>@784-<h>-10"): {"test_acc_mean", "test_acc_std", "seeds",
"epochs", "n_trainable", "hidden", "n_train", "n_test", "per_seed", "partial", "command",
"machine", "trainer", "settings" (the experiment's weight init, delay range and init, learning
rates, dt, duration and loss)}, "epoch_seconds": {"<device>/<net> delay-only": median seconds per epoch of
60,000 samples, extrapolated from the measured seconds per sample when --n-train is smaller; written
only by a --timing run, which writes no accuracies}, "machine"}. Devices: runtime-cython (Trainer:
Brian2 runtime, the rule in Python between trials) and cpp_standalone-in-simulation
(--in-simulation: in_simulation.InSimulationTrainer, the same rule as generated code; its epoch
time includes the test set, which it evaluates in the same run, so a timing run uses a small
--n-test), and replay-cython / replay-cython+openmp (--backend event [--threads 2]: the exact
closed-form event forward of models.lif_replay instead of the Brian2 run, the runtime Trainer, the
forward and the gradient in the compiled loops of models.lif_events_native). Weight-training cells use weight bumping, which only the runtime Trainer has.
Data: the original IDX files (--data-dir, default ../shared/datasets next to the repository, else
the download cache). A cell with fewer than 60,000 training samples, fewer epochs than --full-epochs
or fewer than 3 seeds is labelled partial.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_backend_argument, run_seeds  # noqa: E402
from brian2learn.experiments.result_store import (command, keep_replaced, machine, partial_label,  # noqa: E402
                                                  resumable_epochs, write_results)

from brian2learn.experiments.delay_only import DEFAULTS, TRAINING, WEIGHTS, build  # noqa: E402

DATASETS = ("mnist", "fashion")
ALL_CELLS = [f"{d}/{t}/{w}" for d in DATASETS for t, w in
             (("delays", "normal"), ("delays", "ternary"), ("weights", "normal"))]
SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets")


def run_cell(cell, seed, args, on_epoch=lambda run: None):
    """Train one seed; `on_epoch(run so far)` after every epoch (the benchmark writes it, so a stopped
    run keeps its finished epochs). With --checkpoint-dir the trainer is saved after every epoch and
    a run started again with the same settings resumes the seed from its last checkpoint."""
    dataset, training, weights = cell.split("/")
    trainer, cfg = build(dataset, training, weights, seed=seed, data_dir=args.data_dir, n_train=args.n_train,
                         n_test=args.n_test, progress=False, hidden=args.hidden, in_simulation=args.in_simulation,
                         simulator=args.simulator,
                         schedule=tuple(args.schedule) if args.schedule else None, **args.set)
    settings = {k: cfg[k] for k in (weights, "d_max", "delay_init", "lr", "lr_weights", "dt", "duration", "loss")}
    n_train = len(trainer.train[0])
    for row in resumable_epochs(trainer, cell, cell_key(cell, args), seed, n_train, args):
        print(f"  {cell} seed {seed} epoch {row['epoch']}: train {row['train_acc']:.4f} test {row['test_acc']:.4f} "
              f"({row['epoch_seconds']:.0f} s)", flush=True)
        run = dict(seed=seed, test_acc=row["test_acc"], curve={r["epoch"]: r["test_acc"] for r in trainer.history},
                   sec_per_sample=[r["epoch_seconds"] / n_train for r in trainer.history],
                   n_trainable=cfg["n_trainable"], n_train=n_train, n_test=len(trainer.test[0]),
                   epochs_done=trainer.epoch, settings=settings)
        on_epoch(run)
    return run


def cell_key(cell, args):
    """'<cell>[@784-H-10][ schedule=SxG][ KEY=JSON ...]': runs with other settings never overwrite each other."""
    key = cell if args.hidden == 350 else f"{cell}@784-{args.hidden}-10"
    if args.simulator != "brian2":
        key += f" simulator={args.simulator}"
    if args.schedule:
        key += f" schedule={args.schedule[0]:g}x{args.schedule[1]:g}"
    for name, value in args.set.items():
        key += f" {name}={json.dumps(value, separators=(',', ':'))}"
    return key


def stored_seeds(key, args, stored):
    """--add-seeds: the runs of the stored entry under `key` that this run does not train (finished,
    or in progress in another process), refused where that entry asked for other epochs."""
    entry = stored.get(key) if args.add_seeds else None
    if entry is None:
        return []
    asked = entry.get("epochs_asked", entry["epochs"])
    if asked != args.epochs:
        raise SystemExit(f"--add-seeds: the entry {key!r} was run for {asked} epochs, this run asks for "
                         f"{args.epochs}; use the same --epochs")
    return [dict(seed=int(seed), test_acc=r["test_acc"], curve=r["test_acc_per_epoch"],
                 sec_per_sample=[entry["seconds_per_training_sample"]], n_trainable=entry["n_trainable"],
                 n_train=entry["n_train"], n_test=entry["n_test"],
                 epochs_done=max(int(e) for e in r["test_acc_per_epoch"]), settings=entry["settings"],
                 command=r.get("command", entry["command"]))
            for seed, r in entry["per_seed"].items() if int(seed) not in args.seeds]


def cell_entry(cell, runs, args, argv):
    """The results entry of one cell from the seeds run so far (labelled partial where short)."""
    settings = {json.dumps(r["settings"], sort_keys=True) for r in runs}   # stored ones came through JSON
    if len(settings) > 1:
        raise SystemExit(f"{cell}: the seeds ran with different settings {sorted(settings)} (--add-seeds joins "
                         "only runs of the same experiment settings)")
    if len({(r["n_train"], r["n_test"]) for r in runs}) > 1:
        raise SystemExit(f"{cell}: the seeds ran on different numbers of training/test samples; use the same "
                         "--n-train/--n-test")
    runs = sorted(runs, key=lambda r: r["seed"])
    accs = np.array([r["test_acc"] for r in runs])
    done, partial = partial_label(runs, args, 60000, 10000)
    # the first epoch includes code generation: leave it out when there are more
    sec = float(np.median([s for r in runs for s in (r["sec_per_sample"][1:] or r["sec_per_sample"])]))
    return {"test_acc_mean": float(accs.mean()), "test_acc_std": float(accs.std()), "seeds": [r["seed"] for r in runs],
            "epochs": done, "epochs_asked": args.epochs, "n_trainable": runs[0]["n_trainable"], "hidden": args.hidden,
            "n_train": runs[0]["n_train"], "n_test": runs[0]["n_test"], "seconds_per_training_sample": sec,
            "per_seed": {str(r["seed"]): {"test_acc": r["test_acc"], "test_acc_per_epoch": r["curve"],
                                          "command": r.get("command", command(__file__, argv))} for r in runs},
            "partial": partial, "settings": runs[0]["settings"],
            "trainer": "in-simulation (cpp_standalone)" if args.in_simulation else trainer_name(args),
            "command": command(__file__, argv), "machine": machine()}


def trainer_name(args):
    """The device of the run: its results entry's "trainer" and its epoch_seconds key."""
    if args.in_simulation:
        return "cpp_standalone-in-simulation"
    if args.simulator == "replay":
        from brian2learn.models import lif_events_native
        if lif_events_native.native() is None:
            return "replay-numpy"
        return "replay-cython+openmp" if lif_events_native.threads() > 1 else "replay-cython"
    return "runtime-cython"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", nargs="*", default=ALL_CELLS)
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--full-epochs", type=int, default=20, help="epochs of an unlabelled (complete) run")
    p.add_argument("--hidden", type=int, default=350)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--data-dir", default=SHARED if os.path.isdir(SHARED) else None)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "delay_only.json"))
    p.add_argument("--update", action="store_true",
                   help="accepted for old command lines: every run merges into the results file (nothing stored is dropped)")
    p.add_argument("--schedule", nargs=2, type=float, metavar=("EPOCHS", "GAMMA"), default=None,
                   help="learning rates x GAMMA every EPOCHS epochs (stored under '<cell> schedule=EPOCHSxGAMMA')")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON",
                   help="override entries of experiments.delay_only.DEFAULTS, e.g. normal='[[0.015,0.05],[0.06,0.1]]' "
                        "(stored under '<cell> KEY=JSON ...')")
    p.add_argument("--in-simulation", action="store_true",
                   help="train with in_simulation.InSimulationTrainer (cpp_standalone, one run per epoch)")
    add_backend_argument(p)
    p.add_argument("--threads", type=int, default=1,
                   help="OpenMP threads of the compiled event loops of --backend event (default 1)")
    p.add_argument("--checkpoint-dir", default=None,
                   help="save each seed's trainer after every epoch there, and resume a stopped seed from it")
    p.add_argument("--add-seeds", action="store_true",
                   help="the seeds of this run join the stored entry of the same cell and settings (same --epochs) "
                        "instead of replacing it; seeds may run in parallel processes, each with --add-seeds")
    p.add_argument("--timing", action="store_true",
                   help="write only the epoch_seconds of delays/normal cells (run alone on an idle machine), "
                        "not their accuracy")
    args = p.parse_args(argv)
    settings = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if name in ("hidden", "schedule"):
            p.error(f"--set {item!r}: use --{name} for {name}")
        if name not in DEFAULTS or not value:
            p.error(f"--set {item!r}: use KEY=JSON with KEY one of {sorted(DEFAULTS)}")
        try:
            settings[name] = json.loads(value)
        except json.JSONDecodeError as e:
            p.error(f"--set {item!r}: the value is not JSON ({e})")
    args.set = settings
    if args.in_simulation and args.simulator != "brian2":
        p.error("--in-simulation runs the Brian2 simulation as compiled code: it takes no --backend event")
    from brian2learn.models import lif_events_native
    lif_events_native.set_threads(args.threads)
    for cell in args.cells:
        parts = cell.split("/")
        if len(parts) != 3 or parts[0] not in DATASETS or parts[1] not in TRAINING or parts[2] not in WEIGHTS:
            p.error(f"bad cell {cell!r}: use <{'|'.join(DATASETS)}>/<{'|'.join(TRAINING)}>/<{'|'.join(WEIGHTS)}>")
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = {}
    for cell in args.cells:
        key = cell_key(cell, args)

        def progress(runs, key=key, cell=cell):
            if not args.timing:
                write_results(args.out, lambda stored: {
                    key: keep_replaced(stored, key, cell_entry(cell, stored_seeds(key, args, stored) + runs, args, argv),
                                       started, extends=args.add_seeds),
                    "machine": machine()}, update=True)

        runs = run_seeds(cell, args.seeds, run_cell, args, on_progress=progress)
        entry = cell_entry(cell, runs, args, argv)
        sec = entry["seconds_per_training_sample"]
        new = {"machine": machine()}   # a training run has written its entry after every epoch
        if args.timing and cell.endswith("delays/normal"):
            device = trainer_name(args)
            tkey = f"{device}/784-{args.hidden}-10 delay-only"
            new["epoch_seconds"] = {tkey: sec * 60000}
            new["epoch_seconds_commands"] = {tkey: command(__file__, argv)}
            new["epoch_seconds_note"] = ("seconds per training sample (median over epochs; the forward (Brian2 run or closed-form replay) + exact "
                                         "gradient + Adam) x 60000")
        results = write_results(args.out, new, update=True)
    print({k: (v["test_acc_mean"] if isinstance(v, dict) and "test_acc_mean" in v else v) for k, v in results.items()})


if __name__ == "__main__":
    main()
