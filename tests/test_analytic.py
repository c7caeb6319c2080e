"""The implicit-function gradients equal the issue's closed-form derivatives (Lambert W, quadratic)."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.learning_rules import SpikeTimeGradient
from brian2learn.models import LIF
from brian2learn.models.lif_analytic import closed_form_gradients, first_spike_time


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_implicit_gradients_equal_closed_forms(ratio):
    model = LIF(tau_s=5 * ms, tau_m=ratio * 5 * ms)
    rule = SpikeTimeGradient(model)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(50):
        ta = np.sort(rng.uniform(0, 2, 6))
        w = rng.uniform(0.2, 1.5, 6)
        T = first_spike_time(model, ta, w)
        if not np.isfinite(T):
            continue
        causal = ta < T
        dw, dt = closed_form_gradients(model, T, ta[causal], w[causal])
        gw, gt = rule.sensitivities(ta[None, :], np.array([[T]]), w[:, None], np.zeros((6, 1)))
        np.testing.assert_allclose(gw[0, causal, 0], dw, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gt[0, causal, 0], dt, rtol=1e-9, atol=1e-12)
        assert np.all(gw[0, ~causal, 0] == 0) and np.all(gt[0, ~causal, 0] == 0)
        checked += 1
    assert checked > 20


def test_closed_form_spike_time_solves_threshold_condition():
    model = LIF(tau_s=5 * ms, tau_m=10 * ms)
    ta, w = np.array([0.1, 0.4, 0.9]), np.array([1.0, 1.2, 0.7])
    T = first_spike_time(model, ta, w)
    assert np.isclose(model.potential(T, ta, w)[0], model.rheobase, atol=1e-12)
    assert np.all(model.potential(np.linspace(0, T - 1e-6, 200), ta, w) < model.rheobase)
