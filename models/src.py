"""The spiking recurrent cell (SRC) as discrete-time, clock-driven Brian2 equations.

De Geeter, Ernst & Drion, "Spike-based computation using classical recurrent neural networks",
Neuromorphic Computing and Engineering 4, 024007 (2024), arXiv 2306.03623. A GRU whose gates are
fixed so that the cell makes spikes, while every operation stays differentiable. One step per dt
(step t, plain numbers, no units inside the cell):

    i[t]   = alpha i[t-1] + W s_in[t] (+ V s[t-1], optional lateral recurrence)   input integration
    x[t]   = rho tanh(i[t] / rho)                                                  bounded input
    h[t]   = z h[t-1] + (1 - z) tanh(x[t] + r h[t-1] + r_s h_s[t-1] + b_h)         fast state
    h_s[t] = z_s h_s[t-1] + (1 - z_s) h[t-1],   z_s = z_s_hyp if h[t-1] <= h_th    slow state
                                                z_s = z_s_dep otherwise
    s[t]   = ReLU(h[t])                                                            output "spike"

Constants (class SRC): alpha = 0.9, rho = 3, r = 2 (positive feedback: the upstroke), r_s = -7
(slow negative feedback: refractoriness), z = 0, z_s = 0.9 below h_th = 0.5 and 0 above it (the
slow state follows h at once during a spike and relaxes slowly after it), b_h learnable, initialised
at -6 and capped at b_h <= -4 (the cell is excitable but silent without input). Verification: the
paper's PDF could not be opened offline here. A public overview of the paper gives the same gates
r = 2, r_s = -7, z = 0 and a voltage-dependent z_s; a public PyTorch reimplementation uses the same
alpha = 0.9, rho = 3, z_s = 0.9 / 0 switched by h[t-1] > 0.5, b_h init -6 and cap -4, zero initial
states, and the gradient stops offered in learning_rules.bptt. Not confirmed against the paper
itself: alpha, rho, the b_h values and the initial state (all zeros here, so the first ~15 steps are
a transient while h_s settles from 0 towards rest, h ~ -1).

Brian2 form (one NeuronGroup per layer, clock-driven): the output spike s of a layer is a graded
value, sent every step by a Synapses object into a `(summed)` input variable of the next layer:

    I_ff_post = w * s_pre : 1 (summed)          feed-forward,  layer l-1 -> l
    I_rec_post = w * s_pre : 1 (summed)         lateral recurrence, layer l -> l (optional)

and the cell update is the readable abstract code `SRC.update_code()`, run every step with
`run_regularly`. Order within a step: layer 1's inputs are summed, layer 1 updates, then layer 2's
inputs are summed from layer 1's new s[t], ... (Brian2 schedules a summed-variable update at
`order - 1` of its target group), so a deep network passes a spike through all layers in one step,
as the discrete-time equations above. The lateral input reads s[t-1] (summed before the update).

Readouts (the last layer): 'counts' — an SRC layer whose output spikes are summed over the trial
(logits = sum_t s[t]); 'membrane' — a non-spiking leaky integrator, i[t] = alpha i[t-1] + W s[t]
with logits = mean_t i[t]. (Both are ours: the paper's output layer and loss were not confirmed.)

`simulate_brian2` runs B batch copies (block-diagonal synapses) and records i, h, h_s, s per step
with StateMonitors; `models.src_fast.simulate_numpy` is the same equations as vectorised numpy
(tested equal to this run to float tolerance) and is what training uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import (Network, NeuronGroup, StateMonitor, Synapses, TimedArray, defaultclock, ms, prefs,
                    second)
from brian2.units.fundamentalunits import fail_for_dimension_mismatch

from .running import run_network

__all__ = ["SRC", "SRCNetwork", "READOUTS", "simulate_brian2", "check_inputs", "readout_logits"]

READOUTS = ("counts", "membrane")


@dataclass(frozen=True)
class SRC:
    """The cell's fixed constants (see the module docstring); b_h is a per-neuron parameter."""
    alpha: float = 0.9
    rho: float = 3.0
    r: float = 2.0
    r_s: float = -7.0
    z: float = 0.0
    z_s_hyp: float = 0.9
    z_s_dep: float = 0.0
    h_th: float = 0.5
    b_h_init: float = -6.0
    b_h_max: float = -4.0

    def __post_init__(self):
        for name in ("alpha", "rho", "r", "r_s", "z", "z_s_hyp", "z_s_dep", "h_th", "b_h_init", "b_h_max"):
            v = getattr(self, name)
            if not np.isfinite(v):
                raise ValueError(f"SRC.{name} must be finite, got {v}")
        if not 0 <= self.alpha < 1:
            raise ValueError(f"SRC.alpha must lie in [0, 1), got {self.alpha}")
        if self.rho <= 0:
            raise ValueError(f"SRC.rho must be > 0, got {self.rho}")
        if not 0 <= self.z < 1:
            raise ValueError(f"SRC.z must lie in [0, 1) (z = 1 freezes h), got {self.z}")
        if self.b_h_init > self.b_h_max:
            raise ValueError(f"SRC.b_h_init ({self.b_h_init}) must be <= b_h_max ({self.b_h_max})")

    # --- Brian2 -----------------------------------------------------------------------------
    @staticmethod
    def equations(readout=False):
        """Per-neuron variables of an SRC layer (all dimensionless), or of the integrator readout."""
        if readout:
            return "i_x : 1\nI_ff : 1"
        return """
        i_x : 1        # integrated input current
        h : 1          # fast state (membrane potential)
        h_s : 1        # slow state (refractoriness)
        s : 1          # output spike, ReLU(h)
        b_h : 1 (constant)
        I_ff : 1       # feed-forward input, summed by Synapses
        I_rec : 1      # lateral recurrent input, summed by Synapses
        """

    @staticmethod
    def update_code(readout=False):
        """One time step of the cell, as Brian2 abstract code (edit it to change the cell)."""
        if readout:
            return "i_x = alpha * i_x + I_ff"
        return """
        z_s = z_s_hyp + (z_s_dep - z_s_hyp) * int(h > h_th)
        i_x = alpha * i_x + I_ff + I_rec
        x = rho * tanh(i_x / rho)
        h_new = tanh(x + r * h + r_s * h_s + b_h)
        h_s = z_s * h_s + (1 - z_s) * h
        h = z * h + (1 - z) * h_new
        s = h * int(h > 0)
        """

    def namespace(self):
        return {k: getattr(self, k) for k in ("alpha", "rho", "r", "r_s", "z", "z_s_hyp", "z_s_dep", "h_th")}


