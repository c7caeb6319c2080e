"""Neuron, synapse and delay dynamics as Brian2 equation strings with units."""
from .delays import DELAY_KINDS, DelayConfig, delivery_steps
from .lif import LIF
from .network import LayeredNetwork, TrialRecord
from .qif import QIF, ThetaNeuron, simulate_qif
from .qif_network import QIFNetRecord, RecurrentQIFNetwork
from .src import SRC, SRCNetwork, simulate_brian2
from .src_fast import simulate_numpy
from .theta_network import ThetaNetwork, ThetaRecord
from .weights import normal, relative_to_threshold, ternary

__all__ = ["LIF", "DelayConfig", "DELAY_KINDS", "delivery_steps", "LayeredNetwork", "TrialRecord",
           "normal", "ternary", "relative_to_threshold",
           "QIF", "ThetaNeuron", "simulate_qif", "RecurrentQIFNetwork", "QIFNetRecord", "ThetaNetwork", "ThetaRecord",
           "SRC", "SRCNetwork", "simulate_brian2", "simulate_numpy"]
