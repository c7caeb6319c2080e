"""The compiled event loops (models.lif_events_native) compute what the numpy code computes: the
closed-form forward of simulator='replay' and the exact spike-time gradient, for both closed-form
ratios (and the gradient for any ratio), with 1 or 2 OpenMP threads."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.learning_rules import SpikeTimeGradient
from brian2learn.models import LIF, LayeredNetwork, lif_events_native as nat
from brian2learn.models.lif_replay import replay_layers
from brian2learn.models.network import TrialRecord

TAU_S = 5 * ms


@pytest.fixture
def backend():
    """set_backend / set_threads for one test, restored afterwards."""
    saved = dict(nat._state)
    yield nat
    nat._state.update(saved)


def network(ratio, sizes, seed, n_in=40, batch=12):
    rng = np.random.default_rng(seed)
    net = LayeredNetwork(n_in, sizes, model=LIF(tau_s=TAU_S, tau_m=ratio * TAU_S), delays="synaptic",
                         weight_init=[(0.25, 0.6)] + [(0.8, 0.6)] * (len(sizes) - 1), batch_size=batch,
                         dt=0.05 * TAU_S, duration=8 * TAU_S, seed=seed, simulator="replay")
    for p in net.params:
        p["synaptic"] = rng.uniform(0.0, 2.0, p["synaptic"].shape)
    net.params_changed()
    x = rng.uniform(0.0, 2.0, (batch, n_in))
    x[rng.random(x.shape) < 0.5] = np.inf      # half the inputs silent, as in a latency-coded image
    x[1] = np.inf                              # one sample with no input at all (only the bias source)
    x[2, :] = np.inf
    x[2, :3] = 0.5                             # and one where three inputs tie
    return net, x


def both(backend, fn):
    backend.set_backend("numpy")
    ref = fn()
    backend.set_backend("cython")
    return ref, fn()


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_compiled_forward_equals_numpy(backend, ratio):
    net, x = network(ratio, [30, 5], seed=1)
    (ref, _), (out, _) = both(backend, lambda: replay_layers(net, x))
    for a, b in zip(ref[1:], out[1:]):
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
        np.testing.assert_allclose(b[np.isfinite(b)], a[np.isfinite(a)], rtol=1e-12, atol=1e-12)
    assert np.isfinite(out[1]).mean() > 0.3 and np.isfinite(out[2]).mean() > 0.3   # neurons do spike


@pytest.mark.parametrize("ratio", [1.0, 2.0, 3.0])
def test_compiled_gradient_equals_numpy(backend, ratio):
    net, x = network(2.0, [30, 5], seed=2)
    layers, bias = replay_layers(net, x)
    if ratio != 2.0:   # the gradient holds for any ratio: the same spike times under another kernel
        net.model = LIF(tau_s=TAU_S, tau_m=ratio * TAU_S)
    record = TrialRecord(layers=layers, bias=bias, n_valid=len(x))
    rule = SpikeTimeGradient(net.model)
    dL_dT = np.random.default_rng(0).normal(size=layers[-1].shape) * np.isfinite(layers[-1])
    (g0, d0), (g1, d1) = both(backend, lambda: rule.backward(net, record, dL_dT))
    for a, b in zip(g0, g1):
        for key in a:
            assert np.abs(a[key]).max() > 1e-3                      # gradients flow into every parameter
            np.testing.assert_allclose(b[key], a[key], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d1, d0, rtol=1e-12, atol=1e-13)


def test_two_threads_equal_one(backend):
    net, x = network(2.0, [64, 5], seed=3, batch=16)
    rule = SpikeTimeGradient(net.model)
    backend.set_backend("cython")
    results = []
    for n in (1, 2):
        backend.set_threads(n)
        layers, bias = replay_layers(net, x)
        dL_dT = np.where(np.isfinite(layers[-1]), 1.0, 0.0)
        results.append((layers, rule.backward(net, TrialRecord(layers=layers, bias=bias, n_valid=len(x)), dL_dT)))
    (l1, (g1, d1)), (l2, (g2, d2)) = results
    for a, b in zip(l1, l2):
        np.testing.assert_array_equal(a, b)                         # the forward: same work per neuron
    for key in g1[-1]:   # the output projection: each thread owns its neurons' rows, same sums
        np.testing.assert_array_equal(g1[-1][key], g2[-1][key])
    for a, b in zip(g1[:-1], g2[:-1]):   # below it, deltas summed over threads: equal to rounding
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d1, d2, rtol=1e-12, atol=1e-14)


def test_backend_and_threads_are_checked(backend):
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.set_backend("fortran")
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        backend.set_threads(0)
    backend.set_backend("numpy")
    assert backend.native() is None
    backend.set_threads(3)
    assert backend.threads() == 3


def test_small_calls_run_on_one_thread_unless_threads_were_chosen(backend, monkeypatch):
    """Unset, a call below PARALLEL_MIN_WORK runs serially (a parallel region waits for a descheduled
    thread on a busy machine) and a larger one on every core; a chosen number holds for every call."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(nat.os, "cpu_count", lambda: 4)
    backend.set_threads(None)
    assert backend.threads_for(nat.PARALLEL_MIN_WORK - 1) == 1
    assert backend.threads_for(nat.PARALLEL_MIN_WORK) == 4 == backend.threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert backend.threads_for(10) == 2 == backend.threads()
    backend.set_threads(3)
    assert backend.threads_for(10) == 3 == backend.threads_for(10 ** 9)


def test_a_model_with_its_own_kernel_keeps_the_numpy_code():
    class Alpha(LIF):
        def kernel_pair(self, x):
            return super().kernel_pair(2 * x)

    assert nat.supports(LIF(tau_s=TAU_S, tau_m=2 * TAU_S))
    assert not nat.supports(Alpha(tau_s=TAU_S, tau_m=2 * TAU_S))
