"""Yin-Yang with exact gradients for weights and delays: the DelGrad reference configurations.

Goeltz et al. 2025 (DelGrad), simulation results on Yin-Yang; reference settings (tau_s units):
LIF tau_m = 2 tau_s, g_l = 0.5, threshold 1, E_l = 0; inputs t = 0.15 + 1.85 v for
v in (x, y, 1 - x, 1 - y) plus one bias spike at 0.9 per layer; Adam, batch 150, 300 epochs,
learning rate x0.95 every 20 epochs; weights N(1, 1) (hidden) and N(0.5, 1) (output); delays
d = 0 + 1 * sigmoid(p) tau_s with p ~ N(-2.3, 0.5); shift-invariant MSE loss (delta = 0.2 tau_s);
trial length 4 tau_s (the reference's sim_time); dt = 0.01 tau_s.

Measured here (benchmarks/README.md): with the TTFS cross-entropy instead of the MSE, the loss keeps
pushing wrong-class output spikes later until they vanish, weight bumping then fires on ~80 % of the
batches and skips their gradient steps (10 epochs: 87.6 % vs 93.0 % with the MSE, seed 0). The
Brian2 spike times are exact at any dt (models.lif takes the inputs of a step in time order); dt =
0.01 tau_s dates from before that, when about 1 % of the output spikes at dt = 0.05 tau_s were off by
more than 0.05 tau_s (several inputs in the crossing step).

`final_decay=N` (not in the reference) adds a linear decay of the learning rate over the last N of
the run's `epochs` (optimizers.StepLR), and `bump_dead=True` also bumps a hidden neuron that is
silent for a whole batch (learning_rules.WeightBumping `dead`); both measured in benchmarks/README.md.

Each config: name -> hidden size, delay kinds and learning rates (weights / delays); `max_grad_norm`
(default None) clips each parameter array's gradient to that L2 norm, as the reference configs'
max_dw_norm = 0.2 does. Measured with the benchmark (benchmarks/README.md): clipping at 0.2 did not
help here (4-30-3 W+synaptic, 5 seeds, lower mean than without; 4-5-3 W+synaptic, 2 seeds, lower), so no
config clips.
"""
from __future__ import annotations

from brian2 import ms

from ..datasets import ttfs_linear, yin_yang
from ..learning_rules import Adam, WeightBumping
from ..models import LIF, DelayConfig, LayeredNetwork
from ..training import Trainer

__all__ = ["CONFIGS", "build", "data"]

CONFIGS = {
    "4-30-3 W": dict(hidden=30, delays=None, lr={"weights": 0.02}),
    "4-30-3 W+axonal": dict(hidden=30, delays="axonal", lr={"weights": 0.005, "delays": 0.005}),
    "4-30-3 W+dendritic": dict(hidden=30, delays="dendritic", lr={"weights": 0.005, "delays": 0.005}),
    "4-30-3 W+synaptic": dict(hidden=30, delays="synaptic", lr={"weights": 0.01, "delays": 0.003}),
    "4-5-3 W+synaptic": dict(hidden=5, delays="synaptic", lr={"weights": 0.015, "delays": 0.01}),
}

DEFAULTS = dict(batch_size=150, epochs=300, dt=0.01, duration=4.0, loss="mse", tau_s=5 * ms,
                schedule=(20, 0.95), final_decay=None, bump_dead=False, weight_init=((1.0, 1.0), (0.5, 1.0)), max_grad_norm=None,
                delay_reparam=(0.0, 1.0), delay_init=(-2.3, 0.5))


def data(n_train=None, n_test=None):
    """Encoded (times, labels) for the published train and test splits (optionally truncated)."""
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = yin_yang(split)
        if n is not None:
            x, y = x[:n], y[:n]
        out.append((ttfs_linear(x), y))
    return out


def config_for(name, hidden=None, delays=None, **overrides):
    """A named config, or a custom one ('4-<hidden>-3 W' / 'W+<kinds>') with the given overrides."""
    if name in CONFIGS:
        cfg = dict(DEFAULTS, **CONFIGS[name])
    else:
        raise KeyError(f"unknown Yin-Yang config {name!r}; choose from {sorted(CONFIGS)}")
    if hidden is not None:
        cfg["hidden"] = hidden
    if delays is not None:
        cfg["delays"] = delays or None
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def build(name="4-30-3 W+synaptic", seed=0, n_train=None, n_test=None, target="cython", progress=True,
          device="runtime", threads=None, simulator="brian2", backend=None, backend_options=None, **overrides):
    """(trainer, config) for a named configuration; `overrides` change any DEFAULTS entry.
    backend: what runs the network (brian2learn.backends: 'brian2' by default, 'event' for the exact
    closed-form event simulator, 'brian2-cpp', ...); simulator/device/target/threads: the older spelling."""
    cfg = config_for(name, **overrides)
    tau_s = cfg["tau_s"]
    model = LIF(tau_s=tau_s, tau_m=2 * tau_s)
    delays = DelayConfig(kinds=cfg["delays"], init=cfg["delay_init"], reparam=cfg["delay_reparam"])
    net = LayeredNetwork(4, [cfg["hidden"], 3], model=model, delays=delays, n_bias=1, bias_times=0.9 * tau_s,
                         weight_init=cfg["weight_init"], batch_size=cfg["batch_size"], dt=cfg["dt"] * tau_s,
                         duration=cfg["duration"] * tau_s, seed=seed, target=target,
                         device=device, threads=threads, simulator=simulator, backend=backend,
                         backend_options=backend_options)
    train, test = data(n_train, n_test)
    schedule = cfg["schedule"]
    if cfg["final_decay"]:   # the last final_decay of the run's epochs decay linearly (optimizers.StepLR)
        if not 0 < int(cfg["final_decay"]) <= cfg["epochs"]:
            raise ValueError(f"final_decay (epochs of the final learning-rate decay) must lie in 1..epochs = "
                             f"{cfg['epochs']}, got {cfg['final_decay']!r}")
        schedule = tuple(schedule) + (cfg["epochs"] - int(cfg["final_decay"]), cfg["epochs"])
    trainer = Trainer(net, train, test, optimizer=Adam(cfg["lr"], max_grad_norm=cfg["max_grad_norm"]), schedule=schedule, loss=cfg["loss"],
                      bumping=WeightBumping(5e-4, (0.3, 0.0), dead=cfg["bump_dead"]), seed=seed, progress=progress)
    return trainer, cfg
