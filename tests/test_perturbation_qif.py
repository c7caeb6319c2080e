"""Weight perturbation on a QIF (theta-neuron) substrate (experiments.perturbation_qif)."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.experiments.perturbation_qif import QIFSciML, train_qif
from brian2learn.experiments.sciml_tasks import make_task
from brian2learn.learning_rules import PerturbationGradient
from brian2learn.models.theta_network import ThetaNetwork


def test_batched_qif_substrate_equals_one_run_per_row():
    task = make_task("regression_x2", 7)
    m = QIFSciML(task.domain, hidden=6, n_points=7, n_rows=5, seed=1)
    est = PerturbationGradient(K=2, eps=0.05, seed=0)
    theta = m.theta.copy()
    stack = est.stack(theta, est.directions(theta.size))
    U = m.substrate(task.points)(stack)
    assert np.array_equal(m.theta, theta)              # the clean parameters are not written
    ref = []
    for row in stack:
        m.set_theta(row)
        ref.append(m.predict(task.points))
    m.set_theta(theta)
    np.testing.assert_allclose(U, np.array(ref), rtol=0, atol=1e-12)
    assert not np.allclose(U[1], U[0])


def test_perturbation_trains_a_qif_network():
    r = train_qif("regression_x2", steps=80, lr=0.05, lr_final=0.5, K=4, hidden=8, n=9, seed=0)
    L = np.array(r["losses"])
    assert L[-10:].mean() < 0.2 * L[:3].mean()
    assert r["rel_l2"] < 0.3


@pytest.mark.parametrize("task", ["regression_sin", "poisson_sin"])
def test_qif_exact_gradient_matches_finite_differences(task):
    """The smooth exact gradient of the unwrapped-phase readout against central differences of the
    Brian2 run (whose theta neurons are exact to rounding), including hidden neurons that spike."""
    tk = make_task(task, 9)
    m = QIFSciML(tk.domain, hidden=6, n_points=len(tk.points), seed=3)
    g, u = m.exact_gradient(tk.points, tk.grad)
    np.testing.assert_allclose(u, m.predict(tk.points), rtol=0, atol=1e-12)
    assert m.net.simulate(m.encode(tk.points)).counts[1].max() >= 1
    theta, h = m.theta.copy(), 1e-6
    fd = np.zeros_like(theta)
    for i in range(theta.size):
        for sign in (1, -1):
            m.set_theta(theta + sign * h * np.eye(theta.size)[i])
            fd[i] += sign * tk.loss(m.predict(tk.points))[0] / (2 * h)
    m.set_theta(theta)
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-6 * np.abs(fd).max())
    if task == "poisson_sin":
        from brian2learn.learning_rules import SmoothGradient
        rule = SmoothGradient(m.model)
        rec = m.net.simulate(m.encode(tk.points))
        with pytest.raises(ValueError, match="dL_dphiT must have shape"):
            rule.backward(m.net, rule.forward(m.net, rec), np.zeros((len(tk.points), 6, 1)), dL_dphiT=np.ones(6))


def test_exact_gradient_trains_a_qif_network():
    r = train_qif("regression_x2", steps=80, lr=0.05, lr_final=0.5, hidden=8, n=9, seed=0, gradient="exact")
    L = np.array(r["losses"])
    assert r["gradient"] == "exact" and r["forward_runs"] == 81
    assert L[-10:].mean() < 0.1 * L[:3].mean()
    with pytest.raises(ValueError, match="gradient must be"):
        train_qif("regression_x2", steps=1, n=7, gradient="backprop")


def test_resampled_qif_training_uses_new_points_every_step():
    """With a negligible learning rate the network stays fixed, so each step's loss is that of the
    network on the points drawn for that step (the same draws as the LIF substrate's)."""
    r = train_qif("regression_x2", steps=3, lr=1e-12, K=2, hidden=6, n=7, seed=0, resample=True)
    tk, rng = make_task("regression_x2", 7), np.random.default_rng((0, 2))
    for loss, t in zip(r["losses"], [tk.resample(rng) for _ in range(3)]):
        assert loss == pytest.approx(t.loss(r["model"].predict(t.points))[0], rel=1e-6)
    assert np.ptp(r["losses"]) > 1e-6
    with pytest.raises(ValueError, match="cannot resample"):
        train_qif("poisson_sin", steps=1, n=7, resample=True)


def test_theta_network_gives_every_trial_the_same_result():
    """The same inputs in later trials (later start times t0) give the same phases and spikes. With the
    source threshold `t <= t_cross < t + dt`, rounding left gaps between steps where an input time
    matched no step and was lost; on this grid that happened in 4 of 10 later trials."""
    task = make_task("regression_sin")
    m = QIFSciML(task.domain, hidden=16, n_points=33, seed=0)
    x = m.encode(task.eval_points[:33])
    ref = m.net.simulate(x)
    for _ in range(10):
        rec = m.net.simulate(x)
        np.testing.assert_array_equal(rec.counts[1], ref.counts[1])
        np.testing.assert_allclose(rec.phi_T[1], ref.phi_T[1], rtol=0, atol=1e-9)


def test_an_inhibitory_input_inside_the_crossing_step_moves_or_cancels_the_spike():
    """Input 1 brings three neurons to cross at t_c in step [0.85, 0.86); input 2 (inhibitory) arrives in
    that step before t_c. Its delay of the crossing ends inside the step (w = -5), just after it
    (w = -60) or beyond the trial (w = -500). Each neuron spikes once, at the exact time, or not at all;
    the threshold had already fired, and the reset used to count the cancelled crossing as a spike."""
    net = ThetaNetwork(2, [3], seed=0)
    m, Theta, T = net.model, net.model.Theta, net.T
    w2 = np.array([-5.0, -60.0, -500.0])
    net.params[0]["w"] = np.array([[5.0, 5.0, 5.0], w2])
    net.params[0]["phi0"] = np.full(3, 3.0)
    t1, t2 = 0.5, 0.851
    t_c = t1 + Theta - m.H(3.0 + t1, 5.0)
    assert 0.85 < t2 < t_c < 0.86
    rec = net.simulate(np.array([[t1, t2]]))
    for j in range(3):
        t3 = t2 + Theta - m.H(Theta - (t_c - t2), w2[j])
        got = rec.spikes[1][0, j][np.isfinite(rec.spikes[1][0, j])]
        expected = [t3] if t3 < T else []
        assert rec.counts[1][0, j] == len(expected)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_theta_network_counts_survive_later_chunks():
    """The spike counts of a chunk are copies (a later chunk resets n_sp in place)."""
    net = ThetaNetwork(2, [4], batch_size=2, duration=2 * ms, weight_scale=3.0, max_spikes=3, seed=0)
    x = np.array([[0.1, 1.0], [0.5, 0.5], [1.0, 0.1], [0.3, 0.8], [0.8, 0.3]])
    rec = net.simulate(x)
    np.testing.assert_array_equal(rec.counts[1], np.isfinite(rec.spikes[1]).sum(axis=2))


def test_qif_bad_arguments():
    with pytest.raises(ValueError, match="input_window"):
        QIFSciML([(0, 1)], input_window=(0.5, 3.0))
    with pytest.raises(ValueError, match="domain"):
        QIFSciML([(1, 0)])
    with pytest.raises(ValueError, match="steps"):
        train_qif(steps=0)
    with pytest.raises(ValueError, match="lr_final"):
        train_qif(lr_final=2.0)
    m = QIFSciML([(0, 1)], hidden=3, n_points=3, n_rows=1)
    with pytest.raises(ValueError, match="model.use"):
        m.substrate(np.zeros((3, 1)))(np.zeros((2, sum(m.blocks))))
