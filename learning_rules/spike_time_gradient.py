"""Exact event-based gradients of first-spike times for weights and delays (DelGrad).

Goeltz et al., "DelGrad: exact event-based gradients for training delays and weights on spiking
neuromorphic hardware", Nat. Commun. 16 (2025), arXiv 2404.19165; Goeltz et al. 2021 (Nat. Mach.
Intell. 3) for the weights.

For a neuron j with first spike T and causal inputs i (arrival t~_i = t_i + D_ij < T, weight w_i),
the spike condition F = sum_i w_i k((T - t~_i)/tau_s) - lambda = 0 (models.lif) gives, by the
implicit function theorem, dT/dx = -(dF/dx) / (dF/dT):

    V'   = sum_i w_i k'(T - t~_i)                   (= g_l tau_s dV/dt at T, in weight units)
    dT/dw_i  = -k(T - t~_i) / V'
    dT/dt~_i =  w_i k'(T - t~_i) / V'

which equals the closed forms (Lambert W for tau_m = tau_s, a quadratic for tau_m = 2 tau_s; see
models.lif_analytic) and holds for any tau_m / tau_s. Backwards through the layers, with
delta_j = dL/dT_j:

    dL/dw_ij = delta_j dT_j/dw_ij,     delta_i = sum_j delta_j dT_j/dt~_ij   (previous layer),
    synaptic dL/dd_ij = delta_j dT_j/dt~_ij,  axonal dL/dd_i = sum_j (...),  dendritic dL/dd_j = sum_i (...)

Safeguards: no gradient flows through non-causal inputs, silent neurons (T = inf), a non-positive
slope V' at T, or NaN. Everything is vectorised over batch, presynaptic and postsynaptic neurons.
Only presynaptic neurons that spiked enter the computation: each sample's active inputs are
gathered (MNIST images light ~20 % of the pixels), so the cost is B x n_active x n_post, not
B x n_pre x n_post (measured on 784-350-10, B = 32: 52 -> see benchmarks/README.md). For the unchanged
LIF of models.lif, `_projection` runs in the compiled loops of models.lif_events_native (same
arithmetic, per neuron and sample, equal to this numpy code to 1e-12).
"""
from __future__ import annotations

import numpy as np

from ..models import lif_events_native

__all__ = ["SpikeTimeGradient", "UnsupportedModelError"]


class UnsupportedModelError(TypeError):
    """The neuron model does not provide what a learning rule needs."""