@dataclass
class SRCNetwork:
    """Layers of SRC cells: n_in inputs -> sizes[0] -> ... -> sizes[-1] (the readout layer).

    `params[l]` = {"w": (n_pre, n_post), "b_h": (n_post,)} (+ "w_rec": (n_post, n_post) for hidden
    layers when `recurrent`); the integrator readout has no "b_h". Weights start uniform in
    +-1/sqrt(n_pre) (PyTorch's default, as in the reimplementation), recurrent ones in
    +-1/sqrt(n_post), b_h at `cell.b_h_init`.
    """
    n_in: int
    sizes: tuple
    recurrent: bool = False
    readout: str = "counts"
    cell: SRC = field(default_factory=SRC)
    seed: int = 0
    params: list = field(init=False)

    def __post_init__(self):
        self.sizes = tuple(int(n) for n in self.sizes)
        if int(self.n_in) < 1 or not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"need n_in >= 1 and at least one layer of size >= 1, got n_in={self.n_in}, "
                             f"sizes={self.sizes}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        rng = np.random.RandomState(self.seed)
        self.params = []
        n_pre = int(self.n_in)
        for l, n in enumerate(self.sizes):
            lim = 1.0 / np.sqrt(n_pre)
            p = {"w": rng.uniform(-lim, lim, (n_pre, n))}
            if not self.is_integrator(l):
                p["b_h"] = np.full(n, self.cell.b_h_init)
            if self.recurrent and l < self.n_layers - 1:
                p["w_rec"] = rng.uniform(-1 / np.sqrt(n), 1 / np.sqrt(n), (n, n))
            self.params.append(p)
            n_pre = n

    @property
    def n_layers(self):
        return len(self.sizes)

    def is_integrator(self, l):
        """True for the non-spiking readout layer ('membrane' readout)."""
        return self.readout == "membrane" and l == self.n_layers - 1

    def cap_biases(self):
        """b_h <= b_h_max (call after every optimiser step)."""
        for p in self.params:
            if "b_h" in p:
                np.minimum(p["b_h"], self.cell.b_h_max, out=p["b_h"])

    def check_params(self):
        for l, p in enumerate(self.params):
            for k, v in p.items():
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"params[{l}][{k!r}] contains NaN or inf; lower the learning rate "
                                     f"or re-initialise the network")


