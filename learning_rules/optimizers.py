"""Optimisers over a network's parameter list, with per-group learning rates and a step schedule.

Parameters are `network.params`: a list (one entry per projection) of dicts name -> numpy array.
Each name belongs to a group: 'w' -> 'weights', every delay kind -> 'delays'. Updates are in place.

- SGD: p -= lr g
- Adam (Kingma & Ba 2015), optional AMSGrad (Reddi et al. 2018):
      m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  p -= lr m^ / (sqrt(v^) + eps)
- StepLR: lr x gamma every `step_size` epochs (reference: x0.95 every 20 epochs), optionally with a
  final linear decay over the last epochs (see the class).
- AdaBelief (Zhuang et al. 2020): m = b1 m + (1 - b1) g,  s = b2 s + (1 - b2)(g - m)^2 + eps_root,
      p -= lr m^ / (sqrt(s^) + eps)   (bias-corrected m^, s^; the form of optax.adabelief)
- ExponentialLR: lr x exp(-step / tau_steps), updated every optimiser step (Klos & Memmesheimer 2025
  decay the MNIST learning rate with tau = 100 epochs).
- `max_grad_norm` (optional): each parameter array's gradient is rescaled to at most this L2 norm
  before the update (gradient clipping; the reference's `max_dw_norm` = 0.2).

`state_dict()` / `load_state_dict()` give everything needed to resume exactly.
"""
from __future__ import annotations

import numpy as np

__all__ = ["param_group", "SGD", "Adam", "StepLR", "AdaBelief", "ExponentialLR"]


def param_group(name: str) -> str:
    return "weights" if name == "w" else "delays"


def _lrs(lr):
    if isinstance(lr, dict):
        unknown = set(lr) - {"weights", "delays"}
        if unknown:
            raise ValueError(f"learning-rate groups are 'weights' and 'delays', got {sorted(unknown)}")
        out = {"weights": 0.0, "delays": 0.0}
        out.update({k: float(v) for k, v in lr.items()})
    else:
        out = {"weights": float(lr), "delays": float(lr)}
    for k, v in out.items():
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"learning rate for {k!r} must be finite and >= 0, got {v!r}")
    return out


class _Optimizer:
    def __init__(self, lr, max_grad_norm=None):
        self.base_lr = _lrs(lr)
        if max_grad_norm is not None and not (np.isfinite(max_grad_norm) and max_grad_norm > 0):
            raise ValueError(f"max_grad_norm must be a positive number or None, got {max_grad_norm!r}")
        self.max_grad_norm = max_grad_norm
        self.scale = 1.0
        self.t = 0

    def lr(self, name):
        return self.base_lr[param_group(name)] * self.scale

    def step(self, params, grads):
        self.t += 1
        for l, (p, g) in enumerate(zip(params, grads)):
            for name, gv in g.items():
                if self.lr(name) == 0.0:
                    continue
                self._update(l, name, p[name], self._clip(np.asarray(gv, dtype=float)))

    def _clip(self, g):
        if self.max_grad_norm is None:
            return g
        norm = np.sqrt(np.sum(g * g))
        return g * (self.max_grad_norm / norm) if norm > self.max_grad_norm else g

    def state_dict(self):
        return {"t": self.t, "scale": self.scale, "base_lr": dict(self.base_lr), "slots": self._slots()}

    def load_state_dict(self, state):
        self.t, self.scale = int(state["t"]), float(state["scale"])
        self.base_lr = dict(state["base_lr"])
        self._load_slots(state["slots"])

    def _slots(self):
        return {}

    def _load_slots(self, slots):
        pass


class SGD(_Optimizer):
    def _update(self, l, name, p, g):
        p -= self.lr(name) * g


