"""Deep SRC networks trained by BPTT on MNIST, Fashion-MNIST and (emulated) N-MNIST.

De Geeter, Ernst & Drion 2024 (arXiv 2306.03623): spiking recurrent cells (models.src) trained by
plain backpropagation through time (learning_rules.bptt), at depths where other spiking networks
struggle. Settings (every entry of DEFAULTS can be overridden):
- MNIST / Fashion-MNIST: rate code, a Bernoulli spike per pixel and step with P = intensity
  (datasets.encoding.rate_steps), `steps` steps per image; the issue asks ~200 steps, benchmark
  runs record the steps they used;
- N-MNIST: 34 x 34 x 2 polarities binned into `steps` frames (datasets.nmnist); the full data set
  is not available offline, so 'nmnist-emulated' uses the event-camera emulation of MNIST digits
  (datasets.nmnist.emulate_nmnist), labelled as emulated in every result;
- input weights: uniform +-1/sqrt(n_in) times `input_gain` (default 1; 3 for N-MNIST, whose frames
  are sparser: measured on 64 emulated digits, 100 steps, 2312-100-10, 0.04 % of hidden (cell, step)
  pairs spike at gain 1 and 3.1 % at gain 3; MNIST needs no gain);
- `hidden_gain` (default 1): the same factor on the initial weights into every later SRC layer (the
  hidden layers after the first, and a 'counts' readout). At gain 1 a deep network starts silent
  beyond its first layer: 128 MNIST digits, 100 steps, 784-100x4-10, 24 % of the first layer's
  cells spike at least once, 0.5 % of the second's and none of the third and fourth; at gain 3, 48 /
  68 / 77 % (benchmarks/README.md, "SRC" section, for what it does to training);
- `depth` hidden SRC layers of `hidden` cells (+ the 10-cell readout), readout 'counts' (summed
  output spikes as logits) by default;
- Adam (lr 1e-3 by default), batch 64, gradient 'paper' (the reimplementation's gradient stops) or
  'exact'; learning-rate schedule none by default, `schedule=(step_epochs, gamma)` multiplies the
  learning rate by gamma every step_epochs epochs (learning_rules.optimizers.StepLR); b_h capped at -4 after every step; forward by the numpy run that equals Brian2's
  (models.src_fast), in float32.
"""
from __future__ import annotations

import time

import numpy as np

from ..training.loop import EpochLoop
from ..datasets import load_idx_dataset, rate_steps
from ..learning_rules.bptt import BPTT
from ..learning_rules.optimizers import Adam, StepLR
from ..models.src import SRCNetwork
from ..models.src_fast import simulate_numpy

__all__ = ["DEFAULTS", "DATASETS", "load", "encode", "build", "SRCTrainer", "single_cell", "plot_single_cell"]

DATASETS = ("mnist", "fashion", "nmnist-emulated", "nmnist")
DEFAULTS = dict(depth=1, hidden=100, steps=200, batch_size=64, lr=1e-3, gradient="paper", readout="counts",
                recurrent=False, input_gain=None, hidden_gain=1.0, schedule=None)
INPUT_GAIN = {"nmnist": 3.0, "nmnist-emulated": 3.0}  # default 1


def load(dataset, data_dir=None, n_train=None, n_test=None, seed=0, download=True):
    """((x_train, y_train), (x_test, y_test)): images uint8 (N, 28, 28) or, for N-MNIST, event lists."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if dataset.startswith("nmnist"):
        from ..datasets import nmnist

        return nmnist.load_split_pair(dataset, data_dir, n_train, n_test)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_idx_dataset("fashion-mnist" if dataset == "fashion" else dataset, split,
                                          data_dir=data_dir, download=download)
        out.append((images[:n], labels[:n].astype(int)))
    return out


def encode(dataset, x, steps, rng):
    """Input spikes (B, steps, n_in) float32 for a minibatch x of images or event recordings."""
    if dataset.startswith("nmnist"):
        from ..datasets import nmnist

        return nmnist.frames(x, steps)
    return rate_steps(x, steps, rng)


def n_inputs(dataset):
    return 2 * 34 * 34 if dataset.startswith("nmnist") else 784


def build(dataset="mnist", seed=0, data_dir=None, n_train=None, n_test=None, **overrides):
    """(trainer, config) for one dataset and depth."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    cfg = dict(DEFAULTS, **{k: v for k, v in overrides.items() if v is not None})
    depth = int(cfg["depth"])
    if depth < 1:
        raise ValueError(f"depth (number of hidden layers) must be >= 1, got {depth}")
    net = SRCNetwork(n_inputs(dataset), (cfg["hidden"],) * depth + (10,), recurrent=cfg["recurrent"],
                     readout=cfg["readout"], seed=seed)
    cfg["input_gain"] = cfg["input_gain"] or INPUT_GAIN.get(dataset, 1.0)
    net.params[0]["w"] *= cfg["input_gain"]
    if not cfg["hidden_gain"] > 0:
        raise ValueError(f"hidden_gain must be > 0 (a factor on the initial weights of the SRC layers after the "
                         f"first), got {cfg['hidden_gain']!r}")
    for l in range(1, net.n_layers):
        if not net.is_integrator(l):
            net.params[l]["w"] *= cfg["hidden_gain"]
    train, test = load(dataset, data_dir, n_train, n_test, seed)
    cfg.update(dataset=dataset, seed=seed, n_train=len(train[1]), n_test=len(test[1]))
    return SRCTrainer(net, dataset, train, test, cfg, seed), cfg


