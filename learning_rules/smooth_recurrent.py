"""Smooth exact gradients with pseudospikes for recurrent QIF networks (models.qif_network).

Klos & Memmesheimer, "Smooth exact gradient descent learning in spiking neural networks",
Phys. Rev. Lett. 134, 027301 (2025), arXiv 2309.14523: the recurrent-network experiment (trained:
recurrent weights W_ij, i != j, and initial states V0, I0).

Pseudospikes in a recurrent network, as in the authors' reference code (chklos/spikegd, rnn experiment):
the pseudo rate of neuron j is taken from its voltage at the trial end alone, without its current and
without recurrence (no iteration),

    r_j = phi^(V_j(T), 0) / theta^(0),   i.e. the QIF pseudodynamics with I~ = alpha ln 2,

and neuron i sees the pseudo input u_i = sum_j W_ij r_j, so with I~_i = alpha ln(1 + exp((I_i(T) + u_i) / alpha))
(alpha = 10), theta^_i = pi / sqrt I~_i, phi^_i = [arctan((V_i(T) - 1/2) / sqrt I~_i) + pi/2] / sqrt I~_i,

    t^_i(k) = T + k theta^_i - phi^_i.

The n-th output spike of a neuron with K ordinary spikes is its ordinary spike if n <= K, else its
(n - K)-th pseudospike. As a spike of neuron i moves to T, V_i(T) -> +inf, phi^_i -> theta^_i and
t^_i(1) -> T, so its n-th spike time is continuous when the spike crosses the trial end, with a
continuous derivative. For a presynaptic neuron j whose spike crosses T, r_j -> 1 just before and the
spike itself adds W_ij to I_i(T) just after, so I_i(T) + u_i, the pseudospikes of i and the loss stay
continuous; their derivatives jump there (d u_i / d t_j = -W_ij / theta^(0) before, d I_i(T) / d t_j =
+2 W_ij after): a property of the reference's non-iterated pseudo rates (tests).

Exact gradients: forward mode by a complex step of 1e-30 in each trainable parameter through the exact
event-driven closed-form run of the network (models.qif_analytic.qif_network_event_run: every spike
time, flow and jump is analytic in the parameters between events; event order and branches use real
parts), all parameters at once as rows of one vectorised run. Exact to rounding; no finite differences.

Loss for target spike trains (reference): targets s_i,1..K_i < T of neuron i, plus one extra target at
1.1 T that only penalises an output spike that comes too early (a surplus spike is pushed out):

    L = [ sum_i sum_{n <= K_i} ((t_i,n - s_i,n) / (s_i,n + 2))^2
          + sum_i ((t_i,K_i+1 - 1.1 T) / (1.1 T + 2))^2 [t_i,K_i+1 < 1.1 T] ] / sum_i (K_i + 1).
"""
from __future__ import annotations

import numpy as np

from ..models.qif_analytic import qif_pseudo
from .smooth_gradient import _check_provides, nth_spike_times

__all__ = ["RecurrentQIFSmoothGradient", "spike_train_loss", "padded_targets"]


def padded_targets(targets, T, extra=1.1):
    """(S (n_tar, n_max), n_per (n_tar,)): each target train followed by the extra target extra * T, padded
    with nan; n_per = K_i + 1."""
    trains = []
    for i, s in enumerate(targets):
        s = np.asarray(s, dtype=float).ravel()
        if not np.all(np.isfinite(s)) or np.any(s < 0) or np.any(s >= T) or np.any(np.diff(s) <= 0):
            raise ValueError(f"targets[{i}] must be finite, increasing spike times in [0, T) = [0, {T})")
        trains.append(np.r_[s, extra * T])
    n_per = np.array([len(s) for s in trains])
    S = np.full((len(trains), n_per.max(initial=1)), np.nan)
    for i, s in enumerate(trains):
        S[i, :len(s)] = s
    return S, n_per


