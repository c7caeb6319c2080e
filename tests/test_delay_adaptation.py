"""Delay adaptation (Hüning et al. 1998): d <- clip(d + eta*(t_post - t_arrival), 0, d_max) within a window.

Postsynaptic spikes are forced with a SpikeGeneratorGroup as the target, so t_post is known exactly.
Most tests use the numpy target (no compilation); one runs the same code with Cython.
"""
import numpy as np
import pytest
from brian2 import (DimensionMismatchError, Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses,
                    defaultclock, mV, ms, prefs, second, start_scope)

from brian2learn.learning_rules import DelayAdaptation, adaptive_synapses

DT = 0.1 * ms


@pytest.fixture
def numpy_target():
    old_target, old_dt = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT
    start_scope()
    yield
    prefs.codegen.target = old_target
    defaultclock.dt = old_dt


def _pairs(rule, pre_times, post_times, d0, duration, period=None):
    """One synapse per row: pre neuron k spikes at pre_times[k], target k at post_times[k] (lists, ms).

    Returns (synapses, arrival monitor, network). With `period`, the rule's network operation
    applies the learned delays every period.
    """
    n = len(pre_times)
    idx = lambda ts: np.concatenate([[k] * len(t) for k, t in enumerate(ts)]).astype(int)
    flat = lambda ts: np.concatenate([np.asarray(t, float) for t in ts]) * ms
    pre = SpikeGeneratorGroup(n, idx(pre_times), flat(pre_times))
    post = SpikeGeneratorGroup(n, idx(post_times), flat(post_times))
    S = rule.synapses(pre, post)
    S.connect(j="i")
    S.delay = np.asarray(d0, float) * ms
    mon = StateMonitor(S, "t_arrival", record=True, when="end")
    net = Network(pre, post, S, mon)
    if period is not None:
        net.add(rule.network_operation(period))
    net.run(duration)
    return S, mon, net


def _arrivals(mon, k):
    """Distinct arrival times (ms) recorded for synapse k."""
    t = mon.t_arrival[k] / ms
    return np.unique(np.round(t[t > 0], 6))     # 0: nothing has arrived yet (all tests start later)


def expected(d0, t_pre, t_post, eta, window, d_max):
    e = t_post - (t_pre + d0)
    return float(np.clip(d0 + eta * e, 0.0, d_max)) if abs(e) <= window else d0


def test_one_presentation_matches_the_formula(numpy_target):
    eta, window, d_max = 0.5, 5.0, 12.0
    rule = DelayAdaptation(eta=eta, window=window * ms, d_max=d_max * ms)
    #         (t_pre, d0, t_post)  [ms]
    cases = [(2.0, 3.0, 9.0),      # arrival 5 before post 9: +2
             (2.0, 3.0, 3.0),      # arrival 5 after post 3 (within window): -1
             (2.0, 3.0, 15.0),     # 10 ms before: outside the window, unchanged
             (20.0, 3.0, 4.0),     # arrival 23, post 19 ms earlier: outside, unchanged
             (2.0, 1.0, 0.5),      # arrival 3, post 0.5: 1 - 1.25 -> clipped at 0
             (2.0, 10.0, 16.5),    # arrival 12, post 16.5: 10 + 2.25 -> clipped at d_max = 12
             (2.0, 3.0, 5.0)]      # arrival exactly at the postsynaptic spike: unchanged
    t_pre, d0, t_post = (np.array(c) for c in zip(*cases))
    S, _, _ = _pairs(rule, [[t] for t in t_pre], [[t] for t in t_post], d0, 30 * ms)
    want = [expected(d, a, b, eta, window, d_max) for a, d, b in cases]
    assert want == pytest.approx([5.0, 2.0, 3.0, 3.0, 0.0, 12.0, 3.0])
    np.testing.assert_allclose(S.delay[:] / ms, want, atol=float(DT / ms))
    # the post pathway's own delay is untouched (on_post writes pre_delay, not delay)
    np.testing.assert_array_equal(S.post.delay[:] / ms, 0.0)


def test_after_false_keeps_late_arrivals(numpy_target):
    rule = DelayAdaptation(eta=0.5, window=5 * ms, d_max=12 * ms, after=False)
    S, _, _ = _pairs(rule, [[2.0], [2.0]], [[9.0], [3.0]], [3.0, 3.0], 20 * ms)
    np.testing.assert_allclose(S.delay[:] / ms, [5.0, 3.0], atol=float(DT / ms))


