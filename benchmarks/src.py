"""SRC networks trained by BPTT (De Geeter, Ernst & Drion 2024) on MNIST, Fashion-MNIST, N-MNIST.

    python benchmarks/src.py --cells mnist/1 --seeds 0 --epochs 5 --steps 100 --update
    python benchmarks/src.py --cells mnist/1 --seeds 1 2 --epochs 12 --full-epochs 12 --steps 100 --schedule 3 0.5 \
        --add-seeds --update                            # more seeds for an entry run earlier (same settings)
    python benchmarks/src.py --timing --update          # Brian2 vs numpy forward, one batch
    python benchmarks/src.py --summarise                # only recompute "best_by_cell"
    python benchmarks/src.py --cells mnist/4 --seeds 2 --epochs 12 ... --checkpoint-dir ~/src-ckpt
                                                        # run again after a stop: resumes each seed

Cells are "<dataset>/<depth>" with dataset in {mnist, fashion, nmnist-emulated, nmnist} and depth
the number of hidden layers of --hidden SRC cells. Writes benchmarks/results/src.json =
{"<cell>": {"test_acc_mean", "test_acc_std", "seeds", "epochs", "steps", "hidden", "n_train",
"n_test", "gradient", "per_seed", "partial", "command", "machine"}, "best_by_cell": {"<dataset>/<depth>":
{"key", "test_acc_mean", "test_acc_std", "seeds", "epochs", "steps", "partial"}}, "epoch_seconds": {"<cell>":
median seconds of one training epoch (numpy forward + BPTT + Adam)}, "forward_seconds_per_sample"
(--timing only), "machine"}. 'nmnist-emulated' is the event-camera emulation of MNIST
(datasets.nmnist), not the real N-MNIST recordings. A cell with less than the full training set,
fewer than --full-epochs epochs or fewer than 3 seeds is labelled partial. The key names the schedule
and every setting that differs from 100 steps, 100 hidden cells, lr 0.003, batch 64, the paper's
gradient and the spike-count readout ("mnist/1 schedule=3x0.5 steps=200", "fashion/1 readout=membrane").
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run_seeds  # noqa: E402
from brian2learn.experiments.result_store import (best_by_cell, command, keep_replaced, machine,  # noqa: E402
                                                  partial_label, resumable_epochs, write_results)

from brian2learn.experiments.src import DATASETS, build, encode  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets")
FULL_TRAIN = 60000
# entries whose key does not name a setting ran with these (the settings of the first runs)
KEY_DEFAULTS = dict(steps=100, hidden=100, lr=3e-3, batch=64, gradient="paper", readout="counts", hidden_gain=1.0)


def run_cell(cell, seed, args, on_epoch=lambda run: None):
    """Train one seed; `on_epoch(run so far)` after every epoch (the benchmark writes it, so a stopped
    run keeps its finished epochs). With --checkpoint-dir the trainer is saved after every epoch and a
    run started again with the same settings resumes from its last checkpoint (exactly: same data
    order and spikes), its finished epochs counted as if it had not stopped."""
    dataset, depth = cell.split("/")
    trainer, cfg = build(dataset, seed=seed, data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test,
                         depth=int(depth), hidden=args.hidden, steps=args.steps, lr=args.lr,
                         gradient=args.gradient, batch_size=args.batch_size, readout=args.readout,
                         hidden_gain=args.hidden_gain, schedule=tuple(args.schedule) if args.schedule else None)
    for h in resumable_epochs(trainer, cell, cell_key(cell, args), seed, cfg["n_train"], args):
        print(f"  {cell} seed {seed} epoch {h['epoch']}: train loss {h['train_loss']:.4f} acc {h['train_acc']:.4f} "
              f"test {h['test_acc']:.4f} ({h['seconds']:.0f} s)", flush=True)
        run = dict(seed=seed, test_acc=h["test_acc"], curve={r["epoch"]: r["test_acc"] for r in trainer.history},
                   secs=[r["seconds"] for r in trainer.history], n_train=cfg["n_train"], n_test=cfg["n_test"],
                   epochs_done=trainer.epoch, command=command(__file__, args.argv))
        on_epoch(run)
    return run


def cell_key(cell, args):
    """'<cell>[ schedule=EPOCHSxGAMMA][ steps=N][ hidden=H][ lr=X][ batch=B][ gradient=G][ readout=R][ hidden_gain=G]' (a setting is
    named where it differs from KEY_DEFAULTS): runs with other settings never overwrite each other."""
    key = cell + (f" schedule={args.schedule[0]:g}x{args.schedule[1]:g}" if args.schedule else "")
    for name, value in (("steps", args.steps), ("hidden", args.hidden), ("lr", args.lr),
                        ("batch", args.batch_size), ("gradient", args.gradient), ("readout", args.readout),
                        ("hidden_gain", args.hidden_gain)):
        if value != KEY_DEFAULTS[name]:
            key += f" {name}={value:g}" if isinstance(value, float) else f" {name}={value}"
    return key


def check_add_seeds(cell, args):
    """--add-seeds: refuse to add to an entry run with other settings or another number of epochs
    (the runs would not be comparable)."""
    if not (args.add_seeds and os.path.exists(args.out)):
        return
    with open(args.out) as f:
        entry = json.load(f).get(cell_key(cell, args))
    if entry is None:
        return
    mine = dict(steps=args.steps, hidden=args.hidden, lr=args.lr, batch_size=args.batch_size, gradient=args.gradient,
                readout=args.readout, hidden_gain=args.hidden_gain,
                schedule=list(args.schedule) if args.schedule else None)
    # entries written before --readout / --hidden-gain existed used counts and gain 1
    entry = {"readout": "counts", "hidden_gain": 1.0, **entry}
    differ = {k: (entry.get(k), v) for k, v in mine.items() if entry.get(k) != v}
    asked = entry.get("epochs_asked", entry["epochs"])
    if differ or asked != args.epochs:
        raise SystemExit(f"--add-seeds: the entry {cell_key(cell, args)!r} has other settings {differ} or "
                         f"epochs ({asked} vs {args.epochs}); run it again with the same ones")


def stored_seeds(cell, args, stored):
    """--add-seeds: the seeds of this cell's entry in the stored results that this run does not train
    (finished, or in progress in another process: each counts with the epochs it has)."""
    entry = stored.get(cell_key(cell, args)) if args.add_seeds else None
    if entry is None:
        return []
    return [dict(seed=int(seed), test_acc=r["test_acc"], curve=r["test_acc_per_epoch"], secs=[],
                 n_train=entry["n_train"], n_test=entry["n_test"],
                 epochs_done=max(int(e) for e in r["test_acc_per_epoch"]), command=r.get("command", entry["command"]))
            for seed, r in entry["per_seed"].items() if int(seed) not in args.seeds]


def cell_results(cell, runs, args, argv):
    """The results entries of one cell from the seeds run so far (labelled partial where short)."""
    if len({(r["n_train"], r["n_test"]) for r in runs}) > 1:
        raise SystemExit(f"{cell}: the seeds ran on different numbers of training/test samples "
                         f"{sorted({(r['n_train'], r['n_test']) for r in runs})}; use the same --n-train/--n-test")
    accs = np.array([r["test_acc"] for r in runs])
    done, partial = partial_label(runs, args, FULL_TRAIN)
    key = cell_key(cell, args)
    return {key: {"test_acc_mean": float(accs.mean()), "test_acc_std": float(accs.std()),
                  "seeds": [r["seed"] for r in runs], "epochs": done, "epochs_asked": args.epochs,
                  "steps": args.steps, "hidden": args.hidden,
                  "lr": args.lr, "schedule": list(args.schedule) if args.schedule else None,
                  "batch_size": args.batch_size, "gradient": args.gradient, "readout": args.readout,
                  "hidden_gain": args.hidden_gain, "n_train": runs[0]["n_train"], "n_test": runs[0]["n_test"],
                  "per_seed": {str(r["seed"]): {"test_acc": r["test_acc"], "test_acc_per_epoch": r["curve"],
                                                "command": r["command"]} for r in runs},
                  "partial": partial,
                  "emulated": cell.startswith("nmnist-emulated"),
                  "command": command(__file__, argv), "machine": machine()},
            "epoch_seconds": {key: float(np.median([s for r in runs for s in r["secs"]]))},  # this invocation's
            "epoch_seconds_note": "one training epoch (numpy float32 forward + BPTT + Adam) on the cell's "
                                  "training set; " + args.timing_note,
            "machine": machine()}


def merged_results(cell, runs, stored, args, argv, started):
    """The results entries of `runs`: with --add-seeds merged with the stored seeds of the entry
    (finished or still running elsewhere), else replacing the stored entry, which moves to its
    "earlier_runs"."""
    new = cell_results(cell, sorted(stored_seeds(cell, args, stored) + runs, key=lambda r: r["seed"]), args, argv)
    key = cell_key(cell, args)
    new[key] = keep_replaced(stored, key, new[key], started, extends=args.add_seeds)
    return new


def with_best(new, stored):
    """`new` entries plus "best_by_cell" over the stored entries updated by them."""
    return {**new, "best_by_cell": best_by_cell({**stored, **new}),
            "best_by_cell_note": "per cell the complete entry with the highest mean test accuracy (selected on "
                                 "the test set, so optimistic); every entry is kept in this file"}


def timing(args):
    """Seconds per sample of one forward pass: Brian2 (Cython) vs the numpy forward, same batch."""
    from brian2learn.models.src import simulate_brian2
    from brian2learn.models.src_fast import simulate_numpy

    trainer, _ = build("mnist", data_dir=args.data_dir, n_train=args.batch_size, n_test=1, hidden=args.hidden,
                       steps=args.steps)
    x, _ = trainer.train
    s_in = encode("mnist", x, args.steps, np.random.default_rng(0))
    out = {}
    for name, f in (("brian2-cython", lambda: simulate_brian2(trainer.net, s_in, target="cython")),
                    ("numpy-float64", lambda: simulate_numpy(trainer.net, s_in)),
                    ("numpy-float32", lambda: simulate_numpy(trainer.net, s_in, dtype=np.float32))):
        f()  # compile / warm up
        t0 = time.perf_counter()
        f()
        out[name] = (time.perf_counter() - t0) / len(x)
        print(f"{name}: {out[name] * 1e3:.2f} ms per sample", flush=True)
    return {"forward_seconds_per_sample": {"network": f"784-{args.hidden}-10", "steps": args.steps,
                                           "batch": len(x), **out, "command": command(__file__),
                                           "note": args.timing_note}}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", nargs="*", default=["mnist/1"])
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--full-epochs", type=int, default=10, help="epochs of an unlabelled (complete) run")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--gradient", default="paper", choices=["paper", "exact"])
    p.add_argument("--readout", default="counts", choices=["counts", "membrane"],
                   help="logits = summed output spikes of an SRC layer, or the mean of a leaky non-spiking "
                        "integrator (models.src); key ' readout=membrane'")
    p.add_argument("--hidden-gain", type=float, default=1.0,
                   help="factor on the initial weights into the SRC layers after the first (experiments.src "
                        "hidden_gain); key ' hidden_gain=G'")
    p.add_argument("--schedule", nargs=2, type=float, metavar=("EPOCHS", "GAMMA"), default=None,
                   help="learning rate x GAMMA every EPOCHS epochs (stored under '<cell> schedule=EPOCHSxGAMMA')")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--data-dir", default=SHARED if os.path.isdir(SHARED) else None)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "src.json"))
    p.add_argument("--update", action="store_true",
                   help="accepted for old command lines: every run merges into the results file (nothing stored is dropped)")
    p.add_argument("--add-seeds", action="store_true",
                   help="add these seeds to the cell's entry from an earlier run with the same settings and epochs "
                        "(several processes may add seeds to one entry at once)")
    p.add_argument("--checkpoint-dir", default=None,
                   help="save each seed's trainer after every epoch there, and resume a stopped seed from it")
    p.add_argument("--timing", action="store_true", help="only time the Brian2 and numpy forward passes")
    p.add_argument("--summarise", action="store_true", help="only recompute best_by_cell from the stored entries")
    p.add_argument("--timing-note", default="measured under load from parallel jobs (2 shared cores)")
    args = p.parse_args(argv)
    args.argv = argv
    for cell in args.cells:
        parts = cell.split("/")
        if len(parts) != 2 or parts[0] not in DATASETS or not parts[1].isdigit() or int(parts[1]) < 1:
            p.error(f"bad cell {cell!r}: use <{'|'.join(DATASETS)}>/<hidden layers >= 1>")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.timing:
        write_results(args.out, {**timing(args), "machine": machine()}, update=True)
        return
    if args.summarise:
        results = write_results(args.out, lambda stored: with_best({}, stored), update=True)
        print(json.dumps(results["best_by_cell"], indent=1))
        return
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = {}
    for cell in args.cells:
        check_add_seeds(cell, args)

        def write(runs, cell=cell):   # merged under the file lock with what other processes stored
            return write_results(args.out, lambda stored: with_best(
                merged_results(cell, runs, stored, args, argv, started), stored), update=True)

        runs = run_seeds(cell, args.seeds, run_cell, args, on_progress=write)
        results = write(runs)
    print({k: (v["test_acc_mean"] if isinstance(v, dict) and "test_acc_mean" in v else v) for k, v in results.items()})


if __name__ == "__main__":
    main()
