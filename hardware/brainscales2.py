"""BrainScaleS-2: the chip's constraints as data, checked before export, and the chip's PyNN script.

Facts used (Goeltz et al., "DelGrad", Nat. Commun. 16 (2025), arXiv 2404.19165; Billaudelle et al.
and Pehle et al. 2022 for the BrainScaleS-2 system):

- 512 neuron circuits per chip;
- 6-bit synaptic weights 0..63 per hardware synapse, the sign given by separate excitatory and
  inhibitory projections; reference scale: a model weight w maps to round(30 |w|) hardware units,
  so model weights are clipped to +-63/30 and rounded to multiples of 1/30;
- no programmable synaptic delays: a delay is a *delay element*, a two-compartment neuron pair
  that relays a spike after its refractory time, d_us = tref_us / 8 + 2, usable for about
  8..33 us; at most 128 delay elements beside the network neurons (each takes two circuits);
  a delay element sits on the axon of one presynaptic neuron, so only axonal delays exist;
- tau_m = tau_s = 6 us on chip (the Lambert-W case of models.lif_analytic); the model's time
  unit tau_s is 6 us, about 1000x faster than the biological 6 ms;
- the reference set-up has one hidden layer (inputs replicated x5 with shared delays, 20-30-3).

An axonal delay d (model time units) is realised as offset_us + d * 6 us with the shortest
element as offset (8 us): the same offset on every path shifts all spike times equally, which
the shift-invariant loss and the first-spike classifier ignore.

`check(net)` raises `ConstraintError` listing every violated constraint with its fix;
`write_chip_script` writes the pynn_brainscales2 script; `ChipSubstrate` (hardware.in_the_loop)
runs it through a user-supplied runner. The chip is not reachable here: the script and the calls
are tested for their content only, never executed on hardware.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from .pynn_export import check_exportable

__all__ = ["BSS2", "ConstraintError", "check", "quantise_weights", "delay_element_tref_us",
           "write_chip_script"]


class ConstraintError(ValueError):
    """The network does not fit BrainScaleS-2; the message lists each violation and its fix."""


@dataclass(frozen=True)
class BSS2:
    """The chip's constraints (see the module docstring for the sources)."""

    n_neuron_circuits: int = 512
    weight_max_hw: int = 63            # 6-bit weights
    weight_scale: float = 30.0         # hardware units per model weight unit
    delay_min_us: float = 8.0          # shortest / longest delay element
    delay_max_us: float = 33.0
    max_delay_elements: int = 128
    circuits_per_delay_element: int = 2
    time_unit_us: float = 6.0          # tau_m = tau_s = 6 us
    delay_kinds: tuple = ("axonal",)
    max_hidden_layers: int = 1

    @property
    def weight_max(self) -> float:
        """Largest model weight magnitude: 63 / 30."""
        return self.weight_max_hw / self.weight_scale

    @property
    def max_axonal_delay(self) -> float:
        """Largest axonal delay (model time units) above the common offset: (33 - 8) / 6."""
        return (self.delay_max_us - self.delay_min_us) / self.time_unit_us


def quantise_weights(w, hw=BSS2()):
    """Clip to +-63/30 and round to multiples of 1/30 (the forward pass of hardware-aware training)."""
    return np.round(np.clip(w, -hw.weight_max, hw.weight_max) * hw.weight_scale) / hw.weight_scale


def delay_element_tref_us(d_us, hw=BSS2()):
    """Refractory time of the delay element that realises d_us: tref = 8 (d_us - 2)."""
    d = np.asarray(d_us, dtype=float)
    if np.any(d < hw.delay_min_us - 1e-9) or np.any(d > hw.delay_max_us + 1e-9):
        raise ConstraintError(f"delay element delays must lie in [{hw.delay_min_us}, {hw.delay_max_us}] us, "
                              f"got [{d.min()}, {d.max()}]")
    return 8.0 * (d - 2.0)


def _delayed_sources(net, l):
    """Presynaptic neurons of projection l that get a delay element: all of them when the network
    has axonal delays (so every path carries the same offset), none otherwise."""
    return np.full(net.n_pre(l), "axonal" in net.delay_config.kinds)


