"""The exact spike-time gradients equal central finite differences of the Brian2 simulation.

Random small networks, float64, every parameter kind (weights, axonal, dendritic and synaptic
delays, input spike times), tau_m = tau_s and tau_m = 2 tau_s, two and three layers.
"""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.learning_rules import SpikeTimeGradient
from brian2learn.models import LIF, DelayConfig, LayeredNetwork

TAU_S = 5 * ms
EPS = 1e-6


def make_net(ratio, sizes, kinds, reparam, seed, dt=0.01, duration=12):
    model = LIF(tau_s=TAU_S, tau_m=ratio * TAU_S)
    delays = DelayConfig(kinds=kinds, init=(0.3, 0.15) if reparam is None else (-1.0, 0.5), reparam=reparam)
    net = LayeredNetwork(3, sizes, model=model, delays=delays, n_bias=1, bias_times=0.4 * TAU_S,
                         weight_init=[(0.9, 0.4), (0.7, 0.3), (0.7, 0.3)], batch_size=6,
                         dt=dt * TAU_S, duration=duration * TAU_S, seed=seed)
    return net


def loss_and_grad(net, x, c):
    """L = sum over samples and spiking outputs of c * T (a linear functional of output times)."""
    out = net.simulate(x)[-1]
    spk = np.isfinite(out)
    return float(np.sum(np.where(spk, c * out, 0.0))), np.where(spk, c, 0.0), out


def fd_check(net, x, c, per_array=None, seed=0):
    """Analytic vs central-difference gradients; per_array: check that many random entries of each array."""
    pick = np.random.default_rng(seed)

    def entries(shape):
        all_idx = list(np.ndindex(shape))
        if per_array is None or len(all_idx) <= per_array:
            return all_idx
        return [all_idx[i] for i in pick.choice(len(all_idx), per_array, replace=False)]

    rule = SpikeTimeGradient(net.model)
    grads_rec = {}

    def keep(k, rec):
        grads_rec["rec"] = rec

    net.run_trials(x, keep)
    rec = grads_rec["rec"]
    out = rec.output[:len(x)]
    assert np.isfinite(out).mean() > 0.5, "test network should have most outputs spiking"
    dL = np.where(np.isfinite(rec.output), c, 0.0)
    grads, d_input = rule.backward(net, rec, dL)

    analytic, numeric = [], []
    for l, p in enumerate(net.params):
        for name, arr in p.items():
            for idx in entries(arr.shape):
                old = arr[idx]
                vals = []
                for sgn in (1, -1):
                    arr[idx] = old + sgn * EPS
                    net.params_changed()
                    vals.append(loss_and_grad(net, x, c)[0])
                arr[idx] = old
                net.params_changed()
                analytic.append(grads[l][name][idx])
                numeric.append((vals[0] - vals[1]) / (2 * EPS))
    for idx in entries(x.shape):
        vals = []
        for sgn in (1, -1):
            xp = x.copy()
            xp[idx] += sgn * EPS
            vals.append(loss_and_grad(net, xp, c)[0])
        analytic.append(d_input[idx])
        numeric.append((vals[0] - vals[1]) / (2 * EPS))
    return np.array(analytic), np.array(numeric)


def assert_gradients_match(net, x, c, per_array=None, require_most_nonzero=False):
    a, n = fd_check(net, x, c, per_array=per_array)
    if require_most_nonzero:
        assert np.count_nonzero(np.abs(n) > 1e-6) > 0.5 * len(n), "most parameters should matter"
    np.testing.assert_allclose(a, n, rtol=2e-4, atol=2e-5 * np.abs(n).max())


@pytest.mark.parametrize("ratio", [1.0, 2.0])
@pytest.mark.parametrize("sizes", [[4, 2], [4, 3, 2]], ids=["2-layer", "3-layer"])
def test_gradients_match_finite_differences(ratio, sizes):
    """Random entries of every parameter array (weights, 3 delay kinds) and of the input times."""
    rng = np.random.default_rng(7)
    net = make_net(ratio, sizes, "axonal+dendritic+synaptic", None, seed=3, dt=0.02, duration=8)
    x = rng.uniform(0.1, 2.0, (6, 3))
    c = rng.normal(size=(6, sizes[-1]))
    assert_gradients_match(net, x, c, per_array=4, require_most_nonzero=True)


@pytest.mark.slow
@pytest.mark.parametrize("ratio", [1.0, 2.0])
@pytest.mark.parametrize("sizes", [[4, 2], [4, 3, 2]], ids=["2-layer", "3-layer"])
def test_every_gradient_entry_matches_finite_differences(ratio, sizes):
    rng = np.random.default_rng(7)
    net = make_net(ratio, sizes, "axonal+dendritic+synaptic", None, seed=3)
    x = rng.uniform(0.1, 2.0, (6, 3))
    c = rng.normal(size=(6, sizes[-1]))
    assert_gradients_match(net, x, c, require_most_nonzero=True)


def test_reparameterised_delays_match_finite_differences():
    rng = np.random.default_rng(11)
    net = make_net(2.0, [4, 2], "axonal+synaptic", (0.0, 1.0), seed=5, dt=0.02, duration=8)
    x = rng.uniform(0.1, 2.0, (6, 3))
    c = rng.normal(size=(6, 2))
    assert_gradients_match(net, x, c, per_array=4)


@pytest.mark.parametrize("ratio", [1.5, 3.0])
def test_other_tau_ratios_get_exact_gradients_too(ratio):
    """No closed form for these ratios: the implicit-function gradient still matches the simulation."""
    rng = np.random.default_rng(5)
    net = make_net(ratio, [4, 2], "synaptic", None, seed=8, dt=0.02, duration=10)
    peak = net.model.kernel(np.linspace(0, 10, 2001)).max()
    for p in net.params:  # same PSP peaks as for tau_m = 2 tau_s, so that most neurons fire
        p["w"] *= 0.25 / peak
    x = rng.uniform(0.1, 2.0, (6, 3))
    c = rng.normal(size=(6, 2))
    assert_gradients_match(net, x, c, per_array=4)


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_gradients_match_finite_differences_of_the_replay_simulator(ratio):
    """simulator='replay' (closed-form event forward, no time grid): the same rule equals central
    differences of the replayed spike times, every parameter kind, three layers."""
    net = make_net(ratio, [4, 3, 2], "axonal+dendritic+synaptic", None, seed=11)
    net.use_backend("event")
    x = np.random.default_rng(11).uniform(0.1, 1.5, (6, 3))
    c = np.random.default_rng(12).normal(size=(6, 2))
    assert_gradients_match(net, x, c, per_array=4, require_most_nonzero=True)
