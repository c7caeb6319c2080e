"""Delay-only training on MNIST / Fashion-MNIST (Grappolini & Subramoney, ICONS 2023, "Beyond Weights").

Claim: training only the synaptic delays of a feed-forward spiking network whose weights stay at
fixed random values reaches accuracy comparable to training the weights, and ternary weights
{-w0, 0, +w0} barely hurt. Here the network is the TTFS LIF network of the foundation (models.lif,
exact spike-time gradients for the delays, learning_rules.spike_time_gradient), so the comparison
"delays vs weights vs both" is the `training` argument and nothing else changes.

Settings (tau_s units unless stated; every entry of DEFAULTS can be overridden):
- LIF tau_s = 5 ms, tau_m = 2 tau_s (closed-form ratio of the foundation);
- pixels -> latency code, 3 levels over a window of 2 tau_s (10 ms; the reference used 3 levels in
  10 steps of 1 ms), dark pixels (intensity 0) silent; levels=None gives each pixel its own latency
  (continuous code), which measured better on the full MNIST data (docs/results.md, delay_only);
- synaptic delays in [0, d_max = 2 tau_s], initialised N(1, 0.5) clipped, trained with Adam
  (amsgrad), batch 32 (reference values), lr 0.03 (reference 0.01; chosen on a 2000-image MNIST
  subset, CHANGELOG.md);
- fixed weights in units of `relative_to_threshold(model)` (1 = one PSP reaching threshold at its
  peak). The reference's readout was not time-to-first-spike, and its output init (negative mean:
  ~140 active hidden inputs x -0.0524 sum to about -7 thresholds; arithmetic, not run) would keep
  a TTFS output layer silent, so the values are ours: hidden N(0.015, 0.05), output N(0.06, 0.1)
  for 'normal'; ternary: round and clamp N(mean / w0, std / w0) to {-1, 0, 1}, times w0 = 0.1
  (hidden) and 0.2 (output) threshold units, same means and stds (most hidden and every output
  neuron fire before training; the hidden mean was chosen by a sweep, CHANGELOG.md);
- weight training (the comparison): Adam lr 0.003 and weight bumping as on Yin-Yang (a larger rate,
  or no bumping, silences output neurons);
- learning-rate schedule: none by default; `schedule=(step_epochs, gamma)` multiplies the learning
  rates by gamma every step_epochs epochs;
- loss: TTFS cross-entropy (xi = 0.2); it trained better here than the shift-invariant MSE
  (CHANGELOG.md).
"""
from __future__ import annotations

from brian2 import ms

from ..datasets import load_idx_dataset, ttfs_latency
from ..learning_rules import Adam, WeightBumping
from ..learning_rules.optimizers import param_group
from ..models import LIF, DelayConfig, LayeredNetwork, normal, relative_to_threshold, ternary
from ..backends.in_simulation import InSimulationTrainer
from ..training import Trainer

__all__ = ["DEFAULTS", "TRAINING", "WEIGHTS", "build", "data", "weight_inits"]

TRAINING = {"delays": ("delays",), "weights": ("weights",), "both": ("weights", "delays")}
WEIGHTS = ("normal", "ternary")

DEFAULTS = dict(hidden=350, batch_size=32, dt=0.05, duration=8.0, tau_s=5 * ms, window=2.0, levels=3,
                d_max=2.0, delay_init=(1.0, 0.5), lr=0.03, lr_weights=0.003, amsgrad=True, loss="ce",
                normal=((0.015, 0.05), (0.06, 0.1)), ternary=((0.1, 0.015, 0.05), (0.2, 0.06, 0.1)),
                schedule=None)


NULLABLE = ("levels", "schedule")


def weight_inits(kind, model, cfg):
    """Per-projection weight inits (model weight units) for 'normal' or 'ternary'."""
    u = relative_to_threshold(model)
    if kind == "normal":
        return [normal(m * u, s * u) for m, s in cfg["normal"]]
    if kind == "ternary":
        return [ternary(m / w0, s / w0, w0 * u) for w0, m, s in cfg["ternary"]]
    raise ValueError(f"weights must be one of {WEIGHTS}, got {kind!r}")


def data(dataset="mnist", data_dir=None, n_train=None, n_test=None, window=2.0, levels=3, download=True):
    """Latency-coded (times (N, 784), labels) for the train and test splits, optionally truncated."""
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_idx_dataset(dataset, split, data_dir=data_dir, download=download)
        if n is not None:
            images, labels = images[:n], labels[:n]
        out.append((ttfs_latency(images, window=window, levels=levels), labels.astype(int)))
    return out


def build(dataset="mnist", training="delays", weights="normal", seed=0, data_dir=None, n_train=None,
          n_test=None, progress=True, target="cython", device="runtime", threads=None, in_simulation=False,
          directory=None, simulator="brian2", backend=None, backend_options=None, **overrides):
    """(trainer, config) for one cell of the comparison: dataset x training x weights.

    backend: what runs the network (brian2learn.backends: 'brian2' by default, 'event' for the exact
    closed-form event simulator, 'in-simulation' to train with the rule and Adam as generated code, one
    compiled run per epoch (backends.in_simulation; `directory` its project folder; delay-only and
    weight training without bumping), ...); simulator/device/target/threads/in_simulation: the older
    spelling."""
    if backend == "in-simulation":
        backend, in_simulation = None, True
    if training not in TRAINING:
        raise ValueError(f"training must be one of {sorted(TRAINING)}, got {training!r}")
    if in_simulation and simulator != "brian2":
        raise ValueError("in_simulation=True runs the rule inside a compiled Brian2 program: it needs "
                         f"simulator='brian2', got {simulator!r}")
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    # None means "the default", except where None is a setting itself (levels=None: the continuous
    # latency code; schedule=None: a constant learning rate)
    cfg = dict(DEFAULTS, **{k: v for k, v in overrides.items() if v is not None or k in NULLABLE})
    cfg.update(dataset=dataset, training=training, weights=weights)
    tau_s = cfg["tau_s"]
    model = LIF(tau_s=tau_s, tau_m=2 * tau_s)
    delays = DelayConfig(kinds="synaptic", init=cfg["delay_init"], max_delay=cfg["d_max"])
    net = LayeredNetwork(784, [cfg["hidden"], 10], model=model, delays=delays, n_bias=0,
                         weight_init=weight_inits(weights, model, cfg), batch_size=cfg["batch_size"],
                         dt=cfg["dt"] * tau_s, duration=cfg["duration"] * tau_s, seed=seed, target=target,
                         device=device, threads=None if in_simulation else threads, simulator=simulator,
                         backend=backend, backend_options=backend_options)
    train, test = data(dataset, data_dir, n_train, n_test, cfg["window"], cfg["levels"])
    trains_weights = "weights" in TRAINING[training]
    optimizer = Adam({"weights": cfg["lr_weights"], "delays": cfg["lr"]}, amsgrad=cfg["amsgrad"])
    common = dict(optimizer=optimizer, schedule=cfg["schedule"], loss=cfg["loss"], seed=seed, progress=progress,
                  trainable=TRAINING[training])
    if in_simulation:
        trainer = InSimulationTrainer(net, train, test, directory=directory, threads=threads, **common)
    else:
        trainer = Trainer(net, train, test, bumping=WeightBumping(5e-4, (0.3, 0.0)) if trains_weights else None,
                          **common)
    cfg["n_trainable"] = int(sum(v.size for p in net.params for k, v in p.items()
                                 if param_group(k) in TRAINING[training]))
    return trainer, cfg
