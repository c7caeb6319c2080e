"""OpenMP threads of the compiled event loops on a busy machine: Yin-Yang epoch time by thread setting.

    python benchmarks/threads.py                       # 0 and 2 busy processes, settings 1, 2, default
    python benchmarks/threads.py --busy 0 1 2 --epochs 5

For each number of busy processes (pure-Python spin loops this script starts, standing in for a second
training run or a notebook kernel), trains the 4-30-3 W+synaptic Yin-Yang network on the replay
simulator (models.lif_replay, compiled loops of models.lif_events_native) and on the Brian2 runtime
device (whose learning rule runs the same compiled gradient) and records the median seconds per epoch
(5000 samples, first epoch excluded) with the loops' threads set to 1, to 2, and left unset
("default": every core only for calls of at least PARALLEL_MIN_WORK, one thread below). Writes
`benchmarks/results/threads.json` = {"<simulator>": {"busy=<k>": {"<setting>": seconds}}, "command",
"machine", "parallel_min_work"}. Run it with nothing else running: the busy processes are the load.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np

from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

SETTINGS = {"1 thread": 1, "2 threads": 2, "default": None}


def spin(stop):
    while not stop.is_set():
        sum(range(1000))


def epoch_seconds(simulator, threads, epochs):
    from brian2learn.experiments.yinyang import build
    from brian2learn.models import lif_events_native
    lif_events_native.set_threads(threads)
    trainer, _ = build("4-30-3 W+synaptic", seed=0, progress=False, simulator=simulator)
    times = []
    for _ in range(epochs + 1):
        t = time.perf_counter()
        trainer.train_epoch()
        times.append(time.perf_counter() - t)
    return float(np.median(times[1:]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--busy", nargs="*", type=int, default=[0, 2], help="numbers of busy processes")
    p.add_argument("--simulators", nargs="*", default=["replay", "brian2"], choices=["replay", "brian2"])
    p.add_argument("--epochs", type=int, default=5, help="timed epochs per setting (after one untimed)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "threads.json"))
    args = p.parse_args(argv)
    os.environ.pop("OMP_NUM_THREADS", None)   # "default" means nobody chose
    from brian2learn.models import lif_events_native
    results = {}
    for busy in args.busy:
        stop = multiprocessing.Event()
        load = [multiprocessing.Process(target=spin, args=(stop,), daemon=True) for _ in range(busy)]
        for proc in load:
            proc.start()
        try:
            for sim in args.simulators:
                row = results.setdefault(sim, {}).setdefault(f"busy={busy}", {})
                for name, threads in SETTINGS.items():
                    row[name] = round(epoch_seconds(sim, threads, args.epochs), 4)
                    print(f"{sim:7s} busy={busy} {name:10s} {row[name]:.3f} s/epoch", flush=True)
        finally:
            stop.set()
            for proc in load:
                proc.join()
    results.update(command=command(__file__, argv), machine=machine(), epochs_timed=args.epochs,
                   parallel_min_work=lif_events_native.PARALLEL_MIN_WORK)
    write_results(args.out, results, update=False)


if __name__ == "__main__":
    main()
