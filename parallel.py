"""Data-parallel training across processes or machines, through Dask distributed.

`DataParallelNetwork(net, client)` stands in for a LayeredNetwork in `Trainer`: each Dask worker
holds a replica of the network (an actor: the same parameters, batch copies for its share of the
minibatch); for every minibatch each worker simulates its contiguous share of the samples and then
computes the spike-time gradients of its share; the gradients are summed in the driver, the
optimiser runs there once, and the new parameters are sent to every worker before the next
minibatch, so all replicas hold identical parameters at every step. The spike times of all shares
are also gathered (the loss, accuracy and weight bumping need the whole minibatch).

Because each sample's spike times do not depend on which batch copy simulates it, training gives
the same parameters as one process for the same seed, up to the order of floating-point sums
(`tests/test_parallel.py`).

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))      # or a real cluster
    trainer, cfg = yinyang.build(...)
    trainer.net = DataParallelNetwork(trainer.net, client)

Needs `dask[distributed]` (the `parallel` extra).
"""
from __future__ import annotations

import copy

import numpy as np

from .learning_rules.spike_time_gradient import SpikeTimeGradient
from .models.network import TrialRecord

__all__ = ["DataParallelNetwork"]


class _Replica:
    """One worker's copy of the network; it keeps the record of its last share for the gradient."""

    def __init__(self, net):
        self.net = net
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


class DataParallelNetwork:
    """A LayeredNetwork whose minibatches are simulated, and differentiated, by Dask workers.

    net : LayeredNetwork (not yet run in this process is best: it is copied to the workers)
    client : dask.distributed.Client; one replica per worker (or `n_replicas` of them)
    """

    def __init__(self, net, client, n_replicas=None):
        workers = sorted(client.scheduler_info()["workers"])
        n = int(n_replicas or len(workers))
        if n < 1 or not workers:
            raise ValueError("the Dask client has no workers; start a cluster with n_workers >= 1")
        if n > net.batch_size:
            raise ValueError(f"n_replicas ({n}) must be <= the batch size ({net.batch_size})")
        self._net = net
        self.client = client
        self.share = -(-net.batch_size // n)  # samples per replica (the last one may get fewer)
        template = copy.copy(net)
        template._brian, template.batch_size = None, self.share
        self.replicas = [client.submit(_Replica, template, actor=True, workers=[workers[i % len(workers)]],
                                       pure=False).result() for i in range(n)]
        self._dirty = True
        self._shares = None

    def __getattr__(self, name):  # everything else is the driver's network (params, shapes, model)
        return getattr(self._net, name)

    def params_changed(self):
        self._dirty = True

    def _sync(self):
        if self._dirty:
            [f.result() for f in [r.set_params(self._net.params) for r in self.replicas]]
            self._dirty = False

    def run_trials(self, input_times, callback, batch_order=None):
        """As LayeredNetwork.run_trials; each minibatch is split into contiguous shares."""
        x = self._net.check_inputs(input_times)
        order = np.arange(len(x)) if batch_order is None else np.asarray(batch_order)
        B = self._net.batch_size
        if len(order) == 0:
            raise ValueError("no samples to simulate")
        for k, start in enumerate(range(0, len(order), B)):
            inputs = x[order[start:start + B]]
            self._sync()
            pieces = [inputs[i:i + self.share] for i in range(0, len(inputs), self.share)]
            self._shares = [len(p) for p in pieces]
            futures = [r.simulate(p) for r, p in zip(self.replicas, pieces)]
            callback(k, _concat([f.result() for f in futures], B))
        return order

    def backward(self, rule, record, dL):
        """Gradients of the last minibatch: each worker differentiates its share with its own copy of
        the rule (a SpikeTimeGradient of the same model), the driver sums."""
        if not isinstance(rule, SpikeTimeGradient):
            raise NotImplementedError(f"DataParallelNetwork distributes SpikeTimeGradient only, got {type(rule).__name__}")
        bounds = np.cumsum([0] + self._shares)
        futures = [r.gradients(dL[a:b]) for r, a, b in zip(self.replicas, bounds[:-1], bounds[1:])]
        parts = [f.result() for f in futures]
        return [{k: sum(p[l][k] for p in parts) for k in parts[0][l]} for l in range(len(parts[0]))]
