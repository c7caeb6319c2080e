"""Training: one Trainer (network, back end, rule, loss, optimiser), its callbacks, atomic checkpoints."""
from .callbacks import (Callback, CallbackList, Checkpoint, ConsoleLogger, EarlyStopping, JSONLogger,
                        LearningRateSchedule, ProgressBar)
from .checkpoints import atomic_write_bytes, load_checkpoint, save_checkpoint
from .loop import EpochLoop
from .trainer import Trainer

__all__ = ["Trainer", "EpochLoop", "Callback", "CallbackList", "ProgressBar", "ConsoleLogger", "JSONLogger", "Checkpoint",
           "LearningRateSchedule", "EarlyStopping", "save_checkpoint", "load_checkpoint", "atomic_write_bytes"]
