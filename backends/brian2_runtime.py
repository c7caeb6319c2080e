"""Back end "brian2": B batch copies of a LayeredNetwork in one Brian2 `Network`, runtime device.

Brian2 objects (all batch copies share them, block-diagonal connectivity from network.layout()):

    sources   NeuronGroup  input and bias spike sources; source i fires once, at t_in
    neurons   NeuronGroup  every neuron of every layer (the model's equations)
    syn_src   Synapses     sources -> neurons (first layer, and the bias of every layer)
    syn_lif   Synapses     neurons -> neurons (layer l -> layer l + 1)

One `Network.run` simulates many trials; a `network_operation` at each trial boundary reads the
spike times, hands them to a callback (the learning rule), loads the next inputs, broadcasts the
master parameters into the B copies where they changed, and resets the state and the spike queues,
so nothing leaks from one trial into the next.

Exact event delivery: the schedule groups -> synapses -> thresholds -> resets; an event is delivered
in the step that contains its arrival or in the step before, and the model holds it until its step
then (models.delays.delivery_steps, models.lif `on_pre` and `flush_code`), so every threshold check
sees exactly the inputs that arrived by then. That needs a transmission delay of at least 2 dt on
every connection (the network's `latency`).

Current inputs (network.input_currents): each first-layer neuron j of batch copy b receives the
constant current I_ext_j = sum_i w_ij z_bi (weight_unit) from the start of the trial.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from brian2 import Network, NetworkOperation, NeuronGroup, StateMonitor, Synapses, prefs

from ..models.delays import DELIVERY_DUE, delivery_steps
from ..models.lif import N_KEPT_ARRIVALS
from ..models.running import run_network
from .base import Backend, Capabilities, TrialRecord

__all__ = ["Brian2Runtime", "Brian2State", "source_group", "SCHEDULE"]


class _LatestArrivalFilter(logging.Filter):
    """Brian2 warns that on_pre code may depend on the order of execution: in ours only the
    tracking of the latest arrival (a maximum) does, and a maximum does not depend on the order."""

    def filter(self, record):
        msg = record.getMessage()
        return not ("may depend on the order of execution" in msg and "t_spike_pre + delay_exact" in msg)


_ORDER_FILTER = _LatestArrivalFilter()

SCHEDULE = ["start", "groups", "synapses", "thresholds", "resets", "end"]

SOURCE_EQUATIONS = """
t_in : second          # when this source fires in the current trial (inf: silent)
t_spike : second
has_spiked : boolean
"""


def source_group(n, dt, **kwargs):
    """The input and bias spike sources: source i fires once per trial, at its `t_in` (exact time in
    `t_spike`); `kwargs` go to the NeuronGroup (e.g. custom events)."""
    return NeuronGroup(n, SOURCE_EQUATIONS, threshold="not has_spiked and t + dt >= t_in",
                       reset="t_spike = t_in\nhas_spiked = True", dt=dt, name="sources", **kwargs)


@dataclass
class Brian2State:
    """The Brian2 objects of one network and the bookkeeping of the parameter broadcast."""

    net: Network
    sources: NeuronGroup
    neurons: NeuronGroup
    synapses: dict                  # name -> (Synapses, index of each synapse's master parameter)
    layout: dict                    # network.layout(): columns and synapse indices of the B copies
    monitor: StateMonitor | None
    tu: float                       # the model's time unit in seconds
    project: object = None          # models.standalone.StandaloneProject (standalone back ends)
    src_vars: dict | None = None    # the groups' state arrays, fetched once
    lif_vars: dict | None = None
    syn_vars: dict | None = None
    last_broadcast: dict = field(default_factory=dict)   # the flat parameters last copied in
    empty_queues: dict = field(default_factory=dict)     # pathway name -> an empty queue state
    param_args: dict = field(default_factory=dict)       # standalone: run_args of the parameters
    current_synapses: tuple | None = None                # input_currents: (synapses, copy, column, post)


class Brian2Runtime(Backend):
    """Brian2's runtime device; `target` 'cython' (default) or 'numpy' (no compilation)."""

    name = "brian2"
    capabilities = Capabilities(summary="Brian2 runtime (Cython or numpy), one Network.run per epoch, the rule "
                                        "at trial boundaries", input_currents=True, record_states=True)

    def __init__(self, target="cython"):
        super().__init__()
        if target not in ("cython", "numpy"):
            raise ValueError(f"target must be 'cython' or 'numpy', got {target!r}")
        self.target = target
        self.state = None
        self.dirty = True
        self._run = None
        self._warned_inexact = False

    # ---- construction --------------------------------------------------------------------
    def _activate(self):
        """Select the device that collects the objects built next (standalone back ends override)."""
        prefs.codegen.target = self.target
        return None

    def build(self):
        """Create the Brian2 objects of the bound network (done by the first run)."""
        if self.state is not None:
            return self.state
        net = self.network
        project = self._activate()
        model, B = net.model, net.batch_size
        lay = net.layout()
        dt = net.dt * model.time_unit
        ns = model.namespace
        sources = source_group(B * lay["n_src"], dt)
        neurons = NeuronGroup(B * lay["n_lif"], model.equations, threshold=model.threshold, reset=model.reset,
                              method="exact", namespace=ns, dt=dt, name="neurons")
        neurons.run_regularly(model.flush_code, when="synapses", order=-1, name="neurons_flush")
        objects = [sources, neurons]
        synapses = {}
        logging.getLogger("brian2.codegen.generators.base").addFilter(_ORDER_FILTER)
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
        if net.record_states:
            monitor = StateMonitor(neurons, ["v", "I"], record=True, dt=dt, name="states")
            objects.append(monitor)
        if project is None:
            objects.append(NetworkOperation(self._on_trial_boundary, dt=net.duration * model.time_unit,
                                            when="start", name="trial_boundary"))
        brian_net = Network(*objects)
        brian_net.schedule = SCHEDULE
        self.state = Brian2State(net=brian_net, sources=sources, neurons=neurons, synapses=synapses, layout=lay,
                                 monitor=monitor, tu=float(model.time_unit), project=project)
        self._finish_build()
        self.dirty = True
        return self.state

    def _finish_build(self):
        """After the objects exist (standalone back ends compile here)."""

    def params_changed(self):
        self.dirty = True

    # ---- parameters into the batch copies ------------------------------------------------
    def _arrays(self):
        st = self.state
        if st.src_vars is None:
            get = lambda g, names: {n: g.variables[n].get_value() for n in names}
            st.src_vars = get(st.sources, ["t_in", "t_spike", "has_spiked", "_spikespace"])
            st.lif_vars = get(st.neurons, list(self.network.model.REST) + ["_spikespace"]
                              + (["I_ext"] if self.network.input_currents else []))
            st.syn_vars = {name: (syn, get(syn, ["w", "delay_exact"]), syn.pre._delays.get_value(), idx)
                           for name, (syn, idx) in st.synapses.items()}
        return st.src_vars, st.lif_vars, st.syn_vars

    def _master_flat(self):
        """All weights and total delays as flat arrays (checked), and whether each changed since
        the last broadcast."""
        w_flat, d_flat = self.network.checked_flat_params()
        last = self.state.last_broadcast
        w_new = "w" not in last or not np.array_equal(last["w"], w_flat)
        d_new = "d" not in last or not np.array_equal(last["d"], d_flat)
        last["w"], last["d"] = w_flat, d_flat
        self.dirty = False
        return w_flat, d_flat, w_new, d_new

    def _broadcast_params(self):
        """Copy the master parameters into the B batch copies, only the parts that changed.

        Returns True if the delays changed (the spike queues must then be re-prepared)."""
        st, dt = self.state, self.network.dt
        _, _, syn_vars = self._arrays()
        w_flat, d_flat, w_new, d_new = self._master_flat()
        if d_new:
            d_scaled = d_flat * st.tu
            steps = delivery_steps(d_flat, dt) * dt * st.tu
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
        weights, plus each copy's offset where the network's set_copy_offsets gave some."""
        w = np.take(w_flat, idx, out=out)
        offsets = self.network.copy_offsets
        if offsets is not None:  # the copy of a synapse is its target's batch copy
            lay = self.state.layout
            post = lay[name.removeprefix("syn_")][1]
            w += offsets.ravel()[post // lay["n_lif"] * w_flat.size + idx]
        return w

    def offsets_changed(self):
        """The network's per-copy weight offsets changed: broadcast the weights again."""
        if self.state is not None:
            self.state.last_broadcast.pop("w", None)
        self.dirty = True

    # ---- one trial -----------------------------------------------------------------------
    def _input_times(self, inputs):
        """(B, n_src) firing times of the sources in tau_s units, relative to the trial start
        (with input_currents the inputs never fire: they are currents, see `_input_currents`)."""
        net, lay = self.network, self.state.layout
        t_in = np.full((net.batch_size, lay["n_src"]), np.inf)
        if not net.input_currents:
            t_in[:len(inputs), :net.n_inputs] = inputs
        for l, nb in enumerate(net.n_bias):
            c = lay["bias_col"][l]
            t_in[:, c:c + nb] = net.bias_times[l]
        return t_in

    def _start_trial(self, t0, inputs):
        """Load inputs (n_valid, n_in) in tau_s units for a trial starting at t0 (seconds)."""
        st = self.state
        srcv, lifv, _ = self._arrays()
        delays_changed = self._broadcast_params() if self.dirty else False
        srcv["t_in"][:] = t0 + self._input_times(inputs).ravel() * st.tu
        if self.network.input_currents:
            lifv["I_ext"][:] = self._input_currents(inputs)
        srcv["t_spike"][:] = np.inf
        srcv["has_spiked"][:] = False
        srcv["_spikespace"][-1] = 0
        self.network.model.reset_state(lifv)
        lifv["_spikespace"][-1] = 0
        self._reset_queues(reprepare=delays_changed)

    def _input_currents(self, inputs):
        """I_ext (amp) of every neuron for input values (n_valid, n_in): sum_i w_ij z_i onto the first
        layer, with each batch copy's own (broadcast, offset) input weights; zero elsewhere."""
        st, net = self.state, self.network
        lay = st.layout
        _, arrs, _, _ = self._arrays()[2]["syn_src"]
        if st.current_synapses is None:
            pre, post = lay["src"][0], lay["src"][1]
            sel = np.flatnonzero(pre % lay["n_src"] < net.n_inputs)
            st.current_synapses = (sel, pre[sel] // lay["n_src"], pre[sel] % lay["n_src"], post[sel])
        sel, copy, col, post = st.current_synapses
        z = np.zeros((net.batch_size, net.n_inputs))
        z[:len(inputs)] = inputs
        I = np.bincount(post, weights=arrs["w"][sel] * z[copy, col], minlength=net.batch_size * lay["n_lif"])
        return I * float(net.model.weight_unit)

    def _reset_queues(self, reprepare):
        """Drop the events still in flight; with reprepare, also make the queues take the current
        delays (Brian2 reads them only then; costly for many synapses). Brian2 has no public call to
        empty a pathway's queue, so this restores an empty state through the queue's (de)serialisation
        used by Brian2's own store/restore."""
        st = self.state
        for name, (syn, _) in st.synapses.items():
            pathway = syn.pre
            if reprepare or name not in st.empty_queues:
                pathway.queue._restore_from_full_state(None)
                pathway.initialise_queue()
                n = len(pathway.queue._full_state()[1])
                st.empty_queues[name] = (0, [[] for _ in range(n)])
            else:
                pathway.queue._restore_from_full_state(st.empty_queues[name])

    def _spike_arrays(self):
        """The spike-time arrays of sources and neurons, and the neurons' inexact-crossing flags."""
        srcv, lifv, _ = self._arrays()
        return srcv["t_spike"], lifv["t_spike"], lifv["inexact_crossing"]

    def _read_record(self, t0, n_valid):
        st, net = self.state, self.network
        B, lay = net.batch_size, st.layout
        src_t, lif_t, inexact = self._spike_arrays()
        self._warn_inexact_crossings(inexact)
        src = (src_t.reshape(B, lay["n_src"]) - t0) / st.tu
        lif = (lif_t.reshape(B, lay["n_lif"]) - t0) / st.tu
        layers = [src[:, :net.n_inputs].copy()]
        for l, n in enumerate(net.layer_sizes):
            c = lay["lif_col"][l]
            layers.append(lif[:, c:c + n].copy())
        bias = [src[:, c:c + nb].copy() for c, nb in zip(lay["bias_col"], net.n_bias)]
        return TrialRecord(layers=layers, bias=bias, n_valid=n_valid)

    def _warn_inexact_crossings(self, inexact):
        """Warn (once per back end) where a neuron crossed threshold in a step with more inputs than the
        model keeps for the exact crossing (models.lif N_KEPT_ARRIVALS): that spike time is O(dt)."""
        if self._warned_inexact:
            return
        n = int(np.count_nonzero(inexact))
        if n:
            self._warned_inexact = True
            warnings.warn(f"{n} neurons crossed threshold in a time step with more than {N_KEPT_ARRIVALS} inputs "
                          f"(dt = {self.network.dt} tau_s) in this trial; those spike times are exact only to "
                          "O(dt). Lower dt for exact spike times there.", RuntimeWarning, stacklevel=4)

    def _on_trial_boundary(self):
        run = self._run
        k = run["k"]
        t_now = float(self.state.net.t_)
        if k > 0:
            run["callback"](k - 1, self._read_record(run["t0"], run["n_valid"]))
        if k < len(run["trials"]):
            inputs = run["trials"][k]
            run["t0"], run["n_valid"] = t_now, len(inputs)
            self._start_trial(t_now, inputs)
        run["k"] = k + 1

    # ---- running -------------------------------------------------------------------------
    def run_trials(self, network, inputs, callback, batch_order=None):
        """All trials of one pass in ONE Brian2 run; callback(k, record) after each."""
        self.bind(network)
        order, trials = self.trials(network, inputs, batch_order)
        st = self.build()
        self._run = dict(k=0, trials=trials, callback=callback, t0=0.0, n_valid=0)
        try:
            run_network(st.net, len(trials) * network.duration * network.model.time_unit)
            self._on_trial_boundary()  # finish the last trial
        finally:
            self._run = None
        return order

    @property
    def monitor(self):
        """The StateMonitor of v and I of every neuron (networks built with record_states=True)."""
        return self.build().monitor

    def layer(self, l):
        """Brian2 Subgroup holding layer l (batch_size 1)."""
        net = self.network
        st = self.build()
        if net.batch_size != 1:
            raise NotImplementedError("layer(l) as one Subgroup needs batch_size=1 (copies interleave)")
        col = st.layout["lif_col"][l]
        return st.neurons[col:col + net.layer_sizes[l]]
