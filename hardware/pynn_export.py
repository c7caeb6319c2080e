"""Export a trained LayeredNetwork to PyNN: run it on a PyNN back end, or write a PyNN script.

Mapping (models.lif -> PyNN's IF_curr_exp, the same equations):

    C_m dV/dt = -g_l (V - E_l) + I,  dI/dt = -I / tau_s,  on a spike: I += w
    cm = C_m = g_l tau_m [nF],  tau_m [ms],  tau_syn_E = tau_syn_I = tau_s [ms],
    v_rest = v_reset = E_l [mV],  v_thresh = v_th [mV],  i_offset = 0,
    tau_refrac = trial length (TTFS: each neuron fires at most once per trial, like `has_spiked`)

Units (explicit, tested): weights w * weight_unit -> nA (PyNN's current unit); a positive weight
goes into an excitatory projection, a negative one into an inhibitory projection and stays negative
(PyNN's convention for current-based synapses); times in the model's time unit tau_s -> ms;
delays = the total transmission delay D_ij of models.network (latency + axonal + dendritic +
synaptic), rounded to the back end's time step (NEST delivers spikes after a whole number of steps,
so a delay is a multiple of the resolution; `round_delays` does that here, not silently in NEST).

Back ends (measured, see README "hardware"): `pyNN.nest` picks NEST's precise-spike-time model
iaf_psc_exp_ps by default (PyNN's spike_precision="off_grid"), with precise input spike times, so
its first-spike times agree with brian2learn's exact spike times up to the delay rounding;
iaf_psc_exp (on_grid) puts every spike on the time grid (errors up to one step).
Only models.lif.LIF maps to IF_curr_exp; any other model class is refused.
"""
from __future__ import annotations

import inspect
import json
import os

import numpy as np
from brian2 import mV, ms, nA, nF
from brian2.units.fundamentalunits import Quantity, fail_for_dimension_mismatch

from ..models.lif import LIF
from ..models.network import LayeredNetwork
from . import pynn_network

__all__ = ["UnsupportedExportError", "network_spec", "round_delays", "run_pynn", "write_pynn_script"]


class UnsupportedExportError(TypeError):
    """The network or model has no equivalent on the target (PyNN back end, chip, NIR)."""


def check_exportable(net, target="PyNN"):
    """Refuse anything but a LayeredNetwork of models.lif.LIF neurons, naming what is wrong."""
    if not isinstance(net, LayeredNetwork):
        raise UnsupportedExportError(f"{target} export needs a brian2learn LayeredNetwork, got "
                                     f"{type(net).__name__}")
    if type(net.model) is not LIF:
        raise UnsupportedExportError(
            f"{type(net.model).__name__} has no {target} equivalent: only models.lif.LIF (current-based "
            "LIF with an exponential synaptic current) maps to IF_curr_exp / CubaLIF; train the network "
            "with LIF to export it")


def _ms(q):
    return float(q / ms)


def network_spec(net) -> dict:
    """The network in PyNN units (a JSON-able dict; see hardware.pynn_network)."""
    check_exportable(net)
    for l, p in enumerate(net.params):
        for k, v in p.items():
            if not np.all(np.isfinite(v)):
                raise ValueError(f"projection {l}: parameter {k!r} has NaN or inf entries; fix the trained "
                                 "network before exporting it")
    m = net.model
    tu_ms = _ms(m.time_unit)
    trial_ms = net.duration * tu_ms
    w_to_nA = float(m.weight_unit / nA)
    projections = []
    for l in range(net.n_layers):
        proj = {"weights_nA": (net.params[l]["w"] * w_to_nA).tolist(),
                "delays_ms": (net.total_delays(l) * tu_ms).tolist()}
        values = net.delay_config.values(net.params[l])
        for kind, v in values.items():
            proj[f"{kind}_ms"] = (np.asarray(v) * tu_ms).tolist()
        proj["latency_ms"] = net.latency * tu_ms
        projections.append(proj)
    return {
        "format": "brian2learn-pynn-1",
        "time_unit_ms": tu_ms,
        "neuron": {"cm": float(m.C_m / nF), "tau_m": _ms(m.tau_m), "tau_syn_E": _ms(m.tau_s),
                   "tau_syn_I": _ms(m.tau_s), "v_rest": float(m.E_l / mV), "v_reset": float(m.E_l / mV),
                   "v_thresh": float(m.v_th / mV), "tau_refrac": trial_ms, "i_offset": 0.0},
        "n_inputs": net.n_inputs, "layer_sizes": list(net.layer_sizes), "n_bias": list(net.n_bias),
        "bias_times_ms": (net.bias_times * tu_ms).tolist(), "delay_kinds": list(net.delay_config.kinds),
        "trial_ms": trial_ms, "projections": projections,
    }


