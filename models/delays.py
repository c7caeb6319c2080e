"""Trainable transmission delays and their wiring onto Brian2 synapses.

Three kinds (DelGrad, Goeltz et al. 2025, Nat. Commun. 16; arXiv 2404.19165), each a master array
per projection from a population of n_pre neurons to n_post neurons:

    axonal     d_i        one per presynaptic neuron     (n_pre,)
    dendritic  d_j        one per postsynaptic neuron    (n_post,)
    synaptic   d_ij       one per connection             (n_pre, n_post)

The delay of the connection i -> j is the sum of the kinds in use: D_ij = d_i + d_j + d_ij.
Optionally each kind is reparameterised, d = shift + scale * sigmoid(p), and p is trained.

Chain rule from dL/dD_ij (the gradient with respect to the arrival time of i's spike at j):
    axonal dL/dd_i = sum_j dL/dD_ij,  dendritic dL/dd_j = sum_i dL/dD_ij,  synaptic dL/dd_ij = dL/dD_ij.

Brian2 delivers events on the time grid. `delivery_steps` and `DELIVERY_DUE` make every event
count from the step that contains its exact arrival time (never early, less than dt late), and
the model adds the exact contribution of the elapsed time (see models.lif).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DELAY_KINDS", "DelayConfig", "DELIVERY_STEP_CODE", "DELIVERY_DUE", "delivery_steps",
           "parse_delay_kinds"]

DELAY_KINDS = ("axonal", "dendritic", "synaptic")


def parse_delay_kinds(kinds) -> tuple:
    """Accept None, '', 'synaptic', 'axonal+synaptic', or an iterable of kind names."""
    if kinds is None or kinds == "" or kinds == ():
        return ()
    if isinstance(kinds, str):
        kinds = [k for k in kinds.replace(",", "+").split("+") if k]
    kinds = tuple(kinds)
    for k in kinds:
        if k not in DELAY_KINDS:
            raise ValueError(f"unknown delay kind {k!r} in delays={kinds!r}; choose from {DELAY_KINDS} "
                             "(combine with '+', e.g. 'axonal+synaptic')")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"delay kind repeated in delays={kinds!r}")
    return tuple(k for k in DELAY_KINDS if k in kinds)


def _shape(kind, n_pre, n_post):
    return {"axonal": (n_pre,), "dendritic": (n_post,), "synaptic": (n_pre, n_post)}[kind]


def _sigmoid(p):
    return 0.5 * (1.0 + np.tanh(0.5 * p))


@dataclass(frozen=True)
class DelayConfig:
    """Which delay kinds a network trains, how they start, and how they are parameterised.

    All times are plain floats in the model's time unit (tau_s).

    kinds : tuple of 'axonal' | 'dendritic' | 'synaptic' (empty: no delays)
    init : (mean, std) of the initial delays (of the raw parameter p when reparameterised)
    reparam : None or (shift, scale): d = shift + scale * sigmoid(p). Reference: (0, 1).
    max_delay : upper clip of each delay kind without reparameterisation (lower clip is 0).
    """

    kinds: tuple = ()
    init: tuple = (0.5, 0.1)
    reparam: tuple | None = None
    max_delay: float = 5.0

    def __post_init__(self):
        object.__setattr__(self, "kinds", parse_delay_kinds(self.kinds))
        if self.reparam is not None:
            shift, scale = self.reparam
            if shift < 0 or scale <= 0:
                raise ValueError(f"delay reparam=(shift, scale)={self.reparam!r} needs shift >= 0 and "
                                 "scale > 0 so that every delay stays non-negative")
        if not self.max_delay > 0:
            raise ValueError(f"max_delay must be positive, got {self.max_delay!r}")

    # ---- parameters --------------------------------------------------------------------
    def init_params(self, n_pre, n_post, rng) -> dict:
        mean, std = self.init
        params = {kind: mean + std * rng.standard_normal(_shape(kind, n_pre, n_post)) for kind in self.kinds}
        self.clip(params)
        return params

    def values(self, params: dict) -> dict:
        """The delays of each kind (tau_s units) from the trained parameters."""
        out = {}
        for kind in self.kinds:
            p = params[kind]
            if self.reparam is None:
                out[kind] = p
            else:
                shift, scale = self.reparam
                out[kind] = shift + scale * _sigmoid(p)
        return out

    def clip(self, params: dict):
        """Keep unparameterised delays in [0, max_delay] (in place)."""
        if self.reparam is None:
            for kind in self.kinds:
                np.clip(params[kind], 0.0, self.max_delay, out=params[kind])

    def total(self, params: dict, n_pre, n_post) -> np.ndarray:
        """D_ij = d_i + d_j + d_ij, shape (n_pre, n_post)."""
        D = np.zeros((n_pre, n_post))
        vals = self.values(params)
        if "axonal" in vals:
            D += vals["axonal"][:, None]
        if "dendritic" in vals:
            D += vals["dendritic"][None, :]
        if "synaptic" in vals:
            D += vals["synaptic"]
        return D

    def grads(self, params: dict, dL_dD: np.ndarray) -> dict:
        """dL/dp for each kind from dL/dD_ij (n_pre, n_post)."""
        g = {}
        for kind in self.kinds:
            if kind == "axonal":
                gk = dL_dD.sum(axis=1)
            elif kind == "dendritic":
                gk = dL_dD.sum(axis=0)
            else:
                gk = dL_dD.copy()
            if self.reparam is not None:
                s = _sigmoid(params[kind])
                gk = gk * self.reparam[1] * s * (1.0 - s)
            g[kind] = gk
        return g

    def param_shapes(self, n_pre, n_post) -> dict:
        """The shape of each delay parameter array: axonal (n_pre,), dendritic (n_post,), synaptic (n_pre, n_post)."""
        return {kind: _shape(kind, n_pre, n_post) for kind in self.kinds}

    def n_params(self, n_pre, n_post) -> int:
        return int(sum(np.prod(_shape(k, n_pre, n_post)) for k in self.kinds))


def delivery_steps(delays, dt):
    """Integer Brian2 delays k, in steps of dt, of the delivery pathway.

    Brian2 detects a spike at clock time t_e when it crossed threshold in (t_e, t_e + dt] and
    delivers events on the time grid only. With the schedule groups -> synapses -> thresholds ->
    resets (models.network) a spike is pushed one step after its detection, and a pathway delay of
    k steps delivers it when the state stands at t_e + (k + 2) dt, before that step's threshold
    check. An event that arrives at t~ = T_pre + d belongs to the step whose end is the first grid
    time >= t~; since T_pre may lie anywhere inside its step, that is the delivery step or the one
    after, with k = ceil(d / dt) - 2. The model adds a due event to the state at once and holds
    one that arrives in the next step until then (`DELIVERY_DUE`, models.lif `on_pre`), so every
    threshold check sees exactly the inputs that arrived by then. Needs d >= 2 dt (see
    LayeredNetwork's `latency`).
    """
    d = np.asarray(delays, dtype=float)
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise ValueError("delays must be finite and non-negative")
    if np.any(d < 2 * dt * (1 - 1e-9)):
        raise ValueError(f"every transmission delay must be >= 2*dt ({2 * dt}) for exact event delivery; "
                         "raise the network's latency or lower dt")
    return np.maximum(0, np.ceil(d / dt - 1e-9).astype(np.int64) - 2)


#: the same k as `delivery_steps`, as a Brian2 expression of a synapse's `delay_exact` (used where
#: the pathway delays must be computed in generated code: the cpp_standalone device)
DELIVERY_STEP_CODE = "clip(ceil(delay_exact/dt - 1e-9) - 2, 0, 1e9)"


#: whether a delivered event arrives in the current step, on integer step indices so that the
#: decision does not depend on rounding: the event belongs to clock step m = ceil(arrival/dt) - 1
#: (the step whose end is the first grid time >= arrival); `arrival` is defined by the delivery code
DELIVERY_DUE = "due = int(ceil(arrival/dt) - 1 <= t_in_timesteps)"
