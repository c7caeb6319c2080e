"""The Yin-Yang benchmark's results entries (benchmarks/yinyang.py): one entry per configuration and
setting, summarising its seeds, written after every seed, and joined by more seeds (--add-seeds).

- `entry_key`: the key of a run's entry (other schedules, learning rates, ... never overwrite the
  reference entry).
- `summarise`: the entry of a configuration from its seeds' runs.
- `stored_runs` / `merged_runs`: a stored entry's seeds as runs, to add new seeds to.
- `record_seeds`: run seeds one by one and write the entry after each (under the results file's lock,
  so processes adding seeds to the same entry keep each other's).

A run (what a `run(seed)` returns) is a dict with seed, test_acc, acc_after_10_epochs (or None),
epoch_seconds (a list), curve and val_curve ({epoch: accuracy}), val_selected, n_weights, n_delays,
settings, and optionally test_acc_other_simulator ({simulator: accuracy}).
"""
from __future__ import annotations

import json
import time

import numpy as np

from .result_store import keep_replaced, machine, write_results

__all__ = ["REFERENCE_EPOCHS", "SETTINGS_ADDED_LATER", "entry_key", "stored_runs", "merged_runs",
           "cross_simulator_summary", "summarise", "comparable_settings", "record_seeds"]

REFERENCE_EPOCHS = 300

# settings that entries written before they existed ran at these values
SETTINGS_ADDED_LATER = {"bump_dead": False}


def entry_key(config, schedule, simulator="brian2", lr=None, batch_size=None, final_decay=None, bump_dead=False):
    """'<config>[ schedule=STEPxGAMMA][ final_decay=N][ bump_dead][ lr=W/D][ batch=B][ simulator=replay]':
    runs with another learning-rate schedule, bumping, learning rates, batch size or simulator never
    overwrite the reference entry."""
    return (config + (f" schedule={schedule[0]:g}x{schedule[1]:g}" if schedule else "")
            + (f" final_decay={final_decay}" if final_decay else "")
            + (" bump_dead" if bump_dead else "")
            + (f" lr={'/'.join(f'{v:g}' for v in lr.values())}" if lr else "")
            + (f" batch={batch_size}" if batch_size else "")
            + (f" simulator={simulator}" if simulator != "brian2" else ""))


def stored_runs(entry, epochs):
    """--add-seeds: the finished seeds of a stored entry as runs for `summarise` (their curves, selection
    and median epoch time), refused (SystemExit) when that entry ran another number of epochs."""
    if entry.get("epochs") != epochs:
        raise SystemExit(f"--add-seeds: the stored entry ran {entry.get('epochs')} epochs, this run {epochs}; "
                         "give the same --epochs or drop --add-seeds")
    return [dict(seed=int(seed), test_acc=r["test_acc"], acc_after_10_epochs=r["acc_after_10_epochs"],
                 epoch_seconds=[r["median_epoch_seconds"]], curve=r["test_acc_every_10_epochs"],
                 val_curve=r["val_acc_every_10_epochs"], val_selected=r["val_selected"],
                 test_acc_other_simulator=r.get("test_acc_other_simulator"),
                 n_weights=entry["n_weights"], n_delays=entry["n_delays"], settings=entry["settings"],
                 command=entry["command"])
            for seed, r in entry["per_seed"].items()]


def merged_runs(stored_entry, runs, seeds, epochs, add_seeds):
    """This process's runs (of `seeds`), with add_seeds joined by the stored entry's other seeds as
    stored now (read under the results file's lock, so processes adding seeds in parallel keep each
    other's)."""
    if not (add_seeds and stored_entry):
        return runs
    mine = [r for r in runs if r["seed"] in seeds]
    others = [r for r in stored_runs(stored_entry, epochs) if r["seed"] not in seeds]
    return sorted(others + mine, key=lambda r: r["seed"])


def cross_simulator_summary(runs):
    """{"test_acc_other_simulator": {simulator: {"test_acc_mean", "trained_simulator_test_acc_mean",
    "seeds"}}} over the runs that evaluated their final network on the other simulator (none: {})."""
    by_sim = {}
    for r in runs:
        for sim, acc in (r.get("test_acc_other_simulator") or {}).items():
            by_sim.setdefault(sim, []).append((r["seed"], acc, r["test_acc"]))
    return {"test_acc_other_simulator": {
        sim: {"test_acc_mean": float(np.mean([a for _, a, _ in rows])),
              "trained_simulator_test_acc_mean": float(np.mean([own for _, _, own in rows])),
              "seeds": [seed for seed, _, _ in rows]}
        for sim, rows in by_sim.items()}} if by_sim else {}


