"""Shared by the benchmark scripts that train several seeds of a cell (delay_only.py, src.py).

Results-file bookkeeping (atomic updates, adding seeds, keeping replaced runs, resuming a stopped seed)
is in the package: brian2learn.experiments.result_store."""
from __future__ import annotations

import time


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
