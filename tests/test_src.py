"""SRC cell (models.src), its numpy forward (models.src_fast) and BPTT (learning_rules.bptt).

Brian2 runs here use the numpy code-generation target (no compile). Gradients are compared with
central finite differences of the Brian2 simulation itself.
"""
import numpy as np
import pytest
from brian2 import mV

from brian2learn.datasets import latency_steps, rate_steps
from brian2learn.learning_rules.bptt import BPTT, cross_entropy
from brian2learn.learning_rules.optimizers import Adam
from brian2learn.models.src import SRC, SRCNetwork, simulate_brian2
from brian2learn.models.src_fast import simulate_numpy
from brian2learn.training.checkpoints import checkpoint_meta

CASES = {  # name: (sizes, recurrent, readout)
    "depth1": ((6, 4), False, "counts"),
    "depth2-recurrent": ((6, 5, 3), True, "counts"),
    "depth2-membrane": ((6, 5, 3), True, "membrane"),
}


def _net(sizes, recurrent, readout, cell=None, seed=0):
    """A small network driven hard enough that every layer spikes."""
    net = SRCNetwork(8, sizes, recurrent=recurrent, readout=readout, cell=cell or SRC(), seed=seed)
    rng = np.random.RandomState(seed + 1)
    for p in net.params:
        p["w"] *= 5
        if "b_h" in p:
            p["b_h"][:] = rng.uniform(-6, -4.2, p["b_h"].shape)
    s_in = (rng.rand(2, 30, 8) < 0.4).astype(float)
    return net, s_in, np.array([1, 2])


def _loss(net, s_in, y, sim=simulate_brian2):
    return cross_entropy(sim(net, s_in)[-1]["logits"], y)[0]


@pytest.mark.parametrize("case", CASES)
def test_numpy_forward_equals_brian2(case):
    net, s_in, _ = _net(*CASES[case])
    a, b = simulate_brian2(net, s_in), simulate_numpy(net, s_in)
    for l in range(net.n_layers):
        assert set(a[l]) == set(b[l])
        for k in a[l]:
            np.testing.assert_allclose(b[l][k], a[l][k], rtol=0, atol=1e-12, err_msg=f"layer {l} {k}")
    np.testing.assert_allclose(b[-1]["logits"], a[-1]["logits"], atol=1e-12)
    assert all((a[l]["s"] > 0).any() for l in range(net.n_layers) if "s" in a[l]), "a layer stayed silent"


@pytest.mark.parametrize("case", CASES)
def test_exact_gradient_matches_finite_differences_of_brian2(case):
    net, s_in, y = _net(*CASES[case])
    loss, _, grads = BPTT(net, "exact").gradients(s_in, simulate_brian2(net, s_in), y)
    rng = np.random.RandomState(3)
    eps, checked = 1e-5, 0
    for l, p in enumerate(net.params):
        for name, v in p.items():
            g = grads[l][name]
            assert g.shape == v.shape
            # the entry with the largest gradient, plus a random one
            flat = [np.argmax(np.abs(g)), rng.randint(v.size)]
            for k in flat:
                idx = np.unravel_index(k, v.shape)
                old = v[idx]
                v[idx] = old + eps
                lp = _loss(net, s_in, y)
                v[idx] = old - eps
                lm = _loss(net, s_in, y)
                v[idx] = old
                fd = (lp - lm) / (2 * eps)
                assert abs(fd - g[idx]) <= 1e-6 + 1e-4 * abs(fd), (l, name, idx, fd, g[idx])
                checked += abs(fd) > 1e-4
    assert checked >= 4, "too few non-zero gradients were checked"


def test_gradient_stops_are_exact_without_cell_recurrence():
    """With r = r_s = 0 (and z = 0) h[t-1], h_s[t-1] do not act on h[t]: stopping them changes nothing."""
    cell = SRC(r=0.0, r_s=0.0, b_h_init=-1.0, b_h_max=0.0)
    net, s_in, y = _net((6, 5, 3), True, "counts", cell=cell)
    for p in net.params:
        p["b_h"][:] = -1.0
    rec = simulate_numpy(net, s_in)
    _, _, exact = BPTT(net, "exact").gradients(s_in, rec, y)
    _, _, stopped = BPTT(net, "exact", stop_recurrent=True).gradients(s_in, rec, y)
    for ge, gs in zip(exact, stopped):
        for k in ge:
            np.testing.assert_allclose(gs[k], ge[k], atol=1e-12)
    # with the SRC's own feedback the stop does change the gradient, and 'paper' differs from 'exact'
    net, s_in, y = _net((6, 4), False, "counts")
    rec = simulate_numpy(net, s_in)
    ge = BPTT(net, "exact").gradients(s_in, rec, y)[2][0]["w"]
    gp = BPTT(net, "paper").gradients(s_in, rec, y)[2][0]["w"]
    assert not np.allclose(ge, gp)


