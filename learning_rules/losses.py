"""Losses on output first-spike times (plain floats, tau_s units) and the first-spike classifier.

Each loss returns (per-sample loss, dL/dt) for a batch of output spike times t (B, K) and labels
(B,). A silent output neuron (t = inf) enters the loss at `t_missing` (the trial end) and gets no
gradient: its spike time cannot move (weight bumping wakes it up, learning_rules.weight_bumping).

- TTFS cross-entropy (Goeltz et al. 2021, Eq. 14):
      L = log sum_k exp(-t_k / (xi tau_s)) + t_y / (xi tau_s),       xi = 0.2
- shift-invariant MSE (DelGrad, Goeltz et al. 2025):
      L = 1/2 sum_k [(t_k - t_y) - delta (1 - [k = y])]^2,        delta = 0.2 tau_s
"""
from __future__ import annotations

import numpy as np

__all__ = ["ttfs_cross_entropy", "shift_invariant_mse", "predict", "batch_mean_gradient", "LOSSES"]


def _prepare(t, labels, t_missing):
    t = np.asarray(t, dtype=float)
    labels = np.asarray(labels)
    if t.ndim != 2 or labels.shape != (t.shape[0],):
        raise ValueError(f"need output times (B, K) and labels (B,), got {t.shape} and {labels.shape}")
    if np.any(np.isnan(t)):
        raise ValueError("output spike times contain NaN")
    if labels.size and (labels.min() < 0 or labels.max() >= t.shape[1]):
        raise ValueError(f"labels must lie in [0, {t.shape[1]}), got range [{labels.min()}, {labels.max()}]")
    spiked = np.isfinite(t)
    return np.where(spiked, t, t_missing), spiked, labels.astype(int)


def ttfs_cross_entropy(t, labels, xi=0.2, t_missing=6.0):
    """-log softmax(-t / xi)_label; dL/dt_k = (1[k = y] - softmax_k) / xi."""
    tt, spiked, y = _prepare(t, labels, t_missing)
    z = -tt / xi
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = -np.log(np.maximum(p[rows, y], 1e-300))
    grad = -p / xi
    grad[rows, y] += 1.0 / xi
    return loss, np.where(spiked, grad, 0.0)


def shift_invariant_mse(t, labels, delta=0.2, t_missing=6.0):
    """1/2 sum_k [(t_k - t_y) - delta (1 - [k = y])]^2; only time differences matter."""
    tt, spiked, y = _prepare(t, labels, t_missing)
    rows = np.arange(len(y))
    target_gap = np.full(tt.shape, delta)
    target_gap[rows, y] = 0.0
    d = (tt - tt[rows, y][:, None]) - target_gap
    d[rows, y] = 0.0
    loss = 0.5 * np.sum(d ** 2, axis=1)
    grad = d.copy()
    grad[rows, y] = -d.sum(axis=1)
    return loss, np.where(spiked, grad, 0.0)


def predict(t):
    """Class = the output neuron that spikes first; -1 if none spikes (counted as wrong)."""
    t = np.asarray(t, dtype=float)
    pred = np.argmin(np.where(np.isfinite(t), t, np.inf), axis=1)
    return np.where(np.isfinite(t).any(axis=1), pred, -1)


def batch_mean_gradient(dL, n_rows):
    """dL/dT of the mean loss over a trial's samples, for its record of n_rows batch copies: the
    per-sample gradients dL (n_valid, n_out) divided by n_valid, and 0 for the unused copies past them."""
    full = np.zeros((n_rows,) + np.shape(dL)[1:])
    full[:len(dL)] = np.asarray(dL) / len(dL)
    return full


LOSSES = {"ce": ttfs_cross_entropy, "mse": shift_invariant_mse}
