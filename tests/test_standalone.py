"""device='cpp_standalone': the compiled program, re-run per minibatch with run_args, trains exactly
like the runtime device (same spikes, same parameters after the same steps, for the same seed)."""
import numpy as np
import pytest

from brian2learn.experiments.yinyang import build
from brian2learn.models import LayeredNetwork

N_TRAIN, N_TEST, BATCH = 200, 100, 50


@pytest.fixture(scope="module")
def standalone_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("standalone"))


def trained(device, epochs=1):
    trainer, _ = build("4-30-3 W+synaptic", seed=5, n_train=N_TRAIN, n_test=N_TEST, batch_size=BATCH,
                       progress=False, device=device)
    trainer.initial = [{k: v.copy() for k, v in p.items()} for p in trainer.net.params]
    trainer.fit(epochs, log=None)
    return trainer


def test_standalone_training_equals_runtime(standalone_dir, monkeypatch):
    monkeypatch.setenv("BRIAN2LEARN_STANDALONE_DIR", standalone_dir)
    rt = trained("runtime")
    sa = trained("cpp_standalone", epochs=2)
    assert sa.history[0]["test_acc"] == rt.history[0]["test_acc"]
    # one more runtime epoch: the delays changed between standalone runs took effect exactly
    rt.fit(2, log=None)
    for p0, p_rt, p_sa in zip(rt.initial, rt.net.params, sa.net.params):
        for k in p_rt:
            assert not np.allclose(p_rt[k], p0[k])  # weights and delays were trained
            np.testing.assert_allclose(p_sa[k], p_rt[k], rtol=1e-9, atol=1e-11)
    assert sa.history[-1]["test_acc"] == rt.history[-1]["test_acc"]
    # per-copy weight offsets (the perturbation rule's batch copies) reach the compiled program too
    dw = np.random.default_rng(0).normal(0.0, 0.3, (BATCH, rt.net.n_weights))
    x = rt.train[0][:BATCH]
    base = sa.net.simulate(x)[-1]
    for tr in (rt, sa):
        tr.net.set_copy_offsets(dw)
    out_rt, out_sa = rt.net.simulate(x)[-1], sa.net.simulate(x)[-1]
    assert not np.array_equal(np.isfinite(out_sa), np.isfinite(base)) or not np.allclose(out_sa, base)
    np.testing.assert_array_equal(np.isfinite(out_sa), np.isfinite(out_rt))
    np.testing.assert_allclose(out_sa[np.isfinite(out_sa)], out_rt[np.isfinite(out_rt)], rtol=0, atol=1e-9)


def test_a_later_standalone_network_invalidates_the_earlier_one(standalone_dir, monkeypatch):
    monkeypatch.setenv("BRIAN2LEARN_STANDALONE_DIR", standalone_dir)
    first = trained("cpp_standalone")
    trained("cpp_standalone")  # same signature: the compiled project is reused
    with pytest.raises(RuntimeError, match="replaced by one built later"):
        first.evaluate()


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device='cuda' names no back end; use backend='brian2', 'brian2-cpp'"):
        LayeredNetwork(4, [3], device="cuda")
