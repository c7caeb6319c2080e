"""Feed-forward theta-neuron networks: B batch copies in one Brian2 `Network` (block-diagonal).

Brian2 objects:
    sources   NeuronGroup   input spike sources; source i fires once, at its exact time t_cross
                            (with `input_levels`: one virtual source per input time level, see below)
    layers[l] NeuronGroup   theta neurons of layer l + 1 (models.qif.ThetaNeuron), B copies
    syn[l]    Synapses      layer l -> layer l + 1 (l = 0: the sources), on_pre = exact phase jump

Schedule (Brian2's default): groups -> thresholds -> synapses -> resets. A `run_regularly` right
after the thresholds writes the exact crossing time of each neuron that crossed; the Synapses of
projection l run with `order = l`, so a layer's crossing times are final (inputs arriving earlier
in the same step included) before the next projection reads them. Each neuron stores its first
`max_spikes` spike times of a trial in the reset (no monitor grows during an epoch).

Virtual inputs (`input_levels=k`, as in the reference implementation of Klos & Memmesheimer for
TTFS-coded images): inputs that spike at the same time act on a neuron like one input whose weight
is the sum of theirs (H(H(phi, w1), w2) = H(phi, w1 + w2) at equal times). Each copy then has k
sources, one per distinct input time, with per-copy weights sum_{i at that time} w_ij written before
the run: 784 x 100 synapses per copy become k x 100, and the network builds and runs much faster.
The record still holds every input's spike time, so the gradient rule sees the real inputs.

Master parameters, once, as numpy arrays: params[l] = {"w": (n_pre, n_post) pulse heights,
"phi0": (n_post,) initial phases of layer l + 1 (plain floats in the model's time unit)}.
Pseudodynamics and gradients: learning_rules.smooth_gradient.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, NeuronGroup, Synapses, ms, prefs, second

from .network import check_input_times
from .qif import SOURCE_EQUATIONS, SOURCE_SILENT, SOURCE_THRESHOLD, ThetaNeuron
from .running import run_network

__all__ = ["ThetaNetwork", "ThetaRecord"]

_NEVER = 1e9  # "no spike" sentinel in the Brian2 arrays (seconds); inf would poison 0*inf in code


@dataclass
class ThetaRecord:
    """One trial of B samples (plain floats, time unit of the model, relative to the trial start).

    spikes[l]: (B, n_l, max_spikes) spike times of layer l (l = 0: inputs, one spike each), inf-padded;
    counts[l]: (B, n_l) number of spikes (may exceed max_spikes for l >= 1);
    phi_T[l]: (B, n_l) phase at the trial end for l >= 1 (phi_T[0] is None).
    """

    spikes: list
    counts: list
    phi_T: list


class ThetaNetwork:
    """n_inputs -> layer_sizes[0] -> ... -> layer_sizes[-1], theta neurons, no delays.

    Parameters
    ----------
    n_inputs, layer_sizes : sizes
    model : ThetaNeuron (default: MNIST settings, tau = 6/pi ms, I0 = 5/4, Theta = 6 ms)
    duration : Quantity, trial length T;  dt : Quantity, time step
    batch_size : B copies per Brian2 run (a larger logical batch is split into runs of B)
    weight_scale : weights U(-a, a) / sqrt(fan_in) with a = weight_scale (reference 0.5)
    phi0 : initial phase of every neuron, a fraction of Theta (reference 1/2: silent at start)
    max_spikes : spike times stored per neuron and trial
    target : Brian2 code-generation target ('cython' or 'numpy')
    input_levels : None (one source per input) or k: at most k distinct input times per sample,
                   simulated through k virtual sources per copy (see the module docstring)
    """

    def __init__(self, n_inputs, layer_sizes, model=None, duration=None, dt=None, batch_size=1,
                 weight_scale=0.5, phi0=0.5, max_spikes=3, seed=0, target="cython", input_levels=None):
        self.model = model if model is not None else ThetaNeuron()
        if not hasattr(self.model, "Theta") or "phase_jump_map" not in getattr(self.model, "provides", ()):
            raise TypeError(f"ThetaNetwork needs a ThetaNeuron model, got {self.model!r}")
        tu = self.model.time_unit
        self.duration = 2 * ms if duration is None else duration
        self.dt = 0.01 * ms if dt is None else dt
        for name, q in (("duration", self.duration), ("dt", self.dt)):
            if not hasattr(q, "dim") or q.dim != second.dim or not float(q) > 0:
                raise TypeError(f"ThetaNetwork {name!r} must be a positive Brian2 time, e.g. {name}=2*ms")
        self.T = float(self.duration / tu)
        self.n_inputs = int(n_inputs)
        self.layer_sizes = [int(n) for n in layer_sizes]
        if self.n_inputs < 1 or not self.layer_sizes or min(self.layer_sizes) < 1:
            raise ValueError(f"need n_inputs >= 1 and positive layer_sizes, got {n_inputs!r}, {layer_sizes!r}")
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        self.max_spikes = int(max_spikes)
        self.input_levels = None if input_levels is None else int(input_levels)
        if self.input_levels is not None and self.input_levels < 1:
            raise ValueError(f"input_levels must be None or >= 1, got {input_levels!r}")
        self.target = target
        rng = np.random.default_rng(seed)
        sizes = [self.n_inputs] + self.layer_sizes
        Theta = self.model.Theta
        self.params = [{"w": rng.uniform(-weight_scale, weight_scale, (a, b)) / np.sqrt(a),
                        "phi0": np.full(b, float(phi0) * Theta)} for a, b in zip(sizes[:-1], sizes[1:])]
        self._net = None

    @property
    def sizes(self):
        return [self.n_inputs] + self.layer_sizes

    @property
    def n_layers(self):
        """Number of projections (= number of neuron layers)."""
        return len(self.layer_sizes)

    # ---- Brian2 ---------------------------------------------------------------------------------------
    def build(self):
        prefs.codegen.target = self.target
        B, m = self.batch_size, self.model
        ns = m.namespace
        slots = "\n".join(f"ts{k} : second" for k in range(self.max_spikes))
        # the threshold fired at the start of the synapse slot; an inhibitory input that arrived earlier in
        # the same step (on_pre, before the reset) can take the phase back below Theta: no spike then
        store = (f"fired = int({m.threshold})\n"
                 + "\n".join(f"ts{k} = fired*int(n_sp == {k})*t_cross + (1 - fired*int(n_sp == {k}))*ts{k}"
                             for k in range(self.max_spikes)))
        n_src = self.n_inputs if self.input_levels is None else self.input_levels
        self.sources = NeuronGroup(B * n_src, SOURCE_EQUATIONS, threshold=SOURCE_THRESHOLD, reset="",
                                   dt=self.dt, name="theta_sources")
        objs = [self.sources]
        self.layers, self.syn = [], []
        pre = self.sources
        for l, n in enumerate(self.layer_sizes):
            g = NeuronGroup(B * n, m.equations + f"n_sp : integer\n{slots}", threshold=m.threshold,
                            reset=f"{store}\nn_sp += fired\n{m.reset}", method="euler", namespace=ns,
                            dt=self.dt, name=f"theta_layer{l}")
            g.run_regularly(m.crossing, when="thresholds", order=1, name=f"theta_crossing{l}")
            n_pre = n_src if l == 0 else self.sizes[l]
            s = Synapses(pre, g, m.synapse_model, on_pre=m.on_pre, namespace=ns, dt=self.dt,
                         order=l, name=f"theta_syn{l}")
            bi = np.repeat(np.arange(B), n_pre * n)
            pi = np.tile(np.repeat(np.arange(n_pre), n), B)
            qi = np.tile(np.arange(n), B * n_pre)
            s.connect(i=bi * n_pre + pi, j=bi * n + qi)
            objs += [g, s]
            self.layers.append(g)
            self.syn.append(s)
            pre = g
        self._net = Network(objs)
        return self

    def load_params(self):
        """Broadcast the master weights into the B copies (call after changing params)."""
        for l, (s, p) in enumerate(zip(self.syn, self.params)):
            if l > 0 or self.input_levels is None:
                s.w_[:] = np.tile(p["w"].ravel(), self.batch_size)

    def check_inputs(self, input_times):
        x = check_input_times(input_times, self.n_inputs)
        if self.input_levels is not None:
            for i in range(0, len(x), self.batch_size):
                chunk = x[i:i + self.batch_size]
                n_levels = len(np.unique(chunk[np.isfinite(chunk)]))
                if n_levels > self.input_levels:
                    raise ValueError(f"the inputs have {n_levels} distinct spike times, more than input_levels="
                                     f"{self.input_levels}; raise input_levels or use input_levels=None")
        return x

    def simulate(self, input_times):
        """Run every sample (in chunks of batch_size copies) and return a ThetaRecord."""
        x = self.check_inputs(input_times)
        for l, p in enumerate(self.params):
            if not (np.all(np.isfinite(p["w"])) and np.all(np.isfinite(p["phi0"]))):
                raise ValueError(f"params[{l}] contain NaN or inf")
        if self._net is None:
            self.build()
        self.load_params()
        chunks = [self._run_chunk(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return ThetaRecord(*[[np.concatenate([c[k][l] for c in chunks]) if c0 is not None else None
                              for l, c0 in enumerate(chunks[0][k])] for k in range(3)])

    def _load_virtual_inputs(self, xin, t0, tu):
        """Per copy: source k fires at the k-th distinct input time, with the summed weights."""
        B, k = len(xin), self.input_levels
        levels = np.unique(xin[np.isfinite(xin)])  # at most k (check_inputs)
        t_src = np.full((B, k), SOURCE_SILENT)
        W = self.params[0]["w"]
        w_src = np.zeros((B, k, W.shape[1]))
        for m, lev in enumerate(levels):
            at = xin == lev
            t_src[at.any(axis=1), m] = t0 + lev * tu
            w_src[:, m] = at.astype(float) @ W
        self.sources.t_cross_[:] = t_src.ravel()
        self.syn[0].w_[:] = w_src.ravel()

    def _run_chunk(self, x):
        B, n_valid, tu = self.batch_size, len(x), float(self.model.time_unit)
        t0 = float(self._net.t)
        xin = np.full((B, self.n_inputs), np.inf)
        xin[:n_valid] = x
        if self.input_levels is None:
            self.sources.t_cross_[:] = np.where(np.isfinite(xin), t0 + xin * tu, SOURCE_SILENT).ravel()
        else:
            self._load_virtual_inputs(xin, t0, tu)
        Theta = self.model.Theta
        for g, p in zip(self.layers, self.params):
            g.phi_[:] = np.tile(np.clip(p["phi0"], 0.0, Theta) * tu, B)
            g.t_cross_[:] = -_NEVER
            g.n_sp_[:] = 0
            for k in range(self.max_spikes):
                getattr(g, f"ts{k}_")[:] = _NEVER
        run_network(self._net, self.duration)
        spikes = [np.where(np.isfinite(x), x, np.inf)[:, :, None]]
        counts = [np.isfinite(x).astype(int)]
        phi_T = [None]
        for g, n in zip(self.layers, self.layer_sizes):
            ts = np.stack([getattr(g, f"ts{k}_")[:].reshape(B, n) for k in range(self.max_spikes)], axis=2)
            spikes.append(np.where(ts < _NEVER / 2, (ts - t0) / tu, np.inf)[:n_valid])
            counts.append(np.array(g.n_sp_[:]).reshape(B, n)[:n_valid])  # a copy: the next chunk resets n_sp
            phi_T.append(g.phi_[:].reshape(B, n)[:n_valid] / tu)
        return spikes, counts, phi_T
