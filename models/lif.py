"""Current-based leaky integrate-and-fire neuron with an exponential synaptic current.

(About 415 lines: the Brian2 text of the exact in-step threshold and reset is generated here from the
flow; the issue "The equations are the source of truth" replaces that generation by derivation.)

    C_m dV/dt = -g_l (V - E_l) + I + I_ext  tau_m = C_m / g_l
    dI/dt     = -I / tau_s                   on_pre: I += w

I_ext is a constant input current per neuron (a parameter, zero unless set; e.g. real-valued
inputs encoded as currents, models.network `input_currents=True`). With I_ext the neuron relaxes
towards E_l + I_ext / g_l instead of E_l; the exact crossing below accounts for it.

Time-to-first-spike (TTFS) coding: each neuron counts only its first spike of a trial and stays
quiet afterwards (Mostafa 2018; Goeltz et al. 2021, "Fast and energy-efficient neuromorphic deep
learning with first-spike times"; Goeltz et al. 2025, "DelGrad").

Between events the dynamics are linear, so for a neuron at rest at t = 0 that received inputs of
weight w_i arriving at t~_i

    V(t) - E_l = (1 / g_l) sum_i w_i k((t - t~_i) / tau_s),
    k(x) = (exp(-x / r) - exp(-x)) / (r - 1)   (r = tau_m / tau_s != 1),   k(x) = x exp(-x)  (r = 1).

The first spike T solves sum_i w_i k(x_i) = g_l (theta - E_l) =: lambda (the rheobase current).
Closed forms exist for r = 1 (Lambert W) and r = 2 (a quadratic in exp(-T / tau_m)).

Exactness in Brian2. The simulation is exact at every time step, not only up to O(dt):
- an input that arrives at t~ inside a step is delivered at the end of that step, before the
  threshold is checked (see `models.delays.delivery_steps`), and adds its exact contribution:
  I += w exp(-s / tau_s), V += (w / g_l) k(s / tau_s), with s = delivery time - t~;
- the first threshold crossing inside the step is found exactly, with the step's inputs taken in
  the order they arrived (`LIF.reset`): V at each input of the step comes from the exact backward
  flow of the linear dynamics, which picks the segment between inputs where V first reaches
  threshold, and a safeguarded Newton search on that flow finds the crossing in it to floating
  point. A crossing that an inhibitory input of the same step pulls back under threshold by the
  step's end is detected too (`LIF.threshold`).
So spike times are exact, not grid times, up to N_KEPT_ARRIVALS (4) inputs in one step per neuron;
a crossing in a step with more is marked (`inexact_crossing`) and LayeredNetwork warns.
This makes spike times smooth functions of weights, delays and input times, so central finite
differences of the simulation check the event-based gradients.

Parameters are Brian2 quantities; the learning rules work in plain floats with time in units of
tau_s and weights in units of `weight_unit` (DESIGN.md, "Units at the surface").
"""
from __future__ import annotations

import numpy as np
from brian2 import Equations, amp, mV, ms, nA, second, siemens, uS, volt
from brian2.units.fundamentalunits import DimensionMismatchError, Quantity, fail_for_dimension_mismatch

__all__ = ["LIF"]

#: how many of a neuron's latest arrivals it keeps per step parity, sorted (ta_e1 >= ta_e2 >= ... for even
#: steps, ta_o1 >= ... for odd ones), for the exact crossing inside a step: up to this many inputs in
#: the step of a crossing are taken in time order
N_KEPT_ARRIVALS = 4


def _v_back(k, u, v="v", current="I"):
    """Brian2 expression: V a time `u` before the end of the step, by the exact backward flow of the
    linear dynamics from the end state (v, current); `k` is the PSP kernel code of the model at `u`.
    With a constant current I_ext the flow relaxes to E_l + I_ext/g_l (zero I_ext: the plain LIF flow)."""
    return (f"E_l + I_ext/g_l + ({v} - E_l - I_ext/g_l - ({current})*exp(({u})/tau_s)/g_l*{k})"
            f"*exp(({u})/tau_m)")


def _flow_back(k, u):
    """Brian2 code: the state (v_b, I_b) a time `u` before the end of the step (see `_v_back`)."""
    return f"u_b = {u}\nI_b = I*exp(u_b/tau_s)\nv_b = {_v_back(k, 'u_b')}\n"


