"""N-MNIST (Orchard et al. 2015): a reader/writer of its .bin event files, binning into frames per
step, and an EMULATED N-MNIST made from MNIST digits by an event-camera model.

File format (.bin, no header, 5 bytes per event): byte 0 = x, byte 1 = y (sensor 34 x 34),
bit 7 of byte 2 = polarity (1 = ON), the low 7 bits of byte 2 and bytes 3-4 = a 23-bit timestamp in
microseconds (big-endian). Each recording is three saccades of ~100 ms. Events are numpy structured
arrays with fields x, y, p (1 = ON, 0 = OFF), t (µs).

Real data: the full set (Train/ and Test/ folders of .bin files, one subfolder per label 0..9) is
read from `data_dir` (as <data_dir>/n-mnist/Train/<label>/*.bin or <data_dir>/Train/<label>/*.bin);
it is not available offline here.

Emulated data (`emulate_nmnist`; always called "nmnist-emulated"): the 28 x 28 MNIST digit is placed
in the middle of the 34 x 34 sensor and moved (bilinear sub-pixel shifts) along a triangle, one
~100 ms leg per saccade: (-1.5, -1.5) -> (1.5, 0) -> (-1.5, 1.5) -> back, in pixels (our path, not
the real pan-tilt trajectory). Each pixel is an event-camera pixel: it keeps a reference
log-intensity L_ref; at each sample (every `sample_us`) with L = log(I + 0.1), while
L - L_ref >= theta it emits an ON event and L_ref += theta, while L_ref - L >= theta an OFF event
and L_ref -= theta (theta = 0.25 by default). No noise, no refractory period: an idealised sensor.
Emulating takes ~25 ms per digit, so `load_split_pair` keeps the emulated splits in the dataset
cache (`idx.cache_dir()`, "nmnist-emulated-<split>-<n>.npz", written atomically) and reads them back.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..training.checkpoints import atomic_write_bytes
from .idx import DatasetError, cache_dir, load_mnist

__all__ = ["EVENT_DTYPE", "SENSOR", "read_nmnist", "write_nmnist", "frames", "emulate_nmnist",
           "load_nmnist", "load_split_pair"]

EVENT_DTYPE = np.dtype([("x", np.uint8), ("y", np.uint8), ("p", np.uint8), ("t", np.uint32)])
SENSOR = 34
DURATION_US = 300_000
_SACCADE = np.array([[-1.5, -1.5], [1.5, 0.0], [-1.5, 1.5], [-1.5, -1.5]])


def _decode(raw, where):
    if raw.size % 5:
        raise DatasetError(f"{where}: {raw.size} bytes is not a multiple of 5 (one N-MNIST event is 5 bytes); "
                           f"the file is truncated or not an N-MNIST .bin file")
    b = raw.reshape(-1, 5).astype(np.uint32)
    ev = np.empty(len(b), EVENT_DTYPE)
    ev["x"], ev["y"] = b[:, 0], b[:, 1]
    ev["p"] = b[:, 2] >> 7
    ev["t"] = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return ev


def read_nmnist(path):
    """Events of one N-MNIST .bin file as a structured array (x, y, p, t in µs)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"N-MNIST file {path} not found. Fix: pass the path of a .bin file from the "
                           f"N-MNIST Train/ or Test/ folders")
    return _decode(np.fromfile(path, dtype=np.uint8), path)


def _check_events(events):
    ev = np.asarray(events)
    if ev.dtype.names is None or not set("xypt") <= set(ev.dtype.names):
        raise ValueError(f"events must be a structured array with fields x, y, p, t; got dtype {ev.dtype}")
    if ev.size and (int(ev["x"].max()) >= SENSOR or int(ev["y"].max()) >= SENSOR):
        raise ValueError(f"event coordinates must lie in 0..{SENSOR - 1}")
    if ev.size and int(ev["p"].max()) > 1:
        raise ValueError("event polarity p must be 0 (OFF) or 1 (ON)")
    t = ev["t"].astype(np.int64)
    if ev.size and (t.min() < 0 or t.max() >= 1 << 23):
        raise ValueError("event timestamps must lie in 0 .. 2^23 - 1 µs (23 bits)")
    return ev


