"""A recurrent network of QIF neurons driven by fixed input spike trains, in Brian2.

Klos & Memmesheimer, "Smooth exact gradient descent learning in spiking neural networks",
Phys. Rev. Lett. 134, 027301 (2025), arXiv 2309.14523 (the recurrent-network experiment).

Each of the N neurons is the QIF of models.qif (tau_s = tau_m / 2, time in units of tau_m):

    tau_m dV_i/dt = V_i (V_i - 1) + I_i,   tau_s dI_i/dt = -I_i + tau_s sum_j W_ij sum_k delta(t - t_j^k)
                                                        + tau_s sum_inputs w_in delta(t - t_in),

spike at V -> +inf, reset to -inf; W_ii = 0 (no self-connections, as in the reference). Brian2 objects:

    sources  NeuronGroup  one source per input spike, firing once at its exact time t_cross
    neurons  NeuronGroup  B copies of the N QIF neurons (bounded angle th, models.qif.QIF) with
                          t_cross: the exact time of the latest crossing, written by a `run_regularly`
                          right after the thresholds (before the synapses read it)
    syn_in   Synapses     sources -> neurons, on_pre = QIF.on_pre (I += w at the exact arrival)
    syn_rec  Synapses     neurons -> neurons inside each copy, i != j, on_pre = QIF.on_pre

Master parameters (plain floats): params[0] = {"w": W (N, N), "V0": (N,), "I0": (N,)}; `simulate`
broadcasts them into the B copies, or takes per-copy values (finite differences run all perturbed
copies in one Network). The exact closed-form replay is models.qif_analytic.qif_network_event_run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, prefs
from brian2.units.fundamentalunits import DimensionMismatchError, Quantity

from . import qif_analytic as qa
from .qif import QIF, SOURCE_EQUATIONS, SOURCE_SILENT, SOURCE_THRESHOLD, _time
from .running import run_network

__all__ = ["RecurrentQIFNetwork", "QIFNetRecord", "check_finite"]

_NEVER = 1e9  # seconds: a source time that is never reached


@dataclass
class QIFNetRecord:
    """What one Brian2 run did: spike times (B, N, K) with sub-dt precision (inf-padded), counts (B, N)
    and the states at the trial end V(T), I(T) (B, N); times in units of tau_m."""

    spikes: np.ndarray
    counts: np.ndarray
    V_T: np.ndarray
    I_T: np.ndarray


def check_finite(name, value):
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; give finite values")
    return a


def _quantity(name, value):
    """A positive time quantity; anything else is a ValueError naming the parameter."""
    try:
        return _time(name, value, "RecurrentQIFNetwork")
    except (TypeError, DimensionMismatchError) as exc:
        raise ValueError(str(exc)) from exc


def _plain(name, value):
    if isinstance(value, Quantity):
        raise ValueError(f"{name} must be plain floats in units of tau_m (the network's time unit), "
                         f"not a quantity with units ({value!r})")
    return value


class RecurrentQIFNetwork:
    """N recurrent QIF neurons with fixed inputs (see the module docstring).

    Parameters
    ----------
    n_neurons : int
    input_times, input_neurons, input_weights : (M,) arrays: input k arrives at input_times[k] (plain floats
        in units of tau_m, in [0, duration]) at neuron input_neurons[k] and adds input_weights[k] to its I
    duration, dt : Quantity (time); dt defaults to tau_m / 1000
    model : models.qif.QIF (tau_s = tau_m / 2); batch_size : copies B in one Network
    max_spikes : spikes per neuron kept in the record
    """

    def __init__(self, n_neurons, input_times, input_neurons, input_weights, duration, model=None, dt=None,
                 batch_size=1, max_spikes=100, target="cython"):
        self.model = QIF() if model is None else model
        if not isinstance(self.model, QIF):
            raise TypeError(f"RecurrentQIFNetwork needs a models.qif.QIF model, got {self.model!r}")
        tu = self.model.tau_m
        self.N = int(n_neurons)
        if self.N < 1:
            raise ValueError(f"n_neurons must be >= 1, got {n_neurons!r}")
        self.duration = _quantity("duration", duration)
        self.dt = tu / 1000 if dt is None else _quantity("dt", dt)
        self.T = float(self.duration / tu)
        t = check_finite("input_times", _plain("input_times", input_times)).ravel()
        n = np.asarray(input_neurons).ravel()
        w = check_finite("input_weights", _plain("input_weights", input_weights)).ravel()
        if not (t.shape == n.shape == w.shape):
            raise ValueError(f"input_times, input_neurons and input_weights need the same length, got "
                             f"{t.shape}, {n.shape}, {w.shape}")
        if np.any(t < 0) or np.any(t > self.T):
            raise ValueError(f"input_times must lie in [0, duration] = [0, {self.T}] (units of tau_m)")
        if n.size and (not np.issubdtype(n.dtype, np.integer) or n.min() < 0 or n.max() >= self.N):
            raise ValueError(f"input_neurons must be integers in [0, {self.N})")
        self.input_times, self.input_neurons, self.input_weights = t, n.astype(int), w
        self.batch_size, self.max_spikes, self.target = int(batch_size), int(max_spikes), target
        self.params = [{"w": np.zeros((self.N, self.N)), "V0": np.zeros(self.N), "I0": np.zeros(self.N)}]
        self._net = None

    @property
    def mask(self):
        """Trainable recurrent weights: W_ij, i != j."""
        return ~np.eye(self.N, dtype=bool)

    # ---- Brian2 ---------------------------------------------------------------------------------------
    def build(self):
        prefs.codegen.target = self.target
        m, B, N, M = self.model, self.batch_size, self.N, len(self.input_times)
        ns = m.namespace
        self.sources = NeuronGroup(max(B * M, 1), SOURCE_EQUATIONS, threshold=SOURCE_THRESHOLD, reset="", dt=self.dt,
                                   name="qifnet_sources")
        self.neurons = NeuronGroup(B * N, m.equations + "t_cross : second", threshold=m.threshold, reset=m.reset,
                                   method=m.method, namespace=ns, dt=self.dt, name="qifnet_neurons")
        self.neurons.run_regularly("t_cross = int(th > pi)*(t + dt - tau_m*(th - pi)) + int(th <= pi)*t_cross",
                                   when="thresholds", order=1, name="qifnet_crossing")
        self.syn_in = Synapses(self.sources, self.neurons, m.synapse_model, on_pre=m.on_pre, namespace=ns,
                               dt=self.dt, order=0, name="qifnet_syn_in")
        b = np.repeat(np.arange(B), M)
        self.syn_in.connect(i=np.arange(B * M), j=b * N + np.tile(self.input_neurons, B))
        self.syn_in.w = np.tile(self.input_weights, B)
        self.syn_rec = Synapses(self.neurons, self.neurons, m.synapse_model, on_pre=m.on_pre, namespace=ns,
                                dt=self.dt, order=1, name="qifnet_syn_rec")
        post, pre = np.nonzero(self.mask)       # W[post, pre]; row-major over (post, pre)
        self._rec_index = (post, pre)
        b = np.repeat(np.arange(B), len(pre))
        if len(pre):
            self.syn_rec.connect(i=b * N + np.tile(pre, B), j=b * N + np.tile(post, B))
        self.monitor = SpikeMonitor(self.neurons, variables=["th"], name="qifnet_monitor")
        self._net = Network(self.sources, self.neurons, self.syn_in, self.syn_rec, self.monitor)
        return self

    def _per_copy(self, W, V0, I0, B=None):
        """W (B, N, N), V0, I0 (B, N): the master parameters or the given ones, checked and broadcast (B: the
        batch size, or for the replay the largest leading size given). Complex values pass (complex steps)."""
        N, p = self.N, self.params[0]
        out = []
        for name, v in (("W", W), ("V0", V0), ("I0", I0)):
            v = np.asarray(p["w" if name == "W" else name] if v is None else _plain(name, v))
            if not np.issubdtype(v.dtype, np.number) or not np.all(np.isfinite(v)):
                raise ValueError(f"{name} contains NaN or inf (or is not numeric); give finite values")
            out.append(v)
        if B is None:
            B = max(out[0].shape[0] if out[0].ndim == 3 else 1, *(v.shape[0] if v.ndim == 2 else 1 for v in out[1:]))
        try:
            return (np.broadcast_to(out[0], (B, N, N)), np.broadcast_to(out[1], (B, N)),
                    np.broadcast_to(out[2], (B, N)))
        except ValueError as exc:
            raise ValueError(f"W, V0, I0 must have shapes ({N}, {N}), ({N},), ({N},) or per copy ({B}, ...); got "
                             f"{np.shape(W)}, {np.shape(V0)}, {np.shape(I0)}") from exc

    def simulate(self, W=None, V0=None, I0=None):
        """One trial of every copy (master parameters unless per-copy W (B, N, N), V0, I0 (B, N) are given).
        Returns a QIFNetRecord."""
        W, V0, I0 = self._per_copy(W, V0, I0, self.batch_size)
        if self._net is None:
            self.build()
        tu, B, N = float(self.model.tau_m), self.batch_size, self.N
        net = self._net
        t0 = float(net.t)
        self.sources.t_cross_[:] = np.tile(t0 + self.input_times * tu, B) if len(self.input_times) else SOURCE_SILENT
        post, pre = self._rec_index
        if len(pre):
            self.syn_rec.w_[:] = W[:, post, pre].ravel()
        self.neurons.th_[:] = self.model.angle(V0).ravel()
        self.neurons.I_[:] = I0.ravel()
        self.neurons.t_cross_[:] = -_NEVER
        n_before = self.monitor.num_spikes
        run_network(net, self.duration)
        i = np.asarray(self.monitor.i[n_before:])
        th = np.asarray(self.monitor.th[n_before:])
        t_exact = (np.asarray(self.monitor.t_[n_before:]) + float(self.dt) - tu * (th - np.pi) - t0) / tu
        counts = np.bincount(i, minlength=B * N).reshape(B, N)
        K = self.max_spikes
        spikes = np.full((B * N, K), np.inf)
        order = np.lexsort((t_exact, i))
        i_s, t_s = i[order], t_exact[order]
        rank = np.arange(len(i_s)) - np.searchsorted(i_s, i_s)
        keep = rank < K
        spikes[i_s[keep], rank[keep]] = t_s[keep]
        V_T = qa.qif_voltage_from_angle(self.neurons.th_[:]).reshape(B, N)
        return QIFNetRecord(spikes.reshape(B, N, K), counts, V_T, np.array(self.neurons.I_[:]).reshape(B, N))

    def replay(self, W=None, V0=None, I0=None):
        """The same trial on the exact closed-form event map (models.qif_analytic.qif_network_event_run)."""
        W, V0, I0 = self._per_copy(W, V0, I0)
        spikes, counts, V_T, I_T = qa.qif_network_event_run(V0, I0, W, self.input_times, self.input_neurons,
                                                            self.input_weights, self.T, self.max_spikes)
        return QIFNetRecord(spikes, counts, V_T, I_T)
