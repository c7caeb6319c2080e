"""Neurons whose spikes come from a finite-time blow-up: the theta neuron and the QIF neuron.

Klos & Memmesheimer, "Smooth exact gradient descent learning in spiking neural networks",
Phys. Rev. Lett. 134, 027301 (2025), arXiv 2309.14523. In these neurons a spike can appear or
vanish only at the end of a trial, so spike times (and a loss on them) change continuously.

ThetaNeuron (phase form; used for MNIST):
    tau dV/dt = V (V - 1) + I0  (I0 > 1/4),  pulses V -> V + w;  with c = I0 - 1/4 the phase
    phi = Phi(V) = (tau / sqrt c)[arctan((V - 1/2) / sqrt c) + pi/2] obeys dphi/dt = 1 between inputs,
    an input of weight w maps phi -> H(phi, w) = Phi(Phi^-1(phi) + w) (models.qif_analytic), and the
    neuron spikes at phi = Theta = tau pi / sqrt c and restarts at 0.
    In Brian2 phi is linear in time, so the generated on_pre code applies H at the exact (sub-dt)
    arrival time (undo the flow to the arrival, jump, redo the flow) and the spike time
    t + dt - (phi - Theta) is exact. An input that arrives in the step where the neuron already
    crossed but after the crossing acts on the restarted phase. Left as O(dt) errors (rare, as in
    models.lif): an inhibitory input that arrives before a crossing inside the same step and
    cancels it, and two inputs to one neuron inside one step processed out of time order.

QIF (with synaptic current, tau_s = tau_m / 2 by default):
    tau_m dV/dt = V (V - 1) + I,  tau_s dI/dt = -I + tau_s sum_k w_k delta(t - t_k)   (I -> I + w_k);
    spike at V -> +inf, reset to -inf. Brian2 integrates the bounded angle th with
    V = 1/2 + tan(th / 2) / 2:  tau_m dth/dt = -cos th + 2 I (1 + cos th), spike at th = pi
    (where tau_m dth/dt = 1 for any I, so t_spike = t + dt - tau_m (th - pi) to O(dt^3)),
    reset th -> th - 2 pi. An input inside a step adds I += w exp(-s / tau_s) and the missed
    part of its effect on th to first order, s being the time since its arrival.
"""
from __future__ import annotations

import logging

import numpy as np
from brian2 import Equations, ms, second
from brian2.units.fundamentalunits import DimensionMismatchError, Quantity, fail_for_dimension_mismatch

from . import qif_analytic as qa
from .running import run_network

__all__ = ["ThetaNeuron", "QIF", "simulate_qif", "SOURCE_EQUATIONS", "SOURCE_THRESHOLD", "SOURCE_SILENT"]


class _OrderFilter(logging.Filter):
    """Brian2 warns that our on_pre code may depend on the order of execution: only inputs to one
    neuron inside one time step are order dependent (documented above)."""

    def filter(self, record):
        msg = record.getMessage()
        return not ("may depend on the order of execution" in msg and "t_cross_pre" in msg)


logging.getLogger("brian2.codegen.generators.base").addFilter(_OrderFilter())

#: input sources: source i fires once, in the step that contains t_cross (its exact time)
SOURCE_EQUATIONS = "t_cross : second  # the spike time of this source in the current trial (SOURCE_SILENT: none)"
#: the source fires in the one step m with floor(t_cross / dt) = m. Comparing t_cross with t and t + dt
#: instead left a gap: where the rounded t_(m-1) + dt falls below the rounded t_m, an input time between
#: them matched neither step and the input was lost, in some trials and not others (it depends on the
#: trial's start time); one index computed from t_cross matches exactly one step.
SOURCE_THRESHOLD = "floor(t_cross/dt) == t_in_timesteps"
#: t_cross of a source that does not fire in the trial: floor(t_cross/dt) < 0 matches no step. A large
#: positive sentinel (1e9 s) overflowed the int32 that Brian2's numpy target casts floor() to
#: (RuntimeWarning: invalid value encountered in cast); -1 s fits for any dt >= 1 ns.
SOURCE_SILENT = -1.0


