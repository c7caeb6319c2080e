"""brian2learn: spiking networks whose timing carries the computation, trained on Brian2.

A network is a description (models: neuron equations, layers, delays, one master copy of the
parameters); a back end runs it and reports each trial as a TrialRecord (backends, chosen by one
`backend=` argument); a learning rule reads that record and writes parameter updates
(learning_rules); one Trainer drives both, with callbacks around the epochs (training).

    import brian2learn as bl
    net = bl.LayeredNetwork(4, [30, 3], delays="synaptic", seed=0)
    trainer = bl.Trainer(net, train, test, backend="event", loss="mse")
    trainer.fit(10)
"""
from . import backends, datasets, learning_rules, models, training
from .backends import BACKENDS, TrialRecord, UnsupportedBackendError, capability_table
from .learning_rules import SGD, AdaBelief, Adam, SpikeTimeGradient, StepLR, WeightBumping
from .models import LIF, DelayConfig, LayeredNetwork
from .training import (Callback, Checkpoint, ConsoleLogger, EarlyStopping, JSONLogger, LearningRateSchedule,
                       ProgressBar, Trainer)

__version__ = "0.1.0"

__all__ = ["LayeredNetwork", "LIF", "DelayConfig", "Trainer", "TrialRecord", "BACKENDS", "capability_table",
           "UnsupportedBackendError", "SpikeTimeGradient", "Adam", "SGD", "AdaBelief", "StepLR", "WeightBumping",
           "Callback", "ProgressBar", "ConsoleLogger", "JSONLogger", "Checkpoint", "LearningRateSchedule",
           "EarlyStopping", "backends", "models", "learning_rules", "training", "datasets", "__version__"]
