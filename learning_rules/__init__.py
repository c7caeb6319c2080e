"""Learning rules: each reads the spike record of a trial and writes parameter updates."""
from .delay_adaptation import DelayAdaptation, adaptive_synapses
from .losses import LOSSES, predict, shift_invariant_mse, ttfs_cross_entropy
from .optimizers import SGD, Adam, StepLR
from .spike_time_gradient import SpikeTimeGradient, UnsupportedModelError
from .weight_bumping import WeightBumping

__all__ = ["SpikeTimeGradient", "UnsupportedModelError", "ttfs_cross_entropy", "shift_invariant_mse",
           "predict", "LOSSES", "SGD", "Adam", "StepLR", "WeightBumping",
           "DelayAdaptation", "adaptive_synapses"]

from .bptt import BPTT  # noqa: E402  (spiking recurrent cell)

__all__ += ["BPTT"]