def check_inputs(net, s_in):
    """Input spikes as a float array (B, T, n_in) (float32/64 kept, else float64); refuses wrong
    shapes and non-finite values."""
    s_in = np.asarray(s_in)
    if s_in.dtype not in (np.float32, np.float64):
        s_in = s_in.astype(float)
    if s_in.ndim != 3 or s_in.shape[2] != net.n_in:
        raise ValueError(f"input spikes must have shape (batch, steps, n_in={net.n_in}), got {s_in.shape}")
    if s_in.shape[0] < 1 or s_in.shape[1] < 1:
        raise ValueError(f"input spikes are empty (shape {s_in.shape}): need at least one sample and one step")
    if not np.all(np.isfinite(s_in)):
        raise ValueError("input spikes contain NaN or inf")
    net.check_params()
    return s_in


def _block_diagonal(n_pre, n_post, batch, w):
    """Indices and weights of B copies of an all-to-all projection (copy b: pre b*n_pre.., post b*n_post..)."""
    pre = np.repeat(np.arange(n_pre), n_post)
    post = np.tile(np.arange(n_post), n_pre)
    b = np.arange(batch)[:, None]
    return ((b * n_pre + pre).ravel(), (b * n_post + post).ravel(), np.tile(w.ravel(), batch))


def simulate_brian2(net, s_in, dt=1 * ms, target="numpy"):
    """Run B batch copies of `net` in Brian2 on input spikes s_in (B, T, n_in), one step per dt.

    Returns the record: a list per layer of dicts with arrays (B, T, n) "i_x", and for SRC layers
    "h", "h_s", "s" (values after the update of each step), plus "logits" (B, n_out).
    """
    fail_for_dimension_mismatch(dt, second, "dt must be a time, e.g. 1*ms")
    if not float(dt) > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    s_in = check_inputs(net, s_in)
    B, T, n_in = s_in.shape
    prefs.codegen.target = target
    defaultclock.dt = dt
    stim = TimedArray(s_in.transpose(1, 0, 2).reshape(T, B * n_in), dt=dt)
    source = NeuronGroup(B * n_in, "s = stim(t, i) : 1", namespace={"stim": stim}, name="src_input")
    objects, monitors = [source], []
    pre, n_pre = source, n_in
    ns = net.cell.namespace()
    for l, (n, p) in enumerate(zip(net.sizes, net.params)):
        integ = net.is_integrator(l)
        g = NeuronGroup(B * n, SRC.equations(integ), namespace=ns, order=2 * l + 2, name=f"src_layer{l}")
        g.run_regularly(SRC.update_code(integ), when="groups", order=2 * l + 2, name=f"src_update{l}")
        if not integ:
            g.b_h = np.tile(p["b_h"], B)
        ff = Synapses(pre, g, "w : 1\nI_ff_post = w * s_pre : 1 (summed)", name=f"src_ff{l}")
        i, j, w = _block_diagonal(n_pre, n, B, p["w"])
        ff.connect(i=i, j=j)
        ff.w = w
        objects += [g, ff]
        if "w_rec" in p:
            rec = Synapses(g, g, "w : 1\nI_rec_post = w * s_pre : 1 (summed)", name=f"src_rec{l}")
            i, j, w = _block_diagonal(n, n, B, p["w_rec"])
            rec.connect(i=i, j=j)
            rec.w = w
            objects.append(rec)
        variables = ["i_x"] if integ else ["i_x", "h", "h_s", "s"]
        mon = StateMonitor(g, variables, record=True, when="end", name=f"src_mon{l}")
        objects.append(mon)
        monitors.append((mon, variables, n))
        pre, n_pre = g, n
    run_network(Network(*objects), T * dt, namespace={"stim": stim})
    record = []
    for mon, variables, n in monitors:
        # StateMonitor gives (neurons, steps); neuron b*n + k is copy b, cell k
        record.append({v: getattr(mon, v)[:, :T].reshape(B, n, T).transpose(0, 2, 1).copy() for v in variables})
    record.append({"logits": readout_logits(net, record)})
    return record


def readout_logits(net, record):
    """Logits (B, n_out) of a record: summed output spikes ('counts') or mean integrator ('membrane')."""
    last = record[net.n_layers - 1]
    return last["i_x"].mean(axis=1) if net.readout == "membrane" else last["s"].sum(axis=1)
