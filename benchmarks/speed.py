"""Seconds per training epoch on each device, synaptic events per second, and the distance to the
physical limit of an event-driven simulation on this machine.

    python benchmarks/speed.py                                   # both networks, every CPU device
    python benchmarks/speed.py --nets yinyang --devices runtime-cython cpp_standalone --update
    python benchmarks/speed.py --nets mnist --n-train 1920 --update   # MNIST timed on a subset

Networks (the same accuracy path as their experiments): "yinyang" = 4-30-3 W+synaptic
(experiments/yinyang.py, 5000 samples, batch 150); "mnist" = 784-350-10 delay-only training with
fixed normal weights (experiments/delay_only.py, batch 32; one epoch is 60,000 samples: with
--n-train smaller, the seconds are measured on that many samples and scaled to 60,000, and the entry
says so). Devices: runtime-cython, cpp_standalone, cpp_standalone+openmp (2 threads),
dask-2-workers (two worker processes of a Dask LocalCluster, runtime replicas),
cpp_standalone-in-simulation (in_simulation.InSimulationTrainer: the rule and Adam as generated
code, the whole epoch one run of the compiled program; MNIST only, as the Yin-Yang configuration's
MSE loss, weight bumping and reparameterised delays are not in generated code; its events are the
count of another device's run on the same samples, same order), replay-numpy (no Brian2 device: the
exact closed-form event forward of models.lif_replay with the same rule and optimiser, the
DelGrad reference's kind of simulator), replay-cython and replay-cython+openmp (the same, with the
forward and the gradient in the compiled loops of models.lif_events_native, 1 and 2 OpenMP threads;
the machine has 2 cores, so only a run with nothing else running measures two threads), and
cuda_standalone (brian2cuda, the `gpu` extra: the LayeredNetwork compiled for the GPU and re-run per
minibatch, as cpp_standalone; needs a GPU, so it runs only where one is).
Each device first builds and compiles the network and simulates two minibatches (not timed), then
trains one timed epoch.

Lower bound: every synaptic event (a spike reaching one target) costs at least one indexed
read-add; `benchmarks/native/event_loop.c` measures that cost on this machine (ns per event, random
targets among as many neurons as the batch holds). lower bound = events per epoch x that cost;
limit_ratio = epoch seconds / lower bound.

Writes benchmarks/results/speed.json = {"yinyang": {...}, "mnist": {...}, "machine"}; each holds
"epoch_seconds": {"<device>": s}, "events_per_second": {"<device>": events / s},
"limit_ratio": {"<device>": ratio}, "commands": {"<device>": command line}, "timing_notes":
{"<device>": the load on the machine}, "synaptic_events_per_epoch", "event_cost_ns",
"lower_bound_seconds", "n_train_timed".
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from brian2learn.experiments.result_store import command, machine, write_results

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "datasets")
DEVICES = ("runtime-cython", "cpp_standalone", "cpp_standalone+openmp", "dask-2-workers",
           "cpp_standalone-in-simulation", "replay-numpy", "replay-cython", "replay-cython+openmp", "cuda_standalone")
REPLAY = {"replay-numpy": ("numpy", 1), "replay-cython": ("cython", 1), "replay-cython+openmp": ("cython", 2)}
FULL_EPOCH = {"yinyang": 5000, "mnist": 60000}


@functools.lru_cache(maxsize=None)
def event_cost_ns(n_targets):
    """ns per synaptic event of a tight C loop (compiled here with gcc -O2); measured once per size."""
    exe = os.path.join(tempfile.mkdtemp(), "event_loop")
    subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(HERE, "native", "event_loop.c")], check=True)
    out = subprocess.run([exe, "20000000", str(int(n_targets))], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[0])


def build(net_name, device, n_train, data_dir):
    if device == "cpp_standalone-in-simulation":
        if net_name != "mnist":
            raise SystemExit("cpp_standalone-in-simulation: only the mnist network (see the docstring)")
        dev = dict(in_simulation=True)
    elif device in REPLAY:
        dev = dict(simulator="replay")
    elif device == "cuda_standalone":
        dev = dict(device="cuda_standalone")
    else:
        dev = dict(device="runtime" if device in ("runtime-cython", "dask-2-workers") else "cpp_standalone",
                   threads=2 if device.endswith("openmp") else None)
    if net_name == "yinyang":
        from brian2learn.experiments.yinyang import build as build_yy
        trainer, _ = build_yy("4-30-3 W+synaptic", seed=0, n_train=n_train, n_test=1, progress=False, **dev)
    else:
        from brian2learn.experiments.delay_only import build as build_do
        trainer, _ = build_do("mnist", "delays", "normal", seed=0, data_dir=data_dir, n_train=n_train,
                              n_test=1, progress=False, **dev)
    return trainer


def count_events(trainer):
    """Wrap the network's run_trials so each trial adds its synaptic events to a counter."""
    net, counter = trainer.net, {"events": 0}
    run = net.run_trials

    def counting(x, callback, batch_order=None):
        def cb(k, rec):
            n = rec.n_valid
            for l, n_post in enumerate(net.layer_sizes):
                counter["events"] += int(np.isfinite(rec.presynaptic(l)[:n]).sum()) * n_post
            callback(k, rec)
        return run(x, cb, batch_order)

    net.run_trials = counting
    return counter


