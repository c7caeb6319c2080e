"""N-MNIST reader/writer, frame binning and the emulated (event-camera) N-MNIST."""
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from brian2learn.datasets import DatasetError
from brian2learn.datasets.nmnist import EVENT_DTYPE, emulate_nmnist, frames, load_nmnist, read_nmnist, write_nmnist

# the shared data folder next to the repository (as tests/test_idx.py), or $BRIAN2LEARN_SHARED_DATA
_ROOTS = [Path(__file__).resolve().parents[2] / "shared" / "datasets"] + (
    [Path(os.environ["BRIAN2LEARN_SHARED_DATA"])] if os.environ.get("BRIAN2LEARN_SHARED_DATA") else [])
SAMPLE = next((r / "n-mnist" / "sample_nmnist.bin" for r in _ROOTS if (r / "n-mnist" / "sample_nmnist.bin").is_file()),
              _ROOTS[0] / "n-mnist" / "sample_nmnist.bin")
SHA = "3c9159329633efbb6879bba1b430598b78cc06a779a55d1259ec13e203ad00ee"


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the real N-MNIST sample is not on this machine")
def test_real_sample():
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() == SHA
    ev = read_nmnist(SAMPLE)
    assert len(ev) == 4325
    assert ev["x"].min() == 0 and ev["x"].max() == 33 and ev["y"].min() == 0 and ev["y"].max() == 33
    assert int(ev["p"].sum()) == 2145
    t = ev["t"].astype(np.int64)
    assert np.all(np.diff(t) >= 0) and 250_000 < t.max() < 350_000  # three ~100 ms saccades


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    ev = np.empty(500, EVENT_DTYPE)
    ev["x"], ev["y"] = rng.integers(0, 34, 500), rng.integers(0, 34, 500)
    ev["p"] = rng.integers(0, 2, 500)
    ev["t"] = np.sort(rng.integers(0, 1 << 23, 500))
    ev["t"][-1] = (1 << 23) - 1  # all 23 bits
    path = tmp_path / "x.bin"
    write_nmnist(path, ev)
    assert path.stat().st_size == 5 * 500
    back = read_nmnist(path)
    for f in "xypt":
        np.testing.assert_array_equal(back[f], ev[f])
    if SAMPLE.is_file():  # the real file survives a read/write round trip byte for byte
        write_nmnist(tmp_path / "s.bin", read_nmnist(SAMPLE))
        assert (tmp_path / "s.bin").read_bytes() == SAMPLE.read_bytes()


def test_bad_files_and_events(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 7)
    with pytest.raises(DatasetError, match="multiple of 5"):
        read_nmnist(tmp_path / "bad.bin")
    with pytest.raises(DatasetError, match="not found"):
        read_nmnist(tmp_path / "missing.bin")
    ev = np.zeros(1, EVENT_DTYPE)
    ev["x"] = 40
    with pytest.raises(ValueError, match="coordinates"):
        write_nmnist(tmp_path / "o.bin", ev)
    with pytest.raises(DatasetError, match="nmnist-emulated"):
        load_nmnist("train", data_dir=tmp_path)


def test_frames_binning():
    ev = np.zeros(3, EVENT_DTYPE)
    ev["x"], ev["y"], ev["p"], ev["t"] = [1, 2, 2], [0, 3, 3], [1, 0, 0], [0, 150_000, 299_999]
    f = frames([ev], 10)
    assert f.shape == (1, 10, 2 * 34 * 34) and f.sum() == 3
    assert f[0, 0, 34 * 34 + 1] == 1 and f[0, 5, 3 * 34 + 2] == 1 and f[0, 9, 3 * 34 + 2] == 1
    with pytest.raises(ValueError, match="steps"):
        frames([ev], 0)


def test_emulated_events_have_the_nmnist_format(tmp_path):
    img = np.zeros((2, 28, 28), np.uint8)
    img[0, 8:20, 12:16] = 255  # a bar
    em = emulate_nmnist(img)
    assert len(em) == 2 and len(em[1]) == 0  # a blank image makes no events
    ev = em[0]
    assert ev.dtype == EVENT_DTYPE and len(ev) > 100
    assert ev["x"].max() < 34 and ev["y"].max() < 34
    assert 0.3 < ev["p"].mean() < 0.7  # moving edges give both polarities
    t = ev["t"].astype(np.int64)
    assert np.all(np.diff(t) >= 0) and t.max() <= 300_000
    # events in each of the three saccades
    assert all(np.any((t > k * 100_000) & (t <= (k + 1) * 100_000)) for k in range(3))
    write_nmnist(tmp_path / "e.bin", ev)
    back = read_nmnist(tmp_path / "e.bin")
    np.testing.assert_array_equal(back["t"], ev["t"])


def test_emulated_splits_are_cached_and_read_back_identically(tmp_path, monkeypatch, shared_data):
    """The second load of the same emulated digits comes from the cache file, event for event."""
    from brian2learn.datasets.nmnist import load_split_pair

    monkeypatch.setenv("BRIAN2LEARN_DATA", str(tmp_path))
    first = load_split_pair("nmnist-emulated", data_dir=shared_data, n_train=6, n_test=3)
    files = sorted(p.name for p in tmp_path.glob("nmnist-emulated-*.npz"))
    assert len(files) == 2 and files[0].startswith("nmnist-emulated-test-3-")
    again = load_split_pair("nmnist-emulated", data_dir=shared_data, n_train=6, n_test=3)
    for (rec_a, lab_a), (rec_b, lab_b) in zip(first, again):
        np.testing.assert_array_equal(lab_a, lab_b)
        assert len(rec_a) == len(rec_b) and all(np.array_equal(a, b) for a, b in zip(rec_a, rec_b))
        assert all(len(a) > 100 for a in rec_a)
    other = load_split_pair("nmnist-emulated", data_dir=shared_data, n_train=4, n_test=3)   # other digits
    assert len(other[0][0]) == 4 and len(list(tmp_path.glob("nmnist-emulated-train-*.npz"))) == 2
