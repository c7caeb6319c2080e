"""Feed-forward layered spiking networks: B batch copies of the network in one Brian2 `Network`.

Brian2 objects (all batch copies share them, block-diagonal connectivity):

    sources   NeuronGroup  input and bias spike sources; source i fires once, at t_in
    neurons   NeuronGroup  every LIF neuron of every layer (the model's equations)
    syn_src   Synapses     sources -> neurons (first layer, and the bias of every layer)
    syn_lif   Synapses     neurons -> neurons (layer l -> layer l + 1)

`net.layer(l)` gives the Brian2 Subgroup of layer l (batch copy b is `layer(l)[b*n_l:(b+1)*n_l]`),
so users can attach their own monitors.

The master parameters live once, as numpy arrays in `params[l]` = {"w": (n_pre, n_post),
"axonal"/"dendritic"/"synaptic": delay parameters} (plain floats: weights in the model's
weight_unit, delays in tau_s; n_pre counts the bias sources of projection l), and are broadcast
into the B copies before each trial. One `Network.run` simulates many trials; a
`network_operation` at each trial boundary reads the spike times, hands them to a callback (the
learning rule), loads the next inputs and resets the state and the spike queues, so nothing leaks
from one trial into the next (DESIGN.md, "The flow of one training step").

Exact event delivery: the schedule groups -> synapses -> thresholds -> resets; an event is delivered
in the step that contains its arrival or in the step before, and the model holds it until its step
then (models.delays.delivery_steps, models.lif `on_pre` and `flush_code`), so every threshold check
sees exactly the inputs that arrived by then. That needs a transmission delay of at least 2 dt
on every connection: `latency` (default 2 dt) is added to all delays, like a synaptic latency.

Current inputs (`input_currents=True`): the n_inputs inputs are real values z_i, not spike times.
They never spike; instead each first-layer neuron j of batch copy b receives the constant current
I_ext_j = sum_i w_ij z_bi (weight_unit) from the start of the trial (models.lif, the I_ext term).
The input weights w_ij are the first projection's input rows, with their per-copy offsets, so they
are trained and perturbed like every other weight; the bias sources still spike.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from brian2 import (Network, NetworkOperation, NeuronGroup, StateMonitor, Synapses, prefs,
                    second)
from brian2.units.fundamentalunits import Quantity, fail_for_dimension_mismatch

from .delays import DELIVERY_DUE, DELIVERY_STEP_CODE, DelayConfig, delivery_steps
from .lif import LIF, N_KEPT_ARRIVALS
from .running import run_network
from .standalone import DEVICES as STANDALONE_DEVICES
from .standalone import StandaloneProject, default_directory, load_brian2cuda
from .weights import make_init

__all__ = ["LayeredNetwork", "TrialRecord"]


class _LatestArrivalFilter(logging.Filter):
    """Brian2 warns that on_pre code may depend on the order of execution: in ours only the
    tracking of the latest arrival (a maximum) does, and a maximum does not depend on the order."""

    def filter(self, record):
        msg = record.getMessage()
        return not ("may depend on the order of execution" in msg and "t_spike_pre + delay_exact" in msg)


logging.getLogger("brian2.codegen.generators.base").addFilter(_LatestArrivalFilter())

SCHEDULE = ["start", "groups", "synapses", "thresholds", "resets", "end"]

#: per-neuron state that the model's reset_state puts back to rest at the start of each trial
NEURON_STATE = tuple(LIF.REST)

SOURCE_EQUATIONS = """
t_in : second          # when this source fires in the current trial (inf: silent)
t_spike : second
has_spiked : boolean
"""


@dataclass
class TrialRecord:
    """Spike times of one trial (plain floats, tau_s units, relative to trial start; inf = silent).

    layers[0] is the input (B, n_in); layers[l] for l >= 1 the LIF layer l - 1 (B, n_l);
    bias[l] the bias spike times of projection l (B, n_bias_l); n_valid the samples in use.
    """

    layers: list
    bias: list
    n_valid: int
    states: dict = field(default_factory=dict)

    def presynaptic(self, l):
        """Spike times of the presynaptic population of projection l: (B, n_pre_l)."""
        return np.concatenate([self.layers[l], self.bias[l]], axis=1)

    @property
    def output(self):
        return self.layers[-1]


def source_group(n, dt, **kwargs):
    """The input and bias spike sources: source i fires once per trial, at its `t_in` (exact time in
    `t_spike`); `kwargs` go to the NeuronGroup (e.g. custom events)."""
    return NeuronGroup(n, SOURCE_EQUATIONS, threshold="not has_spiked and t + dt >= t_in",
                       reset="t_spike = t_in\nhas_spiked = True", dt=dt, name="sources", **kwargs)


def _as_time_float(name, value, time_unit):
    if isinstance(value, Quantity):
        fail_for_dimension_mismatch(value, second, f"{name} must be a time")
        return float(value / time_unit)
    raise TypeError(f"{name} must be a Brian2 time quantity (e.g. {name}=0.05*ms), got {value!r}")


def check_input_times(input_times, n_inputs, duration=None):
    """Validate input spike times (n_samples, n_inputs), plain floats relative to the trial start
    (inf = no spike); with `duration`, every finite time must lie inside the trial."""
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
    target : Brian2 runtime code-generation target: 'cython' (default) or 'numpy'
    device : 'runtime' (default: one Brian2 run per epoch, the learning rule as a network_operation
             at trial boundaries), 'cpp_standalone' (compiled once into a C++ program, one run of it
             per trial with the parameters and inputs as run_args; see models.standalone) or
             'cuda_standalone' (the same with brian2cuda on a GPU: the `gpu` extra)
    standalone_dir : folder of the standalone project (default: a per-network cache folder)
    threads : OpenMP threads of the cpp_standalone program (default: none)
    latency : Quantity, fixed transmission delay of every connection (>= 2 dt; default 2 dt)
    record_states : bool, attach a StateMonitor to every neuron (small networks only)
    input_currents : bool, the inputs are real values driving the first layer as constant currents
                     (see the module docstring), not spike times; runtime device only
    simulator : 'brian2' (default: the Brian2 run on `device`) or 'replay' (models.lif_replay: the
                exact first spike times from the closed forms of tau_m = tau_s or 2 tau_s, event by
                event in numpy, no Brian2 and no time grid; same records, same learning rules)
    """

    def __init__(self, n_inputs, layer_sizes, model=None, delays=None, n_bias=1, bias_times=None,
                 weight_init=((1.0, 1.0), (0.5, 1.0)), batch_size=1, dt=None, duration=None, seed=0,
                 latency=None, target="cython", record_states=False, device="runtime", standalone_dir=None,
                 threads=None, input_currents=False, simulator="brian2"):
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
        if target not in ("cython", "numpy"):
            raise ValueError(f"target must be 'cython' or 'numpy', got {target!r}")
        self.target = target
        if device not in ("runtime",) + STANDALONE_DEVICES:
            raise ValueError(f"device must be 'runtime', 'cpp_standalone' or 'cuda_standalone', got {device!r}")
        self.device = device
        if device == "cuda_standalone":
            load_brian2cuda()                       # fail here, with the install line, not at build time
        self.input_currents = bool(input_currents)
        if self.input_currents and device != "runtime":
            raise ValueError("input_currents=True needs device='runtime' (the currents are set per trial "
                             "from Python); use device='runtime' or spike-time inputs")
        self.standalone_dir, self.threads = standalone_dir, threads
        self.record_states = bool(record_states)
        self._check_simulator(simulator)
        self.simulator = simulator
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
        self._brian = None
        self._dirty = True
        self.copy_offsets = None  # optional per-copy weight offsets, see set_copy_offsets

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
        """Call after editing `params` in place: the next trial broadcasts them to Brian2."""
        self._dirty = True

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
        if self._brian is not None:
            self._brian.get("last_broadcast", {}).pop("w", None)
        self._dirty = True

    # ---- Brian2 construction -------------------------------------------------------------
    def _layout(self, copies=None):
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

    def build(self):
        """Create the Brian2 objects (done automatically by the first run)."""
        if self._brian is not None:
            return self._brian
        project = None
        if self.device in STANDALONE_DEVICES:
            project = StandaloneProject(self.standalone_dir or default_directory(self._signature()), self.threads,
                                        device=self.device)
            project.activate()
        else:
            prefs.codegen.target = self.target
        model, B = self.model, self.batch_size
        lay = self._layout()
        tu = float(model.time_unit)
        dt = self.dt * model.time_unit
        ns = model.namespace
        sources = source_group(B * lay["n_src"], dt)
        neurons = NeuronGroup(B * lay["n_lif"], model.equations, threshold=model.threshold, reset=model.reset,
                              method="exact", namespace=ns, dt=dt, name="neurons")
        neurons.run_regularly(model.flush_code, when="synapses", order=-1, name="neurons_flush")
        objects = [sources, neurons]
        synapses = {}
        for name, src_group, (pre, post, idx) in (("syn_src", sources, lay["src"]),
                                                  ("syn_lif", neurons, lay["lif"])):
            if len(pre) == 0:
                continue
            syn = Synapses(src_group, neurons, model.synapse_model, on_pre=model.on_pre(DELIVERY_DUE),
                           namespace=ns, dt=dt, name=name)
            syn.connect(i=pre, j=post)
            if not (np.array_equal(syn.i[:], pre) and np.array_equal(syn.j[:], post)):
                raise RuntimeError("Brian2 reordered the synapses; the parameter broadcast would be wrong")
            synapses[name] = (syn, idx)
            objects.append(syn)
        monitor = None
        if self.record_states:
            monitor = StateMonitor(neurons, ["v", "I"], record=True, dt=dt, name="states")
            objects.append(monitor)
        if project is None:
            objects.append(NetworkOperation(self._on_trial_boundary, dt=self.duration * model.time_unit,
                                            when="start", name="trial_boundary"))
        net = Network(*objects)
        net.schedule = SCHEDULE
        self._brian = dict(net=net, sources=sources, neurons=neurons, synapses=synapses, layout=lay,
                           monitor=monitor, tu=tu, src_vars=None, lif_vars=None, project=project)
        if project is not None:
            self._compile_standalone()
        self._dirty = True
        return self._brian

    def _signature(self):
        """What the generated standalone code depends on (names its cache folder)."""
        return repr((self.n_inputs, self.layer_sizes, self.n_bias, self.batch_size, self.dt, self.duration,
                     self.latency, sorted((k, repr(v)) for k, v in self.model.namespace.items()),
                     type(self.model).__name__, self.record_states, self.threads, self.device))

    def _compile_standalone(self):
        """Finish the standalone project: command-line arguments (weights, exact delays, input times)
        are applied first, then the pathway delays are derived from the exact ones in generated code,
        the state is set to rest, and the program is compiled."""
        br = self._brian
        project, neurons, sources = br["project"], br["neurons"], br["sources"]
        project.apply_run_args()
        for syn, _ in br["synapses"].values():
            syn.pre.delay = f"{DELIVERY_STEP_CODE}*dt"
        sources.t_spike_ = np.inf
        sources.has_spiked = False
        state = {name: np.zeros(len(neurons)) for name in NEURON_STATE}
        self.model.reset_state(state)
        for name, values in state.items():
            if neurons.variables[name].dtype == bool:
                setattr(neurons, name, values.astype(bool))
            else:
                setattr(neurons, name + "_", values)
        run_network(br["net"], self.duration * self.model.time_unit)
        project.build()

    def layer(self, l):
        """Brian2 Subgroup holding layer l (all batch copies, batch-major)."""
        br = self.build()
        col, n = br["layout"]["lif_col"][l], self.layer_sizes[l]
        if self.batch_size != 1:
            raise NotImplementedError("layer(l) as one Subgroup needs batch_size=1 (copies interleave)")
        return br["neurons"][col:col + n]

    # ---- per-trial state handling --------------------------------------------------------
    def _arrays(self):
        br = self._brian
        if br["src_vars"] is None:
            get = lambda g, names: {n: g.variables[n].get_value() for n in names}
            br["src_vars"] = get(br["sources"], ["t_in", "t_spike", "has_spiked", "_spikespace"])
            br["lif_vars"] = get(br["neurons"], list(NEURON_STATE) + ["_spikespace"]
                                 + (["I_ext"] if self.input_currents else []))
            br["syn_vars"] = {name: (syn, get(syn, ["w", "delay_exact"]), syn.pre._delays.get_value(), idx)
                              for name, (syn, idx) in br["synapses"].items()}
        return br["src_vars"], br["lif_vars"], br["syn_vars"]

    def _checked_flat(self):
        """All weights and total delays as flat arrays; FloatingPointError if one is NaN, inf or a
        delay negative (a diverged training step), before anything is simulated."""
        w_flat = np.concatenate([p["w"].ravel() for p in self.params])
        d_flat = np.concatenate([self.total_delays(l).ravel() for l in range(self.n_layers)])
        if not np.all(np.isfinite(w_flat)):
            raise FloatingPointError("a weight became NaN or inf; lower the learning rate or check the loss")
        if not np.all(np.isfinite(d_flat)) or np.any(d_flat < 0):
            raise FloatingPointError("a delay became negative, NaN or inf; clip delays or use reparam")
        return w_flat, d_flat

    def _master_flat(self):
        """All weights and total delays as flat arrays (checked), and whether each changed since
        the last broadcast."""
        br = self._brian
        w_flat, d_flat = self._checked_flat()
        last = br.setdefault("last_broadcast", {})
        w_new = "w" not in last or not np.array_equal(last["w"], w_flat)
        d_new = "d" not in last or not np.array_equal(last["d"], d_flat)
        last["w"], last["d"] = w_flat, d_flat
        self._dirty = False
        return w_flat, d_flat, w_new, d_new

    def _broadcast_params(self):
        """Copy the master parameters into the B batch copies, only the parts that changed.

        Returns True if the delays changed (the spike queues must then be re-prepared)."""
        br = self._brian
        _, _, syn_vars = self._arrays()
        w_flat, d_flat, w_new, d_new = self._master_flat()
        tu, dt_s = br["tu"], self.dt * br["tu"]
        if d_new:
            d_scaled = d_flat * tu
            steps = delivery_steps(d_flat, self.dt) * dt_s
        for name, (syn, arrs, pathway_delays, idx) in syn_vars.items():
            # scale on the master arrays, then gather into the copies without temporaries
            if w_new:
                self._copy_weights(name, w_flat, idx, out=arrs["w"])
            if d_new:
                np.take(d_scaled, idx, out=arrs["delay_exact"])
                np.take(steps, idx, out=pathway_delays)
        return d_new

    def _copy_weights(self, name, w_flat, idx, out=None):
        """Weights of the synapses `name` ('syn_src' / 'syn_lif') in all batch copies: the master
        weights, plus each copy's offset where set_copy_offsets gave some."""
        w = np.take(w_flat, idx, out=out)
        if self.copy_offsets is not None:  # the copy of a synapse is its target's batch copy
            lay = self._brian["layout"]
            post = lay[name.removeprefix("syn_")][1]
            w += self.copy_offsets.ravel()[post // lay["n_lif"] * w_flat.size + idx]
        return w

    def _standalone_args(self, inputs):
        """run_args of one standalone trial: the input times, and the parameters when they changed
        (their files stay in place between runs otherwise)."""
        br = self._brian
        project, args = br["project"], br.setdefault("param_args", {})
        if self._dirty or not args:
            w_flat, d_flat, w_new, d_new = self._master_flat()
            delivery_steps(d_flat, self.dt)  # the same checks as the runtime broadcast
            d_scaled = d_flat * br["tu"]
            for name, (syn, idx) in br["synapses"].items():
                if w_new or name + ".w" not in args:
                    args[name + ".w"] = project.write_arg(f"{name}.w", self._copy_weights(name, w_flat, idx))
                if d_new or name + ".delay_exact" not in args:
                    args[name + ".delay_exact"] = project.write_arg(f"{name}.delay_exact", d_scaled[idx])
        t_in = self._input_times(inputs).ravel() * br["tu"]
        return list(args.values()) + [project.write_arg("sources.t_in", t_in)]

    def _input_times(self, inputs):
        """(B, n_src) firing times of the sources in tau_s units, relative to the trial start
        (with input_currents the inputs never fire: they are currents, see `_input_currents`)."""
        lay = self._brian["layout"]
        t_in = np.full((self.batch_size, lay["n_src"]), np.inf)
        if not self.input_currents:
            t_in[:len(inputs), :self.n_inputs] = inputs
        for l, nb in enumerate(self.n_bias):
            c = lay["bias_col"][l]
            t_in[:, c:c + nb] = self.bias_times[l]
        return t_in

    def _start_trial(self, t0, inputs):
        """Load inputs (n_valid, n_in) in tau_s units for a trial starting at t0 (seconds)."""
        br = self._brian
        srcv, lifv, _ = self._arrays()
        delays_changed = self._broadcast_params() if self._dirty else False
        srcv["t_in"][:] = t0 + self._input_times(inputs).ravel() * br["tu"]
        if self.input_currents:
            lifv["I_ext"][:] = self._input_currents(inputs)
        srcv["t_spike"][:] = np.inf
        srcv["has_spiked"][:] = False
        srcv["_spikespace"][-1] = 0
        self.model.reset_state(lifv)
        lifv["_spikespace"][-1] = 0
        self._reset_queues(reprepare=delays_changed)

    def _input_currents(self, inputs):
        """I_ext (amp) of every neuron for input values (n_valid, n_in): sum_i w_ij z_i onto the first
        layer, with each batch copy's own (broadcast, offset) input weights; zero elsewhere."""
        br = self._brian
        lay = br["layout"]
        _, arrs, _, _ = self._arrays()[2]["syn_src"]
        if "current_synapses" not in br:
            pre, post = lay["src"][0], lay["src"][1]
            sel = np.flatnonzero(pre % lay["n_src"] < self.n_inputs)
            br["current_synapses"] = (sel, pre[sel] // lay["n_src"], pre[sel] % lay["n_src"], post[sel])
        sel, copy, col, post = br["current_synapses"]
        z = np.zeros((self.batch_size, self.n_inputs))
        z[:len(inputs)] = inputs
        I = np.bincount(post, weights=arrs["w"][sel] * z[copy, col], minlength=self.batch_size * lay["n_lif"])
        return I * float(self.model.weight_unit)

    def _reset_queues(self, reprepare):
        """Drop the events still in flight; with reprepare, also make the queues take the current
        delays (Brian2 reads them only then; costly for many synapses)."""
        br = self._brian
        empty = br.setdefault("empty_queues", {})
        for name, (syn, _) in br["synapses"].items():
            pathway = syn.pre
            if reprepare or name not in empty:
                pathway.queue._restore_from_full_state(None)
                pathway.initialise_queue()
                n = len(pathway.queue._full_state()[1])
                empty[name] = (0, [[] for _ in range(n)])
            else:
                pathway.queue._restore_from_full_state(empty[name])

    def _read_record(self, t0, n_valid):
        br = self._brian
        B, tu, lay = self.batch_size, br["tu"], br["layout"]
        if br["project"] is None:
            srcv, lifv, _ = self._arrays()
            src_t, lif_t, inexact = srcv["t_spike"], lifv["t_spike"], lifv["inexact_crossing"]
        else:  # the arrays the last standalone run wrote
            src_t, lif_t = (br[g].variables["t_spike"].get_value() for g in ("sources", "neurons"))
            inexact = br["neurons"].variables["inexact_crossing"].get_value()
        self._warn_inexact_crossings(inexact)
        src = (src_t.reshape(B, lay["n_src"]) - t0) / tu
        lif = (lif_t.reshape(B, lay["n_lif"]) - t0) / tu
        layers = [src[:, :self.n_inputs].copy()]
        for l, n in enumerate(self.layer_sizes):
            c = lay["lif_col"][l]
            layers.append(lif[:, c:c + n].copy())
        bias = [src[:, c:c + nb].copy() for c, nb in zip(lay["bias_col"], self.n_bias)]
        return TrialRecord(layers=layers, bias=bias, n_valid=n_valid)

    def _warn_inexact_crossings(self, inexact):
        """Warn (once per network) where a neuron crossed threshold in a step with more inputs than the
        model keeps for the exact crossing (models.lif N_KEPT_ARRIVALS): that spike time is O(dt)."""
        if getattr(self, "_warned_inexact_crossings", False):
            return
        n = int(np.count_nonzero(inexact))
        if n:
            self._warned_inexact_crossings = True
            warnings.warn(f"{n} neurons crossed threshold in a time step with more than {N_KEPT_ARRIVALS} inputs "
                          f"(dt = {self.dt} tau_s) in this trial; those spike times are exact only to O(dt). "
                          "Lower dt for exact spike times there.", RuntimeWarning, stacklevel=3)

    def _replay_record(self, inputs):
        """The TrialRecord of one trial from the closed forms (simulator='replay'); the rows past the
        trial's samples are silent inputs, as the unused batch copies of a Brian2 run."""
        from .lif_replay import replay_layers

        self._checked_flat()
        n = len(inputs)
        x = np.full((self.batch_size, self.n_inputs), np.inf)
        x[:n] = inputs
        layers, bias = replay_layers(self, x, self.copy_offsets)
        return TrialRecord(layers=layers, bias=bias, n_valid=n)

    def _on_trial_boundary(self):
        run = self._run
        k = run["k"]
        t_now = float(self._brian["net"].t_)
        if k > 0:
            run["callback"](k - 1, self._read_record(run["t0"], run["n_valid"]))
        if k < len(run["trials"]):
            inputs = run["trials"][k]
            run["t0"], run["n_valid"] = t_now, len(inputs)
            self._start_trial(t_now, inputs)
        run["k"] = k + 1

    def backward(self, rule, record, dL_dT):
        """The learning rule's parameter gradients for a trial record (what Trainer asks of a network;
        parallel.DataParallelNetwork answers it across workers)."""
        grads, _ = rule.backward(self, record, dL_dT)
        return grads

    # ---- running -------------------------------------------------------------------------
    def _check_simulator(self, simulator):
        if simulator not in ("brian2", "replay"):
            raise ValueError(f"simulator must be 'brian2' or 'replay', got {simulator!r}")
        if simulator == "replay":
            if self.device != "runtime" or self.input_currents or self.record_states:
                raise ValueError("simulator='replay' computes spike times without Brian2: it takes no device, "
                                 "no input_currents and no record_states (use simulator='brian2' for those)")
            from .lif_replay import layer_first_spikes
            layer_first_spikes(self.model, np.zeros((1, 1, 1)), np.ones((1, 1)), 1.0)  # refuses other ratios

    @contextlib.contextmanager
    def use_simulator(self, simulator):
        """Within the block, run trials on `simulator` ('brian2' or 'replay'), same parameters; e.g. test a
        network trained on the replay with the Brian2 run: `with net.use_simulator("brian2"): ...`."""
        self._check_simulator(simulator)
        saved, self.simulator = self.simulator, simulator
        try:
            yield self
        finally:
            self.simulator = saved

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
        return check_input_times(input_times, self.n_inputs, self.duration)

    def run_trials(self, input_times, callback, batch_order=None):
        """Simulate len(input_times) samples in trials of batch_size, in ONE Brian2 run.

        `callback(k, record)` is called after trial k with its TrialRecord; it may change
        `self.params` (then call `params_changed()`), and trial k + 1 uses the new parameters.
        `batch_order`: sample indices, in the order they are used (default: as given).
        """
        x = self.check_inputs(input_times)
        order = np.arange(len(x)) if batch_order is None else np.asarray(batch_order)
        B = self.batch_size
        trials = [x[order[i:i + B]] for i in range(0, len(order), B)]
        if not trials:
            raise ValueError("no samples to simulate")
        if self.simulator == "replay":
            for k, inputs in enumerate(trials):
                callback(k, self._replay_record(inputs))
            return order
        br = self.build()
        if br["project"] is not None:
            for k, inputs in enumerate(trials):
                br["project"].run(self._standalone_args(inputs))
                callback(k, self._read_record(0.0, len(inputs)))
            return order
        self._run = dict(k=0, trials=trials, callback=callback, t0=0.0, n_valid=0)
        run_network(br["net"], len(trials) * self.duration * self.model.time_unit)
        self._on_trial_boundary()  # finish the last trial
        self._run = None
        return order

    def simulate(self, input_times):
        """Spike times for each sample: list of arrays (n_samples, n) per layer (input first)."""
        x = self.check_inputs(input_times)
        out = [[] for _ in range(self.n_layers + 1)]

        def collect(k, rec):
            for l, t in enumerate(rec.layers):
                out[l].append(t[:rec.n_valid])

        self.run_trials(x, collect)
        return [np.concatenate(o) for o in out]
