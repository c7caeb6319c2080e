"""The epoch loop every trainer shares: epochs, history, callbacks, stop flag, checkpoints of the loop.

A trainer subclasses EpochLoop and says what one epoch is:

    run_epoch()          train one epoch (and evaluate if it does), return the epoch's row of metrics
    state_meta()         JSON-able state beyond the parameters and the optimiser (e.g. a schedule)
    load_meta(meta)      restore it
    net.params, optimizer  what checkpoints hold as arrays (training.checkpoints)
    config()             the settings a checkpoint must match (None: not checked)

and EpochLoop provides `fit(epochs, checkpoint, log, callbacks)`, `save(path)` and `load(path)`
(atomic; resume continues bit-identically: the RNG, the history and the callbacks' state are kept).
"""
from __future__ import annotations

import numpy as np

from .callbacks import CallbackList, Checkpoint, ConsoleLogger, ProgressBar
from .checkpoints import load_checkpoint, save_checkpoint

__all__ = ["EpochLoop"]


class EpochLoop:
    """Base of the trainers: `epoch`, `history`, `rng`, `callbacks`, `stop_training`."""

    progress = False
    n_train = None

    def _init_loop(self, seed=0, callbacks=()):
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self.history = []
        self.callbacks = CallbackList(callbacks)
        self.stop_training = False
        self.first_epoch_of_run = 0
        self._active = CallbackList()

    # ---- what a subclass says ---------------------------------------------------------------
    def run_epoch(self):  # pragma: no cover - interface
        raise NotImplementedError

    def before_training(self, log):
        """Called once at the start of `fit` (e.g. an evaluation before the first epoch)."""

    def describe(self, row):
        """One line for the console logger (None: its default of the common metrics)."""
        return None

    def state_meta(self):
        return {}

    def load_meta(self, meta):
        pass

    def config(self):
        return None

    @property
    def params(self):
        """What checkpoints hold as arrays: the network's master parameters."""
        return self.net.params

    # ---- the loop ---------------------------------------------------------------------------
    def batch_done(self, batch, n):
        """Subclasses call this after each minibatch of n samples (progress bars count them)."""
        self._active.on_batch_end(self, batch, n)

    def fit(self, epochs, checkpoint=None, log=print, callbacks=()):
        """Train until `epochs` epochs are done in total (resumes from self.epoch, e.g. after `load`).

        Callbacks: the trainer's own, then `callbacks`, then those the arguments ask for: a ProgressBar
        (the trainer's `progress`), a ConsoleLogger (log: a function of one string; None for none) and
        a Checkpoint to `checkpoint` (a path) after every epoch. Returns the history."""
        extra = [ProgressBar()] if self.progress and self.n_train else []
        extra += [ConsoleLogger(log)] if log else []
        extra += [Checkpoint(checkpoint)] if checkpoint else []
        self._active = CallbackList(list(self.callbacks) + list(callbacks) + extra)
        self.stop_training = False
        self.first_epoch_of_run = self.epoch
        self.before_training(log)
        self._active.on_train_begin(self)
        try:
            while self.epoch < int(epochs) and not self.stop_training:
                self._active.on_epoch_begin(self, self.epoch)
                row = self.run_epoch()
                self.history.append(row)
                self._active.on_epoch_end(self, self.epoch - 1, row)
            self._active.on_train_end(self)
        finally:
            self._active = CallbackList()
        return self.history

    # ---- checkpoints --------------------------------------------------------------------------
    def save(self, path):
        """Atomically write the parameters, the optimiser, the epoch, the history, the RNG state, the
        callbacks' state and the subclass's own state (`state_meta`)."""
        meta = {"epoch": self.epoch, "history": self.history, "rng": self.rng.bit_generator.state,
                "callbacks": [cb.state_dict() for cb in self.callbacks], **self.state_meta()}
        config = self.config()
        if config is not None:
            meta["config"] = config
        save_checkpoint(path, self.params, self.optimizer, meta)

    def load(self, path):
        """Restore everything `save` wrote (same architecture and settings, else ValueError before
        anything changes); `fit` then continues exactly as if it had not stopped."""
        meta = load_checkpoint(path, self.params, self.optimizer, config=self.config())
        self.epoch, self.history = int(meta["epoch"]), meta["history"]
        self.rng.bit_generator.state = meta["rng"]
        for cb, state in zip(self.callbacks, meta.get("callbacks", [])):
            cb.load_state_dict(state)
        self.load_meta(meta)
        return self
