"""Losses (values and gradients vs finite differences), first-spike classification, optimisers."""
import numpy as np
import pytest

from brian2learn.learning_rules import SGD, Adam, StepLR, predict, shift_invariant_mse, ttfs_cross_entropy


@pytest.mark.parametrize("loss", [ttfs_cross_entropy, shift_invariant_mse])
def test_loss_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(0)
    t = rng.uniform(1, 3, (5, 3))
    y = rng.integers(0, 3, 5)
    L, g = loss(t, y)
    eps = 1e-6
    for idx in np.ndindex(t.shape):
        tp, tm = t.copy(), t.copy()
        tp[idx] += eps
        tm[idx] -= eps
        fd = (loss(tp, y)[0].sum() - loss(tm, y)[0].sum()) / (2 * eps)
        assert np.isclose(g[idx], fd, rtol=1e-5, atol=1e-8)


def test_cross_entropy_formula_and_silent_neurons():
    t = np.array([[1.0, 2.0, np.inf]])
    L, g = ttfs_cross_entropy(t, np.array([0]), xi=0.2, t_missing=6.0)
    expect = np.log(np.exp(-1 / 0.2) + np.exp(-2 / 0.2) + np.exp(-6 / 0.2)) + 1 / 0.2
    assert np.isclose(L[0], expect)
    assert g[0, 2] == 0.0  # a silent neuron gets no gradient


def test_shift_invariant_mse_is_shift_invariant_and_zero_at_target():
    t = np.array([[1.0, 1.2, 1.2]])
    L, g = shift_invariant_mse(t, np.array([0]), delta=0.2)
    assert np.isclose(L[0], 0) and np.allclose(g, 0)
    assert np.isclose(shift_invariant_mse(t + 3.7, np.array([1]))[0][0], shift_invariant_mse(t, np.array([1]))[0][0])


def test_predict_first_spike_and_missing_is_wrong():
    t = np.array([[2.0, 1.0, 3.0], [np.inf, np.inf, np.inf], [np.inf, 2.0, np.inf]])
    np.testing.assert_array_equal(predict(t), [1, -1, 1])