def spike_train_loss(t_out, S, n_per):
    """The reference loss (module docstring) of output times t_out (..., n_tar, n_max) (real or complex)
    against padded targets (padded_targets)."""
    n_max = S.shape[1]
    rank = np.arange(n_max)
    last = rank[None, :] == (n_per - 1)[:, None]
    valid = rank[None, :] < n_per[:, None]
    St = np.where(valid, S, 0.0)
    err = np.where(valid, (t_out - St) / (St + 2), 0.0) ** 2
    err = np.where(last & (np.real(t_out) >= St), 0.0, err)
    return err.sum(axis=(-1, -2)) / n_per.sum()


class RecurrentQIFSmoothGradient:
    """Loss and exact gradient for a RecurrentQIFNetwork learning target spike trains (module docstring).

    targets: list of target spike trains (plain floats in units of tau_m, in [0, T)), one per neuron in
    target_neurons (default: neurons 0, 1, ...).
    """

    requires = ("qif_closed_form", "qif_pseudodynamics")
    h = 1e-30

    def __init__(self, network, targets, target_neurons=None, alpha=10.0):
        _check_provides(self, network.model, "the rule needs the closed-form QIF flow, which holds for "
                                             "tau_s = tau_m / 2 (models.qif.QIF with the default tau_s)")
        if not (np.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive number, got {alpha!r}")
        self.net, self.alpha = network, float(alpha)
        self.S, self.n_per = padded_targets(targets, network.T)
        tn = np.arange(len(self.n_per)) if target_neurons is None else np.asarray(target_neurons, int)
        if tn.shape != self.n_per.shape or tn.min() < 0 or tn.max() >= network.N:
            raise ValueError(f"target_neurons must name {len(self.n_per)} neurons in [0, {network.N})")
        self.target_neurons = tn

    def output_times(self, record, W):
        """(times, is_pseudo) (B, n_tar, n_max) of the target neurons: ordinary spikes, then pseudospikes."""
        phi0, theta0 = qif_pseudo(record.V_T, 0.0, self.alpha)
        u = np.einsum("bij,bj->bi", np.broadcast_to(W, record.V_T.shape + W.shape[-1:]), phi0 / theta0)
        phi, theta = qif_pseudo(record.V_T, record.I_T + u, self.alpha)
        sel = self.target_neurons
        return nth_spike_times(record.spikes[:, sel], record.counts[:, sel], phi[:, sel], theta[:, sel],
                               self.net.T, self.S.shape[1])

    def loss(self, record, W=None):
        """Loss per copy of a record (e.g. a Brian2 run) with weights W (default: the master weights)."""
        W = self.net.params[0]["w"] if W is None else W
        return spike_train_loss(self.output_times(record, W)[0], self.S, self.n_per)

    def loss_and_grad(self):
        """(loss, grads {"w", "V0", "I0"}, record of the exact run) at the network's master parameters."""
        p, N = self.net.params[0], self.net.N
        mask = self.net.mask
        n_w = int(mask.sum())
        P = n_w + 2 * N
        W = np.repeat(p["w"][None].astype(complex), P, axis=0)
        V0 = np.repeat(p["V0"][None].astype(complex), P, axis=0)
        I0 = np.repeat(p["I0"][None].astype(complex), P, axis=0)
        post, pre = np.nonzero(mask)
        W[np.arange(n_w), post, pre] += 1j * self.h
        V0[n_w + np.arange(N), np.arange(N)] += 1j * self.h
        I0[n_w + N + np.arange(N), np.arange(N)] += 1j * self.h
        rec = self.net.replay(W, V0, I0)
        L = self.loss(rec, W)
        g = L.imag / self.h
        gw = np.zeros((N, N))
        gw[post, pre] = g[:n_w]
        rec.spikes, rec.V_T, rec.I_T = rec.spikes[:1].real, rec.V_T[:1].real, rec.I_T[:1].real
        rec.counts = rec.counts[:1]
        return float(L[0].real), {"w": gw, "V0": g[n_w:n_w + N], "I0": g[n_w + N:]}, rec
