r"""Local, unsupervised delay adaptation as generated Brian2 synaptic code (no gradients).

The rule
--------
Each synapse remembers when its last presynaptic spike *arrived* (was delivered) at the
postsynaptic neuron, :math:`\tilde t = t_\text{pre} + d`, and when its postsynaptic neuron last
fired, :math:`t_\text{post}`. Whenever an arrival and a postsynaptic spike are paired, the delay
moves so that the arrival approaches the postsynaptic spike:

.. math::

    d \leftarrow \operatorname{clip}\bigl(d + \eta\,(t_\text{post} - \tilde t),\; 0,\; d_\text{max}\bigr)
    \quad\text{if } |t_\text{post} - \tilde t| \le w, \qquad\text{else unchanged,}

with learning rate :math:`\eta \in (0, 1]`, window :math:`w` and maximal delay
:math:`d_\text{max}`. Pairing is nearest-neighbour:

* on a postsynaptic spike (``on_post``), with the latest arrival at or before it
  (:math:`t_\text{post} - \tilde t \ge 0`: the delay grows, the arrival moves later);
* with ``after=True`` (default), on an arrival (``on_pre``), with the latest postsynaptic spike
  before it (:math:`t_\text{post} - \tilde t < 0`: the delay shrinks, the arrival moves earlier).

An arrival in the same time step as the postsynaptic spike has a zero difference. For a fixed
postsynaptic spike time the error shrinks geometrically, :math:`e_{k+1} = (1-\eta)\,e_k`, up to the
rounding of delays to the time step; :math:`\eta = 1` jumps there in one presentation. This is the
delay-shift idea of Hüning, Glünder & Palm (1998, *Neural Computation* 10:555, "Synaptic delay
learning in pulse-coupled neurons"), here with a rectangular window; Eurich, Pawelzik, Ernst,
Cowan & Milton (1999, *Phys. Rev. Lett.* 82:1594, "Dynamics of self-organized delay adaptation")
analyse the self-organisation of such rules, and later delay-plasticity models (e.g. Matsubara
2017, *Front. Comput. Neurosci.* 11:104) use the same arrival-versus-postsynaptic-spike signal.
It needs no teacher and no gradient: a neuron that fires on a repeated spatio-temporal pattern
pulls the arrivals of that pattern together and so becomes a coincidence detector for it.

Brian2 implementation (runtime mode; numpy and Cython targets)
--------------------------------------------------------------
The rule is Brian2 abstract code (no if-statements: the conditions are ``int(...)`` factors) and is
combined with the user's own ``model`` / ``on_pre`` / ``on_post``. It adds the synaptic variables
``t_arrival``, ``has_arrival``, ``t_post_last`` and ``post_fired`` (``on_pre`` runs at the delivery
time, so ``t`` there *is* the arrival time) and the constants ``delay_eta``, ``delay_window`` and
``delay_max`` in the Synapses' namespace (read at the start of each ``run``). The learned delay is
kept in the synapses' own presynaptic delay ``S.delay`` (= ``S.pre.delay``). Measured with Brian2
2.10.1 (tests/test_delay_adaptation.py):

* ``delay`` in ``on_pre`` code is the ``pre`` pathway's delay and generated code may write it.
* ``delay`` in ``on_post`` code is the *post* pathway's delay (``S.post.delay``, the delay of the
  backpropagating spike): writing it there silently changes the wrong variable. ``attach`` therefore
  adds ``pre_delay``, a reference to ``S.pre.delay``, to the post pathway, and ``on_post`` writes
  ``pre_delay``. (A user ``on_post`` that assigns ``delay`` is refused for this reason.)
* The spike queue reads the delays only when it is (re)initialised. Every ``run()`` call does that
  at its start, so delays learned in one run are used in the next. Within one run the queue keeps
  the old delays until ``S.pre.initialise_queue()`` is called: `DelayAdaptation.apply` does that,
  and `DelayAdaptation.network_operation` calls it every ``period`` (e.g. at trial boundaries).
  Spikes already in the queue keep their delivery times; new spikes use the new delays.
  Weights, in contrast, act at once.
* ``Network.store``/``restore`` restore ``S.delay`` too (since Brian2 2.10 the pathway's state
  includes its delays, brian2/synapses/synapses.py ``SynapticPathway._full_state``): a restore undoes
  the delays learned since the store; copy ``S.delay[:]`` before it to keep them.

Standalone devices cannot run network operations; there, learned delays take effect in the next
``run`` only.
"""
from __future__ import annotations

