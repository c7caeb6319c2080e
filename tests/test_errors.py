"""Bad input raises a clear error naming the parameter and the fix, before any simulation runs."""
import numpy as np
import pytest
from brian2 import DimensionMismatchError, mV, ms

from brian2learn.learning_rules import SpikeTimeGradient, UnsupportedModelError
from brian2learn.models import LIF, DelayConfig, LayeredNetwork
from brian2learn.models.delays import delivery_steps


def test_lif_parameters_need_units_and_sense():
    with pytest.raises(DimensionMismatchError, match="tau_s"):
        LIF(tau_s=5 * mV)
    with pytest.raises(ValueError, match="tau_m"):
        LIF(tau_m=-1 * ms)
    with pytest.raises(ValueError, match="v_th > E_l"):
        LIF(v_th=-1 * mV)
    with pytest.raises(ValueError, match="finite"):
        LIF(tau_s=np.nan * ms)


def test_network_arguments_are_checked():
    with pytest.raises(TypeError, match="dt"):
        LayeredNetwork(2, [3], dt=0.05)
    with pytest.raises(ValueError, match="multiple"):
        LayeredNetwork(2, [3], dt=0.3 * ms, duration=1 * ms)
    with pytest.raises(ValueError, match="latency"):
        LayeredNetwork(2, [3], dt=0.1 * ms, duration=10 * ms, latency=0.1 * ms)
    with pytest.raises(ValueError, match="delay kind"):
        LayeredNetwork(2, [3], delays="somatic")
    with pytest.raises(ValueError, match="n_bias"):
        LayeredNetwork(2, [3, 2], n_bias=[1, 1, 1])
    with pytest.raises(ValueError, match="reparam"):
        DelayConfig(kinds="axonal", reparam=(-1.0, 1.0))


def test_input_spike_times_are_checked():
    net = LayeredNetwork(2, [3], dt=0.25 * ms, duration=10 * ms)
    with pytest.raises(ValueError, match="NaN"):
        net.check_inputs([[np.nan, 1.0]])
    with pytest.raises(ValueError, match=">= 0"):
        net.check_inputs([[-1.0, 1.0]])
    with pytest.raises(ValueError, match="shape"):
        net.check_inputs([[1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="duration"):
        net.check_inputs([[1.0, 100.0]])
    with pytest.raises(ValueError, match="no samples"):
        net.run_trials(np.zeros((0, 2)), lambda k, r: None)


def test_negative_or_too_short_delays_and_nan_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        delivery_steps([-0.1], 0.01)
    with pytest.raises(ValueError, match="2\\*dt"):
        delivery_steps([0.01], 0.01)
    net = LayeredNetwork(2, [3], dt=0.25 * ms, duration=10 * ms)
    net.params[0]["w"][0, 0] = np.nan
    with pytest.raises(Exception, match="NaN"):
        net.simulate([[0.2, 0.3]])


def test_rule_refuses_models_without_a_psp_kernel():
    class Izhikevich:
        provides = ()

    with pytest.raises(UnsupportedModelError, match="psp_kernel"):
        SpikeTimeGradient(Izhikevich())
