"""Training learns Yin-Yang, checkpoints are atomic, and resuming gives the same result."""
import os

import numpy as np

from brian2learn.experiments.yinyang import build
from brian2learn.training.checkpoints import checkpoint_meta


def small(seed=0, **kw):
    trainer, _ = build("4-30-3 W+synaptic", seed=seed, n_train=600, n_test=300, batch_size=50,
                       progress=False, **kw)
    return trainer


def test_training_improves_accuracy_and_changes_weights_and_delays():
    tr = small()
    acc0, loss0, _ = tr.evaluate()
    w0 = tr.net.params[0]["w"].copy()
    d0 = tr.net.params[0]["synaptic"].copy()
    tr.fit(4, log=None)
    acc1, loss1, _ = tr.evaluate()
    assert loss1 < loss0
    assert acc1 > max(acc0 + 0.05, 0.55)
    assert not np.allclose(tr.net.params[0]["w"], w0)
    assert not np.allclose(tr.net.params[0]["synaptic"], d0)


def test_weights_only_config_keeps_no_delays():
    tr, _ = build("4-30-3 W", seed=1, n_train=100, n_test=50, batch_size=50, progress=False)
    assert tr.net.n_delays == 0 and all(set(p) == {"w"} for p in tr.net.params)
    tr.fit(1, log=None)


def test_resume_from_checkpoint_equals_uninterrupted(tmp_path):
    a = small(seed=3)
    a.fit(2, log=None)
    b = small(seed=3)
    ckpt = str(tmp_path / "ckpt.npz")
    b.fit(1, checkpoint=ckpt, log=None)
    assert os.path.exists(ckpt) and checkpoint_meta(ckpt)["epoch"] == 1
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]  # atomic: no leftovers
    c = small(seed=3).load(ckpt)  # a fresh process would do exactly this
    c.fit(2, log=None)
    # equal up to rounding: spike times carry the absolute network time, which restarts at 0
    for pa, pc in zip(a.net.params, c.net.params):
        for k in pa:
            np.testing.assert_allclose(pa[k], pc[k], rtol=1e-10, atol=1e-12)
    assert a.history[-1]["test_acc"] == c.history[-1]["test_acc"]