def test_single_cell_spikes_and_refractoriness():
    """Constant drive: a fast upstroke to h > 0.5, then h_s pulls h down; spikes repeat, separated."""
    net = SRCNetwork(1, (1,), readout="counts", seed=0)
    net.params[0]["w"][:] = 0.35   # i_x -> 3.5, x ~ 2.5
    rec = simulate_brian2(net, np.ones((1, 120, 1)))[0]
    h, hs, s = rec["h"][0, :, 0], rec["h_s"][0, :, 0], rec["s"][0, :, 0]
    onsets = np.nonzero((s[1:] > 0) & (s[:-1] == 0))[0] + 1
    assert len(onsets) >= 3, "expected repeated spikes under constant drive"
    assert h.max() > 0.9 and h.min() < -0.8
    k = onsets[1]
    assert h[k + 1] - h[k - 1] > 1.0, "upstroke should take about one step"
    assert hs[k + 3] > hs[k - 1] + 0.5, "the slow state rises during a spike (refractoriness)"
    assert np.all(np.diff(onsets) >= 5)


def test_adam_step_and_bias_cap():
    net, s_in, y = _net((6, 4), False, "counts")
    opt = Adam(0.1)
    rule = BPTT(net, "exact")
    losses = []
    for _ in range(10):
        loss, _, grads = rule.gradients(s_in, simulate_numpy(net, s_in), y)
        losses.append(loss)
        opt.step(net.params, grads)
        net.cap_biases()
    assert min(losses[5:]) < 0.75 * losses[0]  # spikes make the loss rugged: not monotone
    net.params[0]["b_h"][:2] = [0.0, -4.5]
    net.cap_biases()
    assert net.params[0]["b_h"][0] == net.cell.b_h_max and net.params[0]["b_h"][1] == -4.5


