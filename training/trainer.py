"""One Trainer: a network, the back end that runs it, a learning rule, a loss, an optimiser, callbacks.

One epoch = one pass of the back end over the training set in minibatches (on the Brian2 runtime one
`Network.run`, the rule at each trial boundary); after each trial: loss on the output spike times ->
weight bumping or the rule's gradients -> optimiser step -> the next trial sees the new parameters.
Around the epochs, callbacks (training.callbacks) show progress, log, checkpoint, schedule the
learning rate and stop early.

Checkpoints (written to a temporary file, then renamed, so a crash never leaves a broken one) hold
the parameters, the optimiser state, the bumping state, the epoch, the history and the RNG state:
resuming gives the same result as not stopping.
"""
from __future__ import annotations

import time

import numpy as np

from .loop import EpochLoop
from ..learning_rules.losses import LOSSES, batch_mean_gradient, predict
from ..learning_rules.optimizers import StepLR, param_group
from ..learning_rules.spike_time_gradient import SpikeTimeGradient

__all__ = ["Trainer"]


def _check_dataset(name, data, n_inputs, n_classes):
    if data is None:
        return None
    x, y = data
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != n_inputs or y.shape != (len(x),):
        raise ValueError(f"{name}: need input times (N, {n_inputs}) and labels (N,), got {x.shape}, {y.shape}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{name} labels must lie in [0, {n_classes})")
    return x, y.astype(int)


