"""Feed-forward layered spiking networks as a description: topology, neuron model, delays, parameters.

A LayeredNetwork holds what the network IS, not how it runs: the layer sizes, the neuron model
(models.lif), the delay kinds (models.delays), the trial's time grid and length, and the master
parameters, once, as numpy arrays in `params[l]` = {"w": (n_pre, n_post), "axonal"/"dendritic"/
"synaptic": delay parameters} (plain floats: weights in the model's weight_unit, delays in tau_s;
n_pre counts the bias sources of projection l). A back end (brian2learn.backends) runs it and
returns one TrialRecord per trial; `backend=` picks it by name ("brian2", "brian2-cpp",
"brian2-cuda", "event", "pynn", ...) and `use_backend` changes it.

`layout(copies)` gives the block-diagonal connectivity of B batch copies that the Brian2 back ends
build, and the index of each synapse's master parameter, so parameters are broadcast, never copied
by hand.

Current inputs (`input_currents=True`): the n_inputs inputs are real values z_i, not spike times.
They never spike; instead each first-layer neuron j of batch copy b receives the constant current
I_ext_j = sum_i w_ij z_bi (weight_unit) from the start of the trial (models.lif, the I_ext term).
The input weights w_ij are the first projection's input rows, with their per-copy offsets, so they
are trained and perturbed like every other weight; the bias sources still spike.
"""
from __future__ import annotations

import contextlib
import copy

import numpy as np
from brian2 import second
from brian2.units.fundamentalunits import Quantity, fail_for_dimension_mismatch

from ..backends.base import TrialRecord
from .delays import DelayConfig
from .lif import LIF
from .weights import make_init

__all__ = ["LayeredNetwork", "TrialRecord", "check_input_times"]

#: the legacy `simulator=` / `device=` arguments and the back end each names
LEGACY_BACKENDS = {("brian2", "runtime"): "brian2", ("brian2", "cpp_standalone"): "brian2-cpp",
                   ("brian2", "cuda_standalone"): "brian2-cuda", ("replay", "runtime"): "event"}


def _as_time_float(name, value, time_unit):
    if isinstance(value, Quantity):
        fail_for_dimension_mismatch(value, second, f"{name} must be a time")
        return float(value / time_unit)
    raise TypeError(f"{name} must be a Brian2 time quantity (e.g. {name}=0.05*ms), got {value!r}")


def check_input_times(input_times, n_inputs, duration=None, time_unit=None):
    """Validate input spike times (n_samples, n_inputs), plain floats relative to the trial start
    (inf = no spike); with `duration`, every finite time must lie inside the trial. A Brian2 quantity
    must be a time and is converted with `time_unit` (the model's); without one it is refused."""
    if isinstance(input_times, Quantity):
        fail_for_dimension_mismatch(input_times, second, "input spike times must be times (e.g. x*ms) or plain "
                                                         "floats in units of the model's tau_s")
        if time_unit is None:
            raise TypeError("input spike times here are plain floats in units of tau_s; divide the quantity by "
                            "the model's time unit (x / model.time_unit)")
        input_times = np.asarray(input_times / time_unit, dtype=float)
    x = np.asarray(input_times, dtype=float)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ValueError(f"input spike times must have shape (n_samples, {n_inputs}), got {x.shape}")
    if np.any(np.isnan(x)):
        raise ValueError("input spike times contain NaN; use inf for an input that does not spike")
    if np.any(x < 0):
        raise ValueError("input spike times must be >= 0 (relative to the trial start)")
    if duration is not None and np.any(np.isfinite(x) & (x >= duration)):
        raise ValueError(f"input spike times must be < the trial duration ({duration} tau_s)")
    return x


def _initial_weights(spec, n_pre, n_post, rng):
    w = np.asarray(make_init(spec)(rng, n_pre, n_post), dtype=float)
    if w.shape != (n_pre, n_post) or not np.all(np.isfinite(w)):
        raise ValueError(f"weight init {spec!r} must give finite weights of shape {(n_pre, n_post)}")
    return w


