"""Weight bumping: wake up neurons that stay silent (Goeltz et al. 2021, Methods; DelGrad 2025).

A silent neuron has no spike time, so no gradient reaches it. After each batch the layers are
checked in order, input side first. Layer l needs a bump if the fraction of its missing spikes,
counted over all (sample, neuron) pairs of the batch, exceeds `max_silent[l]` (reference: 0.3 for
hidden layers, 0.0 for the output layer: every output neuron must spike for every sample). Only
the foremost such layer is bumped (its silence starves the layers behind it): every weight into a
neuron of that layer that missed its spike for at least one sample is raised by the current bump,
and the gradient step of the batch is skipped. The bump starts at `value` (reference 5e-4, in
weight units) and doubles while the same layer needs bumping on consecutive batches; it returns
to `value` otherwise. With `skip_step=False` the gradient step is taken as well (not the
reference's choice).

`dead=True` (ours, not the reference's) also counts a hidden layer as needing a bump when one of
its neurons misses its spike for every sample of the batch, whatever the layer's silent fraction;
only such dead neurons are then bumped. In a small layer one dead neuron stays under the 30 % rule
for good (1 of 5 is 20 %): measured on Yin-Yang 4-5-3 (benchmarks/README.md), the runs that ended
~2 points low had exactly such a neuron.
"""
from __future__ import annotations

import numpy as np

__all__ = ["WeightBumping"]


class WeightBumping:
    def __init__(self, value=5e-4, max_silent=(0.3, 0.0), skip_step=True, dead=False):
        if not value > 0:
            raise ValueError(f"weight bumping value must be positive, got {value!r}")
        max_silent = tuple(float(m) for m in max_silent)
        if not max_silent or any(not 0.0 <= m <= 1.0 for m in max_silent):
            raise ValueError(f"max_silent must be fractions in [0, 1] (hidden..., output), got {max_silent!r}")
        self.value = float(value)
        self.skip_step = bool(skip_step)
        self.dead = bool(dead)
        self.max_silent = max_silent
        self.current = self.value
        self.last_layer = None   # layer bumped on the previous batch (None: no bump)

    def threshold(self, l, n_layers):
        """Allowed fraction of missing spikes in layer l (last entry: output layer)."""
        if l == n_layers - 1:
            return self.max_silent[-1]
        hidden = self.max_silent[:-1] or self.max_silent
        return hidden[min(l, len(hidden) - 1)]

    def layer_to_bump(self, network, record):
        """(layer index, neurons silent for at least one sample) or (None, None)."""
        n = record.n_valid
        for l in range(network.n_layers):
            silent = ~np.isfinite(record.layers[l + 1][:n])
            if silent.mean() > self.threshold(l, network.n_layers):
                return l, silent.any(axis=0)
            if self.dead and l < network.n_layers - 1 and silent.all(axis=0).any():
                return l, silent.all(axis=0)
        return None, None

    def __call__(self, network, record) -> bool:
        """Bump weights into silent neurons (in place); True if anything was bumped."""
        l, neurons = self.layer_to_bump(network, record)
        if l is None:
            self.last_layer = None
            return False
        self.current = self.current * 2.0 if l == self.last_layer else self.value
        self.last_layer = l
        network.params[l]["w"][:, neurons] += self.current
        network.params_changed()
        return True

    def state_dict(self):
        return {"current": self.current, "last_layer": self.last_layer}

    def load_state_dict(self, state):
        self.current = float(state["current"])
        self.last_layer = state.get("last_layer")
