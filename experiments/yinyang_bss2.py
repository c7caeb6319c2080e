"""Yin-Yang on BrainScaleS-2 terms: the hardware-aware DelGrad set-up (Goeltz et al. 2025).

20-30-3: the 4 Yin-Yang inputs (t = 0.15 + 1.85 v, tau_s units) replicated x5 with shared delays,
one bias spike per layer at 0.9 tau; LIF with tau_m = tau_s (the chip's 6 us each); weights trained
through the hardware-aware forward pass of hardware.in_the_loop (6-bit weights, threshold noise,
delay jitter); axonal delays d = sigmoid(p) tau, p ~ N(-2.3, 0.5); shift-invariant MSE; Adam,
batch 150. Configs "W" (weights only) and "W+axonal".
"""
from __future__ import annotations

from brian2 import ms

from ..hardware.in_the_loop import HardwareAware, replicate_inputs
from ..learning_rules import Adam, WeightBumping
from ..models import LIF, DelayConfig, LayeredNetwork
from .yinyang import data

__all__ = ["CONFIGS", "build"]

COPIES = 5
CONFIGS = {"W": dict(delays=None, lr={"weights": 0.01}),
           "W+axonal": dict(delays="axonal", lr={"weights": 0.005, "delays": 0.005})}


def build(config="W+axonal", seed=0, n_train=None, n_test=None, tau=5 * ms, batch_size=150):
    """(net, train, test, optimizer, hardware, bumping) for a named config."""
    if config not in CONFIGS:
        raise KeyError(f"unknown config {config!r}; choose from {sorted(CONFIGS)}")
    cfg = CONFIGS[config]
    (xtr, ytr), (xte, yte) = data(n_train, n_test)
    delays = DelayConfig(kinds=cfg["delays"], init=(-2.3, 0.5), reparam=(0.0, 1.0)) if cfg["delays"] else None
    net = LayeredNetwork(4 * COPIES, [30, 3], model=LIF(tau_s=tau, tau_m=tau), delays=delays, n_bias=1,
                         bias_times=0.9 * tau, weight_init=((0.3, 0.5), (0.5, 1.0)), batch_size=batch_size,
                         dt=0.01 * tau, duration=4 * tau, seed=seed)
    train = (replicate_inputs(xtr, COPIES), ytr)
    test = (replicate_inputs(xte, COPIES), yte)
    return net, train, test, Adam(cfg["lr"]), HardwareAware(seed=seed), WeightBumping(5e-4, (0.3, 0.0))
