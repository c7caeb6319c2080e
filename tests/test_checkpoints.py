"""checkpoints.py: atomic writes, exact round trip, and a clear refusal of a mismatched network."""
import os

import numpy as np
import pytest

from brian2learn.training.checkpoints import atomic_write_bytes, load_checkpoint, save_checkpoint
from brian2learn.learning_rules.optimizers import Adam


def _params(n=3):
    rng = np.random.default_rng(0)
    return [{"w": rng.normal(size=(4, n)), "d": rng.uniform(size=(4, n))}, {"w": rng.normal(size=(n, 2))}]


def test_round_trip_restores_parameters_optimiser_and_meta(tmp_path):
    params, opt = _params(), Adam({"weights": 0.01, "delays": 0.002}, amsgrad=True)
    opt.step(params, [{k: np.ones_like(v) for k, v in p.items()} for p in params])
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, params, opt, {"epoch": 3, "rng": np.random.default_rng(1).bit_generator.state})
    fresh, opt2 = _params(), Adam(0.5)
    meta = load_checkpoint(path, fresh, opt2)
    assert meta["epoch"] == 3 and "optimizer" not in meta
    for p, q in zip(params, fresh):
        for k in p:
            np.testing.assert_array_equal(p[k], q[k])
    assert opt2.state_dict()["t"] == 1 and opt2.base_lr == opt.base_lr
    for slot in ("m", "v", "vmax"):
        for k, v in opt.state_dict()["slots"][slot].items():
            np.testing.assert_array_equal(v, opt2.state_dict()["slots"][slot][k])
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]   # one file (parameters and meta together), no temporary


def test_mismatched_network_is_refused_before_anything_changes(tmp_path):
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, _params(3), Adam(0.01), {"epoch": 1})
    other = _params(5)
    before = [{k: v.copy() for k, v in p.items()} for p in other]
    with pytest.raises(ValueError, match=r"param/0/w has shape \(4, 3\), the network's is \(4, 5\)"):
        load_checkpoint(path, other, Adam(0.01))
    for p, q in zip(before, other):
        for k in p:
            np.testing.assert_array_equal(p[k], q[k])    # untouched: no half-loaded network
    with pytest.raises(ValueError, match=r"lacks \['param/0/x'\]"):     # a parameter the checkpoint lacks
        load_checkpoint(path, [dict(_params(3)[0], x=np.zeros(1)), _params(3)[1]], Adam(0.01))


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, object())           # the write fails half-way
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_benchmarks_resume_a_stopped_seed_from_its_checkpoint(tmp_path):
    """experiments.result_store.resumable_epochs (the benchmarks' --checkpoint-dir): a second run
    starts after the epochs the first one finished, and refuses to run when nothing is left to do."""
    from types import SimpleNamespace

    from brian2learn.experiments.result_store import resumable_epochs

    class Fake:   # the trainer protocol the benchmarks use: epoch, history, fit, save, load
        def __init__(self):
            self.epoch, self.history, self.fits = 0, [], 0

        def fit(self, epochs, checkpoint=None, log=None):
            while self.epoch < epochs:
                self.epoch += 1
                self.fits += 1
                self.history.append({"epoch": self.epoch})
            if checkpoint:
                save_checkpoint(checkpoint, [], Adam(0.1), {"epoch": self.epoch, "history": self.history})

        def load(self, path):
            meta = load_checkpoint(path, [], Adam(0.1))
            self.epoch, self.history = meta["epoch"], meta["history"]
            return self

    args = SimpleNamespace(epochs=2, checkpoint_dir=str(tmp_path))
    first = Fake()
    assert [r["epoch"] for r in resumable_epochs(first, "cell", "mnist/1 steps=40", 0, 96, args)] == [1, 2]
    assert sorted(os.listdir(tmp_path)) == ["mnist_1_steps=40-seed0-train96.npz"]
    again = Fake()
    args.epochs = 3
    assert [r["epoch"] for r in resumable_epochs(again, "cell", "mnist/1 steps=40", 0, 96, args)] == [3]
    assert again.fits == 1 and [r["epoch"] for r in again.history] == [1, 2, 3]
    with pytest.raises(SystemExit, match="already holds 3 epochs"):
        list(resumable_epochs(Fake(), "cell", "mnist/1 steps=40", 0, 96, args))
    other_seed = Fake()
    assert len(list(resumable_epochs(other_seed, "cell", "mnist/1 steps=40", 1, 96, args))) == 3


def test_a_setting_the_checkpoint_lacks_is_a_difference(tmp_path):
    """A checkpoint written before a setting existed (e.g. smooth MNIST before p_flip) is refused by a
    trainer that has the setting, naming it, rather than loaded into a run with other settings."""
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, _params(), Adam(0.01), {"epoch": 1, "config": {"lr": 0.01}})
    with pytest.raises(ValueError, match=r"p_flip.*absent"):
        load_checkpoint(path, _params(), Adam(0.01), config={"lr": 0.01, "p_flip": 0.02})
    assert load_checkpoint(path, _params(), Adam(0.01), config={"lr": 0.01})["epoch"] == 1
