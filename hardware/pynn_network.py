"""Build and run a brian2learn network description through the PyNN API (numpy + PyNN only).

This module imports nothing from brian2learn: `hardware.pynn_export.write_pynn_script` copies its
source into the exported script, so the script and the in-process export run the same code.

The description `spec` is a JSON-able dict in PyNN units (ms, nA, nF, mV; see
`hardware.pynn_export.network_spec`): neuron parameters of IF_curr_exp, layer sizes, bias spike
times, and per projection the weights (n_pre, n_post) in nA and the total delays in ms.

Many samples run at once as `copies` independent copies of the network in one simulation (block
-diagonal connectivity, as models.network does in Brian2); the bias sources are shared by all
copies. Each connection i -> j becomes one PyNN connection, in an excitatory projection if
w_ij > 0 and an inhibitory one if w_ij < 0 (PyNN's convention for current-based synapses: the
inhibitory weight stays negative); zero weights are not connected.
TTFS: `tau_refrac` is at least the trial length, so every neuron fires at most once per trial.
"""
import numpy as np


def _connections(w, d, n_src_copy, copies, shared_source=False):
    """Rows (pre, post, weight, delay) for `copies` block-diagonal copies, split by sign."""
    n_pre, n_post = w.shape
    b = np.arange(copies)[:, None, None]
    i = np.arange(n_pre)[None, :, None]
    j = np.arange(n_post)[None, None, :]
    pre = np.broadcast_to(i if shared_source else b * n_src_copy + i, (copies, n_pre, n_post)).ravel()
    post = np.broadcast_to(b * n_post + j, (copies, n_pre, n_post)).ravel()
    ww = np.broadcast_to(w[None], (copies, n_pre, n_post)).ravel()
    dd = np.broadcast_to(d[None], (copies, n_pre, n_post)).ravel()
    rows = np.stack([pre, post, ww, dd], axis=1)
    return {"excitatory": rows[ww > 0], "inhibitory": rows[ww < 0]}


def build(sim, spec, input_times_ms):
    """Create the populations and projections for len(input_times_ms) samples (one copy each).

    input_times_ms: (copies, n_inputs) spike times in ms (inf or nan: no spike).
    Returns dict(inputs=..., layers=[population per LIF layer], copies=C).
    """
    x = np.asarray(input_times_ms, dtype=float)
    copies, n_in = x.shape
    trains = [sim.Sequence([t]) if np.isfinite(t) else sim.Sequence([]) for t in x.ravel()]
    inputs = sim.Population(copies * n_in, sim.SpikeSourceArray(spike_times=trains), label="inputs")
    cell = sim.IF_curr_exp(**spec["neuron"])
    layers, prev, n_prev = [], inputs, n_in
    for l, (size, proj) in enumerate(zip(spec["layer_sizes"], spec["projections"])):
        pop = sim.Population(copies * size, cell, label=f"layer{l}")
        pop.initialize(v=spec["neuron"]["v_rest"])
        w = np.asarray(proj["weights_nA"], dtype=float)
        d = np.asarray(proj["delays_ms"], dtype=float)
        groups = [(prev, _connections(w[:n_prev], d[:n_prev], n_prev, copies))]
        n_bias = w.shape[0] - n_prev
        if n_bias:
            bias = sim.Population(n_bias, sim.SpikeSourceArray(
                spike_times=sim.Sequence([spec["bias_times_ms"][l]])), label=f"bias{l}")
            groups.append((bias, _connections(w[n_prev:], d[n_prev:], n_bias, copies, shared_source=True)))
        for source, by_sign in groups:
            for receptor, rows in by_sign.items():
                if len(rows):
                    sim.Projection(source, pop, sim.FromListConnector(rows, column_names=["weight", "delay"]),
                                   receptor_type=receptor)
        pop.record("spikes")
        layers.append(pop)
        prev, n_prev = pop, size
    return dict(inputs=inputs, layers=layers, copies=copies)


def first_spikes(pop, copies):
    """(copies, n) first spike time (ms) of each neuron after the run; inf if silent."""
    trains = pop.get_data("spikes", clear=False).segments[-1].spiketrains
    t = np.full(len(trains), np.inf)
    for k, st in enumerate(trains):
        times = np.asarray(st.magnitude, dtype=float)
        if times.size:
            t[int(st.annotations.get("source_index", k))] = times.min()
    return t.reshape(copies, -1)


def run(sim, spec, input_times_ms, timestep, chunk=500, setup_kwargs=None):
    """Simulate every sample for one trial; list of (n_samples, n_l) first-spike times (ms) per layer.

    Samples run in chunks of `chunk` copies; `sim.setup` starts each chunk afresh, with the delay
    range fixed at setup (NEST cannot extend it after the first run).
    """
    x = np.asarray(input_times_ms, dtype=float)
    d_all = np.concatenate([np.ravel(p["delays_ms"]) for p in spec["projections"]])
    out = [[] for _ in spec["layer_sizes"]]
    for start in range(0, len(x), chunk):
        sim.setup(timestep=timestep, min_delay=timestep, max_delay=float(d_all.max()) + timestep,
                  **(setup_kwargs or {}))
        net = build(sim, spec, x[start:start + chunk])
        sim.run(spec["trial_ms"])
        for l, pop in enumerate(net["layers"]):
            out[l].append(first_spikes(pop, net["copies"]))
        sim.end()
    return [np.concatenate(o) for o in out]
