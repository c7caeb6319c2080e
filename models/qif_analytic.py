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
I = 0 denominator blows up (`qif_time_to_spike`). At I = 0 the first order in I is added
(dV'/dI = E [(1 - V)^2 (1 - E) + V (1 - V)(1 - E^2) + V^2 (1 - E^3) / 3] / (1 - V (1 - E))^2 from the
sensitivity equation; 1 - E_spike = (1 - I / (3 V^2)) / V), so that complex-step derivatives with
respect to I are exact there too.

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
           "qif_phase_angle", "qif_voltage_from_angle", "qif_event_run", "qif_network_event_run", "qif_pseudo",
           "RESET"]


# ---- theta neuron ------------------------------------------------------------------------------
def _angle(phi, tau, c):
    return np.sqrt(c) * np.asarray(phi, dtype=float) / tau


def theta_H(phi, w, tau, c):
    """Phase after a pulse of weight w arriving at phase phi (arrays broadcast)."""
    a = _angle(phi, tau, c)
    sa = np.sin(a)
    return tau / np.sqrt(c) * np.arctan2(sa, np.cos(a) - w / np.sqrt(c) * sa)


def theta_H_grads(phi, w, tau, c):
    """(H, dH/dphi, dH/dw) at (phi, w) (in-place arithmetic: the replay calls it on large arrays)."""
    shape = np.broadcast_shapes(np.shape(phi), np.shape(w))
    a = np.array(np.broadcast_to(_angle(phi, tau, c), shape))   # a new array (0-d for scalars)
    sa = np.sin(a, out=np.empty_like(a))
    x = np.cos(a, out=a)
    x -= np.multiply(w, sa / np.sqrt(c))                 # x = cos a - (w / sqrt c) sin a
    H = np.arctan2(sa, x, out=np.empty_like(x))
    H *= tau / np.sqrt(c)
    sa *= sa                                              # sin^2 a
    D = np.multiply(x, x, out=x)
    D += sa                                               # D = sin^2 a + x^2
    dH_dphi = np.divide(1.0, D, out=np.empty_like(D))
    dH_dw = np.multiply(sa, tau / c, out=sa)
    dH_dw /= D
    return H[()], dH_dphi[()], dH_dw[()]                  # scalars for scalar inputs


def theta_phase(V, tau, c):
    """Phi(V): the phase (time since the last spike on the free flow) of the voltage V."""
    return tau / np.sqrt(c) * (np.arctan((np.asarray(V, float) - 0.5) / np.sqrt(c)) + np.pi / 2)


def theta_voltage(phi, tau, c):
    """Phi^-1(phi) = 1/2 - sqrt(c) cot(sqrt(c) phi / tau)."""
    a = _angle(phi, tau, c)
    return 0.5 - np.sqrt(c) * np.cos(a) / np.sin(a)


# ---- QIF with synaptic current (tau_m = 1, tau_s = 1/2) ------------------------------------------
def _branches(V, I):
    """Masks of the closed-form cases (on real parts, so complex-step derivatives pass through)."""
    Vr, Ir = V.real, I.real
    q = np.sqrt(np.where(Ir > 0, I, -I) + 0j if np.iscomplexobj(I) else np.abs(I))
    zero = Ir == 0
    return q, zero, Ir > 0, (Ir < 0) & (np.abs(Vr) < q.real), (Ir < 0) & (np.abs(Vr) >= q.real)


