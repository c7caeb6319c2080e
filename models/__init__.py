"""Neuron, synapse and delay dynamics as Brian2 equation strings with units."""
from .delays import DELAY_KINDS, DelayConfig, delivery_steps
from .lif import LIF
from .network import LayeredNetwork, TrialRecord
from .weights import normal, relative_to_threshold, ternary

__all__ = ["LIF", "DelayConfig", "DELAY_KINDS", "delivery_steps", "LayeredNetwork", "TrialRecord",
           "normal", "ternary", "relative_to_threshold"]

from .src import SRC, SRCNetwork, simulate_brian2  # noqa: E402  (spiking recurrent cell)
from .src_fast import simulate_numpy  # noqa: E402

__all__ += ["SRC", "SRCNetwork", "simulate_brian2", "simulate_numpy"]
