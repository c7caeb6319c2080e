"""What every back end shares: the TrialRecord it returns, the Capabilities it declares, its base class.

A back end runs a network description (models.network.LayeredNetwork: topology, neuron model,
delay kinds, one master copy of the parameters) and reports what the network did in each trial as a
`TrialRecord`; the learning rules read only that record. A back end object holds the simulator
state of one network (Brian2 objects, a compiled program, worker replicas), typed in its own module.

    run_trials(network, inputs, callback, batch_order)   one trial per minibatch; callback(k, record)
                                                        may change the parameters for trial k + 1
    backward(network, rule, record, dL_dT)               the rule's gradients (data-parallel back ends
                                                        spread this over their workers)
    params_changed() / offsets_changed()                 the next trial must use the network's current
                                                        parameters / per-copy weight offsets
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TrialRecord", "Capabilities", "Backend", "UnsupportedBackendError"]


class UnsupportedBackendError(ValueError):
    """A back end was asked for something it does not do; the message names the alternatives."""


@dataclass
class TrialRecord:
    """Spike times of one trial (plain floats, tau_s units, relative to trial start; inf = silent).

    layers[0] is the input (B, n_in); layers[l] for l >= 1 the LIF layer l - 1 (B, n_l);
    bias[l] the bias spike times of projection l (B, n_bias_l); n_valid the samples in use.
    """

    layers: list
    bias: list
    n_valid: int
    states: dict = field(default_factory=dict)

    def presynaptic(self, l):
        """Spike times of the presynaptic population of projection l: (B, n_pre_l)."""
        return np.concatenate([self.layers[l], self.bias[l]], axis=1)

    @property
    def output(self):
        return self.layers[-1]


@dataclass(frozen=True)
class Capabilities:
    """What a back end supports; backends.check_supported compares a network against it.

    ttfs_ratios : tau_m / tau_s ratios of the LIF it simulates (None: any)
    delay_kinds : delay kinds it runs (axonal, dendritic, synaptic)
    input_currents, record_states, copy_offsets : LayeredNetwork features it runs
    reparameterised_delays : delays d = shift + scale sigmoid(p)
    training : 'any' (any rule reads its records) or 'fused' (the rule runs inside the back end:
               only the Trainer settings it names, see its module)
    extra : the pip extra it needs ('gpu', 'hardware', 'parallel'), or None
    """

    summary: str
    ttfs_ratios: tuple | None = None
    delay_kinds: frozenset = frozenset({"axonal", "dendritic", "synaptic"})
    input_currents: bool = False
    record_states: bool = False
    copy_offsets: bool = True
    reparameterised_delays: bool = True
    training: str = "any"
    extra: str | None = None


class Backend:
    """Base class: a named back end with declared capabilities, bound to at most one network."""

    name = "?"
    capabilities = Capabilities(summary="")

    def __init__(self):
        self.network = None

    def bind(self, network):
        """Check that this back end runs `network` (UnsupportedBackendError otherwise) and keep it."""
        from . import check_supported

        check_supported(self, network)
        if self.network is not None and self.network is not network:
            raise ValueError(f"this {self.name!r} back end already runs another network; make one back end "
                             "per network (brian2learn.backends.make)")
        self.network = network
        return self

    def run_trials(self, network, inputs, callback, batch_order=None):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def trials(network, inputs, batch_order):
        """The minibatches of one pass: (sample order, list of (n <= batch_size, n_in) arrays)."""
        order = np.arange(len(inputs)) if batch_order is None else np.asarray(batch_order)
        B = network.batch_size
        trials = [inputs[order[i:i + B]] for i in range(0, len(order), B)]
        if not trials:
            raise ValueError("no samples to simulate")
        return order, trials

    def backward(self, network, rule, record, dL_dT):
        """The learning rule's parameter gradients for a trial record."""
        grads, _ = rule.backward(network, record, dL_dT)
        return grads

    def params_changed(self):
        """The network's parameters changed: the next trial must use them (nothing to do by default)."""

    def offsets_changed(self):
        """The network's per-copy weight offsets changed (by default the same as a parameter change)."""
        self.params_changed()

    def __repr__(self):
        return f"<{type(self).__name__} backend {self.name!r}>"
