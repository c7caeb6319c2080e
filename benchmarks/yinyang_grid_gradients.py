"""How far the Brian2 run's gradients are from the exact (replay) gradients during Yin-Yang training.

    python benchmarks/yinyang_grid_gradients.py                       # W+synaptic, seed 0
    python benchmarks/yinyang_grid_gradients.py --config "4-30-3 W+axonal" --checkpoints 1 10 50
    python benchmarks/yinyang_grid_gradients.py --dt 0.005 --checkpoints 1 10 100   # a finer grid

Trains the network on the Brian2 runtime (reference settings) and, at each checkpoint epoch, runs one
epoch of the training set without learning: for every minibatch it takes the spike times of the
Brian2 run (dt = 0.01 tau_s, exact sub-step times) and those of the closed-form replay for the same
parameters and inputs, and forms the learning rule's gradient from each (each with its own loss
gradient, as training would). Records
per checkpoint: the hidden and output spikes present in one simulator only or off by more than
1e-3 tau_s, the samples with any of those, the cosine between the two minibatch gradients (median, 1st
percentile, minimum) and the relative difference of the epoch's summed gradients. Writes
`benchmarks/results/yinyang_grid_gradients.json`, under "<config> seed=S[ dt=DT] exact-steps".

Entries without " exact-steps" ran before the Brian2 LIF took the inputs of a step in time order
(models.lif, commit 7478553): then about 0.1 % of the spikes were off (several inputs in the step of
a crossing) and a few missed (an inhibitory input after the crossing in the same step).
"""
from __future__ import annotations

import argparse
import os

from brian2learn.experiments.result_store import command, machine, write_results
from brian2learn.experiments.simulator_agreement import compare_epoch
from brian2learn.experiments.yinyang import build


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="4-30-3 W+synaptic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dt", type=float, default=None, help="time step in tau_s (default: the config's, 0.01)")
    p.add_argument("--checkpoints", nargs="*", type=int, default=[1, 10, 100, 200, 300])
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "yinyang_grid_gradients.json"))
    args = p.parse_args(argv)
    trainer, cfg = build(args.config, seed=args.seed, progress=False, **({"dt": args.dt} if args.dt else {}))
    rows = {}
    for epoch in sorted(args.checkpoints):
        while trainer.epoch < epoch:
            trainer.train_epoch()
        rows[str(epoch)] = {"test_acc": trainer.evaluate()[0], **compare_epoch(trainer)}
        print(epoch, rows[str(epoch)], flush=True)
    key = f"{args.config} seed={args.seed}" + (f" dt={args.dt}" if args.dt else "") + " exact-steps"
    write_results(args.out, {key: {"by_epoch": rows, "dt": cfg["dt"], "command": command(__file__, argv), "machine": machine()}},
                  update=True)


if __name__ == "__main__":
    main()
