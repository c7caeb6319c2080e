"""What Brian2's garbage collection at the start of every `Network.run` costs, and what
`models.running.run_network` (gc.freeze around the run) saves.

    python benchmarks/run_overhead.py --repeats 4

Two workloads, each run alternately with `run_network` and a plain `net.run`, in one process:
- "yinyang epoch": one training epoch of Yin-Yang 4-30-3 W+synaptic (5000 samples, batch 150;
  one Brian2 run);
- "theta simulate": one forward pass of a 2-20 theta network on 16 inputs (one Brian2 run: what
  weight perturbation does several times per step).
For each: median wall seconds per call and the seconds spent inside the garbage collector per call
(measured with `gc.callbacks`). Writes benchmarks/results/run_overhead.json = {"<workload>":
{"<mode>": {"wall_seconds", "gc_seconds", "repeats"}}, "objects_tracked", "command", "machine", "note"}.
"""
from __future__ import annotations

import argparse
import gc
import os
import time

import numpy as np

from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

from brian2learn.experiments.yinyang import build  # noqa: E402
from brian2learn.models import network as network_module  # noqa: E402
from brian2learn.models import theta_network as theta_module  # noqa: E402
from brian2learn.models.running import run_network  # noqa: E402
from brian2learn.models.theta_network import ThetaNetwork  # noqa: E402


def plain_run(net, duration, namespace=None, **kwargs):
    net.run(duration, namespace={} if namespace is None else namespace, **kwargs)


class GCTimer:
    """Seconds spent in the garbage collector since `reset()`."""

    def __init__(self):
        self.seconds, self._start = 0.0, 0.0
        gc.callbacks.append(self)

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start

    def reset(self):
        self.seconds = 0.0


def measure(work, modules, repeats, timer):
    """{mode: {wall_seconds, gc_seconds}} medians over `repeats` alternating calls of `work`."""
    rows = {"run_network (gc.freeze)": [], "plain net.run": []}
    work()  # compile / warm up
    for _ in range(repeats):
        for mode, f in (("run_network (gc.freeze)", run_network), ("plain net.run", plain_run)):
            for m in modules:
                m.run_network = f
            timer.reset()
            t0 = time.perf_counter()
            work()
            rows[mode].append((time.perf_counter() - t0, timer.seconds))
    for m in modules:
        m.run_network = run_network
    return {mode: {"wall_seconds": float(np.median([r[0] for r in v])),
                   "gc_seconds": float(np.median([r[1] for r in v])), "repeats": repeats}
            for mode, v in rows.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--note", default="")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "run_overhead.json"))
    args = p.parse_args(argv)
    timer = GCTimer()
    trainer, _ = build("4-30-3 W+synaptic", seed=0, progress=False)
    theta = ThetaNetwork(2, [20], batch_size=16, seed=0)
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=(16, 2))
    out = {"yinyang epoch": measure(trainer.train_epoch, [network_module], args.repeats, timer),
           "theta simulate": measure(lambda: theta.simulate(x), [theta_module], args.repeats, timer),
           "objects_tracked": len(gc.get_objects()), "command": command(__file__, argv), "machine": machine(),
           "note": args.note}
    for k, v in out.items():
        print(k, v, flush=True)
    write_results(args.out, out, update=False)


if __name__ == "__main__":
    main()
