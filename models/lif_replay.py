"""Exact event-based forward pass of a LayeredNetwork of LIF neurons, from the closed forms.

The TTFS networks of models.network need, per trial, only the first spike time of every neuron.
For the two time-constant ratios with a closed form (models.lif_analytic; Goeltz et al. 2021,
Eqs. 10 and 12) that time follows from the input arrival times alone: sort the arrivals
t~_1 <= t~_2 <= ... of a neuron (t~_i = t_i + D_ij, D the latency plus the learned delays), and for
k = 1, 2, ... compute the crossing T_k that the first k inputs would give,

    tau_m = 2 tau_s:  A_s = sum_{i<=k} w_i e^{t~_i},  A_m = sum_{i<=k} w_i e^{t~_i/2},
                      T_k = 2 ln[2 A_s / (A_m + sqrt(A_m^2 - 4 A_s c))]
    tau_m = tau_s:    A = sum_{i<=k} w_i e^{t~_i},  B = sum_{i<=k} w_i t~_i e^{t~_i},
                      T_k = B/A - W0(-(c/A) e^{B/A})

(times in tau_s, c = g_l (v_th - E_l)). The first spike is the first T_k with t~_k < T_k <= t~_{k+1}
(and T_k < the trial duration): the same rule as models.lif_analytic.first_spike_time, here as
prefix sums over the sorted arrivals, vectorised over batch copies and neurons, layer by layer.

Where the model is the unchanged LIF of models.lif and no per-copy weight offsets are set, each layer
runs in the compiled loops of models.lif_events_native (the same arithmetic per neuron and sample,
over that sample's own active inputs; OpenMP threads); this numpy code is their reference and fallback.

This is the `simulator="replay"` of LayeredNetwork: no Brian2 run, no time grid, so the spike
times are exact (Brian2's are interpolated inside a step of dt and its deliveries fall on the
grid; tests/test_lif_replay.py measures how closely the two agree). The learning rules read the
same TrialRecord either way. Other ratios have no closed form: they need simulator="brian2".
"""
from __future__ import annotations

import numpy as np
from scipy.special import lambertw

from . import lif_events_native

__all__ = ["layer_first_spikes", "replay_layers"]


def _crossings_ratio2(a, w, c):
    """T_k of tau_m = 2 tau_s for every prefix k of the sorted arrivals a (last axis; inf where none)."""
    As = np.cumsum(w * np.exp(a), axis=-1)
    Am = np.cumsum(w * np.exp(0.5 * a), axis=-1)
    D = Am * Am - 4.0 * As * c
    sq = np.sqrt(np.maximum(D, 0.0))
    ok = (D >= 0) & (As > 0) & (Am + sq > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        T = 2.0 * np.log(2.0 * As / np.where(ok, Am + sq, 1.0))
    return np.where(ok, T, np.inf)


def _crossings_equal(a, w, c):
    """T_k of tau_m = tau_s for every prefix k of the sorted arrivals a (last axis; inf where none)."""
    ea = w * np.exp(a)
    A = np.cumsum(ea, axis=-1)
    B = np.cumsum(ea * a, axis=-1)
    pos = A > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(pos, B / np.where(pos, A, 1.0), 0.0)
        arg = np.where(pos, -(c / np.where(pos, A, 1.0)) * np.exp(ratio), -1.0)
    ok = pos & (arg >= -np.exp(-1.0))
    T = ratio - lambertw(np.where(ok, arg, 0.0), 0).real
    return np.where(ok, T, np.inf)


def _crossings(model):
    if model.equal_time_constants:
        return _crossings_equal
    if abs(model.ratio - 2.0) < 1e-12:
        return _crossings_ratio2
    raise ValueError(f"the event back end needs the closed forms of tau_m = tau_s or tau_m = 2 tau_s; "
                     f"this LIF has tau_m / tau_s = {model.ratio:g}: use backend='brian2'")


def layer_first_spikes(model, arrivals, weights, t_max):
    """First spike time of each postsynaptic neuron: (B, n_post), inf where it stays silent.

    arrivals: (B, n_post, n_in) input arrival times at each neuron (tau_s units, inf = no input);
    weights: the same shape (or broadcastable to it); t_max: the trial duration (a crossing at or
    after it is no spike, as in the Brian2 run).
    """
    crossings = _crossings(model)
    order = np.argsort(arrivals, axis=-1, kind="stable")
    a = np.take_along_axis(arrivals, order, axis=-1)
    w = np.take_along_axis(np.broadcast_to(weights, arrivals.shape), order, axis=-1)
    live = np.isfinite(a)
    T = crossings(np.where(live, a, 0.0), np.where(live, w, 0.0), model.rheobase)
    nxt = np.concatenate([a[..., 1:], np.full(a.shape[:-1] + (1,), np.inf)], axis=-1)
    hit = live & (T > a) & (T <= nxt) & (T < t_max)
    first = np.argmax(hit, axis=-1)[..., None]
    return np.where(hit.any(axis=-1), np.take_along_axis(T, first, axis=-1)[..., 0], np.inf)


def replay_layers(network, inputs, weight_offsets=None):
    """Spike times of every layer for input times (B, n_in): [inputs, layer 1, ..., output] and the
    bias times per projection, from the network's current parameters (models.network.TrialRecord
    lists). weight_offsets: optional per-copy weight offsets (B, n_weights) as set_copy_offsets.
    Only the inputs that spiked enter each layer's computation (B x n_post x active inputs)."""
    B = inputs.shape[0]
    layers, bias = [inputs], []
    start = 0
    rows = np.arange(B)[:, None]
    for l in range(network.n_layers):
        b = np.full((B, network.n_bias[l]), network.bias_times[l])
        bias.append(b)
        t_pre = np.concatenate([layers[-1], b], axis=1)
        W = network.params[l]["w"]
        size = W.size
        if weight_offsets is None and lif_events_native.supports(network.model):
            _crossings(network.model)  # the closed-form ratios only
            T = lif_events_native.first_spikes(network.model, t_pre, W, network.total_delays(l), network.duration)
            if T is not None:
                layers.append(T)
                start += size
                continue
        t, idx, _ = lif_events_native.active_inputs(t_pre)
        Dt = network.total_delays(l).T                                  # (n_post, n_pre)
        arrivals = t[:, None, :] + Dt[:, idx].transpose(1, 0, 2)        # (B, n_post, A)
        if weight_offsets is None:
            Wa = W.T[:, idx].transpose(1, 0, 2)
        else:
            Wb = W[None] + weight_offsets[:, start:start + size].reshape((B,) + W.shape)
            Wa = Wb[rows, idx].transpose(0, 2, 1)
        start += size
        layers.append(layer_first_spikes(network.model, arrivals, Wa, network.duration))
    return layers, bias
