"""Weight initialisations: a weight_init entry of LayeredNetwork is (mean, std) or one of these.

Each returns a callable `init(rng, n_pre, n_post) -> (n_pre, n_post)` array in the model's weight
unit, with a readable repr so that configs and results files say what was used.

- normal(mean, std):         w ~ N(mean, std)
- ternary(mean, std, w0):    w = w0 * clip(round(z), -1, 1),  z ~ N(mean, std)
  (Grappolini & Subramoney, ICONS 2023: round and clamp a normal sample to {-1, 0, 1}, w0 = the
  weight that reaches threshold; the fraction of zeros is set by std.)
- relative_to_threshold(model): the weight unit in which 1 reaches threshold at the peak of one PSP,
  c / max_x k(x) (c = the model's rheobase), to translate papers that give weights relative to the
  firing threshold of their neuron.
"""
from __future__ import annotations

import numpy as np

__all__ = ["normal", "ternary", "make_init", "relative_to_threshold"]


class _Init:
    def __init__(self, name, fn, **params):
        self.name, self.fn, self.params = name, fn, params

    def __call__(self, rng, n_pre, n_post):
        return self.fn(rng, (n_pre, n_post), **self.params)

    def __repr__(self):
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


def _check(name, value, positive=False, nonnegative=False):
    v = float(value)
    if not np.isfinite(v) or (positive and v <= 0) or (nonnegative and v < 0):
        kind = " positive" if positive else " non-negative" if nonnegative else ""
        raise ValueError(f"{name} must be a finite{kind} number, got {value!r}")
    return v


def _normal(rng, shape, mean, std):
    return mean + std * rng.standard_normal(shape)


def _ternary(rng, shape, mean, std, w0):
    return w0 * np.clip(np.round(mean + std * rng.standard_normal(shape)), -1.0, 1.0) + 0.0  # no -0.0


def normal(mean, std):
    """w ~ N(mean, std)."""
    return _Init("normal", _normal, mean=_check("mean", mean), std=_check("std", std, nonnegative=True))


def ternary(mean, std, w0=1.0):
    """w in {-w0, 0, +w0}: a normal sample N(mean, std), rounded and clamped to {-1, 0, 1}, times w0."""
    return _Init("ternary", _ternary, mean=_check("mean", mean), std=_check("std", std, nonnegative=True),
                 w0=_check("w0", w0, positive=True))


def make_init(spec):
    """A weight_init entry -> callable: (mean, std) tuples become normal(mean, std)."""
    if callable(spec):
        return spec
    try:
        mean, std = spec
    except (TypeError, ValueError):
        raise ValueError(f"a weight init must be (mean, std) or an init such as normal(...) / ternary(...), "
                         f"got {spec!r}") from None
    return normal(mean, std)


def relative_to_threshold(model):
    """Weight (model units) whose single PSP peaks exactly at threshold: c / k(x*).

    k(x) = (e^{-x/r} - e^{-x}) / (r - 1) peaks at x* = r ln r / (r - 1) (x* = 1 for r = 1).
    """
    r = float(model.ratio)
    x_peak = 1.0 if abs(r - 1.0) < 1e-12 else r * np.log(r) / (r - 1.0)
    return float(model.rheobase / model.kernel(np.array([x_peak]))[0])
