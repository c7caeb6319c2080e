"""Back end "pynn": the network exported to a PyNN simulator (NEST by default) and run there.

Each trial builds the exported network (hardware.pynn_export: IF_curr_exp neurons, delays rounded
to the PyNN time step) and reads the first spike times back into a TrialRecord, so the learning
rules and the evaluation run unchanged against another simulator (the `hardware` extra).
"""
from __future__ import annotations

import importlib

import numpy as np
from brian2 import ms

from .base import Backend, Capabilities, TrialRecord

__all__ = ["PyNNBackend"]


class PyNNBackend(Backend):
    """simulator: a PyNN back-end module name ('nest', 'brian2', ...) or the module itself;
    timestep: the PyNN resolution (a Brian2 time)."""

    name = "pynn"
    capabilities = Capabilities(summary="PyNN export run on NEST (or another PyNN simulator); delays rounded to "
                                        "its time step", copy_offsets=False, extra="hardware")

    def __init__(self, simulator="nest", timestep=0.01 * ms, **kwargs):
        super().__init__()
        if isinstance(simulator, str):
            try:
                simulator = importlib.import_module(f"pyNN.{simulator}")
            except ImportError as err:
                raise ImportError(f"backend 'pynn' with simulator {simulator!r} needs PyNN and that simulator: "
                                  "pip install 'brian2learn[hardware]'") from err
        self.sim, self.timestep, self.kwargs = simulator, timestep, kwargs

    def run_trials(self, network, inputs, callback, batch_order=None):
        from ..hardware.pynn_export import check_exportable, run_pynn

        self.bind(network)
        check_exportable(network)
        order, trials = self.trials(network, inputs, batch_order)
        for k, batch in enumerate(trials):
            network.checked_flat_params()
            layers, _ = run_pynn(network, self.sim, batch, self.timestep, **self.kwargs)
            callback(k, record_from_layers(network, batch, layers))
        return order


def record_from_layers(network, inputs, layers):
    """A TrialRecord of n = len(inputs) samples from first spike times per layer."""
    n = len(inputs)
    bias = [np.broadcast_to(bt, (n, nb)).copy() for bt, nb in zip(network.bias_times, network.n_bias)]
    return TrialRecord(layers=[np.asarray(inputs, float)] + [np.asarray(t, float) for t in layers], bias=bias,
                       n_valid=n)
