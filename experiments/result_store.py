"""Results-file bookkeeping for the benchmark scripts (benchmarks/*.py): one JSON file of entries per
benchmark, updated atomically under a file lock, where nothing measured is ever dropped.

- `write_results`: write or merge entries into a results file atomically (a merger may read the stored
  entries under the lock, so processes adding to the same entry keep each other's seeds).
- `keep_replaced`: an entry that a new run replaces moves into the new entry's "earlier_runs".
- `keep_better`: of two runs of one setting the better stays on top, the other is kept beside it
  ("earlier" or "variants").
- `add_seeds`: more seeds of a stored configuration joined into its entry (means and stds over all).
- `partial_label`: why an entry falls short of a complete result.
- `resumable_epochs`: train one epoch at a time, saved after each, resuming a stopped seed from its
  checkpoint.
- `best_by_cell`: a pointer to the best complete entry per cell.
- `machine`, `command`: the provenance every entry records.
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shlex
import sys

import numpy as np

__all__ = ["machine", "command", "write_results", "keep_replaced", "keep_better", "add_seeds", "partial_label",
           "resumable_epochs", "best_by_cell"]


def machine():
    """'<cpu model>, <n> cores, <OS>, Python <version>': the machine an entry was measured on."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu or platform.processor()}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def command(script, argv=None):
    """The command line that produced a result ('python <script> <args>', the script's path relative
    to the working directory; argv defaults to sys.argv[1:])."""
    return "python " + shlex.join([os.path.relpath(script)] + (argv if argv is not None else sys.argv[1:]))


def write_results(path, new, update):
    """Write `new` to path atomically; with update, merge into what is there (under a file lock).

    `new` may be a function of the stored results (a dict, empty when there is no file) that returns
    the entries to write: it runs under the lock, so processes that add to the same entry do not
    overwrite each other. "epoch_seconds*" dict entries are merged key by key (one timing per
    device/network). Returns the results as written."""
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


def keep_better(old, new, metric):
    """The stored entry of a setting after a new run, `metric` an error (lower is better): the better
    run on top, the other kept under "earlier" (superseded by `new`) or "variants" (`new`, not better)
    -- nothing is dropped."""
    if not old:
        return new
    if new[metric] < old[metric]:
        new["earlier"] = old.pop("earlier", []) + [old]
        return new
    old.setdefault("variants", []).append(new)
    return old


def add_seeds(old, new, config_keys, old_defaults=None, metrics=(), joined=(), seed_weighted=(), integers=()):
    """`new` (more seeds of the configuration of the stored entry `old`) merged into one entry.

    config_keys must agree (a key missing from an entry counts as its value in `old_defaults`, what
    entries written before the key existed ran with) and the seeds must be new, else ValueError. For
    each of `metrics` present in both, "<m>_per_seed" lists are joined and "<m>" / "<m>_std" become the
    mean / std over all seeds; `joined` lists are concatenated; `seed_weighted` values are averaged
    weighted by the number of seeds (`integers` among them rounded down to int). Both commands are
    kept (a list), and "partial" / "timing_note" are the new run's (they describe the whole entry)."""
    old_defaults = old_defaults or {}
    differ = [k for k in config_keys if old.get(k, old_defaults.get(k)) != new.get(k, old_defaults.get(k))]
    if differ:
        raise ValueError(f"--add-seeds needs the stored entry's configuration; these differ: {differ}")
    if set(old["seeds"]) & set(new["seeds"]):
        raise ValueError(f"--add-seeds: seeds {sorted(set(old['seeds']) & set(new['seeds']))} are already stored")
    out = dict(old, seeds=old["seeds"] + new["seeds"], command=[*np.atleast_1d(old["command"]), new["command"]])
    n_old, n_new = len(old["seeds"]), len(new["seeds"])
    for key in metrics:
        if old.get(key) is not None and new.get(key) is not None:
            values = old[key + "_per_seed"] + new[key + "_per_seed"]
            out.update({key: float(np.mean(values)), key + "_std": float(np.std(values)), key + "_per_seed": values})
    for key in joined:
        if key in old:
            out[key] = old[key] + new[key]
    for key in seed_weighted:
        if key in old and key in new:
            out[key] = (old[key] * n_old + new[key] * n_new) / (n_old + n_new)
    out.pop("partial", None)
    out.update({k: new[k] for k in ("partial", "timing_note") if k in new})
    for key in integers:
        if key in out:
            out[key] = int(out[key])
    return out


def partial_label(runs, args, full_train=60000, full_test=None):
    """(epochs finished by every seed, the "partial" label: False, or why the runs fall short of a
    complete result: fewer training/test samples, epochs or seeds than a full run). `runs` have
    n_train, n_test, epochs_done and seed; `args` has epochs (asked for) and full_epochs."""
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


def resumable_epochs(trainer, label, key, seed, n_train, args):
    """Train `trainer` (anything with epoch, history, fit(epochs, checkpoint=, log=), load) one epoch
    at a time up to args.epochs, yielding its history row after each epoch. With args.checkpoint_dir
    it is saved after every epoch to <dir>/<key>-seed<N>-train<n>.npz, and a run started again with
    the same settings first resumes from that checkpoint (exactly: same data order and draws). A
    checkpoint that already holds args.epochs epochs is refused (SystemExit)."""
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


def best_by_cell(stored):
    """Per cell (the first word of an entry's key, e.g. "mnist/1"), the stored entry with the highest
    mean test accuracy among the complete ones (among the partial ones where none is complete); keys
    whose value has no "test_acc_mean" (timings, notes) are ignored. Chosen on the test set, so
    optimistic: a pointer into the entries, which all stay in the file."""
    best = {}
    for key, entry in stored.items():
        if not (isinstance(entry, dict) and "test_acc_mean" in entry):
            continue
        cell = key.split(" ")[0]
        rank = (not entry["partial"], entry["test_acc_mean"])
        if cell not in best or rank > best[cell][0]:
            best[cell] = (rank, {"key": key, **{k: entry.get(k) for k in ("test_acc_mean", "test_acc_std", "seeds",
                                                                           "epochs", "steps", "partial")}})
    return {cell: best[cell][1] for cell in sorted(best)}
