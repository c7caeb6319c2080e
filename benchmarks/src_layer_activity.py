"""How much of a deep SRC network is awake at initialisation, as a function of `hidden_gain`.

    python benchmarks/src_layer_activity.py [--depth 4] [--steps 100] [--gains 1 2 3 5 8] [--n 128]

Per hidden layer: the fraction of (digit, cell) pairs with at least one spike (s > 0.5), the mean
number of spikes per cell and the median step of the first spike, for the first `--n` MNIST training
digits, rate-coded (experiments.src), membrane readout. Prints only; the numbers are quoted in
experiments/src.py and benchmarks/README.md ("SRC").
"""
import argparse
import os

import numpy as np

from brian2learn.experiments.src import build, encode
from brian2learn.models.src_fast import simulate_numpy

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "datasets")


def activity(record, steps):
    rows = []
    for r in record[:-2]:   # the hidden SRC layers (the last two entries: the integrator and the logits)
        act = r["s"] > 0.5
        ever = act.any(axis=1)
        first = act.argmax(axis=1)[ever]
        rows.append((ever.mean(), act.sum(axis=1).mean(), float(np.median(first)) if first.size else float("nan")))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--gains", nargs="*", type=float, default=[1, 2, 3, 5, 8])
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=SHARED if os.path.isdir(SHARED) else None)
    args = p.parse_args(argv)
    s_in = None
    for gain in args.gains:
        trainer, _ = build("mnist", seed=args.seed, data_dir=args.data_dir, n_train=args.n, n_test=1,
                           depth=args.depth, readout="membrane", hidden_gain=gain)
        if s_in is None:
            s_in = encode("mnist", trainer.train[0], args.steps, np.random.RandomState(args.seed))
        rows = activity(simulate_numpy(trainer.net, s_in, dtype=np.float32), args.steps)
        print(f"hidden_gain {gain:g}: " + " | ".join(
            f"L{l + 1} awake {e:.2f}, {n:.2f} spikes, first {f:.0f}" for l, (e, n, f) in enumerate(rows)), flush=True)


if __name__ == "__main__":
    main()
