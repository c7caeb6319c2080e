"""The MNIST theta network with smooth exact gradients (Klos & Memmesheimer, PRL 134, 027301 (2025)).

`SmoothMNIST`: theta neurons (tau = 6/pi, I0 = 5/4, Theta = 6, T = 2; times in ms as the unit),
    784-100-100-10, weights U(+-0.5 / sqrt(fan_in)), trainable initial phases from Theta/2 (silent
    network), binarised TTFS input (pixel >= 128 spikes at T ln(1/0.99)), loss
    -log softmax(-t)_label + 0.01 (exp(t_label / T) - 1) on the first output spike (ordinary or pseudo),
    AdaBelief lr 4e-3 decaying as exp(-step / (100 epochs)), batch 1000, initial phases clipped
    to [0, Theta], and, as regularisation during training only, each binary input pixel of a
    training batch flipped (spiking <-> silent) with probability p_flip = 0.02 (reference settings:
    the configuration of the reference's MNIST notebook, whose 10 networks gave 97.3 %).
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..datasets import load_idx_dataset
from ..learning_rules.optimizers import AdaBelief, ExponentialLR
from ..learning_rules.smooth_gradient import SmoothGradient, smooth_mnist_loss
from ..models.theta_network import ThetaNetwork
from ..training.loop import EpochLoop

__all__ = ["mnist_data", "mnist_input_time", "flip_inputs", "SmoothMNIST", "MNIST_DEFAULTS"]


# ---- settings -----------------------------------------------------------------------------------------
MNIST_DEFAULTS = dict(hidden=100, n_hidden_layers=2, T=2.0, lr=4e-3, tau_lr_epochs=100.0, batch_size=1000,
                      batch_copies=500, dt=0.05, beta=0.01, weight_scale=0.5, phi0=0.5, p_flip=0.02)


def mnist_input_time(T=2.0):
    """The one input spike time of a bright pixel: T ln(1/0.99) (a LIF neuron's first spike under
    a constant input, as in the reference)."""
    return T * np.log(1 / 0.99)


def _check_p_flip(p_flip):
    if not (isinstance(p_flip, (int, float)) and 0.0 <= p_flip <= 1.0):
        raise ValueError(f"p_flip must be a probability in [0, 1] (the reference uses 0.02; 0 turns "
                         f"input flipping off), got {p_flip!r}")


def flip_inputs(x, p_flip, rng, T=2.0):
    """Binary TTFS inputs with each pixel flipped with probability p_flip: a spiking pixel falls
    silent (inf), a silent one spikes at `mnist_input_time(T)` (the reference's training-time
    regularisation). Returns a new array; x is left alone."""
    _check_p_flip(p_flip)
    if p_flip == 0.0:
        return x
    flip = rng.random(x.shape) < p_flip
    return np.where(flip, np.where(np.isfinite(x), np.inf, mnist_input_time(T)), x)


def mnist_data(data_dir=None, n_train=None, n_test=None, T=2.0, download=True):
    """Binarised TTFS inputs: pixel >= 128 spikes at T ln(1/0.99), others silent. ((x, y), (x, y))."""
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_idx_dataset("mnist", split, data_dir=data_dir, download=download)
        if n is not None:
            images, labels = images[:n], labels[:n]
        flat = images.reshape(len(images), -1)
        out.append((np.where(flat >= 128, mnist_input_time(T), np.inf), labels.astype(int)))
    return out


class SmoothMNIST(EpochLoop):
    """The MNIST theta network, its AdaBelief optimiser and the smooth gradient rule.

    simulator: 'brian2' (forward run in Brian2, the rule replays the recorded input spikes) or 'replay'
    (the rule's exact event-based numpy replay alone, no Brian2). Both train on the replayed times,
    which are exact; tests measure how closely the Brian2 run agrees.
    """

    def __init__(self, seed=0, simulator="brian2", target="cython", n_batches_per_epoch=60, callbacks=(), **overrides):
        unknown = set(overrides) - set(MNIST_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(MNIST_DEFAULTS)}")
        if simulator not in ("brian2", "replay"):
            raise ValueError(f"simulator must be 'brian2' or 'replay', got {simulator!r}")
        cfg = self.cfg = dict(MNIST_DEFAULTS, **overrides)
        _check_p_flip(cfg["p_flip"])
        self.simulator = simulator
        self.net = ThetaNetwork(784, [cfg["hidden"]] * cfg["n_hidden_layers"] + [10], duration=cfg["T"] * ms,
                                dt=cfg["dt"] * ms, batch_size=min(cfg["batch_copies"], cfg["batch_size"]),
                                weight_scale=cfg["weight_scale"], phi0=cfg["phi0"], seed=seed, target=target,
                                input_levels=1)
        self.rule = SmoothGradient(self.net.model)
        self.optimizer = self.opt = AdaBelief(cfg["lr"])
        self.schedule = ExponentialLR(self.opt, cfg["tau_lr_epochs"] * n_batches_per_epoch)
        self._init_loop(seed, callbacks)   # history: history[0] is the test evaluation before training
        self._data = None
        self.timings = {"brian2": 0.0, "replay": 0.0, "backward": 0.0, "update": 0.0}

    def _trace(self, x):
        t0 = time.perf_counter()
        src = self.net.simulate(x) if self.simulator == "brian2" else x
        t1 = time.perf_counter()
        tr = self.rule.forward(self.net, src)
        t2 = time.perf_counter()
        self.timings["brian2"] += t1 - t0
        self.timings["replay"] += t2 - t1
        return tr

    def step(self, x, y):
        """One optimiser step on a batch; returns (mean loss, accuracy with pseudospikes)."""
        tr = self._trace(x)
        t_out, _ = tr.output_times(1)
        loss, g = smooth_mnist_loss(t_out[:, :, 0], y, self.net.T, self.cfg["beta"])
        t0 = time.perf_counter()
        grads, _ = self.rule.backward(self.net, tr, g[:, :, None] / len(y), input_grad=False)
        t1 = time.perf_counter()
        self.opt.step(self.net.params, grads)
        self.schedule.step()
        Theta = self.net.model.Theta
        for p in self.net.params:
            np.clip(p["phi0"], 0.0, Theta, out=p["phi0"])
        self.timings["backward"] += t1 - t0
        self.timings["update"] += time.perf_counter() - t1
        return float(loss.mean()), float(np.mean(np.argmin(t_out[:, :, 0], axis=1) == y))

    def train_epoch(self, x, y, progress=None):
        order = self.rng.permutation(len(x))
        bs = self.cfg["batch_size"]
        losses = []
        for i in range(0, len(x), bs):
            idx = order[i:i + bs]
            xb = flip_inputs(x[idx], self.cfg["p_flip"], self.rng, self.cfg["T"])
            losses.append(self.step(xb, y[idx])[0])
            if progress:
                progress(i // bs, losses[-1])
            self.batch_done(i // bs, len(idx))
        self.epoch += 1
        return float(np.mean(losses))

    def fit(self, train, test, epochs, checkpoint=None, log=print, progress=None, callbacks=()):
        """Train until `epochs` epochs are done in total (resumes from self.epoch, e.g. after `load`).
        history[0] is the test evaluation before training; each epoch adds its loss, seconds, their
        split (Brian2 / replay / backward / update) and the test evaluation. With `checkpoint` (a path)
        the state is saved after every epoch (training.loop.EpochLoop)."""
        self._data = (train, test, progress)
        try:
            return EpochLoop.fit(self, epochs, checkpoint=checkpoint, log=log, callbacks=callbacks)
        finally:
            self._data = None

    @property
    def n_train(self):
        return len(self._data[0][0]) if self._data else None

    def before_training(self, log):
        if not self.history:
            if log:
                log("evaluating the untrained network (the first run compiles the Brian2 code; later runs reuse it)")
            self.history.append(dict(epoch=0, **self.evaluate(*self._data[1])))
            if log:
                log(f"before training: {self.history[0]}")

    def run_epoch(self):
        train, test, progress = self._data
        self.timings = dict.fromkeys(self.timings, 0.0)
        t0 = time.perf_counter()
        loss = self.train_epoch(*train, progress=progress)
        secs = time.perf_counter() - t0
        return dict(epoch=self.epoch, train_loss=loss, epoch_seconds=secs, split=dict(self.timings),
                    **self.evaluate(*test))

    def describe(self, row):
        return (f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, test acc {row['acc_ordinary']:.4f} "
                f"(ordinary spikes) {row['acc_with_pseudo']:.4f} (with pseudospikes), hidden silent "
                f"{row['silent_fraction']:.3f} ({row['epoch_seconds']:.0f} s: {row['split']})")

    # ---- checkpoints (training.loop: atomic, exact resume) -------------------------------
    def state_meta(self):
        return {"lr_decay_steps": self.schedule.n}

    def load_meta(self, meta):
        self.schedule.n = int(meta["lr_decay_steps"])

    def config(self):
        return self.cfg

    def evaluate(self, x, y, chunk=1000):
        """Accuracy with ordinary spikes only (silent outputs at T) and with pseudospikes, loss, hidden
        activity: the fraction of hidden neurons silent on every sample and spikes per hidden neuron."""
        T = self.net.T
        correct_ord = correct_ps = 0
        loss = 0.0
        hidden = self.net.layer_sizes[:-1]
        ever = [np.zeros(n, bool) for n in hidden]
        n_spk = 0.0
        for i in range(0, len(x), chunk):
            xb, yb = x[i:i + chunk], y[i:i + chunk]
            tr = self._trace(xb)
            t_out, pseudo = tr.output_times(1)
            t1 = t_out[:, :, 0]
            lb, _ = smooth_mnist_loss(t1, yb, T, self.cfg["beta"])
            loss += lb.sum()
            correct_ps += int(np.sum(np.argmin(t1, axis=1) == yb))
            correct_ord += int(np.sum(np.argmin(np.where(pseudo[:, :, 0], T, t1), axis=1) == yb))
            for l in range(len(hidden)):
                c = tr.layers[l].counts
                ever[l] |= (c > 0).any(axis=0)
                n_spk += c.sum()
        n = len(x)
        return dict(acc_ordinary=correct_ord / n, acc_with_pseudo=correct_ps / n, loss=loss / n,
                    silent_fraction=float(1 - np.mean(np.concatenate(ever))),
                    hidden_spikes_per_neuron=float(n_spk / (n * sum(hidden))))