class Adam(_Optimizer):
    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, max_grad_norm=None):
        super().__init__(lr, max_grad_norm)
        self.b1, self.b2 = betas
        self.eps, self.amsgrad = eps, amsgrad
        self.m, self.v, self.vmax = {}, {}, {}

    def _update(self, l, name, p, g):
        key = f"{l}/{name}"
        if key not in self.m:
            self.m[key], self.v[key] = np.zeros_like(p), np.zeros_like(p)
            if self.amsgrad:
                self.vmax[key] = np.zeros_like(p)
        m, v = self.m[key], self.v[key]
        m *= self.b1
        m += (1 - self.b1) * g
        v *= self.b2
        v += (1 - self.b2) * g * g
        if self.amsgrad:
            np.maximum(self.vmax[key], v, out=self.vmax[key])
            v = self.vmax[key]
        m_hat = m / (1 - self.b1 ** self.t)
        v_hat = v / (1 - self.b2 ** self.t)
        p -= self.lr(name) * m_hat / (np.sqrt(v_hat) + self.eps)

    def _slots(self):
        return {"m": self.m, "v": self.v, "vmax": self.vmax}

    def _load_slots(self, slots):
        self.m = {k: np.array(a) for k, a in slots["m"].items()}
        self.v = {k: np.array(a) for k, a in slots["v"].items()}
        self.vmax = {k: np.array(a) for k, a in slots.get("vmax", {}).items()}


class StepLR:
    """Multiply the optimiser's learning rates by gamma every step_size epochs; optionally also decay
    them linearly over the epochs decay_start .. decay_end - 1 (0-based) of the run:

        scale(e) = gamma^(e // step_size) * max(FLOOR, 1 - (e - decay_start + 1) / (decay_end - decay_start))

    for decay_start <= e < decay_end (the final "decay" phase of warmup-stable-decay schedules), so
    training ends at FLOOR = 2 % of the stepped rate instead of where the noise of the steps is
    largest (its effect on Yin-Yang: docs/results.md, the "final decay" entries)."""

    FLOOR = 0.02

    def __init__(self, optimizer, step_size=20, gamma=0.95, decay_start=None, decay_end=None):
        self.optimizer, self.step_size, self.gamma = optimizer, int(step_size), float(gamma)
        if (decay_start is None) != (decay_end is None):
            raise ValueError("give both decay_start and decay_end (epochs) for a final linear decay, or neither")
        if decay_start is not None and not 0 <= int(decay_start) < int(decay_end):
            raise ValueError(f"the final decay needs 0 <= decay_start < decay_end, got {decay_start}, {decay_end}")
        self.decay = None if decay_start is None else (int(decay_start), int(decay_end))

    def set_epoch(self, epoch):
        """Learning-rate scale for the (0-based) epoch about to run."""
        scale = self.gamma ** (epoch // self.step_size)
        if self.decay and epoch >= self.decay[0]:
            start, end = self.decay
            scale *= max(self.FLOOR, 1 - (epoch - start + 1) / (end - start))
        self.optimizer.scale = scale


class AdaBelief(Adam):
    """AdaBelief: Adam with the second moment of the prediction error g - m (see the module docstring)."""

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-16, eps_root=1e-16, max_grad_norm=None):
        super().__init__(lr, betas=betas, eps=eps, amsgrad=False, max_grad_norm=max_grad_norm)
        self.eps_root = eps_root

    def _update(self, l, name, p, g):
        key = f"{l}/{name}"
        if key not in self.m:
            self.m[key], self.v[key] = np.zeros_like(p), np.zeros_like(p)
        m, s = self.m[key], self.v[key]
        m *= self.b1
        m += (1 - self.b1) * g
        s *= self.b2
        s += (1 - self.b2) * (g - m) ** 2 + self.eps_root
        m_hat = m / (1 - self.b1 ** self.t)
        s_hat = s / (1 - self.b2 ** self.t)
        p -= self.lr(name) * m_hat / (np.sqrt(s_hat) + self.eps)


class ExponentialLR:
    """Multiply the optimiser's learning rates by exp(-step / tau_steps); call step() after each update."""

    def __init__(self, optimizer, tau_steps):
        if not (np.isfinite(tau_steps) and tau_steps > 0):
            raise ValueError(f"tau_steps must be a positive number of optimiser steps, got {tau_steps!r}")
        self.optimizer, self.tau_steps, self.n = optimizer, float(tau_steps), 0

    def step(self):
        self.n += 1
        self.optimizer.scale = float(np.exp(-self.n / self.tau_steps))
