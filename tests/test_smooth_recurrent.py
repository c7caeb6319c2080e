"""Recurrent QIF network (models.qif_network) and its smooth exact gradient (learning_rules.smooth_recurrent):
the exact replay against Brian2, gradients against central finite differences of the Brian2 run,
continuity when a spike crosses the trial end, a short training run, input checks."""
import numpy as np
import pytest
from brian2 import Hz, ms, mV

from brian2learn.experiments.smooth_gradients import recurrent_network, recurrent_setup
from brian2learn.learning_rules.smooth_recurrent import RecurrentQIFSmoothGradient
from brian2learn.models.qif_network import RecurrentQIFNetwork

T = 4.0


def _net(batch_size=1, seed=7, dt=5e-4):
    rng = np.random.default_rng(seed)
    N = 4
    times, neurons, weights = [], [], []
    for i in range(N):
        for w, rate in ((6.0, 2.0), (-4.0, 1.0)):
            t = np.cumsum(rng.exponential(1 / rate, 20))
            t = t[t < T]
            times += list(t)
            neurons += [i] * len(t)
            weights += [w] * len(t)
    net = RecurrentQIFNetwork(N, np.array(times), np.array(neurons), np.array(weights), duration=T * ms,
                              dt=dt * ms, batch_size=batch_size, target="numpy")
    p = net.params[0]
    p["w"] = rng.normal(0, 1.5, (N, N)) * net.mask
    p["V0"] = rng.normal(0, 0.5, N)
    p["I0"] = rng.normal(0, 0.5, N)
    return net


def _same(a, b, atol):
    fin = np.isfinite(a.spikes)
    return np.array_equal(a.counts, b.counts) and np.allclose(a.spikes[fin], b.spikes[fin], atol=atol)


def test_replay_reproduces_brian2():
    net = _net()
    rec, ref = net.simulate(), net.replay()
    assert rec.counts.sum() >= 6 and (rec.counts > 0).sum() >= 3
    assert _same(rec, ref, 2e-5)
    np.testing.assert_allclose(rec.I_T, ref.I_T, atol=1e-4)
    np.testing.assert_allclose(rec.V_T, ref.V_T, atol=1e-3, rtol=1e-3)


SPECS = [("w", (0, 1)), ("w", (1, 2)), ("w", (0, 3)), ("w", (1, 0)), ("V0", (0,)), ("V0", (1,)), ("I0", (0,)),
         ("I0", (1,)), ("V0", (2,))]


def test_gradients_match_finite_differences_of_brian2():
    """Weights and initial states; the targets ask for more spikes than the neurons have, so ordinary
    spikes and pseudospikes both enter the loss (and the extra target at 1.1 T)."""
    h = 2e-3
    net = _net(batch_size=2 * len(SPECS))
    rule = RecurrentQIFSmoothGradient(net, [np.array([0.5, 1.5, 2.5, 3.5]), np.array([1.0, 2.0, 3.0])])
    L, g, rec = rule.loss_and_grad()
    _, pseudo = rule.output_times(rec, net.params[0]["w"])
    assert pseudo.any() and (~pseudo).any()
    p = net.params[0]
    W = np.repeat(p["w"][None], 2 * len(SPECS), axis=0)
    V0 = np.repeat(p["V0"][None], 2 * len(SPECS), axis=0)
    I0 = np.repeat(p["I0"][None], 2 * len(SPECS), axis=0)
    arrays = {"w": W, "V0": V0, "I0": I0}
    for r, (name, idx) in enumerate(SPECS):
        arrays[name][(2 * r,) + idx] += h
        arrays[name][(2 * r + 1,) + idx] -= h
    b2 = net.simulate(W, V0, I0)
    L_b2 = rule.loss(b2, W)
    fd = (L_b2[0::2] - L_b2[1::2]) / (2 * h)
    exact = np.array([g[name][idx] for name, idx in SPECS])
    assert np.abs(exact).min() > 1e-3
    np.testing.assert_allclose(exact, fd, rtol=3e-3, atol=1e-6)
    assert (L_b2[0::2] + L_b2[1::2]).mean() / 2 == pytest.approx(L, abs=1e-5)


def _crossing(net, name, idx, neuron):
    """Parameter values lo < hi, 1e-12 apart, between which a spike of `neuron` crosses T (its count changes),
    found on the exact run by a scan of +-3 around the current value and bisection."""
    p = net.params[0]

    def count(v):
        p[name][idx] = v
        return net.replay().counts[0, neuron]

    grid = p[name][idx] + np.linspace(-3, 3, 61)
    counts = [count(v) for v in grid]
    k = next(k for k in range(60) if counts[k + 1] != counts[k])
    lo, hi = grid[k], grid[k + 1]
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if count(mid) == counts[k] else (lo, mid)
    return lo, hi