def qif_flow(V, I, dt):
    """(V, I) after a time dt without inputs or spikes (closed form; arrays broadcast; real or complex)."""
    dtype = np.result_type(V, I, dt, float)
    V, I = np.broadcast_arrays(np.asarray(V, dtype), np.asarray(I, dtype))
    E = np.exp(-np.broadcast_to(np.asarray(dt, dtype), V.shape))
    out = np.empty(V.shape, dtype)
    q, zero, pos, neg_in, neg_out = _branches(V, I)
    with np.errstate(all="ignore"):
        m = zero  # plus the first order in I, so that complex steps in I pass through I = 0
        v, e = V[m], E[m]
        dn = 1 - v * (1 - e)
        dV_dI = e * ((1 - v) ** 2 * (1 - e) + v * (1 - v) * (1 - e * e) + v * v * (1 - e ** 3) / 3) / dn ** 2
        out[m] = v * e / dn + I[m] * dV_dI
        m = pos
        out[m] = q[m] * E[m] * np.tan(np.arctan(V[m] / q[m]) + q[m] * (1 - E[m]))
        m = neg_in
        out[m] = q[m] * E[m] * np.tanh(np.arctanh(V[m] / q[m]) - q[m] * (1 - E[m]))
        m = neg_out
        out[m] = q[m] * E[m] / np.tanh(np.arctanh(q[m] / V[m]) - q[m] * (1 - E[m]))
    return out, I * E * E


def qif_time_to_spike(V, I):
    """Time until V -> +inf on the free flow from (V, I); inf if the neuron does not spike."""
    dtype = np.result_type(V, I, float)
    V, I = np.broadcast_arrays(np.asarray(V, dtype), np.asarray(I, dtype))
    one_minus_E = np.full(V.shape, np.inf, dtype)
    q, zero, pos, _, neg_out = _branches(V, I)
    with np.errstate(all="ignore"):
        m = zero & (V.real > 1)
        one_minus_E[m] = (1 - I[m] / (3 * V[m] ** 2)) / V[m]   # + first order in I, as in qif_flow
        m = pos
        one_minus_E[m] = (np.pi / 2 - np.arctan(V[m] / q[m])) / q[m]
        m = neg_out & (V.real > 0)
        one_minus_E[m] = np.arctanh(q[m] / V[m]) / q[m]
        ok = one_minus_E.real < 1
        T = -np.log(1 - np.where(ok, one_minus_E, 0))
    return np.where(ok, T, np.inf)


RESET = -1e300  # V after a spike (-inf, kept finite so that complex steps stay finite)


def qif_event_run(V0, I0, times, weights, T, max_spikes):
    """Event-by-event closed-form run of independent QIF neurons (rows) over [0, T].

    times, weights: (B, M) input arrivals (inf: none) and jumps of I; V0, I0: (B,). Real or complex
    (complex steps give forward-mode derivatives). Returns (spikes (B, max_spikes) inf-padded,
    counts (B,), V(T), I(T)).
    """
    times = np.asarray(times)
    dtype = np.result_type(V0, I0, times, weights, float)
    B, M = times.shape
    order = np.argsort(times.real, axis=1, kind="stable")
    ts = np.take_along_axis(times.astype(dtype), order, axis=1)
    ws = np.take_along_axis(np.broadcast_to(np.asarray(weights, dtype), (B, M)), order, axis=1)
    V = np.broadcast_to(np.asarray(V0, dtype), (B,)).copy()
    I = np.broadcast_to(np.asarray(I0, dtype), (B,)).copy()
    now = np.zeros(B, dtype)
    spikes = np.full((B, max_spikes), np.inf, dtype)
    counts = np.zeros(B, dtype=np.int64)
    rows = np.arange(B)

    def advance(until):
        while True:
            t_sp = now + qif_time_to_spike(V, I)
            hit = t_sp.real <= until.real
            if not hit.any():
                break
            dt = np.where(hit, t_sp - now, 0)
            I[...] = np.where(hit, I * np.exp(-2 * dt), I)
            V[...] = np.where(hit, RESET, V)
            now[...] = np.where(hit, t_sp, now)
            put = hit & (counts < max_spikes)
            spikes[rows[put], counts[put]] = t_sp[put]
            counts[...] += hit
        V[...], I[...] = qif_flow(V, I, until - now)
        now[...] = until

    for k in range(M):
        fin = np.isfinite(ts[:, k].real) & (ts[:, k].real <= T)
        until = np.where(fin, ts[:, k], now)
        advance(until)
        I[...] = I + np.where(fin, ws[:, k], 0)
    advance(np.full(B, T, dtype))
    return spikes, counts, V, I


