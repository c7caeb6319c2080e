"""Back end "event": the exact event-driven simulator of LIF TTFS networks (no Brian2, no time grid).

Each neuron's first spike time follows from its sorted input arrivals through the closed forms of
tau_m = tau_s or tau_m = 2 tau_s (models.lif_replay; Goeltz et al. 2021, Eqs. 10 and 12), layer by
layer, vectorised over the batch and compiled where it pays (models.lif_events_native). Same
TrialRecord and learning rules as the Brian2 back ends, whose runs it equals to rounding.
"""
from __future__ import annotations

import numpy as np

from ..models.lif_replay import replay_layers
from .base import Backend, Capabilities, TrialRecord

__all__ = ["EventDriven"]


class EventDriven(Backend):
    """Exact first spike times from the closed forms; no compilation, no time grid."""

    name = "event"
    capabilities = Capabilities(summary="exact event-driven closed forms (LIF, tau_m = tau_s or 2 tau_s), no "
                                        "time grid; the fastest CPU path", ttfs_ratios=(1.0, 2.0))

    def record(self, network, inputs):
        """The TrialRecord of one trial; the rows past the trial's samples are silent inputs, as the
        unused batch copies of a Brian2 run."""
        network.checked_flat_params()
        n = len(inputs)
        x = np.full((network.batch_size, network.n_inputs), np.inf)
        x[:n] = inputs
        layers, bias = replay_layers(network, x, network.copy_offsets)
        return TrialRecord(layers=layers, bias=bias, n_valid=n)

    def run_trials(self, network, inputs, callback, batch_order=None):
        self.bind(network)
        order, trials = self.trials(network, inputs, batch_order)
        for k, batch in enumerate(trials):
            callback(k, self.record(network, batch))
        return order
