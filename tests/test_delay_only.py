"""Delay-only training: weights stay bit-identical, the delay step is the exact gradient step,
the sparse (active-inputs-only) backward equals the dense one, and the weight inits are what they say."""
import json

import numpy as np
import pytest
from brian2 import ms

from brian2learn.learning_rules import SGD, SpikeTimeGradient, shift_invariant_mse
from brian2learn.models import LIF, DelayConfig, LayeredNetwork, normal, relative_to_threshold, ternary
from brian2learn.training import Trainer

TAU_S = 5 * ms


def small_net(seed=0, kinds="synaptic"):
    model = LIF(tau_s=TAU_S, tau_m=2 * TAU_S)
    return LayeredNetwork(6, [8, 3], model=model, delays=DelayConfig(kinds=kinds, init=(0.4, 0.2)), n_bias=1,
                          bias_times=0.3 * TAU_S, weight_init=[(0.8, 0.4), (0.8, 0.3)], batch_size=5,
                          dt=0.01 * TAU_S, duration=8 * TAU_S, seed=seed)


def small_data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 1.5, (n, 6))
    x[rng.random((n, 6)) < 0.3] = np.inf          # silent inputs, as dark pixels
    return x, rng.integers(0, 3, n)


@pytest.mark.parametrize("kinds", ["synaptic", "axonal+dendritic"])
def test_delay_only_keeps_weights_bit_identical_and_moves_delays(kinds):
    net = small_net(kinds=kinds)
    x, y = small_data(10)
    tr = Trainer(net, (x, y), optimizer=SGD(0.05), schedule=None, loss="mse", progress=False, trainable="delays")
    w0 = [p["w"].copy() for p in net.params]
    d0 = [{k: v.copy() for k, v in p.items() if k != "w"} for p in net.params]
    tr.fit(2, log=None)
    for a, p in zip(w0, net.params):
        assert a.tobytes() == p["w"].tobytes()
    assert any(not np.array_equal(d0[l][k], net.params[l][k]) for l in range(2) for k in d0[l])


def test_delay_only_step_is_minus_lr_times_finite_difference_gradient():
    """One SGD step of delay-only training on one batch = -lr x central differences of the simulated loss."""
    net = small_net(seed=2)
    x, y = small_data(5, seed=2)

    def loss():
        return float(shift_invariant_mse(net.simulate(x)[-1], y, t_missing=net.duration)[0].sum() / len(x))

    before = [p["synaptic"].copy() for p in net.params]
    rng = np.random.default_rng(0)
    picks = [(l, tuple(rng.integers(0, s) for s in before[l].shape)) for l in (0, 1) for _ in range(5)]
    fd = []
    for l, idx in picks:
        vals = []
        for sgn in (1, -1):
            net.params[l]["synaptic"][idx] = before[l][idx] + sgn * 1e-6
            net.params_changed()
            vals.append(loss())
        net.params[l]["synaptic"][idx] = before[l][idx]
        net.params_changed()
        fd.append((vals[0] - vals[1]) / 2e-6)
    lr = 1e-3
    tr = Trainer(net, (x, y), optimizer=SGD(lr), schedule=None, loss="mse", progress=False, trainable=("delays",))
    tr.rng = np.random.default_rng(0)
    tr.train_epoch()                                   # one batch of 5 = one step
    step = [-(net.params[l]["synaptic"][idx] - before[l][idx]) / lr for l, idx in picks]
    assert np.count_nonzero(fd) >= 4
    np.testing.assert_allclose(step, fd, rtol=2e-3, atol=1e-6)


def test_trainable_validation():
    net = small_net()
    x, y = small_data(5)
    with pytest.raises(ValueError, match="trainable"):
        Trainer(net, (x, y), trainable=("biases",), progress=False)
    from brian2learn.learning_rules import WeightBumping
    with pytest.raises(ValueError, match="bumping"):
        Trainer(net, (x, y), trainable="delays", bumping=WeightBumping(), progress=False)


