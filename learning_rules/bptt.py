"""Backpropagation through time for SRC networks (models.src), from the recorded state trajectories.

The forward record (Brian2 StateMonitors in `models.src.simulate_brian2`, or the equal numpy run
`models.src_fast.simulate_numpy`) holds i_x, h, h_s, s of every layer at every step; the backward
pass needs nothing else. With a[t] = x[t] + r h[t-1] + r_s h_s[t-1] + b (so tanh(a[t]) =
(h[t] - z h[t-1]) / (1 - z)) and adjoints g_v = dL/dv, going back in time for each layer, top
layer first (layer l+1 only needs layer l's spikes at the same step, so the layers separate):

    g_s[t]   = (dL/ds[t] from the loss) + g_i,l+1[t] W_{l+1}^T + g_i[t+1] V^T
    g_h[t]   = g_s[t] ReLU'(h[t]) + c_h[t]
    g_a[t]   = (1 - z) (1 - tanh(a[t])^2) g_h[t]                       -> dL/db = sum g_a
    g_i[t]   = (1 - tanh(i_x[t] / rho)^2) g_a[t] + alpha g_i[t+1]     -> dL/dW = sum s_in[t]^T g_i[t]
    c_h[t-1] = r g_a[t] + z g_h[t] + (1 - z_s[t]) g_hs[t]               (through h[t-1])
    g_hs[t-1] = r_s g_a[t] + z_s[t] g_hs[t]                            (through h_s[t-1])

z_s[t] = z_s(h[t-1]) is piecewise constant, so no gradient flows through the threshold h_th.
Loss: cross-entropy of softmax(logits), averaged over the batch; logits = summed output spikes
('counts' readout) or the time-mean of a leaky-integrator output ('membrane'); see models.src.

gradient="exact" is the full gradient above (checked against central finite differences of the
Brian2 simulation in tests/test_src.py). gradient="paper" applies the simplifications used to train
SRCs in the paper's reimplementation: no gradient through the cell's own recurrence h[t-1], h_s[t-1]
(c_h = g_hs = 0; the integrator i_x and lateral synapses V keep theirs) and a straight-through ReLU
(ReLU'(h) := 1), so errors reach silent cells. Each can be chosen alone (stop_recurrent, relu_bypass).
It is a surrogate, not the gradient, but it is what trains: measured on 6000 MNIST images (rate code,
100 steps, 784-100-10, Adam 1e-3, 2 epochs) 'exact' reached 19.5 % test accuracy, 'paper' 87.3 %.
"""
from __future__ import annotations

import numpy as np

from ..models.src import SRCNetwork

__all__ = ["BPTT", "cross_entropy", "GRADIENTS"]

GRADIENTS = {"exact": (False, False), "paper": (True, True)}


def cross_entropy(logits, labels):
    """(mean loss, dL/dlogits (B, K), predictions (B,)) of softmax cross-entropy."""
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"need logits (B, K) and labels (B,), got {logits.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got [{labels.min()}, {labels.max()}]")
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = -np.log(np.maximum(p[rows, labels], 1e-300)).mean()
    g = p
    g[rows, labels] -= 1.0
    return loss, g / len(labels), np.argmax(logits, axis=1)



