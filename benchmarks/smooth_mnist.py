"""MNIST with theta neurons and smooth exact gradients (Klos & Memmesheimer 2025): accuracy and speed.

    python benchmarks/smooth_mnist.py --epochs 1 --seeds 0 --data-dir /work/shared/datasets
    python benchmarks/smooth_mnist.py --epochs 1 --n-train 10000 --backend event ...   # labelled partial
    python benchmarks/smooth_mnist.py --epochs 100 ... --checkpoint-dir ~/smooth-ckpt     # run again to resume
    python benchmarks/smooth_mnist.py --epochs 100 --seeds 1 --add-seeds ...  # seeds in parallel processes, one entry

Writes benchmarks/results/smooth_mnist.json with "test_acc_ordinary_mean", "test_acc_ordinary_std",
"test_acc_with_pseudo_mean", "silent_fraction_before", "silent_fraction_after" (fraction of hidden
neurons that fire on no test image), "hidden_spikes_per_neuron" (per test image, after training),
"acc_after_1_epoch" (with pseudospikes, as the reference's 91.2 %; also the ordinary one),
"epochs", "seeds", "epoch_seconds" (wall-clock of each training epoch, with its split into the
Brian2 run, the event replay, the backward pass and the update), "machine", "command", and
"partial" when fewer than the reference 100 epochs, 60,000 training images or 10,000 test images
were used. The file is written after every epoch. A `--speed-only` run (e.g. one epoch with the other
simulator) goes under "speed": {"<simulator>": {"epoch_seconds", "epoch_seconds_split",
"acc_after_1_epoch", ...}} and leaves the accuracy entries alone; a training run keeps "speed" and
moves the result of an earlier run to "earlier_runs" (nothing measured is dropped). With
`--add-seeds` the seeds of this run join those of the stored run when it has the same "settings",
epochs asked for and simulator (else this run replaces it), merged under the file lock at every
write, so seeds can run in parallel processes (give every process --add-seeds).
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

from brian2learn.experiments.smooth_mnist import MNIST_DEFAULTS, SmoothMNIST, mnist_data  # noqa: E402

REFERENCE_EPOCHS = 100


def run_seed(seed, args, train, test, log, on_epoch=lambda before, rows: None):
    """(before, rows): the test metrics before training and after each epoch. With --checkpoint-dir
    the experiment is saved after every epoch and a stopped seed resumes from its last checkpoint."""
    xs, ys = train
    n_batches = int(np.ceil(len(xs) / args.batch_size))
    exp = SmoothMNIST(seed=seed, simulator=args.simulator, n_batches_per_epoch=n_batches, **settings(args))
    flip = "" if args.p_flip == MNIST_DEFAULTS["p_flip"] else f"-pflip{args.p_flip:g}"
    ckpt = (os.path.join(args.checkpoint_dir, f"smooth_mnist-seed{seed}-train{len(xs)}-test{len(test[0])}{flip}.npz")
            if args.checkpoint_dir else None)
    if ckpt and os.path.exists(ckpt):
        exp.load(ckpt)
        log(f"seed {seed}: resumed from {ckpt} after epoch {exp.epoch}")
    while exp.epoch < args.epochs:
        exp.fit(train, test, exp.epoch + 1, checkpoint=ckpt, log=lambda msg: log(f"seed {seed} {msg}"),
                progress=lambda b, l: log(f"  batch {b + 1}/{n_batches} loss {l:.4f}") if (b + 1) % 10 == 0 else None)
        on_epoch(exp.history[0], exp.history[1:])
    return exp.history[0], exp.history[1:]


def settings(args):
    """The SmoothMNIST settings this run changes from MNIST_DEFAULTS' (all recorded in the results)."""
    return dict(batch_size=args.batch_size, batch_copies=args.batch_copies, dt=args.dt, p_flip=args.p_flip)


