"""Back ends: what runs a network description, chosen by one argument.

    Trainer(net, train, test, backend="event")          # or "brian2", "brian2-cpp", ...
    net.use_backend("brian2", target="numpy")           # the back end of net.simulate / run_trials
    make("pynn", simulator="nest")                      # a back-end object with options

| name            | module              | runs                                                          |
|-----------------|---------------------|---------------------------------------------------------------|
| "brian2"        | brian2_runtime      | Brian2 runtime (Cython / numpy), the rule at trial boundaries |
| "brian2-cpp"    | brian2_standalone   | Brian2 cpp_standalone, one run per trial with run_args        |
| "brian2-cuda"   | brian2_standalone   | brian2cuda cuda_standalone (GPU; the `gpu` extra)             |
| "event"         | event               | exact event-driven closed forms, no time grid                 |
| "in-simulation" | in_simulation       | the whole epoch, rule and Adam included, as one compiled run  |
| "pynn"          | pynn                | the PyNN export on NEST (the `hardware` extra)                |
| "data-parallel" | data_parallel       | any of the above on Dask workers (the `parallel` extra)       |

Each back end declares its `Capabilities`; `check_supported` compares a network with them in this
one place and refuses what a back end cannot run with a message naming the back ends that can.
"""
from __future__ import annotations

from .base import Backend, Capabilities, TrialRecord, UnsupportedBackendError
from .brian2_runtime import Brian2Runtime
from .brian2_standalone import Brian2CppStandalone, Brian2CudaStandalone
from .data_parallel import DataParallel
from .event import EventDriven
from .in_simulation import InSimulation, InSimulationTrainer
from .pynn import PyNNBackend

__all__ = ["BACKENDS", "Backend", "Capabilities", "TrialRecord", "UnsupportedBackendError", "make",
           "check_supported", "capability_table", "Brian2Runtime", "Brian2CppStandalone",
           "Brian2CudaStandalone", "EventDriven", "InSimulation", "InSimulationTrainer", "PyNNBackend",
           "DataParallel"]

BACKENDS = {cls.name: cls for cls in (Brian2Runtime, Brian2CppStandalone, Brian2CudaStandalone, EventDriven,
                                      InSimulation, PyNNBackend, DataParallel)}


def make(spec="brian2", **options):
    """A back-end object: `spec` is a name from BACKENDS (options go to its class) or a Backend."""
    if isinstance(spec, Backend):
        if options:
            raise ValueError(f"options {sorted(options)} go with a back-end name, not with the object {spec!r}")
        return spec
    if spec not in BACKENDS:
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}, got {spec!r}")
    return BACKENDS[spec](**options)


def _ratio(network):
    return float(getattr(network.model, "ratio", float("nan")))


# (what the network needs, test on the network, test on a back end's capabilities)
FEATURES = (
    ("delay kinds {kinds}", lambda n: bool(set(n.delay_config.kinds)),
     lambda c, n: set(n.delay_config.kinds) <= c.delay_kinds),
    ("reparameterised delays (DelayConfig(reparam=...))",
     lambda n: bool(n.delay_config.kinds) and n.delay_config.reparam is not None,
     lambda c, n: c.reparameterised_delays),
    ("tau_m / tau_s = {ratio:g}", lambda n: True,
     lambda c, n: c.ttfs_ratios is None or any(abs(_ratio(n) - r) < 1e-12 for r in c.ttfs_ratios)),
    ("input_currents=True", lambda n: n.input_currents, lambda c, n: c.input_currents),
    ("record_states=True", lambda n: n.record_states, lambda c, n: c.record_states),
    ("per-copy weight offsets (set_copy_offsets)", lambda n: n.copy_offsets is not None,
     lambda c, n: c.copy_offsets),
)


def _missing(capabilities, network):
    return [what.format(kinds="+".join(network.delay_config.kinds), ratio=_ratio(network))
            for what, needs, has in FEATURES if needs(network) and not has(capabilities, network)]


def check_supported(backend, network):
    """Refuse (UnsupportedBackendError) a network that `backend` cannot run, naming the back ends
    that can; this is the one place where combinations are checked."""
    missing = _missing(backend.capabilities, network)
    if missing:
        others = [name for name, cls in BACKENDS.items() if name != backend.name and cls is not DataParallel
                  and not _missing(cls.capabilities, network)]
        raise UnsupportedBackendError(f"backend {backend.name!r} does not run {' and '.join(missing)}; "
                                      f"use backend={' or '.join(repr(o) for o in others) or 'none of them'}")


def capability_table():
    """One row per back end: name, summary and what it supports (for docs and `brian2learn list`)."""
    rows = []
    for name, cls in BACKENDS.items():
        c = cls.capabilities
        rows.append(dict(name=name, summary=c.summary, delay_kinds=sorted(c.delay_kinds),
                         tau_ratios="any" if c.ttfs_ratios is None else list(c.ttfs_ratios),
                         input_currents=c.input_currents, record_states=c.record_states,
                         training=c.training, extra=c.extra))
    return rows
