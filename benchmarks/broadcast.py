"""Cost of moving the master parameters into Brian2's B batch copies (784-h-10, synaptic delays).

    python benchmarks/broadcast.py --hidden 350 800 --batch 32

The network keeps ONE master copy of weights and delays (numpy, n_pre x n_post per projection); the
Brian2 Synapses hold B copies (block-diagonal, one per sample of the minibatch), written before a
trial when the master changed: a gather `np.take(master, index, out=brian_array)` per variable,
and, when delays changed, a re-preparation of the spike queues (Brian2 reads delays only then).
Writes benchmarks/results/broadcast.json = {"784-<h>-10/B<b>": {"synapses", "master_params",
"seconds_weights", "seconds_delays", "seconds_queue_prepare", "seconds_per_trial_delay_only",
"brian_synapse_bytes"}, "command", "machine"}; times are medians of --repeat calls.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from brian2 import ms

from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

from brian2learn.models import LIF, DelayConfig, LayeredNetwork  # noqa: E402


def median_time(fn, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def measure(hidden, batch, repeat):
    net = LayeredNetwork(784, [hidden, 10], model=LIF(tau_s=5 * ms, tau_m=10 * ms),
                         delays=DelayConfig("synaptic", init=(1.0, 0.5), max_delay=2.0), n_bias=0,
                         weight_init=((0.01, 0.1), (0.1, 0.2)), batch_size=batch, dt=0.25 * ms, duration=40 * ms)
    net.simulate(np.full((1, 784), np.inf))           # build and run once
    backend = net.backend
    br = backend.state
    rng = np.random.default_rng(0)

    def touch(name):
        for p in net.params:
            p[name] += rng.normal(0, 1e-4, p[name].shape)
            if name == "synaptic":
                np.clip(p[name], 0, 2.0, out=p[name])
        net.params_changed()

    def weights():
        touch("w")
        backend._broadcast_params()

    def delays():
        touch("synaptic")
        backend._broadcast_params()

    tw, td = median_time(weights, repeat), median_time(delays, repeat)
    tq = median_time(lambda: backend._reset_queues(reprepare=True), repeat)
    n_syn = sum(len(syn) for syn, _ in br.synapses.values())
    nbytes = sum(v.get_value().nbytes for syn, _ in br.synapses.values()
                 for k, v in syn.variables.items() if hasattr(v, "get_value") and getattr(v, "size", 0) == len(syn))
    return {"synapses": n_syn, "master_params": int(sum(v.size for p in net.params for v in p.values())),
            "seconds_weights": tw, "seconds_delays": td, "seconds_queue_prepare": tq,
            "seconds_per_trial_delay_only": td + tq, "brian_synapse_bytes": int(nbytes)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", nargs="*", type=int, default=[350, 800])
    p.add_argument("--batch", nargs="*", type=int, default=[32])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "broadcast.json"))
    args = p.parse_args(argv)
    new = {"command": command(__file__, argv), "machine": machine()}
    for h in args.hidden:
        for b in args.batch:
            new[f"784-{h}-10/B{b}"] = r = measure(h, b, args.repeat)
            print(f"784-{h}-10 B={b}: {r}", flush=True)
    write_results(args.out, new, update=False)


if __name__ == "__main__":
    main()