def _insert_sorted(n, t_new, w_new, parity, cond, suffix=""):
    """Brian2 code: where `cond` (0/1) holds, insert the arrival (t_new, w_new) into the sorted list
    ta_{parity}1 >= ta_{parity}2 >= ... (weights wa_{parity}1, ...) of n slots, dropping the earliest;
    arithmetic only, so that it runs as generated code."""
    ta = [f"ta_{parity}{k}{suffix}" for k in range(1, n + 1)]
    wa = [f"wa_{parity}{k}{suffix}" for k in range(1, n + 1)]
    lines = [f"later{k} = {cond}*int({t_new} > {ta[k - 1]})" for k in range(1, n + 1)]
    for var, new in ((ta, t_new), (wa, w_new)):
        for k in range(n, 1, -1):   # slot k takes slot k-1, the new arrival, or keeps its own
            lines.append(f"{var[k - 1]} = later{k - 1}*{var[k - 2]} + (later{k} - later{k - 1})*{new} "
                         f"+ (1 - later{k})*{var[k - 1]}")
        lines.append(f"{var[0]} = later1*{new} + (1 - later1)*{var[0]}")
    return "\n".join(lines) + "\n"


def _kept(name, k):
    """Brian2 expression: slot k of the kept arrivals (name 'ta' or 'wa') of the current step, from the
    list of its parity (arrivals of even and odd steps are kept apart, so that inputs delivered early
    for the next step never push this step's out of the list)."""
    return f"({name}_o{k}*(t_in_timesteps % 2) + {name}_e{k}*(1 - t_in_timesteps % 2))"


def _check_quantity(name, value, unit, positive=True):
    if not isinstance(value, Quantity) and unit is not None and not np.isscalar(value):
        raise TypeError(f"LIF parameter {name!r} must be a scalar Brian2 quantity in units of {unit!r}")
    try:
        fail_for_dimension_mismatch(value, unit, f"LIF parameter {name!r}")
    except DimensionMismatchError as exc:
        raise DimensionMismatchError(
            f"LIF parameter {name!r} = {value!r} has the wrong units; give it in units of "
            f"{unit!r}, e.g. {name}=5*ms") from exc
    if not np.isfinite(float(value)):
        raise ValueError(f"LIF parameter {name!r} must be finite, got {value!r}")
    if positive and float(value) <= 0:
        raise ValueError(f"LIF parameter {name!r} must be positive, got {value!r}")
    return value


