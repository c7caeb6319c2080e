"""Data-parallel training on a Dask LocalCluster (2 worker processes) equals one-process training."""
import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed", reason="needs dask[distributed] (the 'parallel' extra)")

from brian2learn.experiments.yinyang import build  # noqa: E402
from brian2learn.backends import DataParallel  # noqa: E402

KW = dict(seed=5, n_train=200, n_test=100, batch_size=50, progress=False)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def test_two_workers_train_like_one_process(client):
    single, _ = build("4-30-3 W+synaptic", **KW)
    single.fit(2, log=None)
    multi, _ = build("4-30-3 W+synaptic", **KW)
    initial = [{k: v.copy() for k, v in p.items()} for p in multi.net.params]
    backend = multi.net.use_backend(DataParallel("brian2", client))
    assert len(backend.replicas) == 2 and backend.share == 25
    multi.fit(2, log=None)
    for p0, ps, pm in zip(initial, single.net.params, multi.net.params):
        for k in ps:
            assert not np.allclose(pm[k], p0[k])
            np.testing.assert_allclose(pm[k], ps[k], rtol=1e-10, atol=1e-12)
    assert [h["test_acc"] for h in multi.history] == [h["test_acc"] for h in single.history]
    # every replica holds the driver's parameters after the last step
    backend.sync()
    for replica in backend.replicas:
        for pr, pm in zip(replica.get_params().result(), multi.net.params):
            for k in pm:
                np.testing.assert_array_equal(pr[k], pm[k])


def test_more_replicas_than_samples_is_refused(client):
    tr, _ = build("4-30-3 W", n_train=10, n_test=10, batch_size=1, progress=False)
    with pytest.raises(ValueError, match="n_replicas"):
        tr.net.use_backend(DataParallel("brian2", client))