def summarise(runs, epochs, seeds, cmd):
    """The results entry of one config from its finished seeds (stored ones first with --add-seeds);
    `seeds` are those this run asked for, `cmd` its command line."""
    accs = np.array([r["test_acc"] for r in runs])
    acc10 = [r["acc_after_10_epochs"] for r in runs if r["acc_after_10_epochs"] is not None]
    sel = np.array([r["val_selected"]["test_acc"] for r in runs])
    partial = []
    if epochs < REFERENCE_EPOCHS:
        partial.append(f"{epochs} of the reference {REFERENCE_EPOCHS} epochs")
    new = [r for r in runs if "command" not in r]
    if len(new) < len(seeds):
        partial.append(f"{len(new)} of {len(seeds)} seeds of this run")
    commands = list(dict.fromkeys(c for r in runs if "command" in r
                                  for c in (r["command"] if isinstance(r["command"], list) else [r["command"]])))
    return {
        "test_acc_mean": float(accs.mean()), "test_acc_std": float(accs.std()), "seeds": [r["seed"] for r in runs],
        "n_weights": runs[0]["n_weights"], "n_delays": runs[0]["n_delays"], "epochs": epochs,
        "acc_after_10_epochs_mean": float(np.mean(acc10)) if acc10 else None,
        "test_acc_val_selected_mean": float(sel.mean()), "test_acc_val_selected_std": float(sel.std()),
        "val_selection": "test accuracy at the evaluated epoch (every 10) with the best accuracy on the "
                         "published validation split (1000 samples, seed 41); test_acc_mean is the last epoch",
        **cross_simulator_summary(runs),
        "settings": runs[0]["settings"],
        "per_seed": {str(r["seed"]): {"test_acc": r["test_acc"], "acc_after_10_epochs": r["acc_after_10_epochs"],
                                      "median_epoch_seconds": float(np.median(r["epoch_seconds"][1:] or r["epoch_seconds"])),
                                      "test_acc_every_10_epochs": r["curve"],
                                      "val_acc_every_10_epochs": r["val_curve"],
                                      "val_selected": r["val_selected"],
                                      **({"test_acc_other_simulator": r["test_acc_other_simulator"]}
                                         if r.get("test_acc_other_simulator") else {})}
                     for r in runs},
        "command": commands + [cmd] if commands else cmd, "machine": machine(),
        "partial": "; ".join(partial) or False,
    }


def comparable_settings(run):
    """A run's settings as stored (through JSON), with the settings added later at their old values."""
    return {**SETTINGS_ADDED_LATER, **json.loads(json.dumps(run["settings"]))}


def record_seeds(out, key, seeds, run, epochs, cmd, started, add_seeds=False, write=True, label=None):
    """Run `run(seed)` for each of `seeds` and, with `write`, write the entry `key` of the results file
    `out` after each finished seed (labelled partial until all are done; an entry of another run it
    replaces moves to its "earlier_runs"). With add_seeds the seeds join the stored entry of `key`:
    seeds already stored there, another number of epochs or other settings are refused (SystemExit).
    Returns (this process's runs, with the stored ones first under add_seeds; the results as last
    written, {} without `write`)."""
    runs, results = [], {}
    if add_seeds:
        try:
            with open(out) as f:
                stored = json.load(f).get(key)
        except FileNotFoundError:
            stored = None
        if stored:
            runs = stored_runs(stored, epochs)
            if set(seeds) & {r["seed"] for r in runs}:
                raise SystemExit(f"--add-seeds: seeds {sorted(set(seeds) & {r['seed'] for r in runs})} "
                                 f"are already stored under {key!r}")
    for seed in seeds:
        t0 = time.perf_counter()
        r = run(seed)
        if runs and comparable_settings(r) != comparable_settings(runs[0]):
            raise SystemExit(f"--add-seeds: the stored entry {key!r} ran with settings {runs[0]['settings']}, "
                             f"this run with {r['settings']}")
        runs.append(r)
        print(f"{label or key:22s} seed {seed}: test acc {r['test_acc']:.4f} (after 10 epochs "
              f"{r['acc_after_10_epochs']}) {time.perf_counter() - t0:.0f} s", flush=True)
        if write:   # each finished seed is written at once (labelled partial until all are done)
            results = write_results(out, lambda stored: {
                key: keep_replaced(stored, key, summarise(merged_runs(stored.get(key), runs, seeds, epochs, add_seeds),
                                                          epochs, seeds, cmd),
                                   started, extends=add_seeds), "machine": machine()},
                update=True)
    return runs, results