class LayeredNetwork:
    """A feed-forward TTFS network, n_inputs -> layer_sizes[0] -> ... -> layer_sizes[-1].

    Parameters
    ----------
    n_inputs : int
    layer_sizes : sequence of int (hidden layers, then output)
    model : LIF (default: the DelGrad reference neuron)
    delays : DelayConfig, or a kind string such as 'synaptic' or 'axonal+dendritic' (None: none)
    n_bias : int or sequence (per projection): bias sources that fire at `bias_times`
    bias_times : Quantity, one time or one per projection
    weight_init : sequence, per projection, of (mean, std) (normal, in weight units) or an init from
                  models.weights (normal, ternary, ...)
    batch_size : int, B copies simulated at once
    dt : Quantity, time step;  duration : Quantity, trial length (a multiple of dt)
    seed : int, fixes the initial parameters
    latency : Quantity, fixed transmission delay of every connection (>= 2 dt; default 2 dt)
    record_states : bool, attach a StateMonitor to every neuron (small networks only)
    input_currents : bool, the inputs are real values driving the first layer as constant currents
                     (see the module docstring), not spike times
    backend : what runs `run_trials` / `simulate`: a name of brian2learn.backends.BACKENDS ('brian2'
              by default: the Brian2 runtime; 'event': exact closed forms, no time grid; 'brian2-cpp',
              'brian2-cuda', 'pynn', ...) or a back-end object; `backend_options` go to its class
              (e.g. target='numpy' for 'brian2', directory / threads for 'brian2-cpp')
    simulator, device, target, standalone_dir, threads : the older spelling of the same choice
              (simulator='replay' is backend='event'; device='cpp_standalone' is 'brian2-cpp',
              'cuda_standalone' is 'brian2-cuda'; target, standalone_dir and threads are their options)
    """

    def __init__(self, n_inputs, layer_sizes, model=None, delays=None, n_bias=1, bias_times=None,
                 weight_init=((1.0, 1.0), (0.5, 1.0)), batch_size=1, dt=None, duration=None, seed=0,
                 latency=None, record_states=False, input_currents=False, backend=None, backend_options=None,
                 target=None, device="runtime", standalone_dir=None, threads=None, simulator="brian2"):
        self.model = model if model is not None else LIF()
        tu = self.model.time_unit
        self.n_inputs = int(n_inputs)
        self.layer_sizes = [int(n) for n in layer_sizes]
        if self.n_inputs < 1 or not self.layer_sizes or min(self.layer_sizes) < 1:
            raise ValueError(f"need n_inputs >= 1 and non-empty positive layer_sizes, got "
                             f"{n_inputs!r}, {layer_sizes!r}")
        L = len(self.layer_sizes)
        self.n_bias = [int(n_bias)] * L if np.isscalar(n_bias) else [int(n) for n in n_bias]
        if len(self.n_bias) != L or min(self.n_bias) < 0:
            raise ValueError(f"n_bias must be one count >= 0 or one per projection ({L}), got {n_bias!r}")
        if bias_times is None:
            bias_times = 0.9 * tu
        bt = np.atleast_1d(np.asarray(bias_times / tu, dtype=float)) if isinstance(bias_times, Quantity) \
            else _as_time_float("bias_times", bias_times, tu)
        self.bias_times = np.broadcast_to(bt, (L,)).astype(float).copy()
        if np.any(self.bias_times < 0) or not np.all(np.isfinite(self.bias_times)):
            raise ValueError(f"bias_times must be finite and >= 0, got {bias_times!r}")
        self.delay_config = delays if isinstance(delays, DelayConfig) else DelayConfig(kinds=delays)
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        self.dt = _as_time_float("dt", dt if dt is not None else 0.01 * tu, tu)
        self.duration = _as_time_float("duration", duration if duration is not None else 6.0 * tu, tu)
        n_steps = self.duration / self.dt
        if self.dt <= 0 or abs(n_steps - round(n_steps)) > 1e-6 or round(n_steps) < 2:
            raise ValueError(f"duration ({duration!r}) must be a positive multiple (>= 2) of dt ({dt!r})")
        self.latency = _as_time_float("latency", latency, tu) if latency is not None else 2 * self.dt
        if self.latency < 2 * self.dt * (1 - 1e-9):
            raise ValueError(f"latency ({latency!r}) must be >= 2*dt for exact event delivery; "
                             "lower dt or raise latency")
        self.input_currents = bool(input_currents)
        self.record_states = bool(record_states)
        weight_init = list(weight_init)
        if len(weight_init) < L:
            weight_init += [weight_init[-1]] * (L - len(weight_init))
        self.weight_init = weight_init[:L]
        self.rng = np.random.default_rng(seed)
        self.params = []
        for l in range(L):
            n_pre, n_post = self.n_pre(l), self.layer_sizes[l]
            p = {"w": _initial_weights(self.weight_init[l], n_pre, n_post, self.rng)}
            p.update(self.delay_config.init_params(n_pre, n_post, self.rng))
            self.params.append(p)
        self.copy_offsets = None  # optional per-copy weight offsets, see set_copy_offsets
        self._backend = None
        self._brian2_target = target or "cython"   # what use_simulator('brian2') runs on
        backend, options = _legacy_backend(backend, dict(backend_options or {}), simulator, device, target,
                                           standalone_dir, threads)
        self.use_backend(backend, **options)

    # ---- shapes ----------------------------------------------------------------------------
    @property
    def n_layers(self):
        return len(self.layer_sizes)

    def n_pre(self, l):
        """Presynaptic population of projection l: previous layer, then its bias sources."""
        prev = self.n_inputs if l == 0 else self.layer_sizes[l - 1]
        return prev + self.n_bias[l]

    @property
    def n_weights(self):
        return int(sum(p["w"].size for p in self.params))

    @property
    def n_delays(self):
        return int(sum(self.delay_config.n_params(self.n_pre(l), self.layer_sizes[l])
                       for l in range(self.n_layers)))

    def total_delays(self, l):
        """D_ij of projection l (tau_s units): latency plus the delay kinds in use."""
        return self.latency + self.delay_config.total(self.params[l], self.n_pre(l), self.layer_sizes[l])

    def weights_q(self, l):
        """Weights of projection l as a Brian2 quantity."""
        return self.params[l]["w"] * self.model.weight_unit

    def delays_q(self, l):
        return self.total_delays(l) * self.model.time_unit

    def params_changed(self):
        """Call after editing `params` in place: the next trial uses them."""
        self._backend.params_changed()

    def set_copy_offsets(self, dw):
        """Give batch copy b the weights params + dw[b] (None: every copy gets the master weights).

        dw: (batch_size, n_weights) plain floats in weight units, flattened like
        concatenate([p["w"].ravel() for p in params]). The master `params` are never changed; the
        offsets apply from the next trial until replaced. Used by the weight-perturbation rule to
        run a clean copy and its perturbed copies in one Brian2 run (learning_rules.perturbation).
        """
        if dw is not None:
            dw = np.asarray(dw, dtype=float)
            if dw.shape != (self.batch_size, self.n_weights):
                raise ValueError(f"copy offsets must have shape (batch_size, n_weights) = "
                                 f"{(self.batch_size, self.n_weights)}, got {dw.shape}")
            if not np.all(np.isfinite(dw)):
                raise ValueError("copy offsets contain NaN or inf")
        self.copy_offsets = dw
        if dw is not None:
            from ..backends import check_supported

            check_supported(self._backend, self)
        self._backend.offsets_changed()

    def signature(self):
        """What a compiled program of this network depends on (names cache folders)."""
        return repr((self.n_inputs, self.layer_sizes, self.n_bias, self.batch_size, self.dt, self.duration,
                     self.latency, sorted((k, repr(v)) for k, v in self.model.namespace.items()),
                     type(self.model).__name__, self.record_states))

    def description_copy(self, batch_size=None):
        """A copy of the description (same parameters, copied) without back-end state, e.g. to send
        to another process; `batch_size` changes the number of batch copies."""
        backend, self._backend = self._backend, None
        try:
            twin = copy.deepcopy(self)
        finally:
            self._backend = backend
        if batch_size is not None:
            twin.batch_size = int(batch_size)
        return twin

    # ---- connectivity of B batch copies ---------------------------------------------------
    def layout(self, copies=None):
        """Index bookkeeping: source columns, neuron columns, synapses and their parameter indices
        (for `copies` batch copies, default batch_size)."""
        B, L = self.batch_size if copies is None else int(copies), self.n_layers
        n_src = self.n_inputs + sum(self.n_bias)
        bias_col = np.cumsum([self.n_inputs] + self.n_bias)[:-1]  # first source column of bias l
        n_lif = sum(self.layer_sizes)
        lif_col = np.cumsum([0] + self.layer_sizes)[:-1]
        param_off = np.cumsum([0] + [self.n_pre(l) * self.layer_sizes[l] for l in range(L)])[:-1]
        src_pre, src_post, src_idx, lif_pre, lif_post, lif_idx = ([] for _ in range(6))
        b = np.arange(B)[:, None, None]
        for l in range(L):
            n_post = self.layer_sizes[l]
            n_prev = self.n_pre(l) - self.n_bias[l]
            rows = np.arange(self.n_pre(l))
            cols = np.arange(n_post)
            pidx = param_off[l] + rows[:, None] * n_post + cols[None, :]
            post = b * n_lif + lif_col[l] + cols[None, None, :]
            # rows coming from the previous population
            prev_rows = rows[:n_prev]
            if l == 0:
                pre = b * n_src + prev_rows[None, :, None]
                target = (src_pre, src_post, src_idx)
            else:
                pre = b * n_lif + lif_col[l - 1] + prev_rows[None, :, None]
                target = (lif_pre, lif_post, lif_idx)
            shape = (B, n_prev, n_post)
            target[0].append(np.broadcast_to(pre, shape).ravel())
            target[1].append(np.broadcast_to(post, shape).ravel())
            target[2].append(np.broadcast_to(pidx[None, :n_prev, :], shape).ravel())
            # bias rows (always from the sources group)
            nb = self.n_bias[l]
            if nb:
                shape_b = (B, nb, n_post)
                pre_b = b * n_src + bias_col[l] + np.arange(nb)[None, :, None]
                src_pre.append(np.broadcast_to(pre_b, shape_b).ravel())
                src_post.append(np.broadcast_to(post, shape_b).ravel())
                src_idx.append(np.broadcast_to(pidx[None, n_prev:, :], shape_b).ravel())
        cat = lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.empty(0, np.int64)
        return dict(n_src=n_src, bias_col=bias_col, n_lif=n_lif, lif_col=lif_col,
                    src=(cat(src_pre), cat(src_post), cat(src_idx)),
                    lif=(cat(lif_pre), cat(lif_post), cat(lif_idx)))

    def check_params(self):
        """Refuse (ValueError) parameter arrays of the wrong names or shapes, naming the projection, the
        array, the expected and the received shape, before any compiled loop or Brian2 run reads them."""
        if len(self.params) != self.n_layers:
            raise ValueError(f"params must hold one dict per projection ({self.n_layers}), got {len(self.params)}")
        for l, p in enumerate(self.params):
            n_pre, n_post = self.n_pre(l), self.layer_sizes[l]
            expected = {"w": (n_pre, n_post), **self.delay_config.param_shapes(n_pre, n_post)}
            if set(p) != set(expected):
                raise ValueError(f"params[{l}] holds {sorted(p)}, the network's projection {l} needs {sorted(expected)}")
            for key, shape in expected.items():
                got = np.shape(p[key])
                if got != shape:
                    raise ValueError(f"params[{l}][{key!r}] has shape {got}; projection {l} needs {shape} "
                                     f"({n_pre} presynaptic = {n_pre - self.n_bias[l]} neurons + {self.n_bias[l]} bias, "
                                     f"{n_post} postsynaptic): assign an array of that shape")

    def checked_flat_params(self):
        """All weights and total delays as flat arrays, after check_params; FloatingPointError if one is
        NaN, inf or a delay negative (a diverged training step), before anything is simulated."""
        self.check_params()
        w_flat = np.concatenate([p["w"].ravel() for p in self.params])
        d_flat = np.concatenate([self.total_delays(l).ravel() for l in range(self.n_layers)])
        if not np.all(np.isfinite(w_flat)):
            raise FloatingPointError("a weight became NaN or inf; lower the learning rate or check the loss")
        if not np.all(np.isfinite(d_flat)) or np.any(d_flat < 0):
            raise FloatingPointError("a delay became negative, NaN or inf; clip delays or use reparam")
        return w_flat, d_flat

    def check_inputs(self, input_times):
        """Validate input spike times (plain floats in tau_s units, inf = no spike), or with
        input_currents the input values (finite)."""
        if self.input_currents:
            z = np.asarray(input_times, dtype=float)
            if z.ndim != 2 or z.shape[1] != self.n_inputs:
                raise ValueError(f"input values must have shape (n_samples, {self.n_inputs}), got {z.shape}")
            if not np.all(np.isfinite(z)):
                raise ValueError("input values (input_currents=True) must be finite; encode a missing input as 0")
            return z
        return check_input_times(input_times, self.n_inputs, self.duration, self.model.time_unit)

    # ---- running on the back end -------------------------------------------------------------
    @property
    def backend(self):
        """The back end that runs `run_trials` and `simulate` (brian2learn.backends)."""
        return self._backend

    def use_backend(self, backend, **options):
        """Run this network on `backend` (a name or a back-end object) from now on; checked here."""
        from ..backends import make

        new = make(backend, **options).bind(self)
        self._backend = new
        return new

    @contextlib.contextmanager
    def using(self, backend, **options):
        """Within the block, run trials on `backend`, same parameters; e.g. test a network trained on
        the event back end with the Brian2 run: `with net.using("brian2"): trainer.evaluate()`."""
        saved = self._backend
        self.use_backend(backend, **options)
        try:
            yield self
        finally:
            self._backend = saved
            saved.params_changed()     # parameters changed inside the block reach the restored back end

    # the older spelling: simulator='brian2' / 'replay'
    @property
    def simulator(self):
        return "replay" if self._backend.name == "event" else "brian2"

    def use_simulator(self, simulator):
        """`using("event")` for simulator='replay', `using("brian2")` for 'brian2'."""
        if simulator not in ("replay", "brian2"):
            raise ValueError(f"simulator must be 'brian2' or 'replay', got {simulator!r} (or use net.using(backend))")
        return self.using("event") if simulator == "replay" else self.using("brian2", target=self._brian2_target)

    def build(self):
        """Create the back end's simulator objects now (the first run does it otherwise)."""
        return self._backend.build()

    def layer(self, l):
        """Brian2 Subgroup of layer l (Brian2 back ends, batch_size 1), to attach monitors."""
        return self._backend.layer(l)

    def run_trials(self, input_times, callback, batch_order=None):
        """Simulate len(input_times) samples in trials of batch_size on the back end.

        `callback(k, record)` is called after trial k with its TrialRecord; it may change
        `self.params` (then call `params_changed()`), and trial k + 1 uses the new parameters.
        `batch_order`: sample indices, in the order they are used (default: as given).
        """
        x = self.check_inputs(input_times)
        return self._backend.run_trials(self, x, callback, batch_order)

    def backward(self, rule, record, dL_dT):
        """The learning rule's parameter gradients for a trial record (the back end may spread the
        work, e.g. over data-parallel workers)."""
        return self._backend.backward(self, rule, record, dL_dT)

    def simulate(self, input_times):
        """Spike times for each sample: list of arrays (n_samples, n) per layer (input first)."""
        x = self.check_inputs(input_times)
        out = [[] for _ in range(self.n_layers + 1)]

        def collect(k, rec):
            for l, t in enumerate(rec.layers):
                out[l].append(t[:rec.n_valid])

        self.run_trials(x, collect)
        return [np.concatenate(o) for o in out]


