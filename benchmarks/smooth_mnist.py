"""MNIST with theta neurons and smooth exact gradients (Klos & Memmesheimer 2025): accuracy and speed.

    python benchmarks/smooth_mnist.py --epochs 1 --seeds 0 --data-dir /work/shared/datasets
    python benchmarks/smooth_mnist.py --epochs 1 --n-train 10000 --simulator replay ...   # labelled partial

Writes benchmarks/results/smooth_mnist.json with "test_acc_ordinary_mean", "test_acc_ordinary_std",
"test_acc_with_pseudo_mean", "silent_fraction_before", "silent_fraction_after" (fraction of hidden
neurons that fire on no test image), "hidden_spikes_per_neuron" (per test image, after training),
"acc_after_1_epoch" (with pseudospikes, as the reference's 91.2 %; also the ordinary one),
"epochs", "seeds", "epoch_seconds" (wall-clock of each training epoch, with its split into the
Brian2 run, the event replay, the backward pass and the update), "machine", "command", and
"partial" when fewer than the reference 100 epochs, 60,000 training images or 10,000 test images
were used.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import command, machine, write_results  # noqa: E402

from brian2learn.experiments.smooth_gradients import SmoothMNIST, mnist_data  # noqa: E402

REFERENCE_EPOCHS = 100


def run_seed(seed, args, train, test, log):
    xs, ys = train
    n_batches = int(np.ceil(len(xs) / args.batch_size))
    exp = SmoothMNIST(seed=seed, simulator=args.simulator, n_batches_per_epoch=n_batches,
                      batch_size=args.batch_size, batch_copies=args.batch_copies, dt=args.dt)
    before = exp.evaluate(*test)
    log(f"seed {seed} before: {before}")
    rows = []
    for epoch in range(args.epochs):
        exp.timings = dict.fromkeys(exp.timings, 0.0)
        t0 = time.perf_counter()
        loss = exp.train_epoch(xs, ys, progress=lambda b, l: log(f"  batch {b + 1}/{n_batches} loss {l:.4f}")
                               if (b + 1) % 10 == 0 else None)
        secs = time.perf_counter() - t0
        split = dict(exp.timings)
        ev = exp.evaluate(*test)
        rows.append(dict(epoch=epoch + 1, train_loss=loss, epoch_seconds=secs, split=split, **ev))
        log(f"seed {seed} epoch {epoch + 1}: {secs:.1f} s {split} train loss {loss:.4f} test {ev}")
    return before, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--batch-copies", type=int, default=500, help="network copies per Brian2 run")
    p.add_argument("--dt", type=float, default=0.05, help="Brian2 time step in ms")
    p.add_argument("--simulator", choices=("brian2", "replay"), default="brian2")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--timing-note", default=None, help="e.g. 'measured under load from parallel jobs'")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "smooth_mnist.json"))
    args = p.parse_args(argv)

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    train, test = mnist_data(args.data_dir, args.n_train, args.n_test)
    log(f"{len(train[0])} train / {len(test[0])} test images, simulator {args.simulator}, dt {args.dt} ms, "
        f"{args.batch_copies} copies per Brian2 run")
    results = [run_seed(s, args, train, test, log) for s in args.seeds]
    last = [rows[-1] for _, rows in results]
    first = [rows[0] for _, rows in results]
    acc_ord = np.array([r["acc_ordinary"] for r in last])
    out = {
        "test_acc_ordinary_mean": float(acc_ord.mean()),
        "test_acc_ordinary_std": float(acc_ord.std()),
        "test_acc_with_pseudo_mean": float(np.mean([r["acc_with_pseudo"] for r in last])),
        "silent_fraction_before": float(np.mean([b["silent_fraction"] for b, _ in results])),
        "silent_fraction_after": float(np.mean([r["silent_fraction"] for r in last])),
        "hidden_spikes_per_neuron": float(np.mean([r["hidden_spikes_per_neuron"] for r in last])),
        "acc_after_1_epoch": float(np.mean([r["acc_with_pseudo"] for r in first])),
        "acc_after_1_epoch_ordinary": float(np.mean([r["acc_ordinary"] for r in first])),
        "epochs": args.epochs,
        "seeds": list(args.seeds),
        "n_train": len(train[0]),
        "n_test": len(test[0]),
        "simulator": args.simulator,
        "dt_ms": args.dt,
        "batch_size": args.batch_size,
        "batch_copies_per_brian2_run": args.batch_copies,
        "epoch_seconds": [r["epoch_seconds"] for _, rows in results for r in rows],
        "epoch_seconds_split": [r["split"] for _, rows in results for r in rows],
        "per_seed": [{"seed": s, "before": b, "epochs": rows} for s, (b, rows) in zip(args.seeds, results)],
        "machine": machine(),
        "command": command(__file__, argv),
    }
    partial = []
    if args.epochs < REFERENCE_EPOCHS:
        partial.append(f"{args.epochs} epoch(s) of the reference {REFERENCE_EPOCHS}")
    if len(train[0]) < 60000 or len(test[0]) < 10000:
        partial.append(f"{len(train[0])} train / {len(test[0])} test images")
    if len(args.seeds) < 2:
        partial.append(f"{len(args.seeds)} seed")
    if partial:
        out["partial"] = "; ".join(partial)
    if args.timing_note:
        out["timing_note"] = args.timing_note
    write_results(args.out, out, update=False)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