import re
import weakref
from numbers import Real

import numpy as np
from brian2 import NetworkOperation, Synapses, ms, second
from brian2.units.fundamentalunits import DimensionMismatchError, Quantity, fail_for_dimension_mismatch

__all__ = ["DelayAdaptation", "adaptive_synapses"]

#: synaptic variables the rule adds to the model
RULE_VARIABLES = ("t_arrival", "has_arrival", "t_post_last", "post_fired")
#: constants the rule adds to the Synapses' namespace
RULE_CONSTANTS = ("delay_eta", "delay_window", "delay_max")
#: name under which on_post code sees the presynaptic (pre pathway) delay
PRE_DELAY = "pre_delay"

_MODEL = """
t_arrival : second    # time of the last presynaptic arrival (delivery) at this synapse
has_arrival : boolean # a presynaptic spike has arrived at least once
t_post_last : second  # time of the last postsynaptic spike
post_fired : boolean    # the postsynaptic neuron has fired at least once
"""

# arrival after the last postsynaptic spike (within the window): shorten the delay
_ON_PRE_AFTER = ("delay = clip(delay + delay_eta*int(post_fired)*int(t - t_post_last <= delay_window)"
                 "*(t_post_last - t), 0*second, delay_max)")
_ON_PRE = "t_arrival = t\nhas_arrival = True"
# postsynaptic spike after the last arrival (within the window): lengthen the delay
_ON_POST = (f"{PRE_DELAY} = clip({PRE_DELAY} + delay_eta*int(has_arrival)*int(t - t_arrival <= delay_window)"
            f"*(t - t_arrival), 0*second, delay_max)\n"
            "t_post_last = t\npost_fired = True")


def _check_time(name, value, allow_zero=False):
    example = f"{name}=5*ms"
    if isinstance(value, Quantity):
        if value.size != 1:
            raise ValueError(f"DelayAdaptation parameter {name!r} must be a scalar time, e.g. {example}; "
                             f"got shape {value.shape}")
        try:
            fail_for_dimension_mismatch(value, second, name)
        except DimensionMismatchError as exc:
            raise DimensionMismatchError(
                f"DelayAdaptation parameter {name!r} = {value!r} has the wrong units; give a time, "
                f"e.g. {example}") from exc
    elif isinstance(value, Real) and not isinstance(value, bool):
        raise DimensionMismatchError(
            f"DelayAdaptation parameter {name!r} = {value!r} has no units; give a time, e.g. {example}")
    else:
        raise TypeError(f"DelayAdaptation parameter {name!r} must be a Brian2 time quantity, e.g. {example}; "
                        f"got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"DelayAdaptation parameter {name!r} must be finite, got {value!r}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"DelayAdaptation parameter {name!r} must be positive, got {value!r}; e.g. {example}")
    return Quantity(v, dim=second.dim)


def _check_eta(eta):
    if isinstance(eta, Quantity) and not eta.is_dimensionless:
        raise DimensionMismatchError(
            f"DelayAdaptation parameter 'eta' = {eta!r} must be a dimensionless learning rate in (0, 1], "
            "e.g. eta=0.1 (it multiplies a time difference that already carries the units)")
    if isinstance(eta, bool) or not isinstance(eta, (Real, np.ndarray)) or np.ndim(eta) != 0:
        raise TypeError(f"DelayAdaptation parameter 'eta' must be a number in (0, 1], e.g. eta=0.1; "
                        f"got {eta!r}")
    eta = float(eta)
    if not np.isfinite(eta):
        raise ValueError(f"DelayAdaptation parameter 'eta' must be finite, got {eta!r}; e.g. eta=0.1")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"DelayAdaptation parameter 'eta' must lie in (0, 1], got {eta!r}: eta=1 moves the "
                         "arrival onto the postsynaptic spike in one step, larger values overshoot")
    return eta


def _combine(user, rule, what):
    if user is None:
        user = ""
    if not isinstance(user, str):
        raise TypeError(f"{what} must be a string of Brian2 code (one pathway 'pre' and one 'post'), "
                        f"got {type(user).__name__}")
    return "\n".join(part for part in (user.strip("\n"), rule.strip("\n")) if part.strip())