def test_same_code_runs_with_cython(numpy_target):
    prefs.codegen.target = "cython"
    rule = DelayAdaptation(eta=0.5, window=5 * ms, d_max=12 * ms)
    S, _, _ = _pairs(rule, [[2.0], [2.0], [2.0]], [[9.0], [3.0], [15.0]], [3.0, 3.0, 3.0], 20 * ms)
    assert type(S.post.codeobj).__name__ == "CythonCodeObject"
    np.testing.assert_allclose(S.delay[:] / ms, [5.0, 2.0, 3.0], atol=float(DT / ms))


@pytest.mark.parametrize("eta", [0.5, 0.3])
def test_repeated_presentations_converge_geometrically(numpy_target, eta):
    T, n_trials, t_pre, t_post = 40.0, 8, 2.0, 12.0
    rule = DelayAdaptation(eta=eta, window=15 * ms, d_max=30 * ms)
    pre = [[k * T + t_pre for k in range(n_trials)]] * 2
    post = [[k * T + t_post for k in range(n_trials)]] * 2
    d0 = [1.0, 18.0]      # arrival 9 ms early / 8 ms late
    S, mon, _ = _pairs(rule, pre, post, d0, n_trials * T * ms, period=T * ms)
    tol = float(DT / ms) + 1e-9   # delays act rounded to the time step
    for k, d in enumerate(d0):
        arr = _arrivals(mon, k)
        assert len(arr) == n_trials
        err = t_post - (arr - np.arange(n_trials) * T)        # arrival error in each trial
        e0 = t_post - t_pre - d
        np.testing.assert_allclose(err, e0 * (1 - eta) ** np.arange(n_trials), atol=tol)
        assert abs(S.delay[k] / ms - (t_post - t_pre)) <= abs(e0) * (1 - eta) ** n_trials + tol


def test_apply_makes_the_queue_use_new_delays_within_a_run(numpy_target):
    """Brian2 keeps the delays it read at the start of a run; `apply` re-reads them."""
    T = 50.0
    # pre spikes: trial 0 at 2 ms, one at 48.5 ms (in flight across the boundary), trial 1 at 52 ms
    pre = [[2.0, 48.5, 52.0]]
    post = [[10.0]]          # arrival 5 -> delay 3 + 0.5*5 = 5.5 ms
    rule = DelayAdaptation(eta=0.5, window=20 * ms, d_max=30 * ms, after=False)
    S, mon, _ = _pairs(rule, pre, post, [3.0], 2 * T * ms)
    assert S.delay[0] / ms == pytest.approx(5.5)
    np.testing.assert_allclose(_arrivals(mon, 0), [5.0, 51.5, 55.0])      # no apply: old delay of 3 ms

    start_scope()
    rule = DelayAdaptation(eta=0.5, window=20 * ms, d_max=30 * ms, after=False)
    S, mon, _ = _pairs(rule, pre, post, [3.0], 2 * T * ms, period=T * ms)
    # the spike in flight keeps its delivery time (48.5 + 3); the next one uses 5.5 ms
    np.testing.assert_allclose(_arrivals(mon, 0), [5.0, 51.5, 57.5])


def test_a_new_run_uses_the_learned_delays(numpy_target):
    rule = DelayAdaptation(eta=1.0, window=20 * ms, d_max=30 * ms)
    S, mon, net = _pairs(rule, [[2.0, 32.0]], [[10.0]], [3.0], 30 * ms)
    assert S.delay[0] / ms == pytest.approx(8.0)
    net.run(20 * ms)                # the queue is re-initialised at the start of every run
    assert _arrivals(mon, 0)[-1] == pytest.approx(40.0)


def test_restore_resets_learned_delays(numpy_target):
    """As stated in the module docstring: Network.restore puts back the pathway's stored delays
    (Brian2 >= 2.10; 2.9 kept the learned 5 ms)."""
    rule = DelayAdaptation(eta=0.5, window=5 * ms, d_max=12 * ms)
    pre = SpikeGeneratorGroup(1, [0], [2] * ms)
    post = SpikeGeneratorGroup(1, [0], [9] * ms)
    S = rule.synapses(pre, post)
    S.connect()
    S.delay = 3 * ms
    net = Network(pre, post, S)
    net.store()
    net.run(20 * ms)
    assert S.delay[0] / ms == pytest.approx(5.0)   # learned: 3 ms + eta * (9 - (2 + 3)) ms
    net.restore()
    assert S.delay[0] / ms == pytest.approx(3.0)


