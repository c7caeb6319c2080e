"""Encoders from real values to input spike times (plain floats in the model's time unit, tau_s).

Time-to-first-spike (latency) coding of a value v in [0, 1] (Goeltz et al. 2021, Yin-Yang):
    t = t_early + v (t_late - t_early),   reference t_early = 0.15, t_late = 2.0 (tau_s)

Latency coding of image pixels (ttfs_latency; MNIST-style, brighter = earlier), intensity v in [0, 1]:
    t = t_start + window (1 - v),   pixels with v <= threshold never spike (t = inf)
optionally quantised to L levels (Grappolini & Subramoney 2023 used 3 levels over 10 ms).

Clock-driven encodings for discrete-time models (the SRC, models.src), spikes as a (N, steps,
n_pixels) float array of 0/1 per step:
- rate_steps: Bernoulli per step, P(spike) = max_prob * v;
- latency_steps: one spike per pixel at step round((1 - v)(steps - 1)), none if v <= threshold.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ttfs_linear", "ttfs_latency", "rate_steps", "latency_steps"]


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


def _finite_real(name, x):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def _intensities(images):
    """Pixel intensities in [0, 1] as float64 (N, n_pixels) from uint8 0..255 or float [0, 1] images."""
    x = np.asarray(images)
    if x.ndim < 2:
        raise ValueError(f"images must have shape (N, ...) with at least 2 axes, got shape {x.shape}; "
                         f"pass a single image as image[None]")
    if x.dtype == np.uint8:
        v = x.astype(np.float64) / 255.0
    elif np.issubdtype(x.dtype, np.floating) or x.dtype == np.bool_:
        v = x.astype(np.float64)
        if np.any(np.isnan(v)):
            raise ValueError("images contain NaN")
        if v.size and (v.min() < 0.0 or v.max() > 1.0):
            raise ValueError(f"float images must lie in [0, 1], got range [{v.min()}, {v.max()}]; "
                             f"pass uint8 0..255 or divide by 255")
    else:
        raise ValueError(f"images must be uint8 (0..255) or float in [0, 1], got dtype {x.dtype}; "
                         f"convert, e.g. images.astype(np.uint8) or images / 255.0")
    return v.reshape(v.shape[0], int(np.prod(v.shape[1:])))


def ttfs_latency(images, window=1.0, levels=None, threshold=0.0, t_start=0.0):
    """Latency (time-to-first-spike) code of pixel intensities: brighter pixels spike earlier.

    ``images``: array of shape (N, ...) (e.g. (N, 28, 28)); uint8 values 0..255 are divided by
    255, float values must already lie in [0, 1]. All axes but the first are flattened, so the
    result has shape (N, n_pixels). Pass a single image as ``image[None]``.

    With intensity v in [0, 1]:

        t = t_start + window * (1 - v)                      (levels=None, continuous)
        k = min(floor((1 - v) * L), L - 1)
        t = t_start + window * k / (L - 1)                  (levels=L >= 2, L distinct times)
        t = t_start                                         (levels=1)

    and pixels with v <= threshold are silent, t = inf (with the default threshold 0 exactly
    the black pixels). Times are plain floats in the model's time unit: ``window`` and
    ``t_start`` are in that unit. Returns a float64 array (N, n_pixels).
    """
    window = _finite_real("window", window)
    if window <= 0:
        raise ValueError(f"window must be > 0, got {window}")
    t_start = _finite_real("t_start", t_start)
    if t_start < 0:
        raise ValueError(f"t_start must be >= 0, got {t_start}")
    threshold = _finite_real("threshold", threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold}")
    if levels is not None:
        if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, (numbers.Integral, np.integer)):
            raise ValueError(f"levels must be an int >= 1 or None, got {levels!r}")
        levels = int(levels)
        if levels < 1:
            raise ValueError(f"levels must be an int >= 1 or None, got {levels}")

    v = _intensities(images)

    if levels is None:
        t = t_start + window * (1.0 - v)
    elif levels == 1:
        t = np.full_like(v, t_start)
    else:
        k = np.minimum(np.floor((1.0 - v) * levels), levels - 1)
        t = t_start + window * k / (levels - 1)
    t[v <= threshold] = np.inf
    return t


def _steps(steps):
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (numbers.Integral, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    return int(steps)


def rate_steps(images, steps, rng, max_prob=1.0, dtype=np.float32):
    """Rate (Bernoulli) code: pixel v spikes in each of `steps` steps with probability max_prob * v.

    ``rng``: a numpy Generator/RandomState or an int seed. Returns (N, steps, n_pixels) of 0/1.
    """
    steps = _steps(steps)
    max_prob = _finite_real("max_prob", max_prob)
    if not 0 < max_prob <= 1:
        raise ValueError(f"max_prob must lie in (0, 1], got {max_prob}")
    v = _intensities(images)
    rng = np.random.default_rng(rng) if isinstance(rng, (numbers.Integral, np.integer)) else rng
    n, p = np.nonzero(v)  # dark pixels never spike: draw only for the others
    u = rng.random((steps, len(n)))
    t, k = np.nonzero(u < max_prob * v[n, p])
    out = np.zeros((v.shape[0], steps, v.shape[1]), dtype)
    out[n[k], t, p[k]] = 1
    return out


def latency_steps(images, steps, threshold=0.0, dtype=np.float32):
    """Latency code on the step grid: one spike at step round((1 - v)(steps - 1)), brighter = earlier.

    Pixels with v <= threshold stay silent. Returns (N, steps, n_pixels) of 0/1.
    """
    steps = _steps(steps)
    threshold = _finite_real("threshold", threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold}")
    v = _intensities(images)
    k = np.rint((1.0 - v) * (steps - 1)).astype(int)
    out = np.zeros((v.shape[0], steps, v.shape[1]), dtype)
    n, p = np.nonzero(v > threshold)
    out[n, k[n, p], p] = 1
    return out
