"""IDX reader / MNIST & Fashion-MNIST loaders (real files, no network) and the latency pixel encoder."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from brian2learn.datasets import (DatasetError, load_fashion_mnist, load_idx_dataset, load_mnist,
                                  read_idx, ttfs_latency)
from brian2learn.datasets.idx import SHA256, idx_files


def _shared_data():
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "datasets"]
    env = os.environ.get("BRIAN2LEARN_SHARED_DATA")
    if env:
        candidates.append(Path(env))
    for c in candidates:
        if (c / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
            return c
    return None


SHARED = _shared_data()
needs_data = pytest.mark.skipif(
    SHARED is None,
    reason="original MNIST/Fashion-MNIST files not found (../shared/datasets or $BRIAN2LEARN_SHARED_DATA)")

LABELS = "t10k-labels-idx1-ubyte.gz"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never touch the real cache; never reach the network."""
    monkeypatch.setenv("BRIAN2LEARN_DATA", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def _snapshot(d):
    return sorted((str(p.relative_to(d)), p.stat().st_size, p.stat().st_mtime_ns) for p in Path(d).rglob("*"))


# ----------------------------------------------------------------------------------------------
# Real files
# ----------------------------------------------------------------------------------------------

@needs_data
def test_mnist_train():
    before = _snapshot(SHARED)
    x, y = load_mnist("train", data_dir=SHARED, download=False)
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert x.max() == 255 and x.min() == 0
    assert _snapshot(SHARED) == before


@needs_data
def test_mnist_test_and_subdir_lookup():
    x, y = load_mnist("test", data_dir=SHARED / "mnist", download=False)  # files directly in data_dir
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    assert np.bincount(y, minlength=10).sum() == 10000


@needs_data
def test_fashion_mnist_train():
    x, y = load_fashion_mnist("train", data_dir=SHARED, download=False)
    assert x.shape == (60000, 28, 28) and y.shape == (60000,)
    assert np.bincount(y).tolist() == [6000] * 10


@needs_data
def test_fashion_alias_and_read_idx_checksum_ok():
    x, y = load_idx_dataset("fashion", "test", data_dir=SHARED, download=False)
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10
    lab = read_idx(SHARED / "fashion-mnist" / LABELS, sha256=SHA256[f"fashion-mnist/{LABELS}"])
    np.testing.assert_array_equal(lab, y)


def test_bad_name_and_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation", download=False)
    with pytest.raises(ValueError, match="name"):
        load_idx_dataset("cifar10", "train", download=False)
    assert idx_files("mnist", "test") == ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


# ----------------------------------------------------------------------------------------------
# Corrupt files
# ----------------------------------------------------------------------------------------------

@needs_data
def test_checksum_mismatch(tmp_path):
    src = SHARED / "mnist" / LABELS
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / LABELS
    bad.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="sha256") as info:
        read_idx(bad, sha256=SHA256[f"mnist/{LABELS}"])
    msg = str(info.value)
    assert str(bad) in msg and SHA256[f"mnist/{LABELS}"] in msg and "download" in msg
    # without a checksum the flipped byte is still caught (gzip CRC / corrupt stream), as a DatasetError
    with pytest.raises(DatasetError, match=str(bad)):
        read_idx(bad)


@needs_data
def test_truncated_gzip(tmp_path):
    data = (SHARED / "mnist" / LABELS).read_bytes()
    bad = tmp_path / LABELS
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="gzip") as info:
        read_idx(bad)
    assert str(bad) in str(info.value)


@needs_data
def test_corrupt_file_found_by_loader(tmp_path):
    user = tmp_path / "user"
    shutil.copytree(SHARED / "mnist", user / "mnist")
    p = user / "mnist" / LABELS
    os.chmod(p, 0o644)
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="sha256"):
        load_mnist("test", data_dir=user, download=False)


def test_idx_header_errors(tmp_path):
    ok = bytes([0, 0, 0x08, 1]) + (5).to_bytes(4, "big") + bytes(range(5))
    p = tmp_path / "ok.idx"
    p.write_bytes(ok)
    np.testing.assert_array_equal(read_idx(p), np.arange(5, dtype=np.uint8))
    pg = tmp_path / "ok.idx.gz"
    pg.write_bytes(gzip.compress(ok))
    np.testing.assert_array_equal(read_idx(pg, sha256=hashlib.sha256(pg.read_bytes()).hexdigest()),
                                  np.arange(5))

    cases = {
        "magic": b"\x01\x02\x08\x01" + ok[4:],          # wrong magic
        "not supported": b"\x00\x00\x0d\x01" + ok[4:],  # float32 type code
        "truncated": ok[:-1],
        "trailing": ok + b"\x00",
        "too short": b"\x00\x00",
        "header": bytes([0, 0, 0x08, 3]) + b"\x00\x00",  # header cut inside the dims
    }
    for what, data in cases.items():
        f = tmp_path / "bad.idx"
        f.write_bytes(data)
        with pytest.raises(DatasetError, match=what) as info:
            read_idx(f)
        assert str(f) in str(info.value)
    with pytest.raises(DatasetError, match="does not exist"):
        read_idx(tmp_path / "nope.gz")