def test_sparse_backward_equals_dense_sensitivities():
    rng = np.random.default_rng(1)
    model = LIF(tau_s=TAU_S, tau_m=2 * TAU_S)
    rule = SpikeTimeGradient(model)
    B, n_pre, n_post = 7, 40, 6
    t_pre = rng.uniform(0, 2, (B, n_pre))
    t_pre[rng.random((B, n_pre)) < 0.7] = np.inf
    T = rng.uniform(1.5, 4, (B, n_post))
    T[0, 1] = np.inf
    W, D = rng.normal(0.3, 0.5, (n_pre, n_post)), rng.uniform(0, 1, (n_pre, n_post))
    delta = rng.normal(size=(B, n_post))
    dw, dta = rule.sensitivities(t_pre, T, W, D)
    gW, gD, gt = rule._projection(t_pre, T, W, D, delta)
    np.testing.assert_allclose(gW, np.einsum("bj,bij->ij", delta, dw), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gD, np.einsum("bj,bij->ij", delta, dta), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gt, np.einsum("bj,bij->bi", delta, dta), rtol=1e-12, atol=1e-14)


def test_weight_inits():
    rng = np.random.default_rng(0)
    w = ternary(0.1, 0.6, w0=0.25)(rng, 300, 200)
    assert set(np.unique(w)) == {-0.25, 0.0, 0.25}
    z = np.clip(np.round(0.1 + 0.6 * np.random.default_rng(0).standard_normal((300, 200))), -1, 1)
    np.testing.assert_array_equal(w, 0.25 * z)
    w = normal(0.5, 0.1)(rng, 400, 300)
    assert abs(w.mean() - 0.5) < 0.01 and abs(w.std() - 0.1) < 0.01
    with pytest.raises(ValueError, match="std"):
        normal(0.0, -1.0)
    with pytest.raises(ValueError, match="w0"):
        ternary(0.0, 1.0, w0=0.0)
    model = LIF(tau_s=TAU_S, tau_m=2 * TAU_S)
    u = relative_to_threshold(model)
    x = np.linspace(0.01, 10, 20001)
    assert np.isclose(u * model.kernel(x).max(), model.rheobase, rtol=1e-6)
    with pytest.raises(ValueError, match="weight init"):
        LayeredNetwork(3, [2], model=model, weight_init=["bad"], dt=0.01 * TAU_S, duration=TAU_S)


def test_experiment_settings_none_keeps_its_meaning(shared_data):
    """levels=None is the continuous latency code (not 'the default 3 levels'); other Nones are defaults."""
    from brian2learn.experiments.delay_only import build
    kw = dict(data_dir=shared_data, n_train=64, n_test=8, progress=False, simulator="replay")
    graded, cfg3 = build(levels=3, hidden=None, **kw)
    smooth, cfg0 = build(levels=None, **kw)
    assert cfg3["levels"] == 3 and cfg0["levels"] is None and cfg3["hidden"] == 350
    times = lambda tr: np.unique(tr.train[0][np.isfinite(tr.train[0])])
    assert len(times(graded)) == 3 and len(times(smooth)) > 50


def test_benchmark_add_seeds_joins_the_stored_entry(tmp_path, shared_data, run_benchmark):
    """benchmarks/delay_only.py --add-seeds: seed 1 joins the stored seed 0 of the same cell and
    settings (mean over both, each seed's command kept); other epochs are refused."""
    out = str(tmp_path / "r.json")
    args = ["--cells", "mnist/delays/normal", "--simulator", "replay", "--n-train", "96", "--n-test", "32",
            "--epochs", "1", "--data-dir", shared_data, "--out", out, "--hidden", "20"]
    run_benchmark("delay_only", *args, "--seeds", "0")
    run_benchmark("delay_only", *args, "--seeds", "1", "--add-seeds")
    with open(out) as f:
        entry = json.load(f)["mnist/delays/normal@784-20-10 simulator=replay"]
    assert entry["seeds"] == [0, 1] and entry["trainer"].startswith("replay-")   # -numpy where nothing compiles
    accs = [entry["per_seed"][s]["test_acc"] for s in ("0", "1")]
    assert entry["test_acc_mean"] == pytest.approx(np.mean(accs))
    assert "--add-seeds" in entry["per_seed"]["1"]["command"] and "--add-seeds" not in entry["per_seed"]["0"]["command"]
    refused = run_benchmark("delay_only", *[a if a != "1" else "2" for a in args], "--seeds", "2", "--add-seeds",
                            ok=False)
    assert "run for 1 epochs" in refused.stderr
    run_benchmark("delay_only", *args, "--seeds", "3", "--set", "hidden=30", ok=False)   # hidden has its own option
