"""Shared by the benchmark scripts: the --backend argument, and the seed loop of delay_only.py and src.py.

Results-file bookkeeping (atomic updates, adding seeds, keeping replaced runs, resuming a stopped seed)
is in the package: brian2learn.experiments.result_store."""
from __future__ import annotations

import time

#: --backend value -> the simulator name the scripts and their stored result keys use
SIMULATOR_OF = {"brian2": "brian2", "event": "replay", "replay": "replay"}


def add_backend_argument(parser, default="brian2", help=""):
    """`--backend brian2|event` (the library's back-end names; `--simulator brian2|replay`, the older
    spelling in stored commands, is the same argument). The parsed value is the simulator name that
    the results are keyed by ('replay' for the event back end), in `args.simulator`."""
    parser.add_argument("--backend", "--simulator", dest="simulator", default=SIMULATOR_OF[default],
                        type=lambda v: SIMULATOR_OF.get(v, v), choices=("brian2", "replay"),
                        metavar="{brian2,event}",
                        help="what runs the network: the Brian2 runtime, or the exact event-driven closed forms "
                             "(stored under the key 'simulator=replay')" + (f"; {help}" if help else ""))


def run_seeds(cell, seeds, run_cell, args, on_progress=None):
    """[run_cell(cell, seed, args) for seed in seeds], printing each seed's test accuracy and time.

    on_progress(runs so far, the current seed's partial run last) is called after every epoch when
    given (run_cell must then take `on_epoch`), so a stopped benchmark keeps its finished epochs."""
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        kw = {} if on_progress is None else {"on_epoch": lambda run: on_progress(runs + [run])}
        runs.append(run_cell(cell, seed, args, **kw))
        print(f"{cell} seed {seed}: test acc {runs[-1]['test_acc']:.4f} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    return runs