class SpikeTimeGradient:
    """Gradients of a loss on output spike times w.r.t. every parameter of a LayeredNetwork.

    The model must provide its PSP kernel k(x) and k'(x) (`model.provides` contains
    'psp_kernel'): a current-based neuron whose potential is a sum of kernels of input arrivals.
    """

    requires = ("psp_kernel",)
    min_slope = 1e-9  # V' below this (grazing threshold crossing): no gradient

    def __init__(self, model):
        missing = [r for r in self.requires if r not in getattr(model, "provides", ())]
        if missing:
            raise UnsupportedModelError(
                f"{type(model).__name__} does not provide {missing} needed by the exact spike-time gradient: "
                "the rule needs a linear current-based neuron whose potential is sum_i w_i k(t - t_i) "
                "(implement kernel(x) and kernel_derivative(x) and list 'psp_kernel' in `provides`)")
        self.model = model

    def _causal_kernels(self, T_post, arrival):
        """k(x) and k'(x) for the time since arrival x = T - t~, zero where the input is not causal
        (x <= 0, or T or t~ infinite: a silent neuron or a missing input)."""
        with np.errstate(invalid="ignore"):  # inf - inf where both are silent
            x = T_post - arrival
            causal = np.isfinite(x) & (x > 0)
        xs = np.where(causal, x, 0.0)
        pair = getattr(self.model, "kernel_pair", None)
        k, kp = pair(xs) if pair is not None else (self.model.kernel(xs), self.model.kernel_derivative(xs))
        return np.where(causal, k, 0.0), np.where(causal, kp, 0.0)

    def sensitivities(self, t_pre, T_post, W, D):
        """dT/dw and dT/dt~ for one projection, each (B, n_pre, n_post); zero where no gradient flows.

        t_pre (B, n_pre), T_post (B, n_post), W and D (n_pre, n_post): plain floats, tau_s units.
        """
        k, kp = self._causal_kernels(T_post[:, None, :], t_pre[:, :, None] + D[None, :, :])
        slope = np.einsum("ij,bij->bj", W, kp)
        ok = np.isfinite(T_post) & (slope > self.min_slope)
        inv = np.where(ok, 1.0 / np.where(ok, slope, 1.0), 0.0)[:, None, :]
        return -k * inv, W[None] * kp * inv

    def _projection(self, t_pre, T_post, W, D, delta):
        """dL/dW, dL/dD (n_pre, n_post) and dL/dt_pre (B, n_pre) of one projection, active inputs only."""
        if lif_events_native.supports(self.model):
            out = lif_events_native.projection(self.model, t_pre, T_post, W, D, delta, self.min_slope)
            if out is not None:
                return out
        B, n_pre = t_pre.shape
        n_post = W.shape[1]
        tp, idx, _ = lif_events_native.active_inputs(t_pre)           # (B, A): the inputs that spiked
        valid = np.isfinite(tp)                                          # inf pads past each sample's count
        rows = np.arange(B)[:, None]
        Wg, Dg = W[idx], D[idx]                                          # (B, A, n_post)
        k, kp = self._causal_kernels(T_post[:, None, :], tp[:, :, None] + Dg)
        slope = np.einsum("baj,baj->bj", Wg, kp)
        ok = np.isfinite(T_post) & (slope > self.min_slope) & (delta != 0)
        scale = np.where(ok, delta / np.where(ok, slope, 1.0), 0.0)[:, None, :]   # delta_j / V'_j
        dL_dw_g = -k * scale                                             # (B, A, n_post)
        dL_dta_g = Wg * kp * scale
        flat = (idx[:, :, None] * n_post + np.arange(n_post)[None, None, :]).ravel()
        size = n_pre * n_post
        dL_dW = np.bincount(flat, dL_dw_g.ravel(), minlength=size).reshape(n_pre, n_post)
        dL_dD = np.bincount(flat, dL_dta_g.ravel(), minlength=size).reshape(n_pre, n_post)
        dL_dt = np.zeros((B, n_pre))
        dL_dt[rows, idx] += np.where(valid, dL_dta_g.sum(axis=2), 0.0)
        return dL_dW, dL_dD, dL_dt

    def backward(self, network, record, dL_dT):
        """Gradients of the loss for every projection's parameters.

        dL_dT: (B, n_out) gradient of the loss w.r.t. the output spike times (0 for silent
        neurons and unused batch rows). Returns (grads, dL_dinput) where grads[l] is a dict with
        the keys of network.params[l] and dL_dinput (B, n_in) is the gradient w.r.t. input times.
        """
        if getattr(network, "input_currents", False):
            raise ValueError("exact spike-time gradients do not model constant input currents "
                             "(network built with input_currents=True): use spike-time inputs, or a "
                             "forward-only rule such as learning_rules.PerturbationGradient")
        network.check_params()
        dL = np.asarray(dL_dT, dtype=float)
        if dL.shape != np.shape(record.output):
            raise ValueError(f"dL_dT must have the shape of the record's output spike times {np.shape(record.output)} "
                             f"(batch rows x output neurons; 0 for unused rows), got {dL.shape}")
        delta = np.nan_to_num(dL, nan=0.0, posinf=0.0, neginf=0.0)
        grads = [None] * network.n_layers
        for l in reversed(range(network.n_layers)):
            params = network.params[l]
            dL_dW, dL_dD, dL_dt = self._projection(record.presynaptic(l), record.layers[l + 1], params["w"],
                                                   network.total_delays(l), delta)
            g = {"w": dL_dW}
            g.update(network.delay_config.grads(params, dL_dD))
            grads[l] = g
            n_prev = network.n_pre(l) - network.n_bias[l]
            delta = dL_dt[:, :n_prev]
        return grads, delta
