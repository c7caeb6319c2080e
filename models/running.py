"""Running a Brian2 Network many times without paying for a full garbage collection each time.

Brian2's `Network.run` starts with `gc.collect()` (so that objects never added to a network warn
when they are collected). A full collection walks every object the interpreter tracks: about
177,000 in a process that has imported brian2 and built a Yin-Yang network, which takes ~0.1 s on
this project's 2-core machine (benchmarks/README.md, "Run overhead"). Training runs a network
thousands of times (a theta network once per perturbation step, a LayeredNetwork once per epoch and
once per evaluation), so that collection can cost more than the simulation.

`run_network` moves every object alive before the run into the collector's permanent generation
(`gc.freeze()`), so the collection inside `run` only looks at objects created since, and gives them
back afterwards (`gc.unfreeze()`): nothing is kept alive that would otherwise have been freed, it is
only collected at the next automatic collection instead of at the start of the run.
"""
from __future__ import annotations

import gc

__all__ = ["run_network"]


def run_network(net, duration, namespace=None, **kwargs):
    """`net.run(duration, namespace=namespace or {}, **kwargs)` without the full collection."""
    gc.freeze()
    try:
        net.run(duration, namespace={} if namespace is None else namespace, **kwargs)
    finally:
        gc.unfreeze()
