"""Callbacks of the training loop: what happens around the epochs, kept apart from what trains.

A callback overrides any of these hooks (each receives the trainer; `logs` is the epoch's row of
metrics, which a callback may extend):

    on_train_begin(trainer)           on_train_end(trainer)
    on_epoch_begin(trainer, epoch)    on_epoch_end(trainer, epoch, logs)
    on_batch_end(trainer, batch, n)   n: samples in that minibatch

A callback with state that must survive a restart gives `state_dict()` / `load_state_dict(d)`
(JSON-able): checkpoints store it, so resuming continues exactly. Setting `trainer.stop_training`
ends `fit` after the current epoch. The design follows mlGeNN's callbacks.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time

from tqdm.auto import tqdm

from .checkpoints import atomic_write_bytes

__all__ = ["Callback", "CallbackList", "ProgressBar", "ConsoleLogger", "JSONLogger", "Checkpoint",
           "LearningRateSchedule", "EarlyStopping"]


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer):
        pass

    def on_train_end(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_batch_end(self, trainer, batch, n):
        pass

    def state_dict(self):
        return None

    def load_state_dict(self, state):
        pass


class CallbackList(Callback):
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be brian2learn.training.Callback objects, got {cb!r}")

    def __iter__(self):
        return iter(self.callbacks)

    def on_train_begin(self, trainer):
        for cb in self.callbacks:
            cb.on_train_begin(trainer)

    def on_train_end(self, trainer):
        for cb in self.callbacks:
            cb.on_train_end(trainer)

    def on_epoch_begin(self, trainer, epoch):
        for cb in self.callbacks:
            cb.on_epoch_begin(trainer, epoch)

    def on_epoch_end(self, trainer, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(trainer, epoch, logs)

    def on_batch_end(self, trainer, batch, n):
        for cb in self.callbacks:
            cb.on_batch_end(trainer, batch, n)


class ProgressBar(Callback):
    """A tqdm bar over each epoch's training samples. The first minibatch of a run includes compiling the
    generated code (once per model and machine: Brian2 caches it), so the bar says so until it is done."""

    def __init__(self, file=None):
        self.file = file
        self.bar = None
        self.started = None

    def on_epoch_begin(self, trainer, epoch):
        self.started = time.perf_counter() if epoch == trainer.first_epoch_of_run else None
        desc = f"epoch {epoch + 1}" + (" (compiling on the first run only)" if self.started is not None else "")
        self.bar = tqdm(total=trainer.n_train, desc=desc, leave=False, file=self.file or sys.stderr)

    def on_batch_end(self, trainer, batch, n):
        if self.started is not None:
            self.bar.set_description(f"epoch {trainer.epoch + 1} (first minibatch after "
                                     f"{time.perf_counter() - self.started:.0f} s, compiling included)")
            self.started = None
        self.bar.update(n)

    def on_epoch_end(self, trainer, epoch, logs):
        self.bar.close()


class ConsoleLogger(Callback):
    """One line per epoch through `log` (print by default)."""

    def __init__(self, log=print):
        self.log = log

    def on_epoch_end(self, trainer, epoch, logs):
        line = trainer.describe(logs) if hasattr(trainer, "describe") else None
        if line is not None:
            self.log(line)
            return
        parts = [f"epoch {logs['epoch']:4d}"]
        for key, label in (("train_acc", "train acc"), ("test_acc", "test acc"), ("train_loss", "loss")):
            if key in logs:
                parts.append(f"{label} {logs[key]:.4f}")
        if "epoch_seconds" in logs:
            parts.append(f"{logs['epoch_seconds']:.2f} s")
        self.log("  ".join(parts))


class JSONLogger(Callback):
    """The history so far, written atomically to `path` after every epoch."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, trainer, epoch, logs):
        atomic_write_bytes(self.path, json.dumps(trainer.history, indent=1, default=float).encode())


class Checkpoint(Callback):
    """Save the trainer's whole state (parameters, optimiser, RNG, history, callbacks) atomically to
    `path` every `every` epochs and after the last; `Trainer.load(path)` resumes bit-identically."""

    def __init__(self, path, every=1):
        if int(every) < 1:
            raise ValueError(f"every must be >= 1 epoch, got {every!r}")
        self.path, self.every = os.fspath(path), int(every)

    def on_epoch_end(self, trainer, epoch, logs):
        if (epoch + 1) % self.every == 0:
            trainer.save(self.path)

    def on_train_end(self, trainer):
        trainer.save(self.path)


class LearningRateSchedule(Callback):
    """Set the optimiser's learning rate at the start of each epoch from `schedule.set_epoch(epoch)`
    (learning_rules.optimizers.StepLR: step decay with an optional final linear decay)."""

    def __init__(self, schedule):
        if not hasattr(schedule, "set_epoch"):
            raise TypeError(f"schedule must have set_epoch(epoch) (e.g. learning_rules.StepLR), got {schedule!r}")
        self.schedule = schedule

    def on_epoch_begin(self, trainer, epoch):
        self.schedule.set_epoch(epoch)


class EarlyStopping(Callback):
    """Stop when `monitor` (a key of the epoch's logs) has not improved by more than `min_delta` for
    `patience` epochs; mode 'max' (accuracies) or 'min' (losses)."""

    def __init__(self, monitor="test_acc", patience=10, mode="max", min_delta=0.0):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {patience!r}")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, int(patience), mode, float(min_delta)
        self.best, self.waited = None, 0

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the epoch's logs have {sorted(logs)}")
        value = float(logs[self.monitor])
        sign = 1.0 if self.mode == "max" else -1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.waited = value, 0
        else:
            self.waited += 1
            if self.waited >= self.patience:
                trainer.stop_training = True

    def state_dict(self):
        return {"best": self.best, "waited": self.waited}

    def load_state_dict(self, state):
        best = state["best"]
        self.best = None if best is None or (isinstance(best, float) and math.isnan(best)) else float(best)
        self.waited = int(state["waited"])