def _legacy_backend(backend, options, simulator, device, target, standalone_dir, threads):
    """The back end and its options from `backend=` or from the older simulator/device/target."""
    # target is also what use_simulator('brian2') runs on, so the older spelling may give it with 'replay'
    keep_target = target == "cython" or (simulator == "replay" and backend is None)
    legacy = dict(target=None if keep_target else target, directory=standalone_dir, threads=threads)
    if backend is None:
        if (simulator, device) not in LEGACY_BACKENDS:
            raise ValueError(f"simulator={simulator!r} with device={device!r} names no back end; use "
                             "backend='brian2', 'brian2-cpp', 'brian2-cuda' or 'event' (brian2learn.backends)")
        backend = LEGACY_BACKENDS[(simulator, device)]
    elif (simulator, device) != ("brian2", "runtime"):
        raise ValueError(f"give the back end once: backend={backend!r} or simulator/device, not both")
    accepted = {"brian2": ("target",), "brian2-cpp": ("directory", "threads"), "brian2-cuda": ("directory",)}
    for key, value in legacy.items():
        if value is None:
            continue
        if key not in accepted.get(backend, ()):
            raise ValueError(f"{'standalone_dir' if key == 'directory' else key}={value!r} does not apply to "
                             f"backend {backend!r}; drop it")
        options.setdefault(key, value)
    return backend, options
