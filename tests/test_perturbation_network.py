"""Per-copy weight offsets (LayeredNetwork.set_copy_offsets) and the batched perturbation substrate."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.experiments.perturbation_sciml import SpikingSciML
from brian2learn.experiments.sciml_tasks import make_task
from brian2learn.learning_rules import PerturbationGradient, cosine_similarity
from brian2learn.models import LIF, LayeredNetwork

TAU = 5 * ms
KW = dict(model=LIF(tau_s=TAU, tau_m=2 * TAU), n_bias=1, bias_times=0.9 * TAU, weight_init=((2.0, 2.0),),
          dt=0.01 * TAU, duration=3.0 * TAU, seed=4)
X = np.array([[0.2, 1.5, 0.7], [1.0, 0.4, 1.9]])


def _flat(net):
    return np.concatenate([p["w"].ravel() for p in net.params])


def test_copy_with_offset_equals_separate_network():
    batched = LayeredNetwork(3, [6, 2], batch_size=4, **KW)
    rng = np.random.default_rng(0)
    dw = np.zeros((4, batched.n_weights))
    dw[1] = 0.3 * rng.standard_normal(batched.n_weights)
    dw[3] = 0.3 * rng.standard_normal(batched.n_weights)
    w0 = _flat(batched)
    batched.set_copy_offsets(dw)
    # copies 0, 1 run sample 0; copies 2, 3 run sample 1
    out = batched.simulate(X[[0, 0, 1, 1]])
    assert np.array_equal(_flat(batched), w0)          # master weights untouched
    for copy, sample in ((0, 0), (1, 0), (2, 1), (3, 1)):
        single = LayeredNetwork(3, [6, 2], batch_size=1, **KW)
        o = 0
        for p in single.params:
            p["w"][...] += dw[copy, o:o + p["w"].size].reshape(p["w"].shape)
            o += p["w"].size
        ref = single.simulate(X[[sample]])
        for layer in range(1, 3):
            np.testing.assert_array_equal(out[layer][copy], ref[layer][0])
    assert not np.array_equal(out[2][0], out[2][1])    # the offset changed the spikes
    # offsets removed: every copy is the master network again (a later run: times relative to a
    # later trial start, so equal up to rounding of t - t0)
    batched.set_copy_offsets(None)
    clean = batched.simulate(X[[0, 0, 1, 1]])
    np.testing.assert_allclose(clean[2][1], out[2][0], rtol=0, atol=1e-12)


def test_copy_offsets_bad_input():
    net = LayeredNetwork(3, [6, 2], batch_size=2, **KW)
    with pytest.raises(ValueError, match="batch_size, n_weights"):
        net.set_copy_offsets(np.zeros((3, net.n_weights)))
    with pytest.raises(ValueError, match="NaN"):
        net.set_copy_offsets(np.full((2, net.n_weights), np.nan))


def _model(decode):
    task = make_task("regression_sin", 7)
    m = SpikingSciML(task.domain, hidden=5, decode=decode, n_points=7, n_rows=5, duration=3.0,
                     weight_init=((2.0, 2.0),), seed=2)
    return m, task


@pytest.fixture(scope="module")
def model():
    return _model("membrane")


def test_substrate_leaves_clean_parameters_and_matches_predict(model):
    m, task = model
    theta = m.theta.copy()
    u_clean = m.predict(task.points)
    est = PerturbationGradient(K=2, eps=0.05, seed=0)
    sub = m.substrate(task.points)
    g, loss = est.estimate(lambda s: task.loss(sub(s)), m.theta, blocks=m.blocks)
    assert np.array_equal(m.theta, theta)
    # a later run: equal up to the rounding of spike times relative to the later trial start
    np.testing.assert_allclose(m.predict(task.points), u_clean, rtol=0, atol=1e-12)
    assert loss == pytest.approx(float(task.loss(u_clean)[0]), rel=1e-12)
    # each perturbed row equals a separate clean run with those parameters
    stack = est.stack(theta, est.directions(theta.size))
    U = sub(stack)
    np.testing.assert_allclose(U, m.sequential_substrate(task.points)(stack), rtol=0, atol=1e-12)


@pytest.mark.parametrize("decode", ["membrane", "spike_time"])
def test_exact_gradient_matches_finite_differences(decode, model):
    """The chain rule through decoder + spike times equals central differences of the same simulation."""
    m, task = model if decode == "membrane" else _model(decode)
    g, u = m.exact_gradient(task.points, task.grad)
    sub = m.substrate(task.points)
    theta, h = m.theta, 1e-5
    rng = np.random.default_rng(1)
    idx = np.concatenate([rng.choice(m.net.n_weights, 8, replace=False),
                          m.net.n_weights + np.arange(min(2, len(m.readout)))]).astype(int)
    fd = []
    for i in idx:
        stack = np.repeat(theta[None], 2, axis=0)
        stack[0, i] += h
        stack[1, i] -= h
        L = task.loss(sub(stack))
        fd.append((L[0] - L[1]) / (2 * h))
    fd = np.array(fd)
    assert np.any(np.abs(fd) > 1e-3)
    np.testing.assert_allclose(g[idx], fd, rtol=1e-3, atol=1e-6 * np.abs(fd).max())


def test_estimate_agrees_with_exact_gradient(model):
    m, task = model
    g, _ = m.exact_gradient(task.points, task.grad)
    est = PerturbationGradient(K=2, eps=1e-3, seed=3)
    sub = m.substrate(task.points)
    mean = np.mean([est.estimate(lambda s: task.loss(sub(s)), m.theta)[0] for _ in range(30)], axis=0)
    assert cosine_similarity(mean, g) > 0.5


def test_switched_marks_the_points_where_a_copy_gained_or_lost_a_spike(model):
    """Direction 0 silences the hidden layer in its + copy (weights to 0) and doubles its weights in the
    - copy; direction 1 moves the readout only. `switched` must flag direction 0 exactly at the points
    where a separate run of either copy has another set of spiking neurons, and never direction 1."""
    m, task = model
    theta, x = m.theta, m.encode(task.points)
    n_w, eps = m.net.n_weights, 0.05
    V = np.zeros((2, theta.size))
    V[0, :n_w] = -theta[:n_w] / eps
    V[1, n_w:] = 1.0
    stack = np.concatenate([theta[None], theta + eps * V, theta - eps * V])
    m._load_stack(stack)
    switched = m.switched(m.batched.simulate(np.tile(x, (len(stack), 1))), 2)

    def fired(row):
        m.set_theta(stack[row])
        return np.concatenate([np.isfinite(t) for t in m.net.simulate(x)], axis=1)

    clean = fired(0)
    expected = ((fired(1) != clean) | (fired(3) != clean)).any(axis=1)
    m.set_theta(theta)
    assert expected.any() and np.array_equal(switched[0], expected)
    assert not switched[1].any()


def test_fit_forms_and_bad_form(model):
    from brian2learn.learning_rules import Adam

    m, task = model
    theta = m.theta.copy()
    est = PerturbationGradient(K=2, eps=0.05, seed=1)
    with pytest.raises(ValueError, match="form must be one of"):
        m.fit(task, 1, Adam({"weights": 1e-3}), estimator=est, form="jvp")
    with pytest.raises(ValueError, match="applies to weight perturbation"):
        m.fit(task, 1, Adam({"weights": 1e-3}), form="outputs")
    losses = m.fit(task, 2, Adam({"weights": 1e-3}), estimator=est, form="outputs_unswitched")
    assert len(losses) == 2 and len(m.switched_fraction) == 2
    assert all(0.0 <= f <= 1.0 for f in m.switched_fraction)
    m.set_theta(theta)