def n_delay_elements(net, shared_inputs=1):
    """Delay elements needed: one per presynaptic neuron with an axonal delay (input replicas that
    share a delay, `shared_inputs` of them, share one element)."""
    n = 0
    for l in range(net.n_layers):
        need = _delayed_sources(net, l)
        if l == 0 and shared_inputs > 1:
            n_in = net.n_inputs
            n += int(np.ceil(need[:n_in].sum() / shared_inputs)) + int(need[n_in:].sum())
        else:
            n += int(need.sum())
    return n


def check(net, hw=BSS2(), shared_inputs=1, quantised=False):
    """Raise ConstraintError naming every constraint `net` violates (nothing is changed).

    quantised=True also requires the weights to lie on the 1/30 grid already (after
    `quantise_weights`); otherwise they are only checked to be within +-63/30.
    """
    check_exportable(net, "BrainScaleS-2")
    errors = []
    m = net.model
    if not m.equal_time_constants:
        errors.append(f"tau_m / tau_s = {m.ratio:g}, but the chip has tau_m = tau_s ({hw.time_unit_us} us): "
                      "build the model with LIF(tau_s=tau, tau_m=tau)")
    n_hidden = net.n_layers - 1
    if n_hidden > hw.max_hidden_layers:
        errors.append(f"{n_hidden} hidden layers; the BrainScaleS-2 set-up supports {hw.max_hidden_layers}")
    bad_kinds = [k for k in net.delay_config.kinds if k not in hw.delay_kinds]
    if bad_kinds:
        errors.append(f"{'+'.join(bad_kinds)} delays requested, but the chip has no programmable synaptic or "
                      "dendritic delays (delay elements sit on axons): train with delays='axonal'")
    n_del = n_delay_elements(net, shared_inputs)
    if n_del > hw.max_delay_elements:
        errors.append(f"{n_del} delay elements needed (one per presynaptic neuron with an axonal delay), at "
                      f"most {hw.max_delay_elements}: use fewer neurons or share input delays")
    n_circ = sum(net.layer_sizes) + hw.circuits_per_delay_element * n_del
    if n_circ > hw.n_neuron_circuits:
        errors.append(f"{sum(net.layer_sizes)} neurons + {n_del} delay elements x "
                      f"{hw.circuits_per_delay_element} need {n_circ} neuron circuits, the chip has "
                      f"{hw.n_neuron_circuits}: use fewer hidden neurons")
    for l, p in enumerate(net.params):
        w = p["w"]
        big = np.abs(w) > hw.weight_max + 1e-12
        if big.any():
            i, j = np.argwhere(big)[0]
            errors.append(f"projection {l}: {int(big.sum())} weights beyond +-{hw.weight_max:.4g} (6 bit x "
                          f"1/{hw.weight_scale:g}), e.g. w[{i},{j}] = {w[i, j]:.4g}: clip with quantise_weights() "
                          "or train hardware-aware")
        if quantised and not np.allclose(w * hw.weight_scale, np.round(w * hw.weight_scale), atol=1e-9):
            errors.append(f"projection {l}: weights are not multiples of 1/{hw.weight_scale:g}; quantise_weights()")
        if "axonal" in net.delay_config.kinds:
            d = net.delay_config.values(p)["axonal"]
            if np.any(d > hw.max_axonal_delay + 1e-12):
                errors.append(f"projection {l}: axonal delays up to {d.max():.4g} tau; delay elements realise at "
                              f"most {hw.max_axonal_delay:.4g} tau ({hw.delay_max_us:g} us incl. the "
                              f"{hw.delay_min_us:g} us offset)")
    if errors:
        raise ConstraintError("network does not fit BrainScaleS-2:\n  - " + "\n  - ".join(errors))


def chip_description(net, hw=BSS2()):
    """The network in chip units: hardware weights (signed 0..63), delay elements (us, tref)."""
    check(net, hw)
    layers = []
    for l, p in enumerate(net.params):
        w_hw = np.round(np.clip(p["w"], -hw.weight_max, hw.weight_max) * hw.weight_scale).astype(int)
        need = _delayed_sources(net, l)
        d_us = np.zeros(net.n_pre(l))
        if "axonal" in net.delay_config.kinds:
            d_us = hw.delay_min_us + net.delay_config.values(p)["axonal"] * hw.time_unit_us
        layers.append({"weights_hw": w_hw.tolist(), "delayed": need.tolist(),
                       "delay_us": np.where(need, d_us, 0.0).tolist(),
                       "tref_us": np.where(need, 8.0 * (d_us - 2.0), 0.0).tolist()})
    return {"format": "brian2learn-bss2-1", "constraints": asdict(hw), "n_inputs": net.n_inputs,
            "layer_sizes": list(net.layer_sizes), "n_bias": list(net.n_bias),
            "bias_times_us": (net.bias_times * hw.time_unit_us).tolist(),
            "trial_us": net.duration * hw.time_unit_us, "projections": layers}