class DelayAdaptation:
    r"""Unsupervised delay adaptation :math:`d \leftarrow \mathrm{clip}(d + \eta(t_\text{post} - \tilde t), 0, d_\text{max})`.

    See the module docstring for the rule, the papers and the Brian2 facts it relies on.

    Parameters
    ----------
    eta : float
        Dimensionless learning rate in (0, 1].
    window : Quantity (time)
        Pairs with :math:`|t_\text{post} - \tilde t| \le` ``window`` adapt; others are left alone.
    d_max : Quantity (time)
        Delays are clipped to ``[0, d_max]``.
    after : bool
        Also adapt arrivals that come after the postsynaptic spike (shorter delays).

    Use `synapses` (or `adaptive_synapses`) to build the `Synapses`; or build them yourself from
    `equations` and call `attach`. Call `apply` (or add `network_operation`) to make learned delays
    act within a run.
    """

    def __init__(self, eta=0.1, window=5 * ms, d_max=20 * ms, after=True):
        self.eta = _check_eta(eta)
        self.window = _check_time("window", window)
        self.d_max = _check_time("d_max", d_max)
        self.after = bool(after)
        self._synapses = []   # weak references to attached Synapses

    def __repr__(self):
        return (f"DelayAdaptation(eta={self.eta!r}, window={self.window!r}, d_max={self.d_max!r}, "
                f"after={self.after!r})")

    # --- code -------------------------------------------------------------------------------
    @property
    def model(self):
        """Synaptic model lines the rule adds."""
        return _MODEL.strip("\n")

    @property
    def on_pre(self):
        """``on_pre`` code (runs at the arrival time ``t``)."""
        return (_ON_PRE_AFTER + "\n" + _ON_PRE) if self.after else _ON_PRE

    @property
    def on_post(self):
        """``on_post`` code (runs at the postsynaptic spike time ``t``); writes ``pre_delay``."""
        return _ON_POST

    @property
    def namespace(self):
        """Constants the code uses (put into the Synapses' namespace)."""
        return {"delay_eta": self.eta, "delay_window": self.window, "delay_max": self.d_max}

    def equations(self, model="", on_pre="", on_post="", namespace=None):
        """Keyword arguments for `Synapses`: the user's code combined with the rule's.

        Returns a dict with ``model``, ``on_pre``, ``on_post`` and ``namespace``. A `Synapses`
        built from it must then be passed to `attach` (which the `synapses` method does for you).
        """
        for name in RULE_VARIABLES + (PRE_DELAY,):
            if re.search(rf"^\s*{name}\s*:", model or "", flags=re.M):
                raise ValueError(f"the synaptic model already defines {name!r}, a variable the delay rule "
                                 f"adds ({', '.join(RULE_VARIABLES)}); rename yours")
        if re.search(r"^\s*delay\s*(\+|-|\*|/)?=(?!=)", on_post or "", flags=re.M):
            raise ValueError("on_post assigns 'delay', which in on_post code is the *post* pathway's delay "
                             "(S.post.delay), not the presynaptic delay; write 'pre_delay' instead")
        namespace = dict(namespace or {})
        clash = set(namespace) & set(RULE_CONSTANTS)
        if clash:
            raise ValueError(f"namespace already defines {sorted(clash)}, constants of the delay rule; rename them")
        namespace.update(self.namespace)
        return {"model": _combine(model, self.model, "model"),
                "on_pre": _combine(on_pre, self.on_pre, "on_pre"),
                "on_post": _combine(on_post, self.on_post, "on_post"),
                "namespace": namespace}

    # --- building -----------------------------------------------------------------------------
    def attach(self, synapses):
        """Let ``synapses`` (built from `equations`) run the rule; returns ``synapses``.

        Adds ``pre_delay`` (a reference to ``synapses.pre.delay``) to the post pathway and
        remembers the synapses for `apply`. Must be called before the first ``run``.
        """
        if not isinstance(synapses, Synapses):
            raise TypeError(f"attach needs a brian2 Synapses object, got {type(synapses).__name__}")
        paths = {p.objname: p for p in synapses._pathways}
        if set(paths) != {"pre", "post"}:
            raise ValueError(f"the delay rule needs exactly the pathways 'pre' and 'post' (on_pre and "
                             f"on_post code), got {sorted(paths)}")
        missing = [v for v in RULE_VARIABLES if v not in synapses.variables]
        if missing:
            raise ValueError(f"synapses {synapses.name!r} lack the rule's variables {missing}: build them "
                             "with DelayAdaptation.synapses(...) or Synapses(..., **rule.equations(...))")
        ns = synapses.namespace or {}
        if any(c not in ns for c in RULE_CONSTANTS):
            raise ValueError(f"synapses {synapses.name!r} lack the rule's constants {list(RULE_CONSTANTS)} in "
                             "their namespace: pass namespace=rule.equations(...)['namespace']")
        pre_delay = synapses.pre.variables["delay"]
        if pre_delay.scalar:
            raise ValueError("the synapses have one scalar delay (Synapses(..., delay=...)); delays must vary "
                             "per synapse: leave out the delay keyword and set S.delay = ... after connect")
        if PRE_DELAY not in synapses.post.variables:
            synapses.post.variables.add_reference(PRE_DELAY, synapses.pre, "delay")
        if not any(ref() is synapses for ref in self._synapses):
            self._synapses.append(weakref.ref(synapses))
        return synapses

    def synapses(self, source, target, model="", on_pre="", on_post="", namespace=None, **kwargs):
        """Build `Synapses` (source -> target) with the user's code and the rule's; then ``connect``.

        ``kwargs`` go to `Synapses` (e.g. ``method``, ``name``, ``dt``); a scalar ``delay`` is refused.
        Set the initial delays with ``S.delay = ...`` after ``S.connect(...)``.
        """
        if kwargs.get("delay") is not None:
            raise ValueError("do not pass delay=... (that makes one scalar delay for all synapses); set "
                             "S.delay = ... after S.connect(...)")
        kwargs.pop("delay", None)
        S = Synapses(source, target, **self.equations(model, on_pre, on_post, namespace), **kwargs)
        return self.attach(S)

    # --- learning on / off ---------------------------------------------------------------------
    def set_learning(self, enabled, synapses=None):
        """Switch adaptation on or off (``delay_eta`` = eta or 0); takes effect at the next ``run``."""
        for S in self._targets(synapses):
            S.namespace["delay_eta"] = self.eta if enabled else 0.0

    # --- making learned delays act ---------------------------------------------------------------
    def _targets(self, synapses):
        if synapses is None:
            targets = [ref() for ref in self._synapses]
            return [S for S in targets if S is not None]
        if isinstance(synapses, Synapses):
            return [synapses]
        return list(synapses)

    def apply(self, synapses=None):
        """Make the current ``S.delay`` values act on spikes emitted from now on (within a run).

        Re-initialises the spike queue of the ``pre`` pathway (``S.pre.initialise_queue()``) of the
        given synapses (default: all attached ones). Spikes already in the queue keep their delivery
        times. Not needed between ``run`` calls (each run does it).
        """
        for S in self._targets(synapses):
            if S.pre.queue is not None and S.pre.eventspace is not None:
                S.pre.initialise_queue()

    def network_operation(self, period, synapses=None, when="start", name=None):
        """A `NetworkOperation` that calls `apply` every ``period`` (e.g. the trial length).

        With ``when='start'`` it runs at t = 0, period, 2*period, ... before any spike of that time
        step is queued. Add it to the network (``net.add(op)`` or ``collect()``).
        """
        period = _check_time("period", period)
        targets = None if synapses is None else self._targets(synapses)
        rule = self

        def _apply_delays():
            rule.apply(targets)

        kw = {"name": name} if name else {}
        return NetworkOperation(_apply_delays, dt=period, when=when, **kw)


def adaptive_synapses(source, target, model="", on_pre="", on_post="", eta=0.1, window=5 * ms, d_max=20 * ms,
                      after=True, **kwargs):
    """Shortcut: ``DelayAdaptation(eta, window, d_max, after).synapses(source, target, ...)``.

    Returns ``(synapses, rule)``; keep ``rule`` for `DelayAdaptation.apply` /
    `DelayAdaptation.network_operation`.
    """
    rule = DelayAdaptation(eta=eta, window=window, d_max=d_max, after=after)
    return rule.synapses(source, target, model=model, on_pre=on_pre, on_post=on_post, **kwargs), rule