def time_device(net_name, device, args):
    if device in REPLAY:  # the same simulator and rule; their event loops in numpy or compiled
        from brian2learn.models import lif_events_native
        backend, threads = REPLAY[device]
        lif_events_native.set_backend(backend)
        lif_events_native.set_threads(threads)
    n = args.n_train or FULL_EPOCH[net_name]
    trainer = build(net_name, device, n, args.data_dir)
    client = cluster = None
    try:
        if device == "dask-2-workers":
            from dask.distributed import Client, LocalCluster

            from brian2learn.backends import DataParallel
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            trainer.net.use_backend(DataParallel(trainer.net.backend.name, client))
        x, y = trainer.train
        B = trainer.net.batch_size
        if device == "cpp_standalone-in-simulation":
            trainer._build()  # generate and compile (not timed)
        else:
            trainer.evaluate((x[:2 * B], y[:2 * B]))  # build and compile (not timed), two warm-up trials
        counter = count_events(trainer)
        t0 = time.perf_counter()
        row = trainer.train_epoch()
        seconds = time.perf_counter() - t0
    finally:
        if client is not None:
            client.close()
            cluster.close()
    scale = FULL_EPOCH[net_name] / n
    print(f"{net_name} {device}: {seconds:.2f} s for {n} samples (x{scale:.1f} -> {seconds * scale:.1f} s/epoch), "
          f"{counter['events']} events, train acc {row['train_acc']:.3f}", flush=True)
    copies = 1 if device == "cpp_standalone-in-simulation" else trainer.net.batch_size  # neurons simulated at once
    return seconds * scale, counter["events"] * scale, copies * sum(trainer.net.layer_sizes)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nets", nargs="*", default=["yinyang", "mnist"], choices=["yinyang", "mnist"])
    p.add_argument("--devices", nargs="*", default=list(DEVICES), choices=list(DEVICES))
    p.add_argument("--n-train", type=int, default=None, help="samples timed (default: one full epoch)")
    p.add_argument("--data-dir", default=SHARED if os.path.isdir(SHARED) else None)
    p.add_argument("--note", default="", help="timing_note, e.g. the load on the machine")
    p.add_argument("--out", default=os.path.join(HERE, "results", "speed.json"))
    p.add_argument("--update", action="store_true",
                   help="accepted for old command lines: every run merges into the results file and keeps the "
                        "other devices' numbers")
    args = p.parse_args(argv)
    results = {"machine": machine()}
    old = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            old = json.load(f)
    for net_name in args.nets:
        entry = {"epoch_seconds": {}, "events_per_second": {}, "limit_ratio": {}, "commands": {}, "timing_notes": {}}
        for key in entry:  # keep the other devices' numbers
            entry[key].update(old.get(net_name, {}).get(key, {}))
        for device in args.devices:
            seconds, events, n_neurons = time_device(net_name, device, args)
            if device == "cpp_standalone-in-simulation":  # no Python per trial to count in
                events = entry.get("synaptic_events_per_epoch") or old.get(net_name, {})["synaptic_events_per_epoch"]
            cost = event_cost_ns(n_neurons)
            bound = events * cost * 1e-9
            entry["epoch_seconds"][device] = round(seconds, 3)
            entry["events_per_second"][device] = round(events / seconds)
            entry["limit_ratio"][device] = round(seconds / bound, 1)
            entry["commands"][device] = command(__file__, argv)
            entry["timing_notes"][device] = args.note or "idle machine (nothing else running)"
            entry.update(synaptic_events_per_epoch=int(events), event_cost_ns=cost, lower_bound_seconds=bound)
        entry.update(n_train_timed=args.n_train or FULL_EPOCH[net_name])
        entry.pop("command", None)
        entry.pop("timing_note", None)
        results[net_name] = entry
        write_results(args.out, results, update=True)
    return results


if __name__ == "__main__":
    main()
