"""The API boundary refuses bad input before any compiled loop or Brian2 run, naming what is wrong."""
import numpy as np
import pytest
from brian2 import mV, ms

from brian2learn.learning_rules import SpikeTimeGradient
from brian2learn.models import LIF, LayeredNetwork

TAU = 5 * ms


def net(**kw):
    return LayeredNetwork(3, [4, 2], model=LIF(tau_s=TAU, tau_m=2 * TAU), delays="axonal+synaptic", batch_size=2,
                          dt=0.01 * TAU, duration=4 * TAU, seed=1, weight_init=((1.5, 1.0), (0.8, 1.0)),
                          backend="event", **kw)


X = np.array([[0.2, 0.5, 0.9], [0.4, 0.1, 1.0]])


def test_gradient_refuses_dL_of_another_shape_instead_of_reading_out_of_bounds():
    n = net()
    records = []
    n.run_trials(X, lambda k, r: records.append(r))
    rule, rec = SpikeTimeGradient(n.model), records[0]
    good, _ = rule.backward(n, rec, np.ones((2, 2)))
    assert np.isfinite(good[0]["w"]).all()
    for bad in (np.ones((1, 2)), np.ones((2, 1)), np.ones(2), np.ones((3, 2))):
        with pytest.raises(ValueError, match=r"dL_dT must have the shape of the record's output spike times \(2, 2\)"):
            rule.backward(n, rec, bad)


def test_wrongly_shaped_parameters_are_refused_on_every_back_end():
    for backend in ("event", "brian2"):
        n = net()
        n.use_backend(backend, **({"target": "numpy"} if backend == "brian2" else {}))
        n.params[0]["w"] = np.ones((3, 4))       # forgot the bias row
        with pytest.raises(ValueError, match=r"params\[0\]\['w'\] has shape \(3, 4\); projection 0 needs \(4, 4\)"):
            n.simulate(X)
    n = net()
    n.params[1]["synaptic"] = np.ones((2, 5))
    with pytest.raises(ValueError, match=r"params\[1\]\['synaptic'\] has shape \(2, 5\); projection 1 needs \(5, 2\)"):
        n.simulate(X)
    n = net()
    del n.params[1]["axonal"]
    with pytest.raises(ValueError, match=r"params\[1\] holds \['synaptic', 'w'\]"):
        n.simulate(X)


def test_input_times_with_units_are_converted_or_refused():
    n = net()
    plain = n.simulate(X)[-1]
    np.testing.assert_array_equal(n.simulate(X * TAU)[-1], plain)     # a time quantity is converted
    with pytest.raises(Exception, match="input spike times must be times"):
        n.simulate(X * mV)