class Trainer(EpochLoop):
    """Train a LayeredNetwork on spike times.

    network : LayeredNetwork;  train, test : (input times (N, n_in) in tau_s units, labels)
    backend : the back end that runs it (a name of brian2learn.backends.BACKENDS or a back-end object;
        None: the network's own). backend='in-simulation' gives an InSimulationTrainer: every epoch,
        rule and optimiser included, is one compiled Brian2 run
    rule : the learning rule (default: learning_rules.SpikeTimeGradient of the network's model)
    optimizer : learning_rules.optimizers.Adam / SGD;  schedule : (step_size, gamma) or None, or
        (step_size, gamma, decay_start, decay_end) with a final linear decay (optimizers.StepLR)
    loss : 'ce' (TTFS cross-entropy) or 'mse' (shift-invariant MSE);  loss_kwargs : xi / delta
    callbacks : training.callbacks objects (progress, logging, checkpoints, early stopping, ...)
    bumping : learning_rules.WeightBumping or None;  seed : data order
    trainable : the parameter groups that learn, ('weights', 'delays') by default; ('delays',) is
        delay-only training (weights stay bit-identical), ('weights',) freezes the delays
    progress : show a progress bar (the ProgressBar callback) during `fit`
    """

    def __new__(cls, *args, backend=None, **kwargs):
        if cls is Trainer and backend == "in-simulation":
            from ..backends.in_simulation import InSimulationTrainer

            return super().__new__(InSimulationTrainer)
        return super().__new__(cls)

    def __init__(self, network, train, test=None, optimizer=None, schedule=(20, 0.95), loss="ce",
                 loss_kwargs=None, bumping=None, seed=0, progress=True, trainable=("weights", "delays"),
                 backend=None, rule=None, callbacks=()):
        from ..learning_rules.optimizers import Adam

        if backend is not None and backend != "in-simulation":
            network.use_backend(backend)
        self.net = network
        n_out = network.layer_sizes[-1]
        self.train = _check_dataset("train", train, network.n_inputs, n_out)
        self.test = _check_dataset("test", test, network.n_inputs, n_out)
        for x, _ in filter(None, (self.train, self.test)):
            network.check_inputs(x)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
        self.loss_name = loss
        self.loss_kwargs = dict(loss_kwargs or {})
        self.loss_kwargs.setdefault("t_missing", network.duration)
        self.rule = rule if rule is not None else SpikeTimeGradient(network.model)
        if not callable(getattr(self.rule, "backward", None)):
            raise TypeError(f"rule must have backward(network, record, dL_dT) (e.g. SpikeTimeGradient), got {rule!r}")
        self.optimizer = optimizer if optimizer is not None else Adam(0.01)
        self.schedule = StepLR(self.optimizer, *schedule) if schedule else None
        trainable = (trainable,) if isinstance(trainable, str) else tuple(trainable)
        unknown = set(trainable) - {"weights", "delays"}
        if unknown or not trainable:
            raise ValueError(f"trainable must name 'weights' and/or 'delays', got {trainable!r}")
        if trainable == ("delays",) and not network.delay_config.kinds:
            raise ValueError("trainable=('delays',) but the network has no delays; build it with "
                             "delays='synaptic' (or 'axonal' / 'dendritic')")
        if bumping is not None and "weights" not in trainable:
            raise ValueError("weight bumping changes weights, but trainable excludes 'weights' "
                             "(delay-only training): pass bumping=None")
        self.trainable = trainable
        self.bumping = bumping
        self.progress = progress
        self._init_loop(seed, callbacks)

    # ---- one trial ----------------------------------------------------------------------
    def _loss(self, t_out, labels):
        return LOSSES[self.loss_name](t_out, labels, **self.loss_kwargs)

    def _learn(self, record, labels, stats):
        n = record.n_valid
        out = record.output[:n]
        loss, dL = self._loss(out, labels)
        stats["loss"] += float(loss.sum())
        stats["correct"] += int(np.sum(predict(out) == labels))
        stats["n"] += n
        if self.bumping is not None and self.bumping(self.net, record):
            stats["bumped"] += 1
            if self.bumping.skip_step:
                return
        grads = self.gradients(record, dL)
        grads = [{k: g for k, g in gl.items() if param_group(k) in self.trainable} for gl in grads]
        self.optimizer.step(self.net.params, grads)
        for p in self.net.params:
            self.net.delay_config.clip(p)
        self.net.params_changed()

    def gradients(self, record, dL):
        """The rule's parameter gradients of the trial's mean loss, from its per-sample dL/dT (n_valid, n_out)."""
        return self.net.backward(self.rule, record, batch_mean_gradient(dL, len(record.output)))

    # ---- epochs -------------------------------------------------------------------------
    @property
    def n_train(self):
        return len(self.train[0])

    def train_epoch(self):
        """One pass over the training set in shuffled minibatches; returns the epoch's metrics."""
        x, y = self.train
        if self.schedule:
            self.schedule.set_epoch(self.epoch)
        order = self.rng.permutation(len(x))
        B = self.net.batch_size
        stats = dict(loss=0.0, correct=0, n=0, bumped=0)

        def on_trial(k, record):
            self._learn(record, y[order[k * B:k * B + record.n_valid]], stats)
            self.batch_done(k, record.n_valid)

        t0 = time.perf_counter()
        self.net.run_trials(x, on_trial, batch_order=order)
        seconds = time.perf_counter() - t0
        self.epoch += 1
        return dict(train_loss=stats["loss"] / stats["n"], train_acc=stats["correct"] / stats["n"],
                    bumped_batches=stats["bumped"], epoch_seconds=seconds)

    def evaluate(self, data=None):
        """(accuracy, mean loss, output spike times) on a dataset (default: the test set)."""
        x, y = self.test if data is None else data
        outs = []
        self.net.run_trials(x, lambda k, rec: outs.append(rec.output[:rec.n_valid].copy()))
        t_out = np.concatenate(outs)
        loss, _ = self._loss(t_out, y)
        return float(np.mean(predict(t_out) == y)), float(loss.mean()), t_out

    def run_epoch(self):
        row = {"epoch": self.epoch + 1, **self.train_epoch()}
        if self.test is not None:
            row["test_acc"], row["test_loss"], _ = self.evaluate()
        return row

    # ---- checkpoints (training.loop: atomic, exact resume) -------------------------------
    def state_meta(self):
        return {"bumping": self.bumping.state_dict() if self.bumping else None}

    def load_meta(self, meta):
        self.net.params_changed()
        if self.bumping is not None and meta["bumping"] is not None:
            self.bumping.load_state_dict(meta["bumping"])