def test_bad_input_raises_before_simulation():
    net = SRCNetwork(4, (3, 2))
    with pytest.raises(ValueError, match="shape"):
        simulate_numpy(net, np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="empty"):
        simulate_numpy(net, np.zeros((0, 5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        simulate_numpy(net, np.full((1, 5, 4), np.nan))
    with pytest.raises(Exception, match="dt"):
        simulate_brian2(net, np.zeros((1, 5, 4)), dt=1 * mV)
    net.params[0]["w"][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"params\[0\]\['w'\]"):
        simulate_numpy(net, np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match="readout"):
        SRCNetwork(4, (3,), readout="rate")
    with pytest.raises(ValueError, match="gradient"):
        BPTT(net, "surrogate")
    with pytest.raises(TypeError, match="SRCNetwork"):
        BPTT(object())
    ok = SRCNetwork(4, (3, 2))
    with pytest.raises(ValueError, match="do not match the record"):
        BPTT(ok).gradients(np.zeros((1, 6, 4)), simulate_numpy(ok, np.zeros((1, 5, 4))), np.array([0]))
    with pytest.raises(ValueError, match="alpha"):
        SRC(alpha=1.5)
    with pytest.raises(ValueError, match="b_h_init"):
        SRC(b_h_init=-3.0)
    with pytest.raises(ValueError, match="labels"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_step_encodings():
    img = np.zeros((2, 28, 28), np.uint8)
    img[:, 10, 10], img[:, 5, 5] = 255, 64
    s = rate_steps(img, 2000, 0)
    assert s.shape == (2, 2000, 784)
    assert s[:, :, 10 * 28 + 10].mean() == 1.0
    assert abs(s[:, :, 5 * 28 + 5].mean() - 64 / 255) < 0.02
    assert s.sum() == s[:, :, [10 * 28 + 10, 5 * 28 + 5]].sum()
    lat = latency_steps(img, 100)
    assert lat.sum() == 4 and lat[0, 0, 10 * 28 + 10] == 1
    assert lat[0, int(round((1 - 64 / 255) * 99)), 5 * 28 + 5] == 1
    with pytest.raises(ValueError, match="steps"):
        rate_steps(img, 0, 0)
    with pytest.raises(ValueError, match="max_prob"):
        rate_steps(img, 10, 0, max_prob=2.0)


@pytest.mark.slow
def test_deep_src_learns_mnist_subset():
    """Depth 2, rate code, 50 steps, 3000 images, 2 epochs with the paper's gradient: well above chance."""
    import os
    from pathlib import Path

    from brian2learn.experiments.src import build

    shared = Path(os.environ.get("BRIAN2LEARN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    trainer, _ = build("mnist", seed=0, data_dir=shared if shared.is_dir() else None, n_train=3000, n_test=500,
                       depth=2, hidden=64, steps=50, lr=3e-3)
    trainer.fit(2, log=None)
    assert trainer.history[-1]["test_acc"] > 0.75


def test_learning_rate_schedule_steps_per_epoch(shared_data):
    """schedule=(1, 0.5): epoch k trains at lr * 0.5**k; without a schedule the rate stays."""
    from brian2learn.experiments.src import build

    shared = shared_data
    scales = {}
    for schedule in (None, (1, 0.5)):
        trainer, _ = build("mnist", seed=0, data_dir=shared, n_train=64, n_test=64, hidden=16, steps=10,
                           schedule=schedule)
        seen = []
        for _ in range(3):
            trainer.train_epoch()
            seen.append(trainer.opt.scale)
        scales[schedule] = seen
    assert scales[None] == [1.0, 1.0, 1.0]
    assert scales[(1, 0.5)] == [1.0, 0.5, 0.25]


def test_checkpoint_resumes_exactly_and_refuses_other_settings(tmp_path, shared_data):
    """Stopping after epoch 1 and resuming from the checkpoint in a fresh trainer gives the same
    parameters, Adam state and accuracies as training 2 epochs straight (same shuffles, same rate-coded
    spikes); a checkpoint of other settings or another architecture is refused with the reason."""
    import os

    from brian2learn.experiments.src import build
    from brian2learn.training.checkpoints import checkpoint_meta

    def small(**kw):
        return build("mnist", seed=4, data_dir=shared_data, n_train=96, n_test=32, hidden=12, steps=12,
                     batch_size=32, lr=3e-3, schedule=(1, 0.5), **kw)[0]

    a = small()
    a.fit(2, log=None)
    ckpt = str(tmp_path / "src.npz")
    b = small()
    b.fit(1, checkpoint=ckpt, log=None)
    assert checkpoint_meta(ckpt)["epoch"] == 1
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]   # written atomically
    c = small().load(ckpt)
    c.fit(2, log=None)
    for pa, pc in zip(a.net.params, c.net.params):
        for k in pa:
            np.testing.assert_array_equal(pa[k], pc[k])
    assert [h["test_acc"] for h in a.history] == [h["test_acc"] for h in c.history]
    assert c.opt.t == a.opt.t and c.opt.scale == a.opt.scale == 0.5
    assert not np.array_equal(a.net.params[0]["w"], small().net.params[0]["w"])   # training did change it
    with pytest.raises(ValueError, match="other settings.*steps"):
        build("mnist", seed=4, data_dir=shared_data, n_train=96, n_test=32, hidden=12, steps=20, batch_size=32,
              lr=3e-3, schedule=(1, 0.5))[0].load(ckpt)
    other = build("mnist", seed=4, data_dir=shared_data, n_train=96, n_test=32, hidden=12, steps=12, batch_size=32,
                  lr=3e-3, schedule=(1, 0.5), depth=2)[0]
    with pytest.raises(ValueError, match="other settings.*depth"):
        other.load(ckpt)



def test_benchmark_readout_is_a_named_setting(tmp_path, shared_data, run_benchmark):
    """benchmarks/src.py --readout membrane: trains with the integrator readout and stores it under its
    own key with the setting recorded; entries written before the option existed count as spike-count
    readouts when seeds are added to them, and --add-seeds still refuses other epochs."""
    import json

    out = str(tmp_path / "src.json")
    common = ["--cells", "mnist/1", "--seeds", "0", "--epochs", "1", "--steps", "10", "--hidden", "8",
              "--n-train", "64", "--n-test", "32", "--data-dir", shared_data, "--out", out]
    run_benchmark("src", *common, "--readout", "membrane")
    stored = json.load(open(out))
    entry = stored["mnist/1 steps=10 hidden=8 readout=membrane"]
    assert entry["readout"] == "membrane" and entry["partial"]
    assert "mnist/1 steps=10 hidden=8" not in stored
    best = stored["best_by_cell"]["mnist/1"]          # written with every result
    assert best["key"] == "mnist/1 steps=10 hidden=8 readout=membrane" and best["partial"]
    stored["mnist/1 steps=10 hidden=8"] = {k: v for k, v in entry.items() if k != "readout"}  # an older entry
    json.dump(stored, open(out, "w"))
    run_benchmark("src", *common, "--add-seeds")                                 # counts: accepted
    run_benchmark("src", *common, "--readout", "membrane", "--add-seeds")
    refused = run_benchmark("src", *common[:5], "2", *common[6:], "--add-seeds", ok=False)
    assert "epochs" in refused.stderr


def test_best_by_cell_prefers_complete_entries():
    """best_by_cell: per dataset/depth, the complete entry with the highest mean, a partial one only
    where none is complete; other keys (timings, notes) are ignored."""
    from brian2learn.experiments.result_store import best_by_cell
    best = best_by_cell({
        "mnist/1": {"test_acc_mean": 0.99, "partial": "1 seed(s) of 3"},
        "mnist/1 schedule=4x0.5": {"test_acc_mean": 0.97, "partial": False},
        "mnist/1 readout=membrane": {"test_acc_mean": 0.975, "partial": False},
        "mnist/4": {"test_acc_mean": 0.9, "partial": "2 of 10 epochs"},
        "epoch_seconds": {"mnist/1": 3.0}, "machine": "m"})
    assert {c: b["key"] for c, b in best.items()} == {"mnist/1": "mnist/1 readout=membrane", "mnist/4": "mnist/4"}


def test_hidden_gain_scales_the_later_spiking_layers_only(tmp_path, shared_data, run_benchmark):
    """hidden_gain multiplies the initial weights into every SRC layer after the first (not the
    input weights, not a membrane integrator), wakes up a deep network's silent layers, refuses
    gains <= 0, is named in the benchmark key, and keeps checkpoints of gain 1 loadable."""
    import json

    from brian2learn.experiments.src import build, encode
    from brian2learn.models.src_fast import simulate_numpy

    def net(gain, readout="membrane", depth=3):
        return build("mnist", seed=1, data_dir=shared_data, n_train=32, n_test=8, depth=depth, steps=60,
                     readout=readout, hidden_gain=gain)[0]

    plain, loud = net(1.0), net(3.0)
    np.testing.assert_array_equal(loud.net.params[0]["w"], plain.net.params[0]["w"])
    for l in (1, 2):
        np.testing.assert_allclose(loud.net.params[l]["w"], 3 * plain.net.params[l]["w"])
    np.testing.assert_array_equal(loud.net.params[3]["w"], plain.net.params[3]["w"])   # the integrator
    counts = net(2.0, readout="counts", depth=1)
    np.testing.assert_allclose(counts.net.params[1]["w"], 2 * net(1.0, readout="counts", depth=1).net.params[1]["w"])
    s_in = encode("mnist", plain.train[0][:16], 60, np.random.RandomState(0))
    fired = [[float((r["s"] > 0.5).any(axis=1).mean()) for r in simulate_numpy(t.net, s_in)[:3]]
             for t in (plain, loud)]
    assert fired[0][2] < 0.05 < 0.3 < fired[1][2], fired   # the third layer: silent at gain 1, awake at 3
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="hidden_gain"):
            net(bad)
    ckpt = str(tmp_path / "gain1.npz")
    plain.save(ckpt)
    assert "hidden_gain" not in checkpoint_meta(ckpt)["config"]   # as written before the setting
    net(1.0).load(ckpt)
    with pytest.raises(ValueError, match="hidden_gain"):
        loud.load(ckpt)
    # the benchmark's key names the gain: an entry stored under "mnist/2 hidden_gain=3" is the one that
    # --add-seeds finds (and refuses here, for its other number of epochs, naming its key)
    out = str(tmp_path / "s.json")
    json.dump({"mnist/2 hidden_gain=3": {"epochs": 5, "steps": 100, "hidden": 100, "lr": 3e-3, "batch_size": 64,
                                         "gradient": "paper", "readout": "counts", "hidden_gain": 3.0,
                                         "schedule": None}}, open(out, "w"))
    refused = run_benchmark("src", "--cells", "mnist/2", "--hidden-gain", "3", "--steps", "100", "--epochs", "1",
                            "--seeds", "0", "--add-seeds", "--data-dir", shared_data, "--out", out, ok=False)
    assert "'mnist/2 hidden_gain=3'" in refused.stderr and "epochs (5 vs 1)" in refused.stderr