class LIF:
    """The TTFS LIF neuron model: Brian2 equations plus the facts the gradient rule needs.

    Defaults are the DelGrad reference simulation configuration (tau_s = 1, tau_m = 2, g_l = 0.5,
    threshold 1, E_l = 0 in units of tau_s, mV, uS and nA), with tau_s = 5 ms.

    Parameters
    ----------
    tau_s, tau_m : Quantity (time)
        Synaptic and membrane time constants. Closed forms exist for tau_m = tau_s and
        tau_m = 2 tau_s; any other ratio is trained through the implicit-function gradient.
    g_l : Quantity (conductance)
        Leak conductance; C_m = g_l * tau_m.
    E_l, v_th : Quantity (voltage)
        Resting potential and threshold (v_th > E_l).
    weight_unit : Quantity (current)
        The unit of the plain-float weights used by learning rules.
    """

    #: what the learning rules may ask of a model (see `learning_rules.spike_time_gradient`)
    provides = ("psp_kernel", "exact_event_delivery")

    def __init__(self, tau_s=5 * ms, tau_m=10 * ms, g_l=0.5 * uS, E_l=0 * mV, v_th=1 * mV,
                 weight_unit=nA):
        self.tau_s = _check_quantity("tau_s", tau_s, second)
        self.tau_m = _check_quantity("tau_m", tau_m, second)
        self.g_l = _check_quantity("g_l", g_l, siemens)
        self.E_l = _check_quantity("E_l", E_l, volt, positive=False)
        self.v_th = _check_quantity("v_th", v_th, volt, positive=False)
        self.weight_unit = _check_quantity("weight_unit", weight_unit, amp)
        if not float(v_th) > float(E_l):
            raise ValueError(f"LIF needs v_th > E_l (got v_th={v_th!r}, E_l={E_l!r}): "
                             "with the threshold at or below rest the neuron fires at once")

    # ---- derived constants -------------------------------------------------------------
    @property
    def C_m(self):
        return self.g_l * self.tau_m

    @property
    def ratio(self) -> float:
        """r = tau_m / tau_s."""
        return float(self.tau_m) / float(self.tau_s)      # plain floats: no unit arithmetic per call

    @property
    def equal_time_constants(self) -> bool:
        return abs(self.ratio - 1.0) < 1e-12

    @property
    def time_unit(self):
        """The time unit of the learning rules' plain floats: tau_s."""
        return self.tau_s

    @property
    def rheobase(self) -> float:
        """lambda = g_l (v_th - E_l) in units of `weight_unit`: sum_i w_i k(x_i) = lambda at a spike."""
        return float(self.g_l) * (float(self.v_th) - float(self.E_l)) / float(self.weight_unit)

    # ---- Brian2 code ---------------------------------------------------------------------
    def kernel_code(self, s: str) -> str:
        """Brian2 expression for k(s / tau_s), s a time expression."""
        if self.equal_time_constants:
            return f"(({s})/tau_s*exp(-({s})/tau_s))"
        return f"((exp(-({s})/tau_m) - exp(-({s})/tau_s))*tau_s/(tau_m - tau_s))"

    @property
    def equations(self) -> Equations:
        # With tau_m = tau_s the membrane equation is written with tau_s (C_m = g_l*tau_s), so that
        # Brian2's exact integrator sees the degenerate case instead of dividing by tau_m - tau_s.
        c_m = "(g_l*tau_s)" if self.equal_time_constants else "C_m"
        kept = "\n        ".join(f"ta_{p}{k} : second  # the {k}. latest arrival of an {parity} step (exact crossing)\n"
                                 f"        wa_{p}{k} : 1       # and its weight"
                                 for p, parity in (("e", "even"), ("o", "odd")) for k in range(1, N_KEPT_ARRIVALS + 1))
        return Equations(f"""
        dv/dt = (-g_l*(v - E_l) + I + I_ext)/{c_m} : volt
        dI/dt = -I/tau_s : amp
        I_ext : amp            # constant input current (0 unless set, e.g. current-encoded inputs)
        t_spike : second       # exact time of the first spike of this trial (inf: silent)
        has_spiked : boolean   # TTFS: only the first spike of a trial counts
        step_dropped : 1         # latest step with more inputs than the kept lists hold
        inexact_crossing : 1     # 1 if the crossing fell in such a step (exact only to O(dt))
        I_next : amp             # inputs delivered now that arrive in the next step: their current
        v_next : volt            # and potential at the end of that step (added by flush_code)
        {kept}
        """)

    @property
    def threshold(self) -> str:
        """A crossing inside the step: V above threshold at its end, or at one of its inputs.

        Inhibitory inputs that arrive after a crossing in the same step can pull V back under
        threshold by the end of the step; V at the time of an input of the step (the backward flow
        of the state without the later inputs; V is continuous there) still shows the crossing.
        The kept arrivals of this step are those of the list of its parity (see `on_pre`) that are later
        than the step before (earlier ones are from two or more steps ago); comparing with t - dt/2
        rather than t keeps an arrival on the step's edge in the step it was added in.
        One expression, so that the exponentials are evaluated only for neurons with an input in this
        step or the next.
        """
        kern = self.kernel_code
        ta = [_kept("ta", k) for k in range(1, N_KEPT_ARRIVALS + 1)]
        in_step = [f"({t} > t - 0.5*dt)" for t in ta]    # not one of an earlier step of this parity
        s = [f"clip(t + dt - {t}, 0*second, dt)" for t in ta]
        checks = []
        for k in range(N_KEPT_ARRIVALS):     # V at arrival k without the later arrivals of the step
            later = [self._contribution(f"int({in_step[j]})*{_kept('wa', j + 1)}", s[j]) for j in range(k)]
            v = "(v" + "".join(f" - {dv}" for dv, _ in later) + ")"
            i = "I" + "".join(f" - {di}" for _, di in later)
            checks.append(f"({in_step[k]} and {_v_back(kern(s[k]), s[k], v, i)} > v_th)")
        return f"not has_spiked and (v > v_th or ({in_step[0]} and ({' or '.join(checks)})))"

    #: iterations of the safeguarded Newton search for the crossing inside its segment of the step
    N_NEWTON = 8

    @property
    def reset(self) -> str:
        """Exact first crossing T = t + dt - u inside the step, with the step's inputs taken in order.

        The state (v, I) at the end of the step holds every input that arrived by then, also those
        that arrived after the crossing. With the kept arrivals of the step a_1 > a_2 > ... (latest
        first; `N_KEPT_ARRIVALS` of them):
        1. from the latest to the earliest, V(a_k) is evaluated by the exact backward flow of the
           state without the later arrivals (V is continuous at an arrival, so this is V(a_k)),
           and a_k's contribution is taken out; the earliest a_k with V(a_k) >= v_th ends the
           segment of the first crossing (else the step's end does);
        2. the arrivals before that end are put back: the state is now exact on the segment from the
           last of them (or the step start) to its end, where V goes from below to above threshold;
        3. a Newton search on the backward flow, kept inside that bracket (bisection where a Newton
           step would leave it), finds the crossing to floating point;
        4. the other arrivals are put back, so the state stays the true one.
        Between arrivals V is a sum of two exponentials (one extremum at most), so a segment whose
        ends are below and above threshold holds exactly one crossing. More than N_KEPT_ARRIVALS
        arrivals in one step keep the earliest ones in the state (an O(dt) error, only then).
        """
        n, kern = N_KEPT_ARRIVALS, self.kernel_code
        code = [f"ta{k} = {_kept('ta', k)}\nwa{k} = {_kept('wa', k)}" for k in range(1, n + 1)]  # this step's list
        code.append("t_above = t + dt + 0*ta1")  # end of the segment of the first crossing (0*ta1: a vector)
        for k in range(1, n + 1):            # 1. latest to earliest
            code.append(f"in{k} = int(ta{k} > t - 0.5*dt)\n"   # in this step, not an earlier one of its parity
                        f"s{k} = clip(t + dt - ta{k}, 0*second, dt)*in{k}")
            code.append(_flow_back(kern("u_b"), f"s{k}"))
            code.append(f"above{k} = in{k}*int(v_b >= v_th)\n"
                        f"t_above = above{k}*ta{k} + (1 - above{k})*t_above\n"
                        + self._arrival_code(k, "-="))
        code.append("t_below = t + 0*ta1")   # start of the segment
        for k in range(n, 0, -1):            # 2. earliest to latest: the arrivals before the segment's end
            code.append(f"back{k} = in{k}*int(ta{k} < t_above)\n"
                        f"t_below = back{k}*ta{k} + (1 - back{k})*t_below\n"
                        + self._arrival_code(k, "+=", f"back{k}"))
        code.append("u_hi = clip(t + dt - t_above, 0*second, dt)\nu_lo = clip(t + dt - t_below, 0*second, dt)\nu = u_hi")
        newton = (_flow_back(kern("u_b"), "u") +   # 3. v_b >= v_th at u_hi, < v_th at u_lo
                  "above_u = int(v_b >= v_th)\n"
                  "u_hi = above_u*u + (1 - above_u)*u_hi\n"
                  "u_lo = (1 - above_u)*u + above_u*u_lo\n"
                  "dvdt_b = I_b + I_ext - g_l*(v_b - E_l)\n"
                  "dvdt_b = (2*int(dvdt_b >= 0*amp) - 1)*clip(abs(dvdt_b), 1e-30*amp, 1e30*amp)\n"
                  "u_new = u + (v_b - v_th)*C_m/dvdt_b\n"
                  "inside = int(u_new >= u_hi)*int(u_new <= u_lo)\n"
                  "u = inside*u_new + (1 - inside)*0.5*(u_hi + u_lo)")
        code += [newton] * self.N_NEWTON
        for k in range(1, n + 1):            # 4. the state as it was
            code.append(self._arrival_code(k, "+=", f"in{k}*(1 - back{k})"))
        code.append("t_spike = t + dt - u\nhas_spiked = True\n"
                    "inexact_crossing = int(abs(step_dropped - t_in_timesteps) < 0.5)")
        return "\n".join(c.rstrip("\n") for c in code)

    def _arrival_code(self, k, op, factor=None):
        """Brian2 code: take out (op '-=') or put back ('+=') the contribution of kept arrival k at the
        end of the step, times `factor` (default in{k}, whether it lies in this step)."""
        dv, di = self._contribution(f"{factor or f'in{k}'}*wa{k}", f"s{k}")
        return f"v {op} {dv}\nI {op} {di}\n"

    def _contribution(self, w, s):
        """Brian2 expressions (dv, dI): what an input of weight `w` (weight units) that arrived a time
        `s` before the end of the step adds to v and I there."""
        return f"{w}*weight_unit/g_l*{self.kernel_code(s)}", f"{w}*weight_unit*exp(-({s})/tau_s)"

    def kernel_pair_code(self, s: str) -> str:
        """Brian2 code for one unit input after a time `s`: decay_s = exp(-s/tau_s) (its current),
        psp = k(s/tau_s) (its potential, times g_l) and dpsp = k'(s/tau_s); one exponential when
        tau_m = 2 tau_s (the Brian2 twin of `kernel_pair`)."""
        if self.equal_time_constants:
            return (f"decay_s = exp(-({s})/tau_s)\npsp = ({s})/tau_s*decay_s\n"
                    f"dpsp = (1 - ({s})/tau_s)*decay_s\n")
        if abs(self.ratio - 2.0) < 1e-12:
            return (f"decay_m = exp(-({s})/tau_m)\ndecay_s = decay_m*decay_m\npsp = decay_m - decay_s\n"
                    "dpsp = decay_s - 0.5*decay_m\n")
        return (f"decay_m = exp(-({s})/tau_m)\ndecay_s = exp(-({s})/tau_s)\n"
                "psp = (decay_m - decay_s)*tau_s/(tau_m - tau_s)\n"
                "dpsp = (decay_s - decay_m*tau_s/tau_m)*tau_s/(tau_m - tau_s)\n")

    def on_pre(self, due: str) -> str:
        """Exact delivery of an input that arrives at t_spike_pre + delay_exact, in this step or the next.

        `due` (models.delays.DELIVERY_DUE) is 1 if the arrival lies in the current step: its exact
        contribution at the end of the step (t + dt) goes into (I, v) before the threshold check.
        Otherwise it lies in the next step, and its exact contribution at the end of that step
        (t + 2 dt) waits in (I_next, v_next) until `flush_code` adds it then. Either way the arrival
        enters the neuron's sorted list of the latest arrivals of steps of its parity (ta_e1 >= ta_e2 >= ...
        for even steps, ta_o1 >= ... for odd ones, weights wa_e1, ...), from which `threshold` and `reset`
        take the step's inputs in time order.
        """
        return (
            "arrival = t_spike_pre + delay_exact\n"
            f"{due}\n"
            "s_arrival = t + (2 - due)*dt - arrival\n"
            + self.kernel_pair_code("s_arrival") +
            "dI = w*weight_unit*decay_s\n"
            "dv = w*weight_unit/g_l*psp\n"
            "I_post += due*dI\n"
            "v_post += due*dv\n"
            "I_next_post += (1 - due)*dI\n"
            "v_next_post += (1 - due)*dv\n"
            # the parity of the step whose end state first holds the arrival (this one if due, else the next;
            # decided by `due`, not recomputed from the time, so that an arrival on a step's edge joins the
            # list of the step it is added in)
            + "odd = (t_in_timesteps + 1 - due) % 2\n"
            # where the insertion drops an input of the same step (more than N_KEPT_ARRIVALS in one step),
            # that step is noted: a crossing in it is exact only to O(dt) (reset, LayeredNetwork warns)
            + f"oldest = odd*ta_o{N_KEPT_ARRIVALS}_post + (1 - odd)*ta_e{N_KEPT_ARRIVALS}_post\n"
            "oldest = oldest + int(arrival < oldest)*(arrival - oldest)\n"
            "dropped = int(oldest > t + (0.5 - due)*dt)\n"
            "step_dropped_post = dropped*(t_in_timesteps + 1 - due) + (1 - dropped)*step_dropped_post\n"
            + _insert_sorted(N_KEPT_ARRIVALS, "arrival", "w", "e", "(1 - odd)", suffix="_post")
            + _insert_sorted(N_KEPT_ARRIVALS, "arrival", "w", "o", "odd", suffix="_post")
        )

    #: the variables that hold inputs delivered one step early (see `on_pre`)
    HELD = ("I_next", "v_next")

    @property
    def flush_code(self) -> str:
        """Run every step after the state update and before the step's deliveries (models.network):
        the inputs that arrived in this step but were delivered in the previous one join the state,
        and the held variables return to rest (their arrival times are kept from delivery on)."""
        return "I += I_next\nv += v_next\n" + self._rest_code(self.HELD)

    synapse_model = Equations("""
        w : 1                 # weight in units of weight_unit
        delay_exact : second  # transmission delay, not rounded to dt
    """)

    @property
    def namespace(self) -> dict:
        return dict(tau_s=self.tau_s, tau_m=self.tau_m, g_l=self.g_l, C_m=self.C_m, E_l=self.E_l,
                    v_th=self.v_th, weight_unit=self.weight_unit)

    #: the state a trial starts from: variable -> (value in SI units, its Brian2 unit name)
    REST = {"v": (None, "volt"), "I": (0.0, "amp"), "t_spike": (np.inf, "second"), "has_spiked": (False, None),
            "I_next": (0.0, "amp"), "v_next": (0.0, "volt"), "step_dropped": (-1.0, "1"), "inexact_crossing": (0.0, "1"),
            **{f"ta_{p}{k}": (-1.0, "second") for p in "eo" for k in range(1, N_KEPT_ARRIVALS + 1)},  # before any trial
            **{f"wa_{p}{k}": (0.0, "1") for p in "eo" for k in range(1, N_KEPT_ARRIVALS + 1)}}

    def _rest(self):
        return {name: (float(self.E_l) if name == "v" else value, unit) for name, (value, unit) in self.REST.items()}

    def reset_state(self, variables):
        """Put the Brian2 state arrays (dict of numpy arrays) back to rest for a new trial."""
        for name, (value, _) in self._rest().items():
            variables[name][:] = value

    def _rest_code(self, names):
        rest = self._rest()
        lines = []
        for name in names:
            value, unit = rest[name]
            lines.append(f"{name} = {value}" if unit is None else f"{name} = {value!r}*{unit}")
        return "\n".join(lines)

    @property
    def rest_code(self) -> str:
        """The same reset to rest as Brian2 code (for trials that start inside one generated run)."""
        return self._rest_code(self.REST)

    # ---- the kernel in plain floats (x in units of tau_s) ------------------------------
    def kernel(self, x):
        x = np.asarray(x, dtype=float)
        if self.equal_time_constants:
            return x * np.exp(-x)
        r = self.ratio
        return (np.exp(-x / r) - np.exp(-x)) / (r - 1.0)

    def kernel_derivative(self, x):
        x = np.asarray(x, dtype=float)
        if self.equal_time_constants:
            return (1.0 - x) * np.exp(-x)
        r = self.ratio
        return (np.exp(-x) - np.exp(-x / r) / r) / (r - 1.0)

    def kernel_pair(self, x):
        """(k(x), k'(x)) from shared exponentials (what the gradient rule evaluates most)."""
        x = np.asarray(x, dtype=float)
        if self.equal_time_constants:
            e = np.exp(-x)
            return x * e, (1.0 - x) * e
        r = self.ratio
        a = np.exp(-x / r)
        b = a * a if r == 2.0 else np.exp(-x)
        c = 1.0 / (r - 1.0)
        return (a - b) * c, (b - a / r) * c

    def potential(self, t, arrivals, weights):
        """(V(t) - E_l) * g_l in weight units, for arrival times/weights (plain floats, tau_s units)."""
        x = np.subtract.outer(np.atleast_1d(t), np.asarray(arrivals, float))
        causal = x > 0
        return np.sum(np.where(causal, np.asarray(weights) * self.kernel(np.where(causal, x, 0.0)), 0.0), axis=-1)

    def __repr__(self):
        return (f"LIF(tau_s={self.tau_s!r}, tau_m={self.tau_m!r}, g_l={self.g_l!r}, E_l={self.E_l!r}, "
                f"v_th={self.v_th!r})")