def write_nmnist(path, events):
    """Write events (fields x, y, p, t) in the N-MNIST .bin format."""
    ev = _check_events(events)
    t = ev["t"].astype(np.uint32)
    out = np.empty((len(ev), 5), np.uint8)
    out[:, 0], out[:, 1] = ev["x"], ev["y"]
    out[:, 2] = (ev["p"].astype(np.uint32) << 7 | (t >> 16) & 0x7F).astype(np.uint8)
    out[:, 3], out[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    out.tofile(path)


def frames(recordings, steps, duration_us=DURATION_US, dtype=np.float32):
    """Bin event recordings into (B, steps, 2 * 34 * 34) spike frames (1 where a pixel had an event).

    Step k covers [k, k + 1) * duration_us / steps; later events fall into the last step. Input
    index = p * 34 * 34 + y * 34 + x (OFF channel first).
    """
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not duration_us > 0:
        raise ValueError(f"duration_us must be > 0, got {duration_us}")
    steps = int(steps)
    out = np.zeros((len(recordings), steps, 2 * SENSOR * SENSOR), dtype)
    for b, ev in enumerate(recordings):
        ev = _check_events(ev)
        k = np.minimum(ev["t"].astype(np.int64) * steps // int(duration_us), steps - 1)
        idx = ev["p"].astype(np.int64) * SENSOR * SENSOR + ev["y"].astype(np.int64) * SENSOR + ev["x"]
        out[b, k, idx] = 1
    return out


def _shifted(canvas, dx, dy):
    """Bilinear sub-pixel shift of (N, 34, 34) images by (dx, dy) pixels, zero outside."""
    n = canvas.shape[0]
    pad = 3
    big = np.zeros((n, SENSOR + 2 * pad, SENSOR + 2 * pad), canvas.dtype)
    big[:, pad:-pad, pad:-pad] = canvas
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = dx - ix, dy - iy

    def win(ox, oy):
        y0, x0 = pad - oy, pad - ox
        return big[:, y0:y0 + SENSOR, x0:x0 + SENSOR]

    return ((1 - fx) * (1 - fy) * win(ix, iy) + fx * (1 - fy) * win(ix + 1, iy)
            + (1 - fx) * fy * win(ix, iy + 1) + fx * fy * win(ix + 1, iy + 1))


def emulate_nmnist(images, theta=0.25, sample_us=1000, saccade_us=100_000):
    """EMULATED N-MNIST events for MNIST images (N, 28, 28) uint8: a list of N event arrays."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must have shape (N, 28, 28), got {images.shape}")
    if not theta > 0:
        raise ValueError(f"theta (log-intensity threshold) must be > 0, got {theta}")
    if not 0 < sample_us <= saccade_us:
        raise ValueError(f"need 0 < sample_us <= saccade_us, got {sample_us}, {saccade_us}")
    n = len(images)
    canvas = np.zeros((n, SENSOR, SENSOR), np.float32)
    off = (SENSOR - 28) // 2
    canvas[:, off:off + 28, off:off + 28] = images / 255.0
    per_leg = int(saccade_us // sample_us)
    lref = np.log(_shifted(canvas, *_SACCADE[0]) + 0.1)
    chunks = []  # (sample index, image, y, x, polarity, count)
    for leg in range(3):
        for k in range(1, per_leg + 1):
            pos = _SACCADE[leg] + (_SACCADE[leg + 1] - _SACCADE[leg]) * k / per_leg
            lnew = np.log(_shifted(canvas, *pos) + 0.1)
            count = np.trunc((lnew - lref) / theta)  # signed number of threshold crossings
            lref += count * theta
            img, y, x = np.nonzero(count)
            c = count[img, y, x].astype(np.int64)
            chunks.append((np.full(len(img), leg * per_leg + k), img, y, x, c))
    step, img, y, x, c = (np.concatenate(a) for a in zip(*chunks))
    reps = np.abs(c)
    step, img, y, x, pol = (np.repeat(a, reps) for a in (step, img, y, x, (c > 0).astype(np.uint8)))
    order = np.lexsort((x, y, step, img))
    bounds = np.searchsorted(img[order], np.arange(n + 1))
    out = []
    for b in range(n):
        o = order[bounds[b]:bounds[b + 1]]
        ev = np.empty(len(o), EVENT_DTYPE)
        ev["x"], ev["y"], ev["p"], ev["t"] = x[o], y[o], pol[o], step[o] * sample_us
        out.append(ev)
    return out


def load_nmnist(split="train", data_dir=None, n=None):
    """Real N-MNIST: (list of event arrays, labels) from <data_dir>/[n-mnist/]{Train,Test}/<label>/*.bin."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = "Train" if split == "train" else "Test"
    roots = [] if data_dir is None else [Path(data_dir) / "n-mnist" / folder, Path(data_dir) / folder]
    root = next((r for r in roots if r.is_dir()), None)
    if root is None:
        raise DatasetError(f"N-MNIST {folder}/ folder not found (looked in {[str(r) for r in roots]}). Fix: "
                           f"unzip the N-MNIST {folder}.zip and pass its parent as data_dir, or use the "
                           f"dataset 'nmnist-emulated'")
    files = sorted((int(d.name), f) for d in root.iterdir() if d.name.isdigit() for f in sorted(d.glob("*.bin")))
    if not files:
        raise DatasetError(f"no .bin files under {root}/<label>/. Fix: point data_dir at the unzipped N-MNIST")
    idx = np.random.default_rng(0).permutation(len(files))[:n]
    return [read_nmnist(files[i][1]) for i in idx], np.array([files[i][0] for i in idx])


def load_split_pair(dataset, data_dir=None, n_train=None, n_test=None):
    """((train recordings, labels), (test recordings, labels)) for 'nmnist' or 'nmnist-emulated'."""
    if dataset == "nmnist":
        return [load_nmnist(s, data_dir, n) for s, n in (("train", n_train), ("test", n_test))]
    if dataset != "nmnist-emulated":
        raise ValueError(f"dataset must be 'nmnist' or 'nmnist-emulated', got {dataset!r}")
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_mnist(split, data_dir=data_dir)
        images, labels = images[:n], labels[:n].astype(int)
        out.append((_emulated_cached(split, images), labels))
    return out


def _emulated_cached(split, images):
    """emulate_nmnist(images), from the cache when the same digits were emulated before (the file
    holds the images' checksum, so other digits or a changed emulation are never mixed up)."""
    import hashlib
    import io

    digest = hashlib.sha256(images.tobytes() + repr(_SACCADE.tolist()).encode()).hexdigest()[:16]
    path = Path(cache_dir()) / f"nmnist-emulated-{split}-{len(images)}-{digest}.npz"
    if path.exists():
        with np.load(path) as z:
            events, bounds = z["events"], z["bounds"]
        return [events[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
    rec = [ev for k in range(0, len(images), 1000) for ev in emulate_nmnist(images[k:k + 1000])]
    buf = io.BytesIO()
    np.savez(buf, events=np.concatenate(rec) if rec else np.zeros(0, EVENT_DTYPE),
             bounds=np.concatenate([[0], np.cumsum([len(r) for r in rec])]))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return rec