_CHIP_SCRIPT = r'''"""BrainScaleS-2 PyNN script exported by brian2learn.hardware.brainscales2.

NOT RUN BY BRIAN2LEARN: the chip was not reachable where this was written; the script is checked
for its content only. Needs pynn_brainscales (EBRAINS) and a calibration; times are hardware
time in ms (1 model time unit = {tu} us), weights 0..63 per synapse with the sign given by the
receptor type, delays by delay-element neurons (refractory time tref_us = 8 (d_us - 2)).
Usage: python this.py inputs.npy out.npz   (inputs: (n_samples, n_inputs) spike times in us)
"""
import json
import sys

import numpy as np
import pynn_brainscales.brainscales2 as pynn

NET = json.loads(r"""{desc}""")
# calibrated current-based LIF, tau_m = tau_s = 6 us (parameters of CalibHXNeuronCuba)
CELL = dict(tau_m=6e-3, tau_syn_E=6e-3, tau_syn_I=6e-3, refractory_period=NET["trial_us"] * 1e-3)


def delay_cell(tref_us):
    return pynn.cells.CalibHXNeuronCuba(tau_m=6e-3, tau_syn_E=6e-3, tau_syn_I=6e-3,
                                        refractory_period=tref_us * 1e-3)


def connect(pre, post, w_hw):
    for receptor, sign in (("excitatory", 1), ("inhibitory", -1)):
        rows = [(i, j, int(sign * w), 0.0) for (i, j), w in np.ndenumerate(np.asarray(w_hw)) if sign * w > 0]
        if rows:
            pynn.Projection(pre, post, pynn.FromListConnector(rows, column_names=["weight", "delay"]),
                            synapse_type=pynn.standardmodels.synapses.StaticSynapse(),
                            receptor_type=receptor)


def run_sample(times_us):
    pynn.setup(initial_config=CALIB)
    src = [pynn.Population(1, pynn.cells.SpikeSourceArray(
        spike_times=[t * 1e-3] if np.isfinite(t) else [])) for t in times_us]
    prev = src
    layers = []
    for l, (n, proj) in enumerate(zip(NET["layer_sizes"], NET["projections"])):
        bias = [pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[NET["bias_times_us"][l] * 1e-3]))
                for _ in range(NET["n_bias"][l])]
        pre_cells = list(prev) + bias
        pop = pynn.Population(n, pynn.cells.CalibHXNeuronCuba(**CELL))
        pop.record(["spikes"])
        for i, cell in enumerate(pre_cells):
            if proj["delayed"][i]:  # relay through a delay element
                de = pynn.Population(1, delay_cell(proj["tref_us"][i]))
                connect(cell, de, [[63]])
                cell = de
            connect(cell, pop, [proj["weights_hw"][i]])
        layers.append(pop)
        prev = [pynn.PopulationView(pop, [k]) for k in range(n)]
    pynn.preprocess()
    pynn.run(NET["trial_us"] * 1e-3)
    out = []
    for pop in layers:
        trains = pop.get_data("spikes").segments[-1].spiketrains
        out.append([float(min(st.magnitude)) * 1e3 if len(st) else np.inf for st in trains])
    pynn.end()
    return out


if __name__ == "__main__":
    from calix import calibrate  # noqa: F401  (calibration as in the EBRAINS demos)
    from _static.common.helpers import get_nightly_calibration

    CALIB = get_nightly_calibration()
    inputs = np.load(sys.argv[1])
    res = [run_sample(x) for x in inputs]
    np.savez(sys.argv[2], **{{f"layer{{l}}_us": np.array([r[l] for r in res]) for l in range(len(NET["layer_sizes"]))}})
'''


def write_chip_script(net, path, hw=BSS2()):
    """Write the pynn_brainscales2 script for `net` (constraints checked first). Returns the description."""
    desc = chip_description(net, hw)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(_CHIP_SCRIPT.format(desc=json.dumps(desc), tu=hw.time_unit_us))
    return desc
