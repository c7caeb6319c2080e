"""Learning rules: each reads the spike record of a trial and writes parameter updates."""
from .bptt import BPTT
from .delay_adaptation import DelayAdaptation, adaptive_synapses
from .losses import LOSSES, predict, shift_invariant_mse, ttfs_cross_entropy
from .optimizers import SGD, AdaBelief, Adam, ExponentialLR, StepLR
from .perturbation import PerturbationGradient, cosine_similarity
from .smooth_gradient import QIFSmoothGradient, SmoothGradient, smooth_mnist_loss
from .smooth_recurrent import RecurrentQIFSmoothGradient, spike_train_loss
from .spike_time_gradient import SpikeTimeGradient, UnsupportedModelError
from .weight_bumping import WeightBumping

__all__ = ["SpikeTimeGradient", "UnsupportedModelError", "ttfs_cross_entropy", "shift_invariant_mse",
           "predict", "LOSSES", "SGD", "Adam", "StepLR", "WeightBumping",
           "DelayAdaptation", "adaptive_synapses",
           "AdaBelief", "ExponentialLR", "SmoothGradient", "QIFSmoothGradient", "smooth_mnist_loss",
           "RecurrentQIFSmoothGradient", "spike_train_loss",
           "PerturbationGradient", "cosine_similarity", "BPTT"]