def test_user_code_is_combined_and_learning_can_be_switched_off(numpy_target):
    pre = SpikeGeneratorGroup(1, [0, 0, 0], [2, 32, 62] * ms)
    # the target fires at 10, 40 and 70 ms, whatever its input
    post = NeuronGroup(1, "v : volt", threshold="abs(t - 10*ms - 30*ms*int(t/(30*ms))) < 0.05*ms", reset="")
    S, rule = adaptive_synapses(pre, post, model="w : volt", on_pre="v_post += w",
                                eta=0.5, window=10 * ms, d_max=20 * ms)
    S.connect()
    S.w = 1 * mV
    S.delay = 3 * ms
    net = Network(pre, post, S, rule.network_operation(30 * ms))
    net.run(30 * ms)                 # arrival 5, post 10: 3 + 2.5
    assert S.delay[0] / ms == pytest.approx(5.5)
    assert post.v[0] == pytest.approx(float(1 * mV))
    net.run(30 * ms)                 # arrival 37.5, post 40: 5.5 + 1.25
    assert S.delay[0] / ms == pytest.approx(6.75)
    rule.set_learning(False)         # takes effect at the next run
    net.run(30 * ms)                 # arrival 68.75 -> 68.8, post 70: frozen
    assert S.delay[0] / ms == pytest.approx(6.75)
    assert post.v[0] == pytest.approx(float(3 * mV))
    rule.set_learning(True)
    assert S.namespace["delay_eta"] == 0.5


def test_attach_to_user_built_synapses(numpy_target):
    rule = DelayAdaptation(eta=0.5, window=5 * ms, d_max=12 * ms)
    pre = SpikeGeneratorGroup(1, [0], [2] * ms)
    post = SpikeGeneratorGroup(1, [0], [9] * ms)
    S = rule.attach(Synapses(pre, post, **rule.equations()))
    S.connect()
    S.delay = 3 * ms
    Network(pre, post, S).run(20 * ms)
    assert S.delay[0] / ms == pytest.approx(5.0)


def test_bad_parameters_are_refused(numpy_target):
    with pytest.raises(ValueError, match=r"'eta'.*\(0, 1\]"):
        DelayAdaptation(eta=0)
    with pytest.raises(ValueError, match="'eta'"):
        DelayAdaptation(eta=1.5)
    with pytest.raises(ValueError, match="'eta' must be finite"):
        DelayAdaptation(eta=np.nan)
    with pytest.raises(DimensionMismatchError, match="'eta'.*dimensionless"):
        DelayAdaptation(eta=0.1 * ms)
    with pytest.raises(TypeError, match="'eta'"):
        DelayAdaptation(eta="0.1")
    with pytest.raises(DimensionMismatchError, match="'window'.*no units.*window=5\\*ms"):
        DelayAdaptation(window=5)
    with pytest.raises(DimensionMismatchError, match="'window'.*wrong units"):
        DelayAdaptation(window=5 * mV)
    with pytest.raises(ValueError, match="'window' must be positive"):
        DelayAdaptation(window=-1 * ms)
    with pytest.raises(ValueError, match="'window' must be finite"):
        DelayAdaptation(window=np.nan * ms)
    with pytest.raises(ValueError, match="'d_max' must be positive"):
        DelayAdaptation(d_max=0 * ms)
    with pytest.raises(ValueError, match="'d_max' must be finite"):
        DelayAdaptation(d_max=np.inf * second)
    with pytest.raises(DimensionMismatchError, match="'d_max'"):
        DelayAdaptation(d_max=0.02)
    with pytest.raises(ValueError, match="'period' must be positive"):
        DelayAdaptation().network_operation(0 * ms)


def test_misuse_is_refused(numpy_target):
    rule = DelayAdaptation()
    pre = SpikeGeneratorGroup(1, [0], [2] * ms)
    with pytest.raises(ValueError, match="pre_delay"):
        rule.synapses(pre, pre, on_post="delay += 1*ms")
    with pytest.raises(ValueError, match="t_arrival"):
        rule.synapses(pre, pre, model="t_arrival : second")
    with pytest.raises(ValueError, match="S.delay = "):
        rule.synapses(pre, pre, delay=1 * ms)
    with pytest.raises(ValueError, match="delay_eta"):
        rule.synapses(pre, pre, namespace={"delay_eta": 1})
    with pytest.raises(ValueError, match="lack the rule's variables"):
        rule.attach(Synapses(pre, pre, model="w : 1", on_pre="w += 1", on_post="w -= 1"))
