"""simulator='replay' (models.lif_replay): the closed-form event forward equals the per-neuron
closed forms, agrees with the Brian2 run and trains the same (its gradients against finite
differences of itself: tests/test_gradients_fd.py)."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.models import LIF, LayeredNetwork
from brian2learn.models.lif_analytic import first_spike_time

TAU_S = 5 * ms


def random_net(ratio, sizes, kinds, seed, simulator="replay", batch_size=16):
    rng = np.random.default_rng(seed)
    net = LayeredNetwork(5, sizes, model=LIF(tau_s=TAU_S, tau_m=ratio * TAU_S), delays=kinds, n_bias=1,
                         weight_init=[(1.0, 0.8)] + [(0.8, 0.5)] * (len(sizes) - 1), batch_size=batch_size,
                         dt=0.02 * TAU_S, duration=10 * TAU_S, seed=seed, simulator=simulator)
    for p in net.params:
        for k in p:
            if k != "w":
                p[k] = rng.uniform(0.0, 1.0, p[k].shape)
    net.params_changed()
    return net, rng.uniform(0.1, 2.0, (24, 5))


@pytest.mark.parametrize("ratio", [1.0, 2.0])
@pytest.mark.parametrize("kinds,sizes", [("synaptic", [7, 3]), ("axonal+dendritic", [6, 5, 2])])
def test_replay_equals_the_closed_form_of_every_neuron(ratio, kinds, sizes):
    net, x = random_net(ratio, sizes, kinds, seed=3)
    out = net.simulate(x)
    n_checked = 0
    for l in range(net.n_layers):
        D, W = net.total_delays(l), net.params[l]["w"]
        for s in range(len(x)):
            pre = np.concatenate([out[l][s], net.bias_times[l:l + 1]])
            T = [first_spike_time(net.model, pre + D[:, j], W[:, j], t_max=net.duration) for j in range(W.shape[1])]
            T = np.where(np.array(T) < net.duration, T, np.inf)
            np.testing.assert_allclose(out[l + 1][s], T, rtol=0, atol=1e-10)
            n_checked += int(np.isfinite(T).sum())
    assert n_checked > 0.6 * len(x) * sum(sizes)      # most neurons spike: the test tests something


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_replay_agrees_with_the_brian2_run(ratio):
    """Same spikes and silences, and the same times to rounding (also where several arrivals share
    the step of a crossing in the Brian2 run)."""
    runs = {}
    for sim in ("brian2", "replay"):
        net, x = random_net(ratio, [12, 4], "synaptic", seed=5, simulator=sim)
        runs[sim] = net.simulate(x)
    for l in (1, 2):
        b, r = runs["brian2"][l], runs["replay"][l]
        np.testing.assert_array_equal(np.isfinite(b), np.isfinite(r))
        err = np.abs(b - r)[np.isfinite(b)]
        assert len(err) > 0.6 * b.size                  # most neurons spike
        assert err.max() < 1e-10, err.max()


def test_replay_follows_per_copy_weight_offsets_as_brian2_does():
    outs = {}
    for sim in ("brian2", "replay"):
        net, x = random_net(2.0, [6, 3], "synaptic", seed=8, simulator=sim)
        offsets = np.random.default_rng(0).normal(0, 0.3, (net.batch_size, net.n_weights))
        net.set_copy_offsets(offsets)
        outs[sim] = net.simulate(x[:16])[-1]
    np.testing.assert_array_equal(np.isfinite(outs["brian2"]), np.isfinite(outs["replay"]))
    fin = np.isfinite(outs["brian2"])
    assert fin.mean() > 0.5
    np.testing.assert_allclose(outs["replay"][fin], outs["brian2"][fin], rtol=0, atol=1e-10)


def test_yinyang_training_is_the_same_on_both_simulators():
    """Two minibatches of 4-30-3 W+synaptic training (two Adam steps of lr 0.01 / 0.003): the
    parameters of the two simulators agree to 1e-9 (the spike times differ by rounding only)."""
    from brian2learn.experiments.yinyang import build

    params = {}
    for sim in ("brian2", "replay"):
        tr, _ = build("4-30-3 W+synaptic", seed=1, n_train=300, n_test=10, progress=False, simulator=sim)
        start = [{k: v.copy() for k, v in p.items()} for p in tr.net.params]
        tr.train_epoch()
        params[sim] = tr.net.params
    for pb, pr, p0 in zip(params["brian2"], params["replay"], start):
        for k in pb:
            assert np.abs(pb[k] - p0[k]).max() > 5e-3
            np.testing.assert_allclose(pr[k], pb[k], atol=1e-9, rtol=0)


def test_replay_refuses_what_it_cannot_simulate():
    with pytest.raises(ValueError, match="backend 'event' does not run tau_m / tau_s = 1.5; use backend='brian2'"):
        LayeredNetwork(2, [2], model=LIF(tau_s=TAU_S, tau_m=1.5 * TAU_S), simulator="replay")
    with pytest.raises(ValueError, match="simulator='event' with device='runtime' names no back end"):
        LayeredNetwork(2, [2], simulator="event")
    with pytest.raises(ValueError, match="backend=" + "'brian2' or 'brian2-cpp'"):
        LayeredNetwork(2, [2], model=LIF(tau_s=TAU_S, tau_m=1.5 * TAU_S), backend="event")
    with pytest.raises(ValueError, match="names no back end"):
        LayeredNetwork(2, [2], simulator="replay", device="cpp_standalone")
    recorded = LayeredNetwork(2, [2], record_states=True)
    with pytest.raises(ValueError, match="'event' does not run record_states=True"):   # checked like the constructor
        with recorded.use_simulator("replay"):
            pass
    assert recorded.simulator == "brian2"
    net = LayeredNetwork(2, [2], simulator="replay")
    net.params[0]["w"][0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="weight became NaN"):
        net.simulate(np.array([[0.5, 1.0]]))
