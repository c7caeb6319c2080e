"""Weight bumping: wake up neurons that stay silent (Goeltz et al. 2021, Methods).

A silent neuron has no spike time, so no gradient reaches it. After a trial, a neuron that did not
spike for any sample of the batch stays silent. When more than `max_silent[l]` of a layer's
neurons stay silent (reference: 30 % for hidden layers, 0 for the output layer, i.e. any silent
output neuron), every weight into those neurons is raised by `value` (reference 5e-4, in weight
units) and the gradient step of that batch is skipped; the bump doubles while this repeats on
consecutive batches and returns to `value` once no layer needs it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["WeightBumping"]


class WeightBumping:
    def __init__(self, value=5e-4, max_silent=(0.3, 0.0)):
        if not value > 0:
            raise ValueError(f"weight bumping value must be positive, got {value!r}")
        self.value = float(value)
        self.max_silent = tuple(float(m) for m in max_silent)
        self.current = self.value

    def _threshold(self, l, n_layers):
        # the last entry is the output layer's; earlier layers use the first entry
        return self.max_silent[-1] if l == n_layers - 1 else self.max_silent[0]

    def __call__(self, network, record) -> bool:
        """Bump weights into silent neurons (in place); True if anything was bumped."""
        n = record.n_valid
        bumped = False
        for l in range(network.n_layers):
            silent = ~np.isfinite(record.layers[l + 1][:n]).any(axis=0)
            if silent.any() and silent.mean() > self._threshold(l, network.n_layers):
                network.params[l]["w"][:, silent] += self.current
                bumped = True
        if bumped:
            network.params_changed()
            self.current *= 2.0
        else:
            self.current = self.value
        return bumped

    def state_dict(self):
        return {"current": self.current}

    def load_state_dict(self, state):
        self.current = float(state["current"])
