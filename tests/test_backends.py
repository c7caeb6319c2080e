"""The back-end table, walked: every supported combination runs a tiny network (and agrees with the
exact event back end where both are exact); every unsupported one is refused before any run with a
message whose suggested back ends really run it."""
import re

import numpy as np
import pytest
from brian2 import ms

from brian2learn.backends import BACKENDS, UnsupportedBackendError, capability_table, make
from brian2learn.datasets import ttfs_linear, yin_yang
from brian2learn.models import LIF, DelayConfig, LayeredNetwork
from brian2learn.training import Trainer

TAU = 5 * ms
X = np.array([[0.2, 0.5, 0.9, 1.3], [0.4, 0.1, 1.0, 0.7], [1.1, 0.3, 0.2, 0.6]])

# feature -> LayeredNetwork keywords (each network has one thing a back end might lack)
FEATURES = {
    "synaptic": dict(delays=DelayConfig("synaptic", init=(0.3, 0.1))),
    "axonal+dendritic": dict(delays=DelayConfig("axonal+dendritic", init=(0.3, 0.1))),
    "reparameterised": dict(delays=DelayConfig("synaptic", reparam=(0.0, 1.0))),
    "tau_m=1.5tau_s": dict(model=LIF(tau_s=TAU, tau_m=1.5 * TAU)),
    "input_currents": dict(input_currents=True),
    "record_states": dict(record_states=True),
}


def options(name, tmp_path):
    """Cheap options per back end: no Cython compile in the runtime ones."""
    return {"brian2": dict(target="numpy"), "in-simulation": dict(target="numpy"),
            "brian2-cpp": dict(directory=str(tmp_path / "cpp")), "pynn": dict(simulator="nest"),
            }.get(name, {})


def network(feature, **kw):
    base = dict(model=LIF(tau_s=TAU, tau_m=2 * TAU), n_bias=1, bias_times=0.9 * TAU, batch_size=3,
                weight_init=((1.5, 1.0), (0.8, 1.0)), dt=0.01 * TAU, duration=4 * TAU, seed=4)
    base.update(FEATURES[feature])
    base.update(kw)
    return LayeredNetwork(4, [5, 2], **base)


def reference(feature):
    """The spike times of the Brian2 runtime (numpy target) for the same network."""
    return network(feature, backend="brian2", backend_options=dict(target="numpy")).simulate(X)


def suggested(message):
    found = re.search(r"use backend=(.*)$", message).group(1)
    return re.findall(r"'([\w-]+)'", found)


WALK = [(name, feature) for name in BACKENDS if name not in ("data-parallel", "brian2-cuda") for feature in FEATURES]


@pytest.mark.parametrize("name, feature", WALK)
def test_each_backend_runs_or_refuses_each_feature(name, feature, tmp_path):
    if name == "pynn":
        pytest.importorskip("pyNN.nest", reason="needs PyNN and NEST (the 'hardware' extra)")
    try:
        net = network(feature, backend=name, backend_options=options(name, tmp_path))
    except UnsupportedBackendError as err:
        alternatives = suggested(str(err))
        assert alternatives and set(alternatives) <= set(BACKENDS) and name not in alternatives
        assert "brian2" in alternatives          # the runtime runs every LayeredNetwork feature
        reference(feature)                       # ... and really does
        return
    if feature == "input_currents":
        out = net.simulate(np.abs(X))
    else:
        out = net.simulate(X)
    assert [o.shape for o in out] == [(3, 4), (3, 5), (3, 2)]
    assert np.isfinite(out[-1]).any(), "the tiny network should make some output spike"
    if name in ("brian2-cpp", "in-simulation"):        # exact like the runtime (same generated model)
        for a, b in zip(out, reference(feature)):
            np.testing.assert_allclose(a, b, atol=1e-9)
    if name == "event":
        for a, b in zip(out, reference(feature)):
            np.testing.assert_allclose(a, b, atol=1e-9)


def test_the_table_lists_every_backend_with_what_it_needs():
    rows = {r["name"]: r for r in capability_table()}
    assert set(rows) == set(BACKENDS) == {"brian2", "brian2-cpp", "brian2-cuda", "event", "in-simulation", "pynn",
                                          "data-parallel"}
    assert rows["brian2-cuda"]["extra"] == "gpu" and rows["pynn"]["extra"] == "hardware"
    assert rows["in-simulation"]["training"] == "fused" and rows["event"]["tau_ratios"] == [1.0, 2.0]


def test_unknown_backend_names_and_stray_options_are_refused():
    with pytest.raises(ValueError, match=r"backend must be one of \['brian2', 'brian2-cpp'"):
        network("synaptic", backend="nest")
    with pytest.raises(ValueError, match="threads=2 does not apply to backend 'event'; drop it"):
        LayeredNetwork(4, [2], simulator="replay", threads=2)
    with pytest.raises(ValueError, match="give the back end once"):
        LayeredNetwork(4, [2], backend="event", simulator="replay")
    with pytest.raises(ValueError, match="go with a back-end name"):
        make(make("event"), target="numpy")


def test_cuda_backend_without_brian2cuda_says_how_to_install():
    try:
        import brian2cuda  # noqa: F401
        pytest.skip("brian2cuda is installed: tests/test_cuda_standalone.py covers it")
    except ImportError:
        pass
    with pytest.raises(ImportError, match=r"\[gpu\]"):
        network("synaptic", backend="brian2-cuda")


def test_per_copy_offsets_are_refused_where_the_backend_has_none():
    pytest.importorskip("pyNN.nest", reason="needs PyNN and NEST (the 'hardware' extra)")
    net = network("synaptic", backend="pynn")
    with pytest.raises(UnsupportedBackendError, match="per-copy weight offsets"):
        net.set_copy_offsets(np.zeros((net.batch_size, net.n_weights)))


def test_one_backend_argument_reaches_trainer_and_in_simulation():
    x, y = yin_yang("train")
    train = (ttfs_linear(x[:30]), y[:30])
    net = network("synaptic", backend="brian2", backend_options=dict(target="numpy"))
    net = LayeredNetwork(4, [5, 3], model=net.model, delays=DelayConfig("synaptic", init=(0.3, 0.1)), n_bias=1,
                         bias_times=0.9 * TAU, batch_size=10, weight_init=((1.5, 1.0), (0.8, 1.0)),
                         dt=0.01 * TAU, duration=4 * TAU, seed=4)
    trainer = Trainer(net, train, backend="event", progress=False)
    assert net.backend.name == "event" and type(trainer) is Trainer
    trainer.fit(1, log=None)
    fused = Trainer(net, train, backend="in-simulation", progress=False)
    assert type(fused).__name__ == "InSimulationTrainer"
    axonal = LayeredNetwork(4, [5, 3], delays="axonal", seed=1)
    with pytest.raises(UnsupportedBackendError, match="'in-simulation' does not run delay kinds axonal"):
        Trainer(axonal, train, backend="in-simulation", progress=False)


def test_parameters_changed_inside_using_reach_the_restored_backend():
    net = network("synaptic", backend="brian2", backend_options=dict(target="numpy"))
    before = net.simulate(X)[-1]               # the Brian2 copies now hold these parameters
    with net.using("event"):
        net.params[1]["w"] *= 0.0              # silence the output layer while another back end runs
        net.params_changed()
    after = net.simulate(X)[-1]
    assert np.isfinite(before).any() and not np.isfinite(after).any()
