"""Smooth exact gradients with pseudospikes for feed-forward theta-neuron networks.

(About 410 lines: one rule, whose forward trace and backward pass share the event bookkeeping.)

Klos & Memmesheimer, "Smooth exact gradient descent learning in spiking neural networks",
Phys. Rev. Lett. 134, 027301 (2025), arXiv 2309.14523. Models: models.qif (ThetaNeuron).

Event-by-event sensitivities. A neuron's phase grows with slope 1, jumps at the (merged,
simultaneous) input events e = 1..E at times a_e with summed weights w_e, phi_e^+ = H(phi_e^-, w_e),
phi_e^- = phi_{e-1}^+ + a_e - a_{e-1} - n_e Theta (n_e spikes in between; phi_0^+ = phi0, a_0 = 0),
and a spike after event e (the k-th in that interval) happens at t = a_e + k Theta - phi_e^+.
With S_e the sum of dL/dt over the spikes after event e and the adjoint lambda_e of phi_e^+,

    lambda_E = dL/dphi(T) - S_E,      lambda_{e-1} = lambda_e H_phi(e) - S_{e-1},
    dL/dw_e = lambda_e H_w(e),        dL/da_e = lambda_e (H_phi(e) - 1),      dL/dphi0 = lambda_0,

(H_phi, H_w: models.qif_analytic.theta_H_grads). dL/da_e is the gradient w.r.t. the presynaptic
spike time, which continues the recursion in the layer below. Inputs that arrive at the same
time form one event; the time gradient of such a group is shared among its members in proportion
to their weights (exact for single arrivals; for coincident ones the derivative is one-sided).

Pseudospikes (theta): with phi_i(T) the phase at the trial end, layer by layer (input layer r = 0)

    u_i = sum_j w_ji r_j,   r_i = H(phi_i(T), u_i) / Theta,   t^_i(k) = T + k Theta - H(phi_i(T), u_i),

and the n-th output spike of a neuron with K ordinary spikes is its ordinary spike if n <= K, else
its (n - K)-th pseudospike. As an ordinary spike moves to T, phi(T) -> Theta and t^(1) -> T, so
the n-th spike time and its gradient are continuous when a spike crosses the trial end.

The phases at the events are recomputed from the recorded spike times of the layer below
(`replay`); their spike times agree with the Brian2 record (tests). Everything is vectorised over
batch and neurons; the only Python loop runs over the event rank (merged input events per sample).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..models.qif_analytic import qif_event_run, qif_pseudo
from .spike_time_gradient import UnsupportedModelError

__all__ = ["SmoothGradient", "QIFSmoothGradient", "ThetaTrace", "smooth_mnist_loss"]


@dataclass
class _Events:
    """Merged input events of one projection for a batch: G groups per sample (padded at T)."""

    a: np.ndarray          # (B, G) event times
    n_groups: np.ndarray   # (B,) real groups per sample (the rest pad the sample to G, at T, weight 0)
    member: sparse.csr_matrix  # (G*B, n_pre*K): row g*B + b has a 1 for each spike (p, k) in group g of b
    n_pre: int
    K: int


@dataclass
class _Layer:
    """The replay of one neuron layer: phases after events, H derivatives, spikes per interval."""

    events: _Events
    phi_plus: np.ndarray   # (G + 1, B, n): phi after event g (row 0: phi0); event-major, so that the
    H_phi: np.ndarray      # (G, B, n)       loops over events work on contiguous (B, n) slices
    H_w: np.ndarray        # (G, B, n)
    w_e: np.ndarray        # (G, B, n) summed weights of the events
    spikes: np.ndarray     # (B, n, K) spike times (inf-padded)
    interval: np.ndarray   # (B, n, K) the interval (0..G) each spike lies in
    counts: np.ndarray     # (B, n)
    phi_T: np.ndarray      # (B, n)


@dataclass
class ThetaTrace:
    layers: list           # _Layer per neuron layer
    u: list                # (B, n) pseudo input of each neuron layer
    r: list                # (B, n) pseudo rates
    input_times: np.ndarray

    def output_times(self, n_spikes=1):
        """(times, is_pseudo), each (B, n_out, n_spikes): ordinary spikes first, then pseudospikes."""
        return self._nth(len(self.layers) - 1, n_spikes)

    def _nth(self, l, n_spikes):
        L = self.layers[l]
        B, n, K = L.spikes.shape
        times = np.full((B, n, n_spikes), np.inf)
        times[:, :, :min(K, n_spikes)] = L.spikes[:, :, :n_spikes]
        cnt = np.minimum(L.counts, K)[:, :, None]
        rank = np.arange(n_spikes)[None, None, :]
        pseudo = rank >= cnt
        T, Theta = self._T, self._Theta
        Hv = self._Hvals[l][:, :, None]
        times = np.where(pseudo, T + (rank - cnt + 1) * Theta - Hv, times)
        return times, pseudo


class SmoothGradient:
    """Exact gradients of ordinary and pseudospike times for a ThetaNetwork (models.theta_network).

    The model must provide the phase jump map H and its derivatives ('phase_jump_map') and the
    theta pseudodynamics ('theta_pseudodynamics'); others are refused with UnsupportedModelError.
    """

    requires = ("phase_jump_map", "theta_pseudodynamics")

    def __init__(self, model):
        _check_provides(self, model, "the rule needs a theta neuron in phase form (models.qif.ThetaNeuron: "
                                     "H(phi, w), its derivatives and the period Theta); a LIF neuron has neither "
                                     "a phase jump map nor pseudodynamics")
        self.model = model

    # ---- forward replay ----------------------------------------------------------------------------
    @staticmethod
    def _events(spikes, T):
        """Merge the presynaptic spikes (B, n_pre, K) of each sample into time-sorted groups."""
        B, n_pre, K = spikes.shape
        flat = spikes.reshape(B, n_pre * K)
        order = np.argsort(flat, axis=1, kind="stable")
        ts = np.take_along_axis(flat, order, axis=1)
        fin = np.isfinite(ts) & (ts <= T)
        new = np.ones_like(fin)
        new[:, 1:] = ts[:, 1:] != ts[:, :-1]
        gid = np.cumsum(new & fin, axis=1) - 1
        G = max(int(gid.max(initial=-1)) + 1, 1)
        a = np.full((B, G), T)
        rows = np.broadcast_to(np.arange(B)[:, None], ts.shape)
        a[rows[fin], gid[fin]] = ts[fin]
        member = sparse.csr_matrix((np.ones(int(fin.sum())), (gid[fin] * B + rows[fin], order[fin])),
                                   shape=(G * B, n_pre * K))
        return _Events(a, (gid.max(axis=1, initial=-1) + 1), member, n_pre, K)

    def _replay(self, pre_spikes, W, phi0, T, K_out):
        m = self.model
        Theta = m.Theta
        ev = self._events(pre_spikes, T)
        B, G = ev.a.shape
        n = W.shape[1]
        W_rep = np.repeat(W, ev.K, axis=0)                                  # row p*K + k -> W[p]
        w_e = np.asarray(ev.member @ W_rep).reshape(G, B, n)
        phi_plus = np.empty((G + 1, B, n))
        H_phi, H_w = np.empty((G, B, n)), np.empty((G, B, n))
        phi_plus[0] = np.broadcast_to(phi0, (B, n))
        spikes = np.full((B, n, K_out), np.inf)
        interval = np.zeros((B, n, K_out), dtype=np.int64)
        counts = np.zeros((B, n), dtype=np.int64)
        a_prev = np.zeros((B, 1))

        def advance(g, phi_start, a_start, a_end):
            """The phase at a_end on the free flow from phi_start at a_start (dphi/dt = 1, minus Theta
            per spike); the spikes of interval g, a_start + k Theta - phi_start <= a_end (k = 1, 2,
            ...), go into `spikes`."""
            phi = phi_start + (a_end - a_start)
            n_sp = np.floor(phi / Theta)
            np.maximum(n_sp, 0.0, out=n_sp)
            k_max = int(n_sp.max(initial=0))
            if k_max == 0:
                return phi
            n_int = n_sp.astype(np.int64)
            for k in range(1, k_max + 1):
                slot = counts + (k - 1)
                put = (n_int >= k) & (slot < K_out)
                bi, ji = np.nonzero(put)
                spikes[bi, ji, slot[put]] = (a_start + k * Theta - phi_start)[put]
                interval[bi, ji, slot[put]] = g
            counts[...] += n_int
            n_sp *= Theta
            phi -= n_sp
            return phi

        for g in range(G):
            a_g = ev.a[:, g:g + 1]
            phi_minus = advance(g, phi_plus[g], a_prev, a_g)
            real = ev.n_groups > g                         # padding events (w = 0): H = phi, H_phi = 1
            if real.all():                                 # (slices, not copies, when every sample has event g)
                phi_plus[g + 1], H_phi[g], H_w[g] = m.H_grads(np.clip(phi_minus, 0.0, Theta, out=phi_minus),
                                                              w_e[g])
            else:
                phi_plus[g + 1], H_phi[g], H_w[g] = phi_minus, 1.0, 0.0
                phi_plus[g + 1, real], H_phi[g, real], H_w[g, real] = m.H_grads(
                    np.clip(phi_minus[real], 0.0, Theta), w_e[g, real])
            a_prev = a_g
        phi_T = advance(G, phi_plus[G], a_prev, T)
        return _Layer(ev, phi_plus, H_phi, H_w, w_e, spikes, interval, counts, phi_T)

    def forward(self, network, record_or_inputs):
        """Replay the network on the recorded input spikes; returns a ThetaTrace.

        record_or_inputs: a ThetaRecord (its input spikes are used) or input times (B, n_in).
        """
        if hasattr(record_or_inputs, "spikes"):
            inp = record_or_inputs.spikes[0]
        else:
            x = np.asarray(record_or_inputs, dtype=float)
            inp = np.where(np.isfinite(x), x, np.inf)[:, :, None]
        T, Theta, K = network.T, self.model.Theta, network.max_spikes
        layers, u, r = [], [], []
        pre, r_pre = inp, np.zeros(inp.shape[:2])
        for p in network.params:
            L = self._replay(pre, p["w"], p["phi0"], T, K)
            ul = r_pre @ p["w"]
            layers.append(L)
            u.append(ul)
            r.append(self.model.H(np.clip(L.phi_T, 0.0, Theta), ul) / Theta)
            pre, r_pre = L.spikes, r[-1]
        tr = ThetaTrace(layers, u, r, inp[:, :, 0])
        tr._T, tr._Theta = T, Theta
        tr._Hvals = [ri * Theta for ri in r]
        return tr

    def record_output_times(self, network, record, n_spikes=1):
        """The first n output spike times (ordinary, then pseudo) straight from a Brian2 ThetaRecord
        (its spike times and final phases), without the replay: what finite differences of the
        simulation differentiate. Returns (times, is_pseudo), each (B, n_out, n_spikes)."""
        Theta, T = self.model.Theta, network.T
        r = np.zeros(record.spikes[0].shape[:2])
        for l, p in enumerate(network.params):
            Hv = self.model.H(np.clip(record.phi_T[l + 1], 0.0, Theta), r @ p["w"])
            r = Hv / Theta
        sp, cnt = record.spikes[-1], np.minimum(record.counts[-1], record.spikes[-1].shape[2])
        times = np.full(sp.shape[:2] + (n_spikes,), np.inf)
        k = min(n_spikes, sp.shape[2])
        times[:, :, :k] = sp[:, :, :k]
        rank = np.arange(n_spikes)[None, None, :]
        pseudo = rank >= cnt[:, :, None]
        return np.where(pseudo, T + (rank - cnt[:, :, None] + 1) * Theta - Hv[:, :, None], times), pseudo

    # ---- backward -----------------------------------------------------------------------------------
    def backward(self, network, trace, dL_dt, input_grad=True, dL_dphiT=None):
        """Gradients for every projection's "w" and "phi0" and for the input spike times.

        dL_dt: (B, n_out, n) gradient of the loss w.r.t. the first n output spike times as returned by
        trace.output_times(n) (ordinary or pseudo). Returns (grads, dL_dinput (B, n_in)); with
        input_grad=False dL_dinput is None (saves the largest temporary when inputs are fixed).
        dL_dphiT: optional (B, n_out) gradient w.r.t. the output layer's phase at the trial end with its
        spike count held fixed -- it starts the adjoint recursion, lambda_E += dL/dphi(T). This is the
        gradient of a loss on the unwrapped phase n_spikes Theta + phi(T), which spikes do not reset.
        """
        m, Theta = self.model, self.model.Theta
        dL_dt = np.nan_to_num(np.asarray(dL_dt, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
        nL = len(trace.layers)
        out = trace.layers[-1]
        B, n_out, K = out.spikes.shape
        if dL_dt.ndim != 3 or dL_dt.shape[:2] != (B, n_out):
            raise ValueError(f"dL_dt must have shape ({B}, {n_out}, n_spikes), got {dL_dt.shape}")
        _, pseudo = trace.output_times(dL_dt.shape[2])
        # pseudo part of the output: dt^/dphi(T) = -H_phi, dt^/du = -H_w
        g_hat = np.where(pseudo, dL_dt, 0.0).sum(axis=2)
        g_spk = np.zeros((B, n_out, K))
        ns = min(K, dL_dt.shape[2])
        g_spk[:, :, :ns] = np.where(pseudo, 0.0, dL_dt)[:, :, :ns]
        grads = [{"w": np.zeros_like(p["w"]), "phi0": np.zeros_like(p["phi0"])} for p in network.params]
        dphiT = [np.zeros_like(L.phi_T) for L in trace.layers]
        if dL_dphiT is not None:
            dL_dphiT = np.asarray(dL_dphiT, dtype=float)
            if dL_dphiT.shape != dphiT[-1].shape:
                raise ValueError(f"dL_dphiT must have shape {dphiT[-1].shape} (batch, output neurons), "
                                 f"got {dL_dphiT.shape}")
            dphiT[-1] += dL_dphiT
        # pseudo chain, top-down: H(phi_T, u) of layer l; r = H / Theta feeds u of layer l + 1
        dH = -g_hat
        for l in reversed(range(nL)):
            L = trace.layers[l]
            _, Hp, Hw = m.H_grads(np.clip(L.phi_T, 0.0, Theta), trace.u[l])
            dphiT[l] += dH * Hp
            du = dH * Hw
            if l == 0:
                break
            grads[l]["w"] += trace.r[l - 1].T @ du
            dH = (du @ network.params[l]["w"].T) / Theta
        # event adjoints, top-down
        dL_dinput = None
        for l in reversed(range(nL)):
            L, W = trace.layers[l], network.params[l]["w"]
            G, Bb, n = L.H_phi.shape
            S = np.zeros((G + 1, Bb, n))
            bi, ji = np.meshgrid(np.arange(Bb), np.arange(n), indexing="ij")
            for k in range(L.spikes.shape[2]):  # one spike per (b, j) for each k: no repeated indices
                S[L.interval[:, :, k], bi, ji] += np.where(np.isfinite(L.spikes[:, :, k]), g_spk[:, :, k], 0.0)
            lam = dphiT[l] - S[G]
            lam_e = np.empty((G, Bb, n))   # adjoint of phi after each event
            for g in reversed(range(G)):
                lam_e[g] = lam
                lam = lam * L.H_phi[g] - S[g]
            grads[l]["phi0"] += lam.sum(axis=0)
            ev = L.events
            M = ev.member                                                     # (G*B, n_pre*K)
            grads[l]["w"] += (M.T @ (lam_e * L.H_w).reshape(G * Bb, n)).reshape(ev.n_pre, ev.K, n).sum(axis=1)
            if l == 0 and not input_grad:
                break
            # time gradient of each presynaptic spike: its group's, shared in proportion to its weight
            # the spike's share of group g's d/da at neuron j: 1 if it is alone in its group, else
            # w_pj / w_e[g, j] (0 where w_e = 0), summed over j: a row-wise dot product per spike
            w_e = L.w_e.reshape(G * Bb, n)
            size = np.asarray(M.sum(axis=1)).ravel()
            da_flat = (lam_e * (L.H_phi - 1.0)).reshape(G * Bb, n)
            coo = M.tocoo()
            single = size[coo.row] == 1
            vals = np.empty(coo.nnz)
            vals[single] = da_flat[coo.row[single]].sum(axis=1)
            rows, cols = coo.row[~single], coo.col[~single]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(w_e[rows] != 0, da_flat[rows] / w_e[rows], 0.0)
            vals[~single] = np.einsum("ij,ij->i", W[cols // ev.K], ratio)   # row p*K + k of the inputs is W[p]
            d_pre = np.zeros((Bb, ev.n_pre * ev.K))
            np.add.at(d_pre, (coo.row % Bb, coo.col), vals)
            d_pre = d_pre.reshape(Bb, ev.n_pre, ev.K)
            if l == 0:
                dL_dinput = d_pre[:, :, 0]
            else:
                g_spk = d_pre
        return grads, dL_dinput


def nth_spike_times(spikes, counts, phi_hat, theta_hat, T, n_spikes):
    """The first n_spikes output spikes (..., n_spikes) of neurons with `counts` ordinary spikes (spikes:
    (..., K) inf-padded): the n-th is the ordinary one if n <= K, else the (n - K)-th pseudospike
    t^(k) = T + k theta^ - phi^. Returns (times, is_pseudo)."""
    rank = np.arange(n_spikes)
    cnt = counts[..., None]
    pseudo = rank >= cnt
    ordinary = np.full(pseudo.shape, np.inf, dtype=spikes.dtype)
    k = min(n_spikes, spikes.shape[-1])
    ordinary[..., :k] = spikes[..., :k]
    t_hat = T + (rank - cnt + 1) * theta_hat[..., None] - phi_hat[..., None]
    return np.where(pseudo, t_hat, ordinary), pseudo


def _check_provides(rule, model, hint):
    missing = [r for r in rule.requires if r not in getattr(model, "provides", ())]
    if missing:
        raise UnsupportedModelError(f"{type(model).__name__} does not provide {missing} needed by "
                                    f"{type(rule).__name__}: {hint}")


class QIFSmoothGradient:
    """Exact gradients of ordinary and pseudospike times of single QIF neurons (tau_s = tau_m / 2).

    The neuron is run event by event on the closed-form flow (models.qif_analytic.qif_event_run;
    time in units of tau_m). Derivatives are forward-mode, by a complex step of 1e-30 through that
    run (all of its maps are analytic between events, and the branch choices use real parts), so
    they are exact to rounding, not finite differences. Pseudodynamics:

        I~ = alpha ln(1 + exp((I(T) + u) / alpha)),  theta^ = pi / sqrt I~,
        phi^ = [arctan((V(T) - 1/2) / sqrt I~) + pi/2] / sqrt I~,  t^(k) = T + k theta^ - phi^.

    A QIF model without the closed form (tau_s != tau_m / 2) is refused.
    """

    requires = ("qif_closed_form", "qif_pseudodynamics")
    h = 1e-30

    def __init__(self, model, alpha=10.0):
        _check_provides(self, model, "the rule needs the closed-form QIF flow, which holds for tau_s = tau_m / 2 "
                                     "(models.qif.QIF with the default tau_s)")
        self.model, self.alpha = model, float(alpha)

    def output_times(self, V0, I0, times, weights, T, n_spikes, u=0.0):
        """(times (B, n_spikes), is_pseudo): ordinary spikes first, then pseudospikes."""
        spikes, counts, VT, IT = qif_event_run(V0, I0, times, weights, T, n_spikes)
        return nth_spike_times(spikes, counts, *qif_pseudo(VT, IT + u, self.alpha), T, n_spikes)

    def jacobian(self, V0, I0, times, weights, T, n_spikes, trainable):
        """d t_out / d parameters for one neuron (row 0 of the inputs).

        trainable: list of ("weight", k) | ("time", k) | ("V0",) | ("I0",). Returns (t_out (n_spikes,),
        pseudo (n_spikes,), J (len(trainable), n_spikes)).
        """
        times = np.atleast_2d(np.asarray(times, dtype=float))[:1]
        weights = np.atleast_2d(np.asarray(weights, dtype=float))[:1]
        P = len(trainable)
        tc = np.repeat(times.astype(complex), P, axis=0)
        wc = np.repeat(weights.astype(complex), P, axis=0)
        v0 = np.full(P, complex(V0))
        i0 = np.full(P, complex(I0))
        for r, spec in enumerate(trainable):
            if spec[0] == "weight":
                wc[r, spec[1]] += 1j * self.h
            elif spec[0] == "time":
                tc[r, spec[1]] += 1j * self.h
            elif spec[0] == "V0":
                v0[r] += 1j * self.h
            elif spec[0] == "I0":
                i0[r] += 1j * self.h
            else:
                raise ValueError(f"unknown trainable parameter {spec!r}; use ('weight', k), ('time', k), "
                                 "('V0',) or ('I0',)")
        t_out, pseudo = self.output_times(v0, i0, tc, wc, T, n_spikes)
        return t_out[0].real, pseudo[0], t_out.imag / self.h


def smooth_mnist_loss(t, labels, T, beta=0.01):
    """-log softmax(-t)_label + beta (exp(t_label / T) - 1) on first output spike times t (B, K).

    Klos & Memmesheimer 2025 (MNIST): t may be ordinary or pseudospike times (always finite).
    Returns (per-sample loss, dL/dt (B, K)).
    """
    t = np.asarray(t, dtype=float)
    labels = np.asarray(labels, dtype=int)
    if t.ndim != 2 or labels.shape != (t.shape[0],):
        raise ValueError(f"need times (B, K) and labels (B,), got {t.shape} and {labels.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("smooth_mnist_loss needs finite times (use pseudospikes for silent neurons)")
    z = -t - (-t).max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    ty = t[rows, labels]
    loss = -np.log(np.maximum(p[rows, labels], 1e-300)) + beta * (np.exp(ty / T) - 1.0)
    grad = -p                                  # d/dt_k of -log softmax(-t)_y = 1[k = y] - p_k
    grad[rows, labels] += 1.0 + beta / T * np.exp(ty / T)
    return loss, grad