def qif_network_event_run(V0, I0, W, in_times, in_neurons, in_weights, T, max_spikes):
    """Event-by-event closed-form run of B copies (rows) of a recurrent network of N QIF neurons over [0, T].

    V0, I0: (B, N); W: (B, N, N), W[b, i, j] the jump of I_i at a spike of neuron j; inputs, shared by
    all copies: input k arrives at in_times[k] at neuron in_neurons[k] and adds in_weights[k] to its I.
    Each row runs on its own event sequence (the next event is the earliest of the next input and the
    earliest blow-up `qif_time_to_spike` of its neurons, chosen on real parts), so real or complex
    arguments work: complex steps give exact forward-mode derivatives through every spike time.
    Returns (spikes (B, N, max_spikes) inf-padded, counts (B, N), V(T), I(T)).
    """
    dtype = np.result_type(V0, I0, W, float)
    V = np.array(V0, dtype=dtype, ndmin=2)
    I = np.array(np.broadcast_to(I0, V.shape), dtype=dtype)
    B, N = V.shape
    W = np.broadcast_to(np.asarray(W, dtype), (B, N, N))
    order = np.argsort(np.asarray(in_times, float), kind="stable")
    t_in = np.r_[np.asarray(in_times, float)[order], np.inf]
    post_in = np.r_[np.asarray(in_neurons, int)[order], 0]
    w_in = np.r_[np.asarray(in_weights, float)[order], 0.0]
    spikes = np.full((B, N, max_spikes), np.inf, dtype)
    counts = np.zeros((B, N), dtype=np.int64)
    rows = np.arange(B)
    now = np.zeros(B, dtype)
    ptr = np.zeros(B, dtype=np.int64)
    t_next = qif_time_to_spike(V, I)
    active = np.ones(B, bool)
    while active.any():
        j = np.argmin(t_next.real, axis=1)
        tn, ti = t_next[rows, j], t_in[ptr]
        net = active & (tn.real < ti) & (tn.real <= T)
        inp = active & ~net & (ti <= T)
        t_ev = np.where(net, tn, np.where(inp, ti, np.where(active, T, now)))
        with np.errstate(all="ignore"):
            V, I = qif_flow(V, I, (t_ev - now)[:, None])
        now = t_ev
        b = rows[net]
        V[b, j[net]] = RESET
        slot = counts[b, j[net]]
        keep = slot < max_spikes
        spikes[b[keep], j[net][keep], slot[keep]] = tn[net][keep]
        counts[b, j[net]] += 1
        I[b] += W[b, :, j[net]]
        b = rows[inp]
        I[b, post_in[ptr[b]]] += w_in[ptr[b]]
        ptr[b] += 1
        active &= net | inp
        t_next = now[:, None] + qif_time_to_spike(V, I)
    return spikes, counts, V, I


def qif_pseudo(V, I_pseudo, alpha):
    """QIF pseudodynamics at the trial end: (phi^, theta^) with I~ = alpha ln(1 + exp(I_pseudo / alpha)),
    theta^ = pi / sqrt I~ and phi^ = [arctan((V - 1/2) / sqrt I~) + pi / 2] / sqrt I~ (phi^ = 0 right after
    a reset, V = RESET). Real or complex."""
    z = np.asarray(I_pseudo) / alpha
    It = alpha * np.where(z.real > 30, z, np.log(1 + np.exp(np.where(z.real > 30, 0, z))))
    sq = np.sqrt(It)
    phi = (np.arctan((V - 0.5) / sq) + np.pi / 2) / sq
    return np.where(np.asarray(V).real <= RESET / 2, 0.0, phi), np.pi / sq


def qif_phase_angle(V):
    """The bounded angle th in (-pi, pi) with V = 1/2 + tan(th / 2) / 2 (spike at th = pi)."""
    return 2 * np.arctan(2 * (np.asarray(V, float) - 0.5))


def qif_voltage_from_angle(th):
    return 0.5 + 0.5 * np.tan(np.asarray(th, float) / 2)
