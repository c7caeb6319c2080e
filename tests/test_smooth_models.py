"""QIF and theta neurons (models.qif, models.qif_analytic, models.theta_network): closed forms against
numerical integration, the Brian2 runs against the closed forms, and input checks."""
import numpy as np
import pytest
from brian2 import ms, mV
from brian2.units.fundamentalunits import DimensionMismatchError
from scipy.integrate import solve_ivp

from brian2learn.learning_rules import QIFSmoothGradient, SmoothGradient, UnsupportedModelError
from brian2learn.models import LIF, QIF, ThetaNetwork, ThetaNeuron, simulate_qif
from brian2learn.models import qif_analytic as qa


def _same_times(a, b, atol=1e-9):
    """Spike arrays (inf = none) with the same spikes at the same times."""
    fin = np.isfinite(a)
    return np.array_equal(fin, np.isfinite(b)) and np.allclose(a[fin], b[fin], atol=atol)


def _ode(t, y):
    return [y[0] * (y[0] - 1) + y[1], -2 * y[1]]


@pytest.mark.parametrize("V0,I0", [(0.3, 0.0), (0.3, 1.5), (-2.0, -1.0), (0.1, -3.0), (2.0, -0.5), (-0.5, 0.7)])
def test_qif_flow_matches_integration(V0, I0):
    sol = solve_ivp(_ode, (0, 0.3), [V0, I0], rtol=1e-12, atol=1e-12)
    V, I = qa.qif_flow(V0, I0, 0.3)
    assert V == pytest.approx(sol.y[0, -1], abs=1e-9)
    assert I == pytest.approx(sol.y[1, -1], abs=1e-12)


@pytest.mark.parametrize("V0,I0", [(1.5, 0.0), (2.0, -0.5), (0.2, 3.0), (0.3, 0.0), (0.3, 1.5)])
def test_qif_time_to_spike_matches_integration(V0, I0):
    blowup = lambda t, y: y[0] - 1e7  # noqa: E731
    blowup.terminal = True
    sol = solve_ivp(_ode, (0, 20), [V0, I0], rtol=1e-12, atol=1e-12, events=blowup)
    T = qa.qif_time_to_spike(V0, I0)
    if len(sol.t_events[0]):
        assert T == pytest.approx(sol.t_events[0][0], abs=1e-5)  # V = 1e7 is 1e-7 before the blow-up
    else:
        assert np.isinf(T)


def test_theta_jump_map():
    m = ThetaNeuron()
    phi = np.linspace(0.1, m.Theta - 0.1, 7)[:, None]
    w = np.array([-2.0, -0.3, 0.0, 0.4, 3.0])[None, :]
    V = qa.theta_voltage(phi, m.tau, m.c)
    assert np.allclose(m.H(phi, w), qa.theta_phase(V + w, m.tau, m.c), atol=1e-12)
    assert np.allclose(m.H(0.0, w), 0.0) and np.allclose(m.H(m.Theta, w), m.Theta)
    H, Hp, Hw = m.H_grads(phi, w)
    h = 1e-6
    assert np.allclose(Hp, (m.H(phi + h, w) - m.H(phi - h, w)) / (2 * h), atol=1e-7)
    assert np.allclose(Hw, (m.H(phi, w + h) - m.H(phi, w - h)) / (2 * h), atol=1e-7)
    assert m.Theta == pytest.approx(6.0)


def test_brian2_qif_matches_closed_form():
    rng = np.random.default_rng(0)
    times = rng.uniform(0, 4, (3, 8))
    w = rng.normal(0, 2.0, (3, 8))
    w[0, 0], times[0, 0] = 4.0, 0.5  # make sure something spikes
    spikes, V, I = simulate_qif(QIF(), times, w, duration=4 * ms, dt=1e-3 * ms, target="numpy")
    ref, counts, V_ref, I_ref = qa.qif_event_run(np.zeros(3), np.zeros(3), times, w, 4.0, 6)
    assert counts.sum() >= 1
    for b in range(3):
        assert len(spikes[b]) == counts[b]
        assert np.allclose(spikes[b], ref[b, :counts[b]], atol=2e-5)
    assert np.allclose(I, I_ref, atol=1e-9)
    assert np.allclose(V, V_ref, atol=1e-3)


def test_brian2_theta_network_matches_event_replay():
    rng = np.random.default_rng(1)
    net = ThetaNetwork(6, [5, 4], batch_size=3, weight_scale=4.0, duration=6 * ms, target="numpy")
    for p in net.params:
        p["phi0"] = rng.uniform(0, 6, p["phi0"].shape)
    x = rng.uniform(0, 3, (3, 6))
    rec = net.simulate(x)
    tr = SmoothGradient(net.model).forward(net, rec)
    assert sum(c.sum() for c in rec.counts[1:]) > 5
    for l in range(2):
        assert _same_times(rec.spikes[l + 1], tr.layers[l].spikes)  # exact sub-dt spike times
        assert np.allclose(rec.phi_T[l + 1], tr.layers[l].phi_T, atol=1e-9)


def test_virtual_inputs_equal_real_inputs():
    rng = np.random.default_rng(2)
    x = np.where(rng.random((4, 12)) < 0.5, 0.2, np.inf)
    recs = []
    for levels in (None, 1):
        net = ThetaNetwork(12, [6, 3], batch_size=4, weight_scale=6.0, phi0=0.7, target="numpy", seed=3,
                           input_levels=levels)
        recs.append(net.simulate(x))
    assert recs[0].counts[1].sum() > 0
    for a, b in zip(recs[0].spikes[1:], recs[1].spikes[1:]):
        assert _same_times(a, b)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(DimensionMismatchError, match="tau"):
        ThetaNeuron(tau=1 * mV)
    with pytest.raises(TypeError, match="tau_m"):
        QIF(tau_m=1.0)
    with pytest.raises(ValueError, match="I0"):
        ThetaNeuron(I0=0.2)
    net = ThetaNetwork(3, [2], target="numpy")
    with pytest.raises(ValueError, match="NaN"):
        net.simulate(np.array([[0.1, np.nan, 0.2]]))
    with pytest.raises(ValueError, match=">= 0"):
        net.simulate(np.array([[0.1, -1.0, 0.2]]))
    with pytest.raises(ValueError, match="shape"):
        net.simulate(np.zeros((2, 4)))
    net.params[0]["w"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.simulate(np.zeros((1, 3)))
    with pytest.raises(UnsupportedModelError, match="theta neuron"):
        SmoothGradient(LIF())
    with pytest.raises(UnsupportedModelError, match="tau_s = tau_m / 2"):
        QIFSmoothGradient(QIF(tau_m=1 * ms, tau_s=0.3 * ms))
    with pytest.raises(ValueError, match="input_levels"):
        ThetaNetwork(3, [2], input_levels=1, target="numpy").simulate(np.array([[0.1, 0.2, 0.3]]))