def _time(name, value, cls):
    if not isinstance(value, Quantity):
        raise TypeError(f"{cls} parameter {name!r} must be a Brian2 time quantity, e.g. {name}=1*ms; got {value!r}")
    try:
        fail_for_dimension_mismatch(value, second, f"{cls} parameter {name!r}")
    except DimensionMismatchError as exc:
        raise DimensionMismatchError(f"{cls} parameter {name!r} = {value!r} must be a time, e.g. {name}=1*ms") from exc
    if not (np.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{cls} parameter {name!r} must be finite and positive, got {value!r}")
    return value


class ThetaNeuron:
    """Theta neuron in phase form (see the module docstring); plain floats in units of `time_unit`.

    Parameters
    ----------
    tau : Quantity (time), membrane time constant (MNIST: 6/pi ms, so that Theta = 6 ms)
    I0 : float > 1/4, constant drive (default 5/4)
    time_unit : Quantity (time), the unit of the learning rule's plain floats (default ms)
    """

    provides = ("phase_jump_map", "theta_pseudodynamics")

    def __init__(self, tau=6 / np.pi * ms, I0=1.25, time_unit=ms):
        self.tau_q = _time("tau", tau, "ThetaNeuron")
        self.time_unit = _time("time_unit", time_unit, "ThetaNeuron")
        I0 = float(I0)
        if not (np.isfinite(I0) and I0 > 0.25):
            raise ValueError(f"ThetaNeuron parameter 'I0' must be > 1/4 (periodic firing), got {I0!r}")
        self.I0 = I0

    @property
    def c(self):
        return self.I0 - 0.25

    @property
    def tau(self) -> float:
        """tau in units of time_unit."""
        return float(self.tau_q / self.time_unit)

    @property
    def Theta(self) -> float:
        """The period Theta = tau pi / sqrt(I0 - 1/4), in units of time_unit."""
        return self.tau * np.pi / np.sqrt(self.c)

    # ---- plain-float maps (models.qif_analytic) ----------------------------------------------------
    def H(self, phi, w):
        return qa.theta_H(phi, w, self.tau, self.c)

    def H_grads(self, phi, w):
        """(H, dH/dphi, dH/dw)."""
        return qa.theta_H_grads(phi, w, self.tau, self.c)

    # ---- Brian2 code ---------------------------------------------------------------------------------
    equations = Equations("""
        dphi/dt = 1 : second  # phase: time since the last spike on the free flow
        t_cross : second      # exact time of the latest threshold crossing
        """)
    threshold = "phi >= Theta"
    #: before the synapses (slot 'thresholds', order 1): the crossing time of neurons that crossed
    crossing = "t_cross = int(phi >= Theta)*(t + dt - (phi - Theta)) + int(phi < Theta)*t_cross"
    reset = "phi = phi - Theta*int(phi >= Theta)"
    synapse_model = Equations("w : 1  # pulse height in units of V")

    #: exact delivery of an input that arrived at t_cross_pre (<= t + dt)
    on_pre = """
        s_arr = t + dt - t_cross_pre
        phi_arr = phi_post - s_arr
        after = int(phi_arr >= Theta)
        a_arr = clip(phi_arr - after*Theta, 0*second, Theta)*sqrt_c/tau
        phi_new = after*Theta + tau/sqrt_c*(pi/2 - arctan((cos(a_arr) - w/sqrt_c*sin(a_arr))/(sin(a_arr) + 1e-300))) + s_arr
        moved = (1 - after)*int(phi_new >= Theta)
        t_cross_post = moved*(t + dt - (phi_new - Theta)) + (1 - moved)*t_cross_post
        phi_post = phi_new
        """

    @property
    def namespace(self) -> dict:
        return dict(tau=self.tau_q, sqrt_c=np.sqrt(self.c), Theta=self.Theta * self.time_unit)

    def __repr__(self):
        return f"ThetaNeuron(tau={self.tau_q!r}, I0={self.I0!r})"


class QIF:
    """QIF neuron with an exponentially decaying synaptic current (see the module docstring).

    The closed forms (models.qif_analytic) hold for tau_s = tau_m / 2, the default and the only
    ratio the smooth gradient supports. Plain floats are in units of tau_m.
    """

    provides = ("qif_closed_form", "qif_pseudodynamics")

    def __init__(self, tau_m=1 * ms, tau_s=None):
        self.tau_m = _time("tau_m", tau_m, "QIF")
        self.tau_s = self.tau_m / 2 if tau_s is None else _time("tau_s", tau_s, "QIF")
        if abs(float(self.tau_s / self.tau_m) - 0.5) > 1e-12:
            self.provides = ()  # no closed form: the smooth gradient refuses this model

    @property
    def time_unit(self):
        return self.tau_m

    equations = Equations("""
        dth/dt = (-cos(th) + 2*I*(1 + cos(th)))/tau_m : 1
        dI/dt = -I/tau_s : 1
        """)
    threshold = "th > pi"
    reset = "th -= 2*pi"
    method = "rk4"
    synapse_model = Equations("w : 1")
    on_pre = """
        s_arr = t + dt - t_cross_pre
        I_post += w*exp(-s_arr/tau_s)
        th_post += 2*(1 + cos(th_post))*w*s_arr/tau_m
        """

    @property
    def namespace(self) -> dict:
        return dict(tau_m=self.tau_m, tau_s=self.tau_s)

    @staticmethod
    def angle(V):
        """The Brian2 state th for a voltage V (V = -inf: th = -pi)."""
        return qa.qif_phase_angle(V)

    def __repr__(self):
        return f"QIF(tau_m={self.tau_m!r}, tau_s={self.tau_s!r})"


def simulate_qif(model, input_times, weights, V0=0.0, I0=0.0, duration=None, dt=None, target="cython"):
    """Run B independent QIF neurons in Brian2, neuron b driven by inputs input_times[b] (plain floats in
    units of tau_m, inf: none) with jumps weights[b] of I. Returns (spike times list per neuron, V(T), I(T)),
    spike times in units of tau_m with sub-dt precision.
    """
    from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, prefs

    if not isinstance(model, QIF):
        raise TypeError(f"simulate_qif needs a QIF model, got {model!r}")
    times = np.atleast_2d(np.asarray(input_times, dtype=float))
    w = np.broadcast_to(np.asarray(weights, dtype=float), times.shape)
    if np.any(np.isnan(times)) or np.any(times < 0) or not np.all(np.isfinite(w)):
        raise ValueError("input_times must be >= 0 (inf: no input) and weights finite")
    B, M = times.shape
    tu = model.tau_m
    duration = 4 * tu if duration is None else _time("duration", duration, "simulate_qif")
    dt = 1e-3 * tu if dt is None else _time("dt", dt, "simulate_qif")
    prefs.codegen.target = target
    src = NeuronGroup(B * M, SOURCE_EQUATIONS, threshold=SOURCE_THRESHOLD, reset="", dt=dt)
    src.t_cross_ = np.where(np.isfinite(times), times * float(tu), SOURCE_SILENT).ravel()
    g = NeuronGroup(B, model.equations, threshold=model.threshold, reset=model.reset, method=model.method,
                    namespace=model.namespace, dt=dt)
    g.th = model.angle(np.broadcast_to(np.asarray(V0, dtype=float), (B,)))
    g.I = np.broadcast_to(np.asarray(I0, dtype=float), (B,))
    syn = Synapses(src, g, model.synapse_model, on_pre=model.on_pre, namespace=model.namespace, dt=dt)
    syn.connect(i=np.arange(B * M), j=np.repeat(np.arange(B), M))
    syn.w = w.ravel()
    mon = SpikeMonitor(g, variables=["th"])
    run_network(Network(src, g, syn, mon), duration)
    t_exact = (mon.t_[:] + float(dt) - float(tu) * (mon.th[:] - np.pi)) / float(tu)
    spikes = [np.sort(t_exact[mon.i[:] == b]) for b in range(B)]
    return spikes, qa.qif_voltage_from_angle(g.th[:]), np.array(g.I[:])