def test_loss_rejects_bad_labels_and_nan():
    with pytest.raises(ValueError, match="labels"):
        ttfs_cross_entropy(np.ones((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="NaN"):
        ttfs_cross_entropy(np.array([[np.nan, 1, 1]]), np.array([0]))


def test_adam_matches_reference_update_and_groups():
    p = [{"w": np.array([1.0, -2.0]), "synaptic": np.array([0.5])}]
    g = [{"w": np.array([0.3, -0.1]), "synaptic": np.array([2.0])}]
    opt = Adam({"weights": 0.1, "delays": 0.01})
    opt.step(p, g)
    # first Adam step moves each parameter by lr * sign(g) (bias-corrected)
    np.testing.assert_allclose(p[0]["w"], [1.0 - 0.1, -2.0 + 0.1], rtol=1e-6)
    np.testing.assert_allclose(p[0]["synaptic"], [0.5 - 0.01], rtol=1e-6)
    state = opt.state_dict()
    opt2 = Adam({"weights": 0.1, "delays": 0.01})
    opt2.load_state_dict(state)
    q = [{k: v.copy() for k, v in p[0].items()}]
    opt.step(p, g)
    opt2.step(q, g)
    np.testing.assert_array_equal(p[0]["w"], q[0]["w"])


def test_step_schedule_and_lr_validation():
    opt = SGD({"weights": 1.0})
    sched = StepLR(opt, step_size=20, gamma=0.95)
    sched.set_epoch(45)
    assert np.isclose(opt.lr("w"), 0.95 ** 2)
    assert opt.lr("axonal") == 0.0
    # final linear decay over epochs 250..299: 1 - k/50 after k decay epochs, floored at 2 %, on top of the steps
    sched = StepLR(opt, 20, 0.95, 250, 300)
    for epoch, factor in ((249, 1.0), (250, 1 - 1 / 50), (274, 0.5), (298, 0.02), (299, 0.02)):
        sched.set_epoch(epoch)
        assert np.isclose(opt.lr("w"), 0.95 ** (epoch // 20) * factor), epoch
    with pytest.raises(ValueError, match="decay_start and decay_end"):
        StepLR(opt, 20, 0.95, 250)
    with pytest.raises(ValueError, match="decay_start < decay_end"):
        StepLR(opt, 20, 0.95, 300, 300)
    with pytest.raises(ValueError, match="learning rate"):
        Adam({"weights": -1})
    with pytest.raises(ValueError, match="groups"):
        Adam({"bias": 0.1})


def test_gradient_clipping_rescales_each_array_to_max_norm():
    p = [{"w": np.zeros(4)}]
    opt = SGD(1.0, max_grad_norm=0.2)
    opt.step(p, [{"w": np.array([3.0, 4.0, 0.0, 0.0])}])        # norm 5 -> 0.2
    np.testing.assert_allclose(p[0]["w"], [-0.12, -0.16, 0, 0])
    opt.step(p, [{"w": np.array([0.01, 0.0, 0.0, 0.0])}])       # below the bound: unchanged
    np.testing.assert_allclose(p[0]["w"], [-0.13, -0.16, 0, 0])
    with pytest.raises(ValueError, match="max_grad_norm"):
        Adam(0.1, max_grad_norm=-1)


class _FakeNet:
    """The two attributes WeightBumping uses: params and n_layers (+ params_changed)."""

    def __init__(self, sizes):
        self.params = [{"w": np.zeros((3, n))} for n in sizes]
        self.n_layers = len(sizes)
        self.changed = 0

    def params_changed(self):
        self.changed += 1


class _Record:
    def __init__(self, layers):
        self.layers = [np.zeros((layers[0].shape[0], 3))] + layers
        self.n_valid = layers[0].shape[0]


def test_weight_bumping_reference_semantics():
    from brian2learn.learning_rules import WeightBumping
    inf = np.inf
    net = _FakeNet([4, 2])
    bump = WeightBumping(1e-3, (0.3, 0.0))
    # hidden: 2 of 8 entries silent (25 % <= 30 %): fine; output: one silent entry -> bump output only,
    # every neuron that missed a spike for at least one sample
    hidden = np.array([[1, inf, 1, 1], [1, inf, 1, 1.0]])
    out = np.array([[1, 2], [inf, 2.0]])
    assert bump(net, _Record([hidden, out]))
    np.testing.assert_array_equal(net.params[0]["w"], 0)
    np.testing.assert_array_equal(net.params[1]["w"][:, 0], 1e-3)
    np.testing.assert_array_equal(net.params[1]["w"][:, 1], 0)
    # same layer again: the bump doubles
    assert bump(net, _Record([hidden, out]))
    np.testing.assert_allclose(net.params[1]["w"][:, 0], 3e-3)
    # hidden too silent (50 %): only the foremost layer is bumped, and the bump restarts at its value
    hidden2 = np.array([[inf, inf, 1, 1], [inf, inf, 1, 1.0]])
    assert bump(net, _Record([hidden2, out]))
    np.testing.assert_allclose(net.params[0]["w"][:, :2], 1e-3)
    np.testing.assert_array_equal(net.params[0]["w"][:, 2:], 0)
    np.testing.assert_allclose(net.params[1]["w"][:, 0], 3e-3)
    # nothing silent: no bump, state resets
    assert not bump(net, _Record([np.ones((2, 4)), np.ones((2, 2))]))
    assert bump.last_layer is None and bump.skip_step
    with pytest.raises(ValueError, match="max_silent"):
        WeightBumping(1e-3, (1.5, 0.0))


def test_weight_bumping_dead_hidden_neurons():
    """dead=True: a hidden neuron silent for every sample is bumped even under the 30 % rule (and only
    it); a neuron silent for some samples is not; the output layer keeps the reference rule."""
    from brian2learn.learning_rules import WeightBumping
    inf = np.inf
    hidden = np.array([[1, inf, 1, 1, inf], [1, inf, 1, 1, 1.0]])   # neuron 1 dead, neuron 4 silent once (30 %)
    out = np.ones((2, 2))
    assert not WeightBumping(1e-3, (0.3, 0.0))(_FakeNet([5, 2]), _Record([hidden, out]))   # the reference rule
    net = _FakeNet([5, 2])
    assert WeightBumping(1e-3, (0.3, 0.0), dead=True)(net, _Record([hidden, out]))
    np.testing.assert_array_equal(net.params[0]["w"][:, 1], 1e-3)
    np.testing.assert_array_equal(net.params[0]["w"][:, [0, 2, 3, 4]], 0)
    np.testing.assert_array_equal(net.params[1]["w"], 0)
    assert not WeightBumping(1e-3, (0.3, 0.0), dead=True)(_FakeNet([5, 2]), _Record([np.ones((2, 5)), out]))
