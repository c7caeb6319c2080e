"""In-simulation training (the gradient and Adam as generated code, one compiled run per epoch)
gives the same parameters, optimiser state and accuracies as the runtime Trainer, resumes exactly
from a checkpoint, and refuses what it does not implement."""
import numpy as np
import pytest
from brian2 import ms

from brian2learn.datasets import ttfs_linear, yin_yang
from brian2learn.backends import InSimulationTrainer, UnsupportedBackendError
from brian2learn.learning_rules import AdaBelief, Adam, WeightBumping
from brian2learn.models import LIF, DelayConfig, LayeredNetwork
from brian2learn.training import Trainer

TAU = 5 * ms


def data(n_train=45, n_test=20):
    x, y = yin_yang("train")
    xt, yt = yin_yang("test")
    return (ttfs_linear(x[:n_train]), y[:n_train]), (ttfs_linear(xt[:n_test]), yt[:n_test])


def network(layers, tau_m=2 * TAU, delays=DelayConfig("synaptic", init=(0.5, 0.2), max_delay=1.0)):
    return LayeredNetwork(4, layers, model=LIF(tau_s=TAU, tau_m=tau_m), delays=delays, n_bias=1,
                          bias_times=0.9 * TAU, weight_init=((1.5, 1.0), (0.7, 1.0), (0.5, 1.0)), batch_size=10,
                          dt=0.01 * TAU, duration=4 * TAU, seed=1)


def trainer(cls, layers, trainable=("weights", "delays"), tau_m=2 * TAU, **kw):
    train, test = data()
    return cls(network(layers, tau_m), train, test, optimizer=Adam({"weights": 0.01, "delays": 0.02}, amsgrad=True),
               schedule=(1, 0.5), loss="ce", seed=3, progress=False, trainable=trainable, **kw)


def assert_same_state(a, b):
    for pa, pb in zip(a.net.params, b.net.params):
        for k in pa:
            np.testing.assert_allclose(pb[k], pa[k], rtol=1e-9, atol=1e-11)
    assert a.optimizer.t == b.optimizer.t
    for slot in ("m", "v", "vmax"):
        sa, sb = getattr(a.optimizer, slot), getattr(b.optimizer, slot)
        assert sorted(sa) == sorted(sb)
        for k in sa:
            np.testing.assert_allclose(sb[k], sa[k], rtol=1e-8, atol=1e-14)


def test_three_layers_weights_and_delays_equal_runtime_and_resume(tmp_path):
    # 45 samples in minibatches of 10: the last minibatch is partial; a learning-rate step schedule
    rt = trainer(Trainer, [8, 6, 3])
    ins = trainer(InSimulationTrainer, [8, 6, 3], directory=str(tmp_path / "three"))
    before = [{k: v.copy() for k, v in p.items()} for p in rt.net.params]
    for epoch in range(2):
        row_rt, row_in = rt.train_epoch(), ins.train_epoch()
        assert row_in["train_acc"] == row_rt["train_acc"]
        assert row_in["train_loss"] == pytest.approx(row_rt["train_loss"], rel=1e-9)
        assert ins.evaluate()[0] == rt.evaluate()[0]
        assert_same_state(rt, ins)
        if epoch == 0:
            ins.save(tmp_path / "ckpt.npz")
    for p0, p in zip(before, rt.net.params):
        for k in p:
            assert not np.allclose(p[k], p0[k])  # every layer's weights and delays learned
    # resume from the checkpoint of epoch 1: epoch 2 again, the same result
    resumed = trainer(InSimulationTrainer, [8, 6, 3], directory=str(tmp_path / "three")).load(tmp_path / "ckpt.npz")
    resumed.train_epoch()
    assert_same_state(ins, resumed)


def test_delay_only_with_equal_time_constants_keeps_weights_and_equals_runtime(tmp_path):
    rt = trainer(Trainer, [12, 3], trainable=("delays",), tau_m=TAU)
    ins = trainer(InSimulationTrainer, [12, 3], trainable=("delays",), tau_m=TAU, directory=str(tmp_path / "d"))
    w0 = [p["w"].copy() for p in ins.net.params]
    for _ in range(2):
        rt.train_epoch()
        ins.train_epoch()
    assert_same_state(rt, ins)
    for w, p in zip(w0, ins.net.params):
        assert np.array_equal(w, p["w"])
    assert sorted(ins.optimizer.m) == ["0/synaptic", "1/synaptic"]


@pytest.mark.parametrize("change, match", [
    (dict(loss="mse"), "cross-entropy only"),
    (dict(bumping=WeightBumping(5e-4, (0.3, 0.0))), "weight bumping"),
    (dict(optimizer=Adam(0.01, max_grad_norm=0.2)), "without gradient clipping"),
    (dict(optimizer=AdaBelief(0.01)), "Adam"),
])
def test_unsupported_training_settings_are_refused(change, match):
    train, test = data()
    kw = dict(optimizer=Adam(0.01), loss="ce", progress=False)
    kw.update(change)
    with pytest.raises(NotImplementedError, match=match):
        InSimulationTrainer(network([5, 3]), train, test, **kw)


@pytest.mark.parametrize("delays, match", [
    (DelayConfig("axonal"), "'in-simulation' does not run delay kinds axonal; use backend="),
    (DelayConfig("synaptic", reparam=(0.0, 1.0)), "does not run reparameterised delays"),
])
def test_unsupported_delays_are_refused(delays, match):
    train, test = data()
    net = LayeredNetwork(4, [5, 3], delays=delays, dt=0.01 * TAU, duration=4 * TAU)
    with pytest.raises(UnsupportedBackendError, match=match):
        InSimulationTrainer(net, train, test, optimizer=Adam(0.01), progress=False)


def test_openmp_threads_are_refused():
    train, test = data()
    with pytest.raises(NotImplementedError, match="single-threaded"):
        InSimulationTrainer(network([5, 3]), train, test, optimizer=Adam(0.01), progress=False, threads=2)
