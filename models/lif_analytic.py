"""Closed-form first-spike times of the LIF model (models.lif) and their derivatives.

All quantities are plain floats: times in units of tau_s, weights in the model's weight unit,
c = g_l (v_th - E_l) (the model's `rheobase`). For a neuron at rest that receives inputs of weight
w_i arriving at t~_i (only the causal ones, t~_i < T, count):

tau_m = tau_s = tau (Goeltz et al. 2021, Eq. 10):
    A = sum w_i e^{t~_i/tau},  B = sum w_i (t~_i/tau) e^{t~_i/tau}
    T = tau [B/A - W0(-(c/A) e^{B/A})]
    dT/dw_i  = -(T - t~_i) e^{t~_i/tau} / (A (1 + W))
    dT/dt~_i = -w_i e^{t~_i/tau} ((T - t~_i) - tau)/tau / (A (1 + W))

tau_m = 2 tau_s (Goeltz et al. 2021, Eq. 12):
    A_s = sum w_i e^{t~_i/tau_s},  A_m = sum w_i e^{t~_i/tau_m},  D = A_m^2 - 4 A_s c
    T = 2 tau_s ln[2 A_s / (A_m + sqrt D)],  z = e^{-T/tau_m}
    dT/dw_i  = tau_m (z e^{t~_i/tau_s} - e^{t~_i/tau_m}) / sqrt D
    dT/dt~_i = w_i ((tau_m/tau_s) z e^{t~_i/tau_s} - e^{t~_i/tau_m}) / sqrt D

Any other ratio: the first root of sum_i w_i k(T - t~_i) = c, found by bracketing (scipy).
These serve as the reference for the simulation (tests) and for the implicit-function gradients
of learning_rules.spike_time_gradient, which must agree with the two closed forms.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import lambertw

__all__ = ["first_spike_time", "closed_form_gradients"]


def _candidate(model, ta, w):
    """Spike time assuming exactly the inputs (ta, w) are causal; nan if none."""
    c = model.rheobase
    if model.equal_time_constants:
        A = np.sum(w * np.exp(ta))
        B = np.sum(w * ta * np.exp(ta))
        if A <= 0:
            return np.nan
        arg = -(c / A) * np.exp(B / A)
        if arg < -np.exp(-1.0):
            return np.nan
        return float(B / A - lambertw(arg, 0).real)
    if abs(model.ratio - 2.0) < 1e-12:
        As = np.sum(w * np.exp(ta))
        Am = np.sum(w * np.exp(ta / 2.0))
        D = Am ** 2 - 4 * As * c
        if D < 0 or As <= 0 or Am + np.sqrt(D) <= 0:
            return np.nan
        return float(2.0 * np.log(2 * As / (Am + np.sqrt(D))))
    return None  # no closed form


def first_spike_time(model, arrivals, weights, t_max=np.inf):
    """Exact first threshold crossing (tau_s units) for inputs arriving at `arrivals`; inf if none."""
    ta = np.asarray(arrivals, float)
    w = np.asarray(weights, float)
    keep = np.isfinite(ta)
    ta, w = ta[keep], w[keep]
    order = np.argsort(ta, kind="stable")
    ta, w = ta[order], w[order]
    c = model.rheobase
    for k in range(len(ta)):
        lo = ta[k]
        hi = ta[k + 1] if k + 1 < len(ta) else min(t_max, ta[k] + 60.0 * max(model.ratio, 1.0))
        if hi <= lo:
            continue
        T = _candidate(model, ta[:k + 1], w[:k + 1])
        if T is None:  # general ratio: bracket the first crossing on a fine grid
            f = lambda t: model.potential(t, ta[:k + 1], w[:k + 1])[0] - c
            grid = np.linspace(lo, hi, 400)
            vals = model.potential(grid, ta[:k + 1], w[:k + 1]) - c
            up = np.nonzero((vals[:-1] < 0) & (vals[1:] >= 0))[0]
            if len(up):
                return float(brentq(f, grid[up[0]], grid[up[0] + 1], xtol=1e-14, rtol=1e-14))
            continue
        if np.isfinite(T) and lo < T <= hi:
            return float(T)
    return np.inf


def closed_form_gradients(model, T, arrivals, weights):
    """(dT/dw_i, dT/dt~_i) from the closed forms above, for the causal inputs given."""
    ta = np.asarray(arrivals, float)
    w = np.asarray(weights, float)
    c = model.rheobase
    if model.equal_time_constants:
        A = np.sum(w * np.exp(ta))
        B = np.sum(w * ta * np.exp(ta))
        W = lambertw(-(c / A) * np.exp(B / A), 0).real
        dw = -(T - ta) * np.exp(ta) / (A * (1 + W))
        dt = -w * np.exp(ta) * ((T - ta) - 1.0) / (A * (1 + W))
        return dw, dt
    if abs(model.ratio - 2.0) < 1e-12:
        As = np.sum(w * np.exp(ta))
        Am = np.sum(w * np.exp(ta / 2.0))
        sD = np.sqrt(Am ** 2 - 4 * As * c)
        z = np.exp(-T / 2.0)
        dw = 2.0 * (z * np.exp(ta) - np.exp(ta / 2.0)) / sD
        dt = w * (2.0 * z * np.exp(ta) - np.exp(ta / 2.0)) / sD
        return dw, dt
    raise ValueError(f"no closed form for tau_m/tau_s = {model.ratio}; use the implicit-function gradient")