class SRCTrainer(EpochLoop):
    """Minibatch BPTT + Adam over epochs (training.loop.EpochLoop: fit, callbacks, checkpoints);
    `history` holds per-epoch metrics."""

    def __init__(self, net, dataset, train, test, cfg, seed=0, callbacks=()):
        self.net, self.dataset, self.train, self.test, self.cfg = net, dataset, train, test, cfg
        self.rule = BPTT(net, cfg["gradient"])
        self.optimizer = self.opt = Adam(cfg["lr"])
        self.schedule = StepLR(self.opt, *cfg["schedule"]) if cfg.get("schedule") else None
        self._init_loop(seed, callbacks)

    @property
    def n_train(self):
        return len(self.train[1])

    def _batches(self, data, shuffle):
        x, y = data
        order = self.rng.permutation(len(y)) if shuffle else np.arange(len(y))
        bs = self.cfg["batch_size"]
        for k in range(0, len(y), bs):
            idx = order[k:k + bs]
            xb = [x[i] for i in idx] if isinstance(x, list) else x[idx]
            yield encode(self.dataset, xb, self.cfg["steps"], self.rng), y[idx]

    def train_epoch(self, progress=None):
        if self.schedule:
            self.schedule.set_epoch(self.epoch)
        t0 = time.perf_counter()
        losses, correct, n = [], 0, 0
        for k, (s_in, y) in enumerate(self._batches(self.train, shuffle=True)):
            record = simulate_numpy(self.net, s_in, dtype=np.float32)
            loss, acc, grads = self.rule.gradients(s_in, record, y)
            self.opt.step(self.net.params, grads)
            self.net.cap_biases()
            losses.append(loss)
            correct += acc * len(y)
            n += len(y)
            if progress:
                progress(n, loss)
            self.batch_done(k, len(y))
        self.epoch += 1
        return {"train_loss": float(np.mean(losses)), "train_acc": correct / n,
                "seconds": time.perf_counter() - t0}

    def evaluate(self):
        correct = 0
        for s_in, y in self._batches(self.test, shuffle=False):
            logits = simulate_numpy(self.net, s_in, dtype=np.float32)[-1]["logits"]
            correct += int(np.sum(np.argmax(logits, axis=1) == y))
        return correct / len(self.test[1])

    def run_epoch(self):
        m = self.train_epoch()
        m.update(epoch=self.epoch, test_acc=self.evaluate())
        return m

    def describe(self, m):
        return (f"epoch {m['epoch']}: train loss {m['train_loss']:.4f} acc {m['train_acc']:.4f}, "
                f"test acc {m['test_acc']:.4f} ({m['seconds']:.0f} s)")

    def config(self):
        return self._config()

    def _config(self):
        # hidden_gain came later: recorded only where it is not 1, so older checkpoints stay loadable
        return {k: v for k, v in self.cfg.items() if k in DEFAULTS and not (k == "hidden_gain" and v == 1.0)}


def single_cell(drive=0.35, steps=120, input_spikes=None, target="numpy"):
    """Record of one SRC cell (Brian2 run) under a constant drive or a given input spike train (steps,)."""
    from ..models.src import simulate_brian2

    net = SRCNetwork(1, (1,), seed=0)
    net.params[0]["w"][:] = drive
    s_in = np.ones((1, steps, 1)) if input_spikes is None else np.asarray(input_spikes, float)[None, :, None]
    return s_in[0, :, 0], simulate_brian2(net, s_in, target=target)[0]


def plot_single_cell(path=None):
    """Figure: one cell under constant drive and under a spike train (x, h, h_s, s per step)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    cases = [("constant drive, w = 0.35", single_cell(0.35)),
             ("Poisson input spikes (p = 0.3), w = 0.6",
              single_cell(0.6, input_spikes=(rng.random(120) < 0.3).astype(float)))]
    fig, axes = plt.subplots(2, 2, figsize=(12, 5.5), sharex=True)
    cell = SRCNetwork(1, (1,)).cell
    for col, (title, (s_in, rec)) in enumerate(cases):
        x = cell.rho * np.tanh(rec["i_x"][0, :, 0] / cell.rho)
        ax = axes[0, col]
        ax.plot(x, color="gray", label="x (bounded input)")
        ax.vlines(np.nonzero(s_in)[0], 3.2, 3.6, color="k", lw=0.6, label="input spikes")
        ax.set(title=title, ylabel="input")
        ax.legend(loc="upper right", fontsize=8)
        ax = axes[1, col]
        ax.plot(rec["h"][0, :, 0], label="h (fast)")
        ax.plot(rec["h_s"][0, :, 0], label="h_s (slow)")
        ax.fill_between(np.arange(len(s_in)), rec["s"][0, :, 0], color="C3", alpha=0.5, label="s = ReLU(h)")
        ax.axhline(cell.h_th, color="k", lw=0.5, ls=":")
        ax.set(xlabel="step", ylabel="state")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=110)
    return fig
