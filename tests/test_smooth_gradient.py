"""Smooth exact gradients (learning_rules.smooth_gradient) against central finite differences of the
simulation; continuity when a spike crosses the trial end; pseudospikes; loss and optimisers."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.learning_rules import (AdaBelief, ExponentialLR, QIFSmoothGradient, SmoothGradient,
                                        smooth_mnist_loss)
from brian2learn.models import QIF, ThetaNetwork, simulate_qif
from brian2learn.models import qif_analytic as qa


def _theta_setup(seed=2):
    rng = np.random.default_rng(seed)
    net = ThetaNetwork(6, [5, 4], batch_size=3, weight_scale=4.0, duration=6 * ms, target="numpy")
    for p in net.params:
        p["phi0"] = rng.uniform(0.5, 5.5, p["phi0"].shape)
    x = rng.uniform(0, 3, (3, 6))
    x[0, 2] = np.inf
    c = rng.normal(size=(3, 4, 2))  # loss = sum c * (first two output spike times)
    return net, SmoothGradient(net.model), x, c


def test_theta_gradients_match_finite_differences_of_the_replay():
    """Every weight, initial phase and input time; ordinary and pseudospikes in the loss."""
    net, rule, x, c = _theta_setup()

    def loss(xx):
        return float((c * rule.forward(net, xx).output_times(2)[0]).sum())

    tr = rule.forward(net, x)
    pseudo = tr.output_times(2)[1]
    assert 0 < pseudo.mean() < 1  # both kinds of output spike enter the loss
    grads, d_in = rule.backward(net, tr, c)
    h = 1e-6
    for l, p in enumerate(net.params):
        for name in ("w", "phi0"):
            P, fd = p[name], np.zeros_like(p[name])
            for idx in np.ndindex(P.shape):
                old = P[idx]
                P[idx] = old + h
                up = loss(x)
                P[idx] = old - h
                fd[idx] = (up - loss(x)) / (2 * h)
                P[idx] = old
            assert np.abs(fd).max() > 0.1
            np.testing.assert_allclose(grads[l][name], fd, atol=1e-6, rtol=1e-5)
    fd = np.zeros_like(x)
    for idx in zip(*np.nonzero(np.isfinite(x))):
        e = np.zeros_like(x)
        e[idx] = h
        fd[idx] = (loss(x + e) - loss(x - e)) / (2 * h)
    np.testing.assert_allclose(d_in, fd, atol=1e-6, rtol=1e-5)


def test_theta_gradients_match_finite_differences_of_the_brian2_run():
    net, rule, x, c = _theta_setup()
    tr = rule.forward(net, net.simulate(x))
    grads, _ = rule.backward(net, tr, c)

    def loss():
        return float((c * rule.record_output_times(net, net.simulate(x), 2)[0]).sum())

    h = 1e-5
    for l, name, idx in [(0, "w", (1, 2)), (0, "w", (4, 0)), (1, "w", (3, 1)), (0, "phi0", (2,)),
                         (1, "phi0", (0,)), (1, "phi0", (3,))]:
        P = net.params[l][name]
        old = P[idx]
        P[idx] = old + h
        up = loss()
        P[idx] = old - h
        fd = (up - loss()) / (2 * h)
        P[idx] = old
        assert grads[l][name][idx] == pytest.approx(fd, rel=1e-4, abs=1e-6)


def test_theta_spike_crossing_trial_end_is_continuous():
    """One neuron, one input: as w grows the spike enters the trial at T; the first output spike time
    (ordinary or pseudo) and its gradient are continuous there, and t^(1) -> T."""
    net = ThetaNetwork(1, [1], batch_size=1, duration=2 * ms, phi0=0.5, target="numpy")
    rule = SmoothGradient(net.model)
    x = np.array([[0.3]])

    def first(w):
        net.params[0]["w"][0, 0] = w
        tr = rule.forward(net, x)
        t, pseudo = tr.output_times(1)
        g, _ = rule.backward(net, tr, np.ones((1, 1, 1)))
        return t[0, 0, 0], pseudo[0, 0, 0], g[0]["w"][0, 0]

    # w* where the spike is exactly at T: H(phi0 + 0.3, w*) = Theta - (T - 0.3)
    ws = np.linspace(0.0, 20.0, 2001)
    ts = np.array([first(w)[0] for w in ws])
    k = np.nonzero(ts <= net.T)[0][0]
    lo, hi = ws[k - 1], ws[k]
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if first(mid)[0] <= net.T else (mid, hi)
    eps = 1e-7
    t_before, ps_before, g_before = first(lo - eps)
    t_after, ps_after, g_after = first(hi + eps)
    assert ps_before and not ps_after
    assert t_before == pytest.approx(net.T, abs=1e-5) and t_after == pytest.approx(net.T, abs=1e-5)
    assert g_before == pytest.approx(g_after, rel=1e-3)
    assert g_before < 0
    # the Brian2 run gives the same value on both sides
    for w, t_ref in ((lo - eps, t_before), (hi + eps, t_after)):
        net.params[0]["w"][0, 0] = w
        t_b2, _ = rule.record_output_times(net, net.simulate(x), 1)
        assert t_b2[0, 0, 0] == pytest.approx(t_ref, abs=1e-6)


def test_pseudospike_continuity_theta():
    """A neuron whose only ordinary spike moves to T (phi0 = Theta - T + d, d -> 0+): its first output
    spike is that spike (t = T - d) and becomes the first pseudospike t^(1) = T + |d| for d < 0, so
    t^(1) -> T; the second output spike (a pseudospike) is continuous across as well."""
    net = ThetaNetwork(1, [1], batch_size=1, duration=2 * ms, target="numpy")
    rule = SmoothGradient(net.model)
    net.params[0]["w"][:] = 0.0
    Theta, T = net.model.Theta, net.T
    x = np.array([[np.inf]])
    for d in (1e-3, 1e-6, -1e-6, -1e-3):
        net.params[0]["phi0"][:] = Theta - T + d
        t, pseudo = rule.forward(net, x).output_times(2)
        assert t[0, 0, 0] == pytest.approx(T - d, abs=1e-9)
        assert pseudo[0, 0, 0] == (d < 0) and pseudo[0, 0, 1]
        assert t[0, 0, 1] == pytest.approx(T - d + Theta, abs=1e-9)
        t_b2, _ = rule.record_output_times(net, net.simulate(x), 2)
        np.testing.assert_allclose(t_b2, t, atol=1e-9)


def test_qif_gradients_match_finite_differences_of_the_brian2_run():
    rng = np.random.default_rng(0)
    T = 4.0
    times = np.r_[0.5, 1.5, rng.uniform(0, T, 4)]
    w = np.r_[2.0, 1.0, rng.normal(size=4)]
    V0, I0 = 0.2, 0.5
    rule = QIFSmoothGradient(QIF())
    trainable = [("weight", 0), ("weight", 1), ("time", 0), ("time", 1), ("V0",), ("I0",)]
    t_out, pseudo, J = rule.jacobian(V0, I0, times, w, T, 2, trainable)
    assert not pseudo[0] and pseudo[1]
    # central differences of the Brian2 simulation, all perturbations in one run
    h = 2e-3
    rows_t, rows_w, v0s, i0s = [], [], [], []
    for spec in trainable:
        for sgn in (1, -1):
            tt, ww, v, i = times.copy(), w.copy(), V0, I0
            if spec[0] == "weight":
                ww[spec[1]] += sgn * h
            elif spec[0] == "time":
                tt[spec[1]] += sgn * h
            elif spec[0] == "V0":
                v += sgn * h
            else:
                i += sgn * h
            rows_t.append(tt)
            rows_w.append(ww)
            v0s.append(v)
            i0s.append(i)
    spikes, _, _ = simulate_qif(QIF(), np.array(rows_t), np.array(rows_w), V0=np.array(v0s), I0=np.array(i0s),
                                duration=T * ms, dt=5e-4 * ms, target="numpy")
    first = np.array([s[0] for s in spikes])
    fd = (first[0::2] - first[1::2]) / (2 * h)
    np.testing.assert_allclose(J[:, 0], fd, rtol=2e-3, atol=2e-4)
    # the closed-form run that the jacobian differentiates agrees with Brian2 (pair means: O(h^2))
    np.testing.assert_allclose((first[0::2] + first[1::2]) / 2, t_out[0], atol=1e-4)


def test_qif_pseudospike_and_gradient_continuous_at_trial_end():
    rule = QIFSmoothGradient(QIF())
    T = 4.0

    def first(w):
        t, ps, J = rule.jacobian(0.0, 0.0, [0.5], [w], T, 1, [("weight", 0)])
        return t[0], ps[0], J[0, 0]

    lo, hi = 2.0, 3.5   # silent at 2.0, spikes inside [0, T] at 3.5
    assert first(lo)[1] and not first(hi)[1]
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if first(mid)[1] else (lo, mid)
    (t1, p1, g1), (t2, p2, g2) = first(lo - 1e-9), first(hi + 1e-9)
    assert p1 and not p2
    assert t1 == pytest.approx(T, abs=1e-4) and t2 == pytest.approx(T, abs=1e-4)
    assert g1 == pytest.approx(g2, rel=1e-2)
    assert np.isfinite(g1) and g1 < 0


def test_qif_flow_derivative_in_I_at_zero():
    """The first-order term at I = 0 makes the complex-step derivative in I exact there: compare with
    the sensitivity equation dS/dt = (2V - 1) S + S_I, dS_I/dt = -2 S_I integrated numerically."""
    from scipy.integrate import solve_ivp

    def rhs(t, y):
        return [y[0] * (y[0] - 1) + y[1], -2 * y[1], (2 * y[0] - 1) * y[2] + y[3], -2 * y[3]]

    for V in (0.3, 1.5, -2.0):
        sol = solve_ivp(rhs, (0, 0.4), [V, 0.0, 0.0, 1.0], rtol=1e-12, atol=1e-12)
        cs = qa.qif_flow(V, 1e-30j, 0.4)[0].imag / 1e-30
        assert cs == pytest.approx(sol.y[2, -1], rel=1e-9)


def test_smooth_mnist_loss_gradient():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 8, (4, 10))
    y = rng.integers(0, 10, 4)
    loss, g = smooth_mnist_loss(t, y, T=2.0)
    h = 1e-6
    for idx in [(0, 0), (1, y[1]), (3, 7)]:
        e = np.zeros_like(t)
        e[idx] = h
        fd = (smooth_mnist_loss(t + e, y, 2.0)[0].sum() - smooth_mnist_loss(t - e, y, 2.0)[0].sum()) / (2 * h)
        assert g[idx] == pytest.approx(fd, rel=1e-6)
    with pytest.raises(ValueError, match="finite"):
        smooth_mnist_loss(np.full((1, 10), np.inf), [0], 2.0)


def test_adabelief_and_exponential_decay():
    p = [{"w": np.array([1.0, -2.0])}]
    opt = AdaBelief(0.1)
    sched = ExponentialLR(opt, tau_steps=10)
    g1, g2 = np.array([0.5, -1.0]), np.array([0.1, 0.3])
    # reference by hand (optax.adabelief form, eps = eps_root = 1e-16)
    m = 0.1 * g1
    s = 0.001 * (g1 - m) ** 2 + 1e-16
    expect = p[0]["w"] - 0.1 * (m / 0.1) / (np.sqrt(s / 0.001) + 1e-16)
    opt.step(p, [{"w": g1}])
    np.testing.assert_allclose(p[0]["w"], expect, rtol=1e-12)
    sched.step()
    assert opt.scale == pytest.approx(np.exp(-0.1))
    m = 0.9 * m + 0.1 * g2
    s = 0.999 * s + 0.001 * (g2 - m) ** 2 + 1e-16
    expect = expect - 0.1 * np.exp(-0.1) * (m / (1 - 0.81)) / (np.sqrt(s / (1 - 0.999 ** 2)) + 1e-16)
    opt.step(p, [{"w": g2}])
    np.testing.assert_allclose(p[0]["w"], expect, rtol=1e-12)
    with pytest.raises(ValueError, match="tau_steps"):
        ExponentialLR(opt, 0)