def round_delays(spec, resolution_ms):
    """(spec with every delay a multiple of resolution_ms, >= one step; largest change in ms)."""
    out = json.loads(json.dumps(spec))
    worst = 0.0
    for p in out["projections"]:
        d = np.asarray(p["delays_ms"], dtype=float)
        r = np.maximum(np.round(d / resolution_ms), 1.0) * resolution_ms
        worst = max(worst, float(np.max(np.abs(r - d), initial=0.0)))
        p["delays_ms"] = r.tolist()
    out["delay_resolution_ms"] = resolution_ms
    return out, worst


def _timestep_ms(timestep):
    if not isinstance(timestep, Quantity):
        raise TypeError(f"timestep must be a Brian2 time quantity (e.g. timestep=0.01*ms), got {timestep!r}")
    fail_for_dimension_mismatch(timestep, ms, "timestep must be a time")
    h = _ms(timestep)
    if not h > 0:
        raise ValueError(f"timestep must be positive, got {timestep!r}")
    return h


def _inputs_ms(net, spec, input_times, h):
    x = net.check_inputs(input_times) * spec["time_unit_ms"]
    fin = np.isfinite(x)
    if np.any(x[fin] <= h):
        raise ValueError(f"PyNN back ends need input spike times later than one time step ({h} ms) after "
                         "the trial start (PyNN delivers inputs through a relay neuron); shift the encoding")
    return x


def run_pynn(net, sim, input_times, timestep=0.01 * ms, chunk=500, setup_kwargs=None):
    """Run the network on a PyNN back end (e.g. `import pyNN.nest as sim`) for each sample.

    input_times: (n_samples, n_inputs) plain floats in the model's time unit, as for
    LayeredNetwork.simulate. Returns (first-spike times per LIF layer, in the model's time unit,
    inf = silent; the largest delay change from rounding to the time step, in ms).
    """
    h = _timestep_ms(timestep)
    spec, rounding = round_delays(network_spec(net), h)
    x = _inputs_ms(net, spec, input_times, h)
    layers = pynn_network.run(sim, spec, x, h, chunk=chunk, setup_kwargs=setup_kwargs)
    return [t / spec["time_unit_ms"] for t in layers], rounding


_SCRIPT_MAIN = '''

SPEC = json.loads(r"""{spec}""")
INPUTS_MS = np.array(json.loads(r"""{inputs}"""), dtype=float)
LABELS = json.loads(r"""{labels}""")
TIMESTEP_MS = {timestep!r}

if __name__ == "__main__":
    import sys
    import pyNN.{backend} as sim

    layers = run(sim, SPEC, INPUTS_MS, TIMESTEP_MS)
    out = layers[-1]
    print("first output spike times (ms) of the first samples:")
    print(out[:5])
    if LABELS is not None:
        t = np.where(np.isfinite(out), out, np.inf)
        pred = np.where(np.isfinite(t).any(axis=1), np.argmin(t, axis=1), -1)
        print(f"accuracy (first output spike = class): {{np.mean(pred == np.asarray(LABELS)):.4f}}")
    if len(sys.argv) > 1:
        np.savez(sys.argv[1], **{{f"layer{{l}}_ms": t for l, t in enumerate(layers)}})
'''


def write_pynn_script(net, path, input_times, labels=None, backend="nest", timestep=0.01 * ms):
    """Write a self-contained PyNN script (numpy + PyNN only) that builds and runs the network.

    The script holds the network description (delays rounded to `timestep`), the input spike
    times and optional labels, and the same builder code `run_pynn` uses; run it as
    `python script.py [spikes.npz]`. Returns the spec written.
    """
    if not str(backend).isidentifier():
        raise ValueError(f"backend must be a PyNN module name such as 'nest' or 'brian2', got {backend!r}")
    h = _timestep_ms(timestep)
    spec, _ = round_delays(network_spec(net), h)
    x = _inputs_ms(net, spec, input_times, h)
    x_json = json.dumps(np.where(np.isfinite(x), x, -1.0).tolist())
    header = (f'"""PyNN script exported by brian2learn.hardware.pynn_export (back end pyNN.{backend}).\n\n'
              f'{net.n_inputs}-{"-".join(map(str, net.layer_sizes))} TTFS LIF network, {len(x)} samples.\n"""\n')
    body = inspect.getsource(pynn_network).split('"""', 2)[2]  # the module minus its docstring
    main = _SCRIPT_MAIN.format(spec=json.dumps(spec), inputs=x_json, timestep=h, backend=backend,
                               labels=json.dumps(None if labels is None else np.asarray(labels).tolist()))
    main = main.replace('dtype=float)\n', 'dtype=float)\nINPUTS_MS[INPUTS_MS < 0] = np.inf\n', 1)
    text = header + "import json\n" + body + main
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return spec
