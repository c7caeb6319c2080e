"""Closed forms of the QIF and theta neuron flows (plain floats; time in units of tau_m).

Klos & Memmesheimer, "Smooth exact gradient descent learning in spiking neural networks",
Phys. Rev. Lett. 134, 027301 (2025), arXiv 2309.14523.

QIF with synaptic current, tau_s = tau_m / 2 (time in units of tau_m):

    dV/dt = V (V - 1) + I,      dI/dt = -2 I,      input k: I -> I + w_k.

The Riccati substitution V = s x_s / x with s = e^{-t} turns the flow into x_ss + I(0) x = 0, so over
a time dt (E = e^{-dt}, I the current at the start, I' = I E^2):

    I = 0:  V' = V E / (1 - V (1 - E))
    I > 0:  V' = sqrt(I) E tan(arctan(V / sqrt I) + sqrt(I) (1 - E))
    I < 0:  V' = sqrt|I| E tanh(artanh(V / sqrt|I|) - sqrt|I| (1 - E))     (|V| < sqrt|I|)
            V' = sqrt|I| E coth(arcoth(V / sqrt|I|) - sqrt|I| (1 - E))     (|V| > sqrt|I|)

A spike is V -> +inf (reset to -inf); the time to it follows from where the tan / coth / the
I = 0 denominator blows up (`qif_time_to_spike`).

Theta neuron (tau dV/dt = V (V - 1) + I0 with constant I0 > 1/4 and delta pulses V -> V + w). With
c = I0 - 1/4 and the phase

    Phi(V) = (tau / sqrt c) [arctan((V - 1/2) / sqrt c) + pi / 2],   dPhi/dt = 1 between inputs,

the neuron spikes when the phase reaches Theta = tau pi / sqrt c and restarts at 0. A pulse maps
phi -> H(phi, w) = Phi(Phi^-1(phi) + w). With a = sqrt(c) phi / tau in [0, pi] this is

    H(phi, w) = (tau / sqrt c) atan2(sin a, cos a - (w / sqrt c) sin a),

free of the infinities of V at phi = 0 and Theta (H(0, w) = 0, H(Theta, w) = Theta), with

    dH/dphi = 1 / D,   dH/dw = (tau / c) sin^2 a / D,   D = sin^2 a + (cos a - (w / sqrt c) sin a)^2.
"""
from __future__ import annotations

import numpy as np

__all__ = ["theta_H", "theta_H_grads", "theta_phase", "theta_voltage", "qif_flow", "qif_time_to_spike",
           "qif_phase_angle", "qif_voltage_from_angle"]


# ---- theta neuron ------------------------------------------------------------------------------
def _angle(phi, tau, c):
    return np.sqrt(c) * np.asarray(phi, dtype=float) / tau


def theta_H(phi, w, tau, c):
    """Phase after a pulse of weight w arriving at phase phi (arrays broadcast)."""
    a = _angle(phi, tau, c)
    sa = np.sin(a)
    return tau / np.sqrt(c) * np.arctan2(sa, np.cos(a) - w / np.sqrt(c) * sa)


def theta_H_grads(phi, w, tau, c):
    """(H, dH/dphi, dH/dw) at (phi, w)."""
    a = _angle(phi, tau, c)
    sa, ca = np.sin(a), np.cos(a)
    x = ca - w / np.sqrt(c) * sa
    D = sa * sa + x * x
    return tau / np.sqrt(c) * np.arctan2(sa, x), 1.0 / D, tau / c * sa * sa / D


def theta_phase(V, tau, c):
    """Phi(V): the phase (time since the last spike on the free flow) of the voltage V."""
    return tau / np.sqrt(c) * (np.arctan((np.asarray(V, float) - 0.5) / np.sqrt(c)) + np.pi / 2)


def theta_voltage(phi, tau, c):
    """Phi^-1(phi) = 1/2 - sqrt(c) cot(sqrt(c) phi / tau)."""
    a = _angle(phi, tau, c)
    return 0.5 - np.sqrt(c) * np.cos(a) / np.sin(a)


# ---- QIF with synaptic current (tau_m = 1, tau_s = 1/2) ------------------------------------------
def qif_flow(V, I, dt):
    """(V, I) after a time dt without inputs or spikes (closed form; arrays broadcast)."""
    V, I = np.broadcast_arrays(np.asarray(V, float), np.asarray(I, float))
    E = np.exp(-dt)
    out = np.empty(V.shape)
    with np.errstate(all="ignore"):
        q = np.sqrt(np.abs(I))
        zero = I == 0
        pos = I > 0
        neg_in = (I < 0) & (np.abs(V) < q)
        neg_out = (I < 0) & ~neg_in
        out[zero] = V[zero] * E / (1 - V[zero] * (1 - E))
        qp = q[pos]
        out[pos] = qp * E * np.tan(np.arctan(V[pos] / qp) + qp * (1 - E))
        qn = q[neg_in]
        out[neg_in] = qn * E * np.tanh(np.arctanh(V[neg_in] / qn) - qn * (1 - E))
        qo = q[neg_out]
        out[neg_out] = qo * E / np.tanh(np.arctanh(qo / V[neg_out]) - qo * (1 - E))
    return out, I * E * E


def qif_time_to_spike(V, I):
    """Time until V -> +inf on the free flow from (V, I); inf if the neuron does not spike."""
    V, I = np.broadcast_arrays(np.asarray(V, float), np.asarray(I, float))
    one_minus_E = np.full(V.shape, np.inf)
    with np.errstate(all="ignore"):
        q = np.sqrt(np.abs(I))
        zero = (I == 0) & (V > 1)
        one_minus_E[zero] = 1.0 / V[zero]
        pos = I > 0
        one_minus_E[pos] = (np.pi / 2 - np.arctan(V[pos] / q[pos])) / q[pos]
        neg = (I < 0) & (V > q)
        one_minus_E[neg] = np.arctanh(q[neg] / V[neg]) / q[neg]
        T = -np.log1p(-one_minus_E)
    return np.where(one_minus_E < 1, T, np.inf)


def qif_phase_angle(V):
    """The bounded angle th in (-pi, pi) with V = 1/2 + tan(th / 2) / 2 (spike at th = pi)."""
    return 2 * np.arctan(2 * (np.asarray(V, float) - 0.5))


def qif_voltage_from_angle(th):
    return 0.5 + 0.5 * np.tan(np.asarray(th, float) / 2)