def _at(rule, name, idx, v):
    rule.net.params[0][name][idx] = v
    return rule.loss_and_grad()


@pytest.mark.parametrize("neuron,knob", [(0, (0, 1)), (2, (2, 3))])
def test_spike_crossing_trial_end_is_continuous(neuron, knob):
    """As the weight `knob` onto `neuron` changes, one of its spikes crosses the trial end T.
    neuron 0 (a target neuron): its n-th output spike passes between pseudo and ordinary, and the loss
    and its gradient are continuous.
    neuron 2 (not a target, W_02 != 0): its pseudo rate r -> 1 as the spike nears T and the arriving spike
    takes over in I_0(T), so the loss is continuous too; its gradient is not (the reference's pseudo rates:
    u_0 changes with the spike time t as -W_02 / theta^(0), the arrived spike's part of I_0(T) as
    +2 W_02), which is why W_10 = 0 in the first case."""
    net = _net(batch_size=1)
    rule = RecurrentQIFSmoothGradient(net, [np.array([0.5, 1.5, 2.5, 3.5]), np.array([1.0, 2.0, 3.0])])
    net.params[0]["w"][0, 2] = 1.5
    net.params[0]["w"][1, 0] = 0.0   # neuron 0 is presynaptic to no other target neuron (see above)
    lo, hi = _crossing(net, "w", knob, neuron)
    eps = 1e-9
    L1, g1, r1 = _at(rule, "w", knob, lo - eps)
    L2, g2, r2 = _at(rule, "w", knob, hi + eps)
    c1, c2 = r1.counts[0, neuron], r2.counts[0, neuron]
    assert abs(c2 - c1) == 1
    last = (r1 if c1 > c2 else r2).spikes[0, neuron, max(c1, c2) - 1]
    assert last == pytest.approx(T, abs=1e-6)
    assert L1 == pytest.approx(L2, abs=1e-6)
    assert abs(g1["w"][knob]) > 1e-5
    if neuron == 0:
        for k in ("w", "V0", "I0"):
            np.testing.assert_allclose(g1[k], g2[k], rtol=2e-3, atol=1e-6)
    else:  # the documented jump of the gradient when a presynaptic spike crosses T
        assert abs(g1["w"][knob] - g2["w"][knob]) > 0.2 * abs(g1["w"][knob])
    # the Brian2 run gives the same loss on both sides
    Lb = []
    for v in (lo - eps, hi + eps):
        net.params[0]["w"][knob] = v
        Lb.append(rule.loss(net.simulate())[0])
    assert Lb[0] == pytest.approx(L1, abs=1e-4) and Lb[1] == pytest.approx(L2, abs=1e-4)


def test_loss_decreases_in_a_short_training_run():
    r = recurrent_network(25, seed=7, T=5.0, dt=2e-3, lr=3e-2, target="numpy")
    assert r["trials"] == 25
    assert r["final_loss"] < 0.7 * r["initial_loss"]
    assert r["final_loss_brian2"] == pytest.approx(r["final_loss"], rel=1e-2)
    assert r["brian2_max_deviation"] < 1e-3


def test_bad_inputs_raise_clear_errors():
    net = _net()
    with pytest.raises(ValueError, match="W contains NaN"):
        net.simulate(W=np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="V0"):
        net.replay(V0=np.array([0.0, np.inf, 0.0, 0.0]))
    with pytest.raises(ValueError, match="duration"):
        RecurrentQIFNetwork(2, [0.5], [0], [1.0], duration=4 * mV)
    with pytest.raises(ValueError, match="duration"):
        RecurrentQIFNetwork(2, [0.5], [0], [1.0], duration=4.0)
    with pytest.raises(ValueError, match="input_times"):
        RecurrentQIFNetwork(2, [0.5] * ms, [0], [1.0], duration=4 * ms)
    with pytest.raises(ValueError, match="input_weights"):
        RecurrentQIFNetwork(2, [0.5], [0], [np.nan], duration=4 * ms)
    with pytest.raises(ValueError, match="input_neurons"):
        RecurrentQIFNetwork(2, [0.5], [2], [1.0], duration=4 * ms)
    with pytest.raises(ValueError, match=r"target_rates\[1\]"):
        recurrent_setup(target_rates=(1.0, -0.5), target="numpy")
    with pytest.raises(ValueError, match="input_rate"):
        recurrent_setup(input_rate=1 * Hz, target="numpy")
    with pytest.raises(ValueError, match="targets"):
        RecurrentQIFSmoothGradient(net, [np.array([1.0, 5.0])])
    with pytest.raises(ValueError, match="simulator"):
        recurrent_network(1, simulator="nest")
