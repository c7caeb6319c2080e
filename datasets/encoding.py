"""Encoders from real values to input spike times (plain floats in the model's time unit, tau_s).

Time-to-first-spike (latency) coding of a value v in [0, 1] (Goeltz et al. 2021, Yin-Yang):
    t = t_early + v (t_late - t_early),   reference t_early = 0.15, t_late = 2.0 (tau_s)
"""
from __future__ import annotations

import numpy as np

__all__ = ["ttfs_linear"]


def ttfs_linear(values, t_early=0.15, t_late=2.0):
    """Spike time per value in [0, 1]; larger values spike later (inf for NaN is refused)."""
    v = np.asarray(values, dtype=float)
    if np.any(~np.isfinite(v)):
        raise ValueError("values to encode must be finite (no NaN or inf)")
    if v.size and (v.min() < 0 or v.max() > 1):
        raise ValueError(f"values to encode must lie in [0, 1], got range [{v.min()}, {v.max()}]")
    if not 0 <= t_early < t_late:
        raise ValueError(f"need 0 <= t_early < t_late, got {t_early}, {t_late}")
    return t_early + v * (t_late - t_early)
