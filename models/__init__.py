"""Neuron, synapse and delay dynamics as Brian2 equation strings with units."""
from .delays import DELAY_KINDS, DelayConfig, delivery_steps
from .lif import LIF
from .network import LayeredNetwork, TrialRecord

__all__ = ["LIF", "DelayConfig", "DELAY_KINDS", "delivery_steps", "LayeredNetwork", "TrialRecord"]
