"""Export feed-forward LIF networks to NIR (Neuromorphic Intermediate Representation) and back.

NIR's current-based LIF (Pedersen et al., "Neuromorphic intermediate representation", Nat.
Commun. 15 (2024)):

    tau_syn dI/dt = -I + w_in S,     tau_mem dv/dt = (v_leak - v) + r I,     v > v_threshold: spike

models.lif (C_m dV/dt = -g_l (V - E_l) + I, I += w per input spike) is the same with
tau_mem = tau_m, tau_syn = tau_s, r = 1 / g_l, v_leak = E_l, v_threshold = v_th, and w_in = tau_s so
that a Dirac input spike of weight W (the Affine before it) makes I jump by W.
Units in the file (also in the graph metadata): seconds, nA (weights, currents), mV, mV/nA (r).

Graph per projection l (presynaptic population -> Delay -> Affine -> [Delay] -> CubaLIF l):
- `delay_l`: per presynaptic channel, latency + axonal delay d_i (NIR Delay nodes are per channel);
- `affine_l`: weights (n_post, n_pre) in nA, bias 0;
- `dendritic_l`: per postsynaptic channel (only if the network has dendritic delays);
- bias spike sources are extra NIR Input nodes `bias_l` (their spike times in the metadata).
Synaptic delays (one per connection) have no NIR node and are refused with a message.
"""
from __future__ import annotations

import numpy as np
from brian2 import mV, nA, second

from ..models.delays import DelayConfig
from ..models.lif import LIF
from ..models.network import LayeredNetwork
from .pynn_export import UnsupportedExportError, check_exportable

__all__ = ["to_nir", "from_nir", "write_nir", "read_nir"]


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("NIR export needs the 'nir' package: pip install 'brian2learn[hardware]'") from exc
    return nir


def to_nir(net):
    """The network as a nir.NIRGraph (see the module docstring for the mapping)."""
    nir = _nir()
    check_exportable(net, "NIR")
    if "synaptic" in net.delay_config.kinds:
        raise UnsupportedExportError("synaptic delays (one per connection) have no NIR equivalent: NIR Delay "
                                     "nodes delay whole channels; train with delays='axonal' or 'dendritic'")
    m = net.model
    tu = float(m.time_unit / second)
    w_nA = float(m.weight_unit / nA)
    nodes = {"input": nir.Input(input_type={"input": np.array([net.n_inputs])})}
    edges = []
    prev = "input"
    for l, n_post in enumerate(net.layer_sizes):
        p = net.params[l]
        vals = net.delay_config.values(p)
        n_pre = net.n_pre(l)
        n_prev = n_pre - net.n_bias[l]
        axonal = net.latency + np.asarray(vals.get("axonal", np.zeros(n_pre)), float)
        w = p["w"] * w_nA
        sources = [(prev, slice(0, n_prev), "")]
        if net.n_bias[l]:
            nodes[f"bias_{l}"] = nir.Input(input_type={"input": np.array([net.n_bias[l]])})
            sources.append((f"bias_{l}", slice(n_prev, n_pre), "_bias"))
        lif_in = f"lif_{l}"
        if "dendritic" in vals:
            nodes[f"dendritic_{l}"] = nir.Delay(delay=np.asarray(vals["dendritic"], float) * tu)
            edges.append((f"dendritic_{l}", lif_in))
            lif_in = f"dendritic_{l}"
        for src, rows, suffix in sources:
            nodes[f"delay_{l}{suffix}"] = nir.Delay(delay=axonal[rows] * tu)
            nodes[f"affine_{l}{suffix}"] = nir.Affine(weight=w[rows].T.copy(), bias=np.zeros(n_post))
            edges += [(src, f"delay_{l}{suffix}"), (f"delay_{l}{suffix}", f"affine_{l}{suffix}"),
                      (f"affine_{l}{suffix}", lif_in)]
        ones = np.ones(n_post)
        nodes[f"lif_{l}"] = nir.CubaLIF(tau_syn=ones * float(m.tau_s / second), tau_mem=ones * float(m.tau_m / second),
                                        r=ones * float(1 / m.g_l / (mV / nA)), v_leak=ones * float(m.E_l / mV),
                                        v_threshold=ones * float(m.v_th / mV), v_reset=ones * float(m.E_l / mV),
                                        w_in=ones * float(m.tau_s / second))
        prev = f"lif_{l}"
    nodes["output"] = nir.Output(output_type={"output": np.array([net.layer_sizes[-1]])})
    edges.append((prev, "output"))
    meta = {"source": "brian2learn", "units": "s, nA, mV, mV/nA", "time_unit_s": tu,
            "layer_sizes": list(net.layer_sizes), "n_inputs": net.n_inputs, "n_bias": list(net.n_bias),
            "bias_times_s": (net.bias_times * tu).tolist(), "latency_s": net.latency * tu,
            "dt_s": net.dt * tu, "duration_s": net.duration * tu, "delay_kinds": list(net.delay_config.kinds)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def from_nir(graph, batch_size=1, target="cython"):
    """A LayeredNetwork from a graph written by `to_nir` (the same parameters, delays unparameterised)."""
    md = graph.metadata
    if md.get("source") != "brian2learn":
        raise ValueError("from_nir reads graphs written by brian2learn.hardware.nir_export.to_nir "
                         "(metadata 'source' = 'brian2learn')")
    nd = graph.nodes
    lif0 = nd["lif_0"]
    tu = float(md["time_unit_s"])
    s = second
    model = LIF(tau_s=float(lif0.tau_syn[0]) * s, tau_m=float(lif0.tau_mem[0]) * s,
                g_l=float(1.0 / lif0.r[0]) * (nA / mV), E_l=float(lif0.v_leak[0]) * mV,
                v_th=float(lif0.v_threshold[0]) * mV)
    kinds = tuple(k.decode() if isinstance(k, bytes) else str(k) for k in md["delay_kinds"])
    net = LayeredNetwork(int(md["n_inputs"]), list(md["layer_sizes"]), model=model,
                         delays=DelayConfig(kinds=kinds, max_delay=1e9), n_bias=list(md["n_bias"]),
                         bias_times=np.asarray(md["bias_times_s"]) * s, batch_size=batch_size,
                         dt=float(md["dt_s"]) * s, duration=float(md["duration_s"]) * s,
                         latency=float(md["latency_s"]) * s, target=target)
    for l in range(net.n_layers):
        parts = [("", "")] + ([("_bias", "")] if net.n_bias[l] else [])
        w = np.concatenate([nd[f"affine_{l}{sfx}"].weight.T for sfx, _ in parts], axis=0)
        d = np.concatenate([nd[f"delay_{l}{sfx}"].delay for sfx, _ in parts]) / tu - net.latency
        net.params[l]["w"] = w / float(model.weight_unit / nA)
        if "axonal" in kinds:
            net.params[l]["axonal"] = d
        if "dendritic" in kinds:
            net.params[l]["dendritic"] = np.asarray(nd[f"dendritic_{l}"].delay, float) / tu
    net.params_changed()
    return net


def write_nir(net, path):
    """Write the network to a .nir file (HDF5)."""
    _nir().write(path, to_nir(net))


def read_nir(path, **kwargs):
    """Read a .nir file written by `write_nir` into a LayeredNetwork."""
    return from_nir(_nir().read(path), **kwargs)