class BPTT:
    """Exact (or the paper's simplified) BPTT gradients of an `SRCNetwork` from a forward record."""

    def __init__(self, net, gradient="exact", stop_recurrent=None, relu_bypass=None):
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {sorted(GRADIENTS)}, got {gradient!r}")
        if not isinstance(net, SRCNetwork):
            raise TypeError(f"BPTT computes gradients of SRC networks (models.src.SRCNetwork), got "
                            f"{type(net).__name__}; for LIF networks use SpikeTimeGradient")
        stop, bypass = GRADIENTS[gradient]
        self.net = net
        self.stop_recurrent = stop if stop_recurrent is None else bool(stop_recurrent)
        self.relu_bypass = bypass if relu_bypass is None else bool(relu_bypass)

    def gradients(self, s_in, record, labels):
        """(loss, accuracy, grads) with grads[l] a dict shaped like net.params[l]."""
        net = self.net
        if len(record) != net.n_layers + 1:
            raise ValueError(f"record has {len(record) - 1} layers, the network {net.n_layers}")
        s_in = np.asarray(s_in)
        if s_in.ndim != 3 or record[0]["i_x"].shape[:2] != s_in.shape[:2]:
            raise ValueError(f"input spikes {s_in.shape} do not match the record ({record[0]['i_x'].shape}): "
                             f"pass the inputs of the simulation that made the record")
        loss, g_logits, pred = cross_entropy(record[-1]["logits"], labels)
        acc = float(np.mean(pred == np.asarray(labels)))
        B, T, _ = s_in.shape
        grads = [None] * net.n_layers
        g_s = None  # dL/ds of the layer being processed, from the layer above (B, T, n)
        for l in range(net.n_layers - 1, -1, -1):
            rec, p = record[l], net.params[l]
            inp = s_in if l == 0 else record[l - 1]["s"]
            if net.is_integrator(l):
                g_i = self._integrator_backward(g_logits, T)
                g_b = None
            else:
                if l == net.n_layers - 1:  # 'counts': logits = sum_t s[t]
                    g_s = np.broadcast_to(g_logits[:, None, :], rec["s"].shape)
                g_i, g_b = self._layer_backward(rec, g_s, p.get("w_rec"))
            n_pre = inp.shape[2]
            out = {"w": inp.reshape(B * T, n_pre).T @ g_i.reshape(B * T, -1)}
            if g_b is not None:
                out["b_h"] = g_b
            if "w_rec" in p:
                s_prev = rec["s"][:, :-1].reshape(B * (T - 1), -1)
                out["w_rec"] = s_prev.T @ g_i[:, 1:].reshape(B * (T - 1), -1)
            grads[l] = out
            if l > 0:
                g_s = g_i @ p["w"].T
        return loss, acc, grads

    def _integrator_backward(self, g_logits, T):
        """logits = mean_t i[t], i[t] = alpha i[t-1] + ...: g_i[t] = g/T (1 + alpha + ... alpha^(T-1-t))."""
        alpha = self.net.cell.alpha
        k = np.arange(T)[::-1]  # steps to the end
        factor = (1 - alpha ** (k + 1)) / (1 - alpha) / T
        return g_logits[:, None, :] * factor[None, :, None]

    def _layer_backward(self, rec, g_s_ext, w_rec):
        c = self.net.cell
        h, ix = rec["h"], rec["i_x"]
        B, T, n = h.shape
        dt = h.dtype
        g_i = np.zeros((B, T, n), dt)
        g_b = np.zeros(n)
        c_h = np.zeros((B, n), dt)   # dL/dh[t] through step t+1
        g_hs = np.zeros((B, n), dt)  # dL/dh_s[t] through step t+1
        g_i_next = np.zeros((B, n), dt)
        zero = np.zeros((B, n), dt)
        for t in range(T - 1, -1, -1):
            g_s = g_s_ext[:, t]
            if w_rec is not None and t + 1 < T:
                g_s = g_s + g_i_next @ w_rec.T
            relu_d = 1.0 if self.relu_bypass else (h[:, t] > 0)
            g_h = g_s * relu_d + c_h
            h_prev = h[:, t - 1] if t > 0 else zero
            tanh_a = (h[:, t] - c.z * h_prev) / (1 - c.z)
            g_a = (1 - c.z) * (1 - tanh_a ** 2) * g_h
            g_b += g_a.sum(axis=0)
            th = np.tanh(ix[:, t] / c.rho)
            g_i_next = (1 - th ** 2) * g_a + c.alpha * g_i_next
            g_i[:, t] = g_i_next
            if self.stop_recurrent:
                continue
            z_s = np.where(h_prev > c.h_th, c.z_s_dep, c.z_s_hyp)
            c_h, g_hs = c.r * g_a + c.z * g_h + (1 - z_s) * g_hs, c.r_s * g_a + z_s * g_hs
        return g_i, g_b