# ----------------------------------------------------------------------------------------------
# Missing files, downloads (faked), read-only data_dir
# ----------------------------------------------------------------------------------------------

def test_missing_file_no_download(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError) as info:
        load_mnist("test", data_dir=empty, download=False)
    msg = str(info.value)
    assert str(empty) in msg and "data_dir" in msg and "download=False" in msg


def test_missing_file_download_fails(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="network disabled") as info:
        load_fashion_mnist("test", data_dir=empty, download=True)
    assert str(empty) in str(info.value)
    assert _snapshot(empty) == []


@needs_data
def test_download_goes_to_cache_not_user_dir(tmp_path, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("user data dir")
    before = _snapshot(user)
    urls = []

    def fake_urlopen(url, timeout=None):
        urls.append(url)
        if url.startswith("https://ossci-datasets"):  # first mirror down: fall back to the second
            raise urllib.error.URLError("mirror down")
        return io.BytesIO((SHARED / "mnist" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    x, y = load_mnist("test", data_dir=user, download=True)
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    assert _snapshot(user) == before
    cache = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(idx_files("mnist", "test"))
    assert any(u.startswith("http://yann.lecun.com/") for u in urls)

    # second call uses the cache, no network
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("network used"))
    x2, _ = load_mnist("test", data_dir=user, download=True)
    np.testing.assert_array_equal(x, x2)


def test_download_with_wrong_bytes_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(b"<html>not found</html>"))
    with pytest.raises(DatasetError, match="sha256 mismatch"):
        load_fashion_mnist("test", download=True)
    cache = tmp_path / "cache" / "fashion-mnist"
    assert not cache.exists() or list(cache.iterdir()) == []  # no temp file left, nothing installed


# ----------------------------------------------------------------------------------------------
# Latency encoder
# ----------------------------------------------------------------------------------------------

def test_latency_brighter_earlier_dark_silent():
    img = np.array([[[0, 64], [128, 255]]], dtype=np.uint8)
    t = ttfs_latency(img, window=10.0)
    assert t.shape == (1, 4)
    assert np.isinf(t[0, 0])
    assert t[0, 3] == 0.0 and t[0, 3] < t[0, 2] < t[0, 1] < 10.0
    np.testing.assert_allclose(t[0, 1:], 10.0 * (1 - np.array([64, 128, 255]) / 255))
    t2 = ttfs_latency(img, window=10.0, t_start=2.0, threshold=0.3)
    assert np.isinf(t2[0, :2]).all() and t2[0, 3] == 2.0


def test_latency_levels():
    v = np.linspace(0, 1, 1001)[None, :]
    for L in (2, 3, 5):
        t = ttfs_latency(v, window=10.0, levels=L)
        finite = np.unique(t[np.isfinite(t)])
        assert len(finite) == L
        np.testing.assert_allclose(finite, 10.0 * np.arange(L) / (L - 1))
        assert np.isinf(t[0, 0])
        assert np.all(np.diff(t[0, 1:]) <= 0)  # brighter never later
    t1 = ttfs_latency(v, window=10.0, levels=1, t_start=1.5)
    assert set(np.unique(t1[np.isfinite(t1)])) == {1.5}


def test_latency_uint8_matches_float():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    for levels in (None, 3):
        a = ttfs_latency(img, window=10.0, levels=levels)
        b = ttfs_latency(img / 255.0, window=10.0, levels=levels)
        assert a.shape == (3, 784)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, match", [
    (dict(window=0.0), "window"),
    (dict(window=np.inf), "window"),
    (dict(t_start=-1.0), "t_start"),
    (dict(t_start=np.nan), "t_start"),
    (dict(threshold=1.0), "threshold"),
    (dict(threshold=-0.1), "threshold"),
    (dict(levels=0), "levels"),
    (dict(levels=2.5), "levels"),
    (dict(levels=True), "levels"),
])
def test_latency_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ttfs_latency(np.zeros((1, 4)), **kwargs)


def test_latency_bad_values():
    with pytest.raises(ValueError, match="NaN"):
        ttfs_latency(np.array([[0.5, np.nan]]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ttfs_latency(np.array([[0.5, 255.0]]))
    with pytest.raises(ValueError, match="uint8"):
        ttfs_latency(np.array([[0, 300]], dtype=np.int64))
    with pytest.raises(ValueError, match="image\\[None\\]"):
        ttfs_latency(np.zeros(784))
