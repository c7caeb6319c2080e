"""Shared by the benchmark scripts: machine description and atomic, mergeable results files."""
from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shlex
import sys


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu or platform.processor()}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def command(script, argv=None):
    """The command line that produced a result, relative to the repository root."""
    return "python " + shlex.join([os.path.relpath(script)] + (argv if argv is not None else sys.argv[1:]))


def write_results(path, new, update):
    """Write `new` to path atomically; with update, merge into what is there (under a file lock).

    `new` may be a function of the stored results (a dict, empty when there is no file) that returns
    the entries to write: it runs under the lock, so processes that add to the same entry do not
    overwrite each other. "epoch_seconds*" dict entries are merged key by key (one timing per
    device/network)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {}
        if (update or callable(new)) and os.path.exists(path):
            with open(path) as f:
                results = json.load(f)
        if callable(new):
            new = new(results)
            if not update:
                results = {}
        for key, value in new.items():
            if key.startswith("epoch_seconds") and isinstance(results.get(key), dict) and isinstance(value, dict):
                results[key] = {**results[key], **value}
            else:
                results[key] = value
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, path)
    return results


def keep_replaced(stored, key, entry, started, extends=False):
    """`entry` (stamped with its run's start time) to be written under `key`: an entry of another run
    (other command or start) that it replaces moves into its "earlier_runs", with that entry's own
    earlier runs, so no measured run is lost; with `extends` (the entry adds seeds to the stored one)
    only the earlier runs are carried over. For use inside a write_results merger."""
    entry = dict(entry, run_started=started)
    old = stored.get(key)
    if old is not None:
        earlier = old.get("earlier_runs", [])
        if not extends and (old.get("command"), old.get("run_started")) != (entry["command"], started):
            earlier = [{k: v for k, v in old.items() if k != "earlier_runs"}] + earlier
        if earlier:
            entry["earlier_runs"] = earlier
    return entry


def partial_label(runs, args, full_train=60000, full_test=None):
    """(epochs finished by every seed, the "partial" label: False, or why the runs fall short of a
    complete result: fewer training/test samples, epochs or seeds than a full run)."""
    done = min(r["epochs_done"] for r in runs)
    short = []
    if runs[0]["n_train"] < full_train:
        short.append(f"{runs[0]['n_train']} of {full_train} training samples")
    if full_test is not None and runs[0]["n_test"] < full_test:
        short.append(f"{runs[0]['n_test']} of {full_test} test samples")
    unfinished = [r["seed"] for r in runs if r["epochs_done"] < args.epochs]
    if unfinished:
        short.append(f"in progress or stopped: seed(s) {unfinished} at {done} of the {args.epochs} epochs asked "
                     "for, their accuracy so far counted in the mean")
    if done < args.full_epochs and (args.epochs < args.full_epochs or not unfinished):
        short.append(f"{done} of {args.full_epochs} epochs")
    if len(runs) < 3:
        short.append(f"{len(runs)} seed(s) of 3")
    return done, "; ".join(short) if short else False


def run_seeds(cell, seeds, run_cell, args, on_progress=None):
    """[run_cell(cell, seed, args) for seed in seeds], printing each seed's test accuracy and time.

    on_progress(runs so far, the current seed's partial run last) is called after every epoch when
    given (run_cell must then take `on_epoch`), so a stopped benchmark keeps its finished epochs."""
    import time

    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        kw = {} if on_progress is None else {"on_epoch": lambda run: on_progress(runs + [run])}
        runs.append(run_cell(cell, seed, args, **kw))
        print(f"{cell} seed {seed}: test acc {runs[-1]['test_acc']:.4f} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    return runs


def resumable_epochs(trainer, label, key, seed, n_train, args):
    """Train `trainer` (anything with epoch, history, fit(epochs, checkpoint=, log=), load) one epoch
    at a time up to args.epochs, yielding its history row after each epoch. With args.checkpoint_dir
    it is saved after every epoch to <dir>/<key>-seed<N>-train<n>.npz, and a run started again with
    the same settings first resumes from that checkpoint (exactly: same data order and draws)."""
    ckpt = None
    if getattr(args, "checkpoint_dir", None):
        name = re.sub(r"[^A-Za-z0-9.=@,-]+", "_", key)
        ckpt = os.path.join(args.checkpoint_dir, f"{name}-seed{seed}-train{n_train}.npz")
        if os.path.exists(ckpt):
            trainer.load(ckpt)
            print(f"  {label} seed {seed}: resumed from {ckpt} after epoch {trainer.epoch}", flush=True)
    if trainer.epoch >= args.epochs:
        raise SystemExit(f"{label} seed {seed}: the checkpoint {ckpt} already holds {trainer.epoch} epochs "
                         f"(>= --epochs {args.epochs}); ask for more epochs or remove it")
    while trainer.epoch < args.epochs:
        trainer.fit(trainer.epoch + 1, checkpoint=ckpt, log=None)
        yield trainer.history[-1]