def stored_seeds(stored, args):
    """--add-seeds: [(seed, before, rows)] of the stored run that this run does not train, when that
    run has the same settings, epochs asked for and simulator; else [] (this run replaces it, and
    the stored run moves to "earlier_runs")."""
    run = {k: v for k, v in stored.items() if k != "speed"}
    if not (args.add_seeds and run):
        return []
    if (run.get("settings"), run.get("epochs_asked"), run.get("simulator")) != \
            (dict(MNIST_DEFAULTS, **settings(args)), args.epochs, args.simulator):
        print(f"--add-seeds: the stored run (settings {run.get('settings')}, {run.get('epochs_asked')} epochs "
              f"asked for) differs from this one: replacing it (kept in earlier_runs)", flush=True)
        return []
    return [(e["seed"], e["before"], e["epochs"]) for e in run["per_seed"] if e["seed"] not in args.seeds]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--batch-copies", type=int, default=500, help="network copies per Brian2 run")
    p.add_argument("--dt", type=float, default=0.05, help="Brian2 time step in ms")
    add_backend_argument(p)
    p.add_argument("--p-flip", type=float, default=MNIST_DEFAULTS["p_flip"],
                   help="probability of flipping each input pixel of a training batch (reference 0.02)")
    p.add_argument("--add-seeds", action="store_true",
                   help="add this run's seeds to the stored run (same settings), e.g. one seed per process")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--timing-note", default=None, help="e.g. 'measured under load from parallel jobs'")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "smooth_mnist.json"))
    p.add_argument("--speed-only", action="store_true",
                   help="write this run only under the file's \"speed\" entry (per simulator), keeping the "
                        "accuracy results of a longer run")
    p.add_argument("--checkpoint-dir", default=None,
                   help="save each seed after every epoch there, and resume a stopped seed from it")
    args = p.parse_args(argv)

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    train, test = mnist_data(args.data_dir, args.n_train, args.n_test)
    log(f"{len(train[0])} train / {len(test[0])} test images, simulator {args.simulator}, dt {args.dt} ms, "
        f"{args.batch_copies} copies per Brian2 run")
    started = time.strftime("%Y-%m-%d %H:%M:%S")

    def write(results):
        if args.speed_only:
            out = summarise(results, args, argv, train, test)   # only the "speed" entry of this simulator changes
            keep = ("epoch_seconds", "epoch_seconds_split", "acc_after_1_epoch", "acc_after_1_epoch_ordinary",
                    "epochs", "seeds", "n_train", "n_test", "batch_size", "dt_ms", "command", "machine",
                    "timing_note", "partial")
            write_results(args.out, lambda stored: {"speed": {**stored.get("speed", {}),
                                                              args.simulator: {k: out[k] for k in keep if k in out}}},
                          update=True)
        else:   # a training run replaces the accuracy entries, keeps the speed runs and moves the result
                # of another run to "earlier_runs" (common.keep_replaced, on the file as one entry)
            def merge(stored):
                previous = {k: v for k, v in stored.items() if k != "speed"}
                others = stored_seeds(stored, args)
                out = summarise(sorted(others + results, key=lambda r: r[0]), args, argv, train, test)
                if others:
                    out["commands"] = {**previous.get("commands", {str(s): previous["command"] for s, _, _ in others}),
                                       **{str(s): out["command"] for s, _, _ in results}}
                new = keep_replaced({"run": previous} if previous else {}, "run", out, started,
                                    extends=bool(others))
                return {**new, **({"speed": stored["speed"]} if "speed" in stored else {})}
            write_results(args.out, merge, update=False)

    done = []
    for seed in args.seeds:
        before, rows = run_seed(seed, args, train, test, log,
                                on_epoch=lambda before, rows: write(done + [(seed, before, rows)]))
        done.append((seed, before, rows))
    write(done)
    log(f"wrote {args.out}")


def summarise(results, args, argv, train, test):
    """The results file from the seeds run so far [(seed, before, rows)], the last one possibly
    unfinished (then labelled partial)."""
    last = [rows[-1] for _, _, rows in results]
    first = [rows[0] for _, _, rows in results]
    epochs = min(len(rows) for _, _, rows in results)
    acc_ord = np.array([r["acc_ordinary"] for r in last])
    out = {
        "test_acc_ordinary_mean": float(acc_ord.mean()),
        "test_acc_ordinary_std": float(acc_ord.std()),
        "test_acc_with_pseudo_mean": float(np.mean([r["acc_with_pseudo"] for r in last])),
        "silent_fraction_before": float(np.mean([b["silent_fraction"] for _, b, _ in results])),
        "silent_fraction_after": float(np.mean([r["silent_fraction"] for r in last])),
        "hidden_spikes_per_neuron": float(np.mean([r["hidden_spikes_per_neuron"] for r in last])),
        "acc_after_1_epoch": float(np.mean([r["acc_with_pseudo"] for r in first])),
        "acc_after_1_epoch_ordinary": float(np.mean([r["acc_ordinary"] for r in first])),
        "epochs": epochs,
        "seeds": [s for s, _, _ in results],
        "n_train": len(train[0]),
        "n_test": len(test[0]),
        "simulator": args.simulator,
        "settings": dict(MNIST_DEFAULTS, **settings(args)),
        "epochs_asked": args.epochs,
        "dt_ms": args.dt,
        "batch_size": args.batch_size,
        "batch_copies_per_brian2_run": args.batch_copies,
        "epoch_seconds": [r["epoch_seconds"] for _, _, rows in results for r in rows],
        "epoch_seconds_split": [r["split"] for _, _, rows in results for r in rows],
        "per_seed": [{"seed": s, "before": b, "epochs": rows} for s, b, rows in results],
        "machine": machine(),
        "command": command(__file__, argv),
    }
    partial = []
    if epochs < args.epochs:
        partial.append(f"in progress or stopped at epoch {epochs} of the {args.epochs} asked for")
    if epochs < REFERENCE_EPOCHS:
        partial.append(f"{epochs} epoch(s) of the reference {REFERENCE_EPOCHS}")
    if len(train[0]) < 60000 or len(test[0]) < 10000:
        partial.append(f"{len(train[0])} train / {len(test[0])} test images")
    if len(results) < 2:
        partial.append(f"{len(results)} seed")
    if partial:
        out["partial"] = "; ".join(partial)
    if args.timing_note:
        out["timing_note"] = args.timing_note
    return out


if __name__ == "__main__":
    main()
