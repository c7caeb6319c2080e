"""Weight bumping: wake up neurons that stay silent (Goeltz et al. 2021, Methods).

A silent neuron has no spike time, so no gradient reaches it. After a trial, a neuron of layer l
counts as silent if it missed its spike in more than `max_silent[l]` of the batch's samples
(reference: 0.3 for hidden layers, 0.0 for the output layer). Then every weight into it is raised
by `value` (reference 5e-4, in weight units), the gradient step of that batch is skipped, and the
bump doubles while neurons stay silent on consecutive batches; it returns to `value` once no
neuron needs it.
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
            silent_frac = np.mean(~np.isfinite(record.layers[l + 1][:n]), axis=0)
            silent = silent_frac > self._threshold(l, network.n_layers)
            if silent.any():
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
