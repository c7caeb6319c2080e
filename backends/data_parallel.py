"""Back end "data-parallel": any back end's minibatches simulated, and differentiated, by Dask workers.

Each Dask worker holds a replica of the network (an actor: the same parameters, batch copies for
its share of the minibatch) run by its own copy of the inner back end; for every minibatch each
worker simulates its contiguous share of the samples and then computes the spike-time gradients of
its share; the gradients are summed in the driver, the optimiser runs there once, and the new
parameters are sent to every worker before the next minibatch, so all replicas hold identical
parameters at every step. The spike times of all shares are gathered too (the loss, accuracy and
weight bumping need the whole minibatch).

Because each sample's spike times do not depend on which batch copy simulates it, training gives
the same parameters as one process for the same seed, up to the order of floating-point sums
(`tests/test_parallel.py`).

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))      # or a real cluster
    trainer = Trainer(net, train, test, backend=DataParallel("event", client))

Needs `dask[distributed]` (the `parallel` extra).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..learning_rules.spike_time_gradient import SpikeTimeGradient
from .base import Backend, Capabilities, TrialRecord

__all__ = ["DataParallel"]


class _Replica:
    """One worker's copy of the network and its back end; it keeps the record of its last share."""

    def __init__(self, net, inner, options):
        from . import make

        self.net = net
        self.net.use_backend(make(inner, **options))
        self.rule = SpikeTimeGradient(net.model)
        self.record = None

    def set_params(self, params):
        self.net.params = params
        self.net.params_changed()

    def get_params(self):
        return self.net.params

    def simulate(self, inputs):
        records = []
        self.net.run_trials(inputs, lambda k, rec: records.append(rec))
        self.record = records[0]
        return self.record

    def gradients(self, dL):
        full = np.zeros_like(self.record.output)
        full[:len(dL)] = dL
        grads, _ = self.rule.backward(self.net, self.record, full)
        return grads


def _concat(parts, batch_size):
    """One TrialRecord of batch_size rows from the workers' records (valid rows first)."""
    n = sum(p.n_valid for p in parts)

    def stack(arrays):
        out = np.full((batch_size,) + arrays[0].shape[1:], np.inf)
        out[:n] = np.concatenate([a[:p.n_valid] for a, p in zip(arrays, parts)])
        return out

    layers = [stack([p.layers[l] for p in parts]) for l in range(len(parts[0].layers))]
    bias = [stack([p.bias[l] for p in parts]) for l in range(len(parts[0].bias))]
    return TrialRecord(layers=layers, bias=bias, n_valid=n)


class DataParallel(Backend):
    """inner : the back end each worker runs (a name from backends.BACKENDS, default 'event');
    client : dask.distributed.Client; one replica per worker (or `n_replicas` of them);
    inner_options : keyword arguments of the inner back end."""

    name = "data-parallel"
    capabilities = Capabilities(summary="any other back end on Dask workers (Trainer with SpikeTimeGradient)",
                                copy_offsets=False, extra="parallel")

    def __init__(self, inner="event", client=None, n_replicas=None, **inner_options):
        from . import BACKENDS, make

        super().__init__()
        if client is None:
            raise ValueError("backend 'data-parallel' needs client=dask.distributed.Client(...) "
                             "(pip install 'brian2learn[parallel]')")
        if inner not in BACKENDS or inner == self.name:
            raise ValueError(f"inner must name one back end of {sorted(set(BACKENDS) - {self.name})}, got {inner!r}")
        self.inner, self.inner_options = inner, inner_options
        inner_caps = make(inner, **inner_options).capabilities
        if inner_caps.training != "any":
            raise ValueError(f"backend {inner!r} trains inside its own program; it cannot be spread over workers")
        self.capabilities = replace(inner_caps, summary=f"{inner} on Dask workers", copy_offsets=False,
                                    input_currents=False, record_states=False, extra="parallel")
        self.client = client
        self.n_replicas = n_replicas
        self.replicas = None
        self.dirty = True
        self._shares = None

    def _start(self, network):
        if self.replicas is not None:
            return
        workers = sorted(self.client.scheduler_info()["workers"])
        n = int(self.n_replicas or len(workers))
        if n < 1 or not workers:
            raise ValueError("the Dask client has no workers; start a cluster with n_workers >= 1")
        if n > network.batch_size:
            raise ValueError(f"n_replicas ({n}) must be <= the batch size ({network.batch_size})")
        self.share = -(-network.batch_size // n)  # samples per replica (the last one may get fewer)
        template = network.description_copy(batch_size=self.share)
        self.replicas = [self.client.submit(_Replica, template, self.inner, self.inner_options, actor=True,
                                            workers=[workers[i % len(workers)]], pure=False).result()
                         for i in range(n)]

    def bind(self, network):
        super().bind(network)
        self._start(network)
        return self

    def params_changed(self):
        self.dirty = True

    def sync(self):
        """Send the driver's parameters to every replica (if they changed)."""
        if self.dirty:
            [f.result() for f in [r.set_params(self.network.params) for r in self.replicas]]
            self.dirty = False

    def run_trials(self, network, inputs, callback, batch_order=None):
        """Each minibatch is split into contiguous shares, one per replica."""
        self.bind(network)
        order, trials = self.trials(network, inputs, batch_order)
        for k, batch in enumerate(trials):
            self.sync()
            pieces = [batch[i:i + self.share] for i in range(0, len(batch), self.share)]
            self._shares = [len(p) for p in pieces]
            futures = [r.simulate(p) for r, p in zip(self.replicas, pieces)]
            callback(k, _concat([f.result() for f in futures], network.batch_size))
        return order

    def backward(self, network, rule, record, dL):
        """Gradients of the last minibatch: each worker differentiates its share with its own copy of
        the rule (a SpikeTimeGradient of the same model), the driver sums."""
        if not isinstance(rule, SpikeTimeGradient):
            raise NotImplementedError(f"backend 'data-parallel' distributes SpikeTimeGradient only, got "
                                      f"{type(rule).__name__}; use the inner back end {self.inner!r} directly")
        bounds = np.cumsum([0] + self._shares)
        futures = [r.gradients(dL[a:b]) for r, a, b in zip(self.replicas, bounds[:-1], bounds[1:])]
        parts = [f.result() for f in futures]
        return [{k: sum(p[l][k] for p in parts) for k in parts[0][l]} for l in range(len(parts[0]))]
