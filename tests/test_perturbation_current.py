"""Constant-current input encoding (models.lif I_ext, LayeredNetwork input_currents, SciML encode='current')."""
import numpy as np
import pytest
from brian2 import ms
from scipy.optimize import brentq

from brian2learn.experiments.perturbation_sciml import SpikingSciML, train
from brian2learn.experiments.sciml_tasks import make_task
from brian2learn.learning_rules import PerturbationGradient, SpikeTimeGradient
from brian2learn.models import LIF, LayeredNetwork

TAU = 5 * ms
MODEL = LIF(tau_s=TAU, tau_m=2 * TAU)
KW = dict(model=MODEL, n_bias=1, bias_times=0.9 * TAU, weight_init=((1.0, 0.5),), dt=0.01 * TAU,
          duration=3.0 * TAU, seed=1, input_currents=True)
Z = np.array([[0.0, 1.0], [0.25, 0.75], [0.5, 0.5], [1.0, 0.0]])


def _first_crossing(f, t_end=3.0):
    ts = np.linspace(1e-9, t_end, 3001)
    above = np.flatnonzero([f(t) > 0 for t in ts])
    return brentq(f, ts[above[0] - 1], ts[above[0]]) if len(above) else np.inf


def test_current_inputs_give_the_analytic_spike_times():
    """V g_l = I_ext (1 - exp(-t/tau_m)) + w_b k(t - t_b): the simulated crossing is exact."""
    net = LayeredNetwork(2, [5], batch_size=len(Z), **KW)
    T = net.simulate(Z)[1]
    w = net.params[0]["w"]
    I, w_b, t_b = Z @ w[:2], w[2], 0.9 + net.latency
    lam = MODEL.rheobase
    fired_by_current = 0
    for b in range(len(Z)):
        for j in range(5):
            def f(t):
                return I[b, j] * (1 - np.exp(-t / 2)) + w_b[j] * MODEL.kernel(max(t - t_b, 0.0)) - lam
            ref = _first_crossing(f)
            fired_by_current += ref < t_b
            if np.isinf(ref):
                assert np.isinf(T[b, j])
            else:
                assert T[b, j] == pytest.approx(ref, abs=1e-9)
    assert fired_by_current > 0            # some neurons fire from the current alone


def test_current_inputs_follow_per_copy_offsets():
    """A copy's offset on an input weight changes its current: equal to a separate network."""
    batched = LayeredNetwork(2, [5], batch_size=2, **KW)
    dw = np.zeros((2, batched.n_weights))
    dw[1, :10] = 0.3 * np.random.default_rng(0).standard_normal(10)   # the input rows
    batched.set_copy_offsets(dw)
    out = batched.simulate(Z[[1, 1]])[1]
    single = LayeredNetwork(2, [5], batch_size=1, **KW)
    single.params[0]["w"][...] += dw[1].reshape(single.params[0]["w"].shape)
    np.testing.assert_array_equal(out[1], single.simulate(Z[[1]])[1][0])
    assert not np.array_equal(out[0], out[1])


@pytest.fixture(scope="module")
def current_model():
    task = make_task("regression_x2", 9)
    return SpikingSciML(task.domain, hidden=8, n_points=101, encode="current", weight_init=((1.0, 1.0),),
                        seed=3), task


def test_current_encoding_output_is_continuous_in_the_input(current_model):
    """u(x) varies with x, and |u(x0 + h) - u(x0)| shrinks with h like h (a first spike jumps only
    where a potential touches the threshold tangentially: isolated points, as with TTFS inputs)."""
    m, _ = current_model
    u = m.predict(np.linspace(-1, 1, 101)[:, None])
    assert np.ptp(u) > 1e-3
    assert np.mean(np.abs(np.diff(u)) > 0.2 * np.ptp(u)) < 0.03     # at most isolated jumps
    x0 = np.array([-0.5, 0.1, 0.6])
    h = np.array([0.0, 1e-3, 1e-5])
    v = m.predict((x0[:, None] + h[None, :]).reshape(-1, 1)).reshape(3, 3)
    d_big, d_small = np.abs(v[:, 1] - v[:, 0]), np.abs(v[:, 2] - v[:, 0])
    assert np.all(d_small <= d_big / 20 + 1e-12)
    assert np.any(d_big > 0)


def test_current_encoding_substrate_matches_sequential_runs():
    task = make_task("regression_x2", 7)
    m = SpikingSciML(task.domain, hidden=5, n_points=7, n_rows=5, encode="current", weight_init=((1.0, 1.0),),
                     seed=2)
    est = PerturbationGradient(K=2, eps=0.05, seed=0)
    theta = m.theta.copy()
    stack = est.stack(theta, est.directions(theta.size))
    U = m.substrate(task.points)(stack)
    assert np.array_equal(m.theta, theta)
    np.testing.assert_allclose(U, m.sequential_substrate(task.points)(stack), rtol=0, atol=1e-12)
    assert not np.allclose(U[1], U[0])


def test_perturbation_trains_with_current_encoding():
    r = train("regression_x2", gradient="perturbation", steps=150, lr=0.1, lr_final=0.5, K=4, eps=1e-2,
              hidden=8, n=9, seed=0, encode="current", weight_init=((1.0, 1.0),))
    L = np.array(r["losses"])
    assert L[-10:].mean() < 0.3 * L[:3].mean()
    assert r["rel_l2"] < 0.5


def test_current_encoding_bad_arguments():
    with pytest.raises(ValueError, match="encode must be one of"):
        SpikingSciML([(0, 1)], encode="rate")
    with pytest.raises(ValueError, match="gradient='exact' needs encode='ttfs'"):
        train(gradient="exact", encode="current")
    task = make_task("regression_x2", 5)
    m = SpikingSciML(task.domain, hidden=3, n_points=5, encode="current")
    with pytest.raises(ValueError, match="exact gradients need encode='ttfs'"):
        m.exact_gradient(task.points, task.grad)
    with pytest.raises(ValueError, match="'brian2-cpp' does not run input_currents=True; use backend='brian2'"):
        LayeredNetwork(2, [3], model=MODEL, input_currents=True, device="cpp_standalone")
    net = LayeredNetwork(2, [3], batch_size=1, **KW)
    with pytest.raises(ValueError, match="must be finite"):
        net.simulate(np.array([[np.nan, 1.0]]))
    rec = {}
    net.run_trials(Z[:1], lambda k, r: rec.setdefault("r", r))
    with pytest.raises(ValueError, match="constant input currents"):
        SpikeTimeGradient(MODEL).backward(net, rec["r"], np.zeros((1, 3)))


def test_rejected_steps_are_undone():
    """reject_factor: a step that raises the clean loss too much is undone, so the next step measures
    the loss of the parameters before it again."""
    f = 1.02
    r = train("poisson_two_modes", gradient="perturbation", steps=40, lr=0.3, K=2, eps=1e-2, hidden=6, n=9, seed=0,
              reject_factor=f)
    L, last, rejected = r["losses"], None, []          # rejected: (step, the accepted step before it)
    for k, loss in enumerate(L):
        if last is not None and loss > f * L[last]:
            rejected.append((k, last))
        else:
            last = k
    assert r["rejected_steps"] == len(rejected) > 0
    for k, before in rejected:                         # the next step runs the parameters of `before`
        if k + 1 < len(L):
            assert L[k + 1] == pytest.approx(L[before], rel=1e-9)
    with pytest.raises(ValueError, match="reject_factor"):
        train(reject_factor=0.5)
