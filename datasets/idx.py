"""MNIST and Fashion-MNIST from the original IDX files, checked byte for byte (sha256).

IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/), all integers big-endian:

    bytes 0-1   0x00 0x00           magic, always zero
    byte  2     type code           0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
                                    0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim                number of dimensions
    then        ndim x uint32       size of each dimension
    then        prod(dims) items    the data, C order (last index fastest)

MNIST and Fashion-MNIST ship four gzipped IDX files each: images are type 0x08 with
dims (N, 28, 28) and labels type 0x08 with dims (N,), N = 60000 (train) or 10000 (test).
Only the unsigned-byte type 0x08 is supported here, which is all these data sets use.

Sources (tried in this order when a file is missing and ``download=True``):

* MNIST: https://ossci-datasets.s3.amazonaws.com/mnist/ (the PyTorch mirror of the original
  files), then http://yann.lecun.com/exdb/mnist/ (the original site). Y. LeCun, C. Cortes,
  C. Burges; CC BY-SA 3.0.
* Fashion-MNIST: http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (Zalando Research,
  Xiao, Rasul & Vollgraf 2017); MIT licence.

Every file is checked against the sha256 of the original ``.gz`` file (``SHA256`` below) before
use, both when read from disk and when downloaded. Lookup order for a file: ``data_dir/<name>/<file>``,
``data_dir/<file>``, then the same two places under the cache directory (``$BRIAN2LEARN_DATA`` or
``~/.cache/brian2learn/datasets``). Downloads go into the cache only, never into a ``data_dir`` given
by the user (data directories may be shared and read-only): a temporary file is written, its sha256
checked, then it is moved into place with ``os.replace``.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import struct
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetError",
    "SHA256",
    "SOURCES",
    "read_idx",
    "idx_files",
    "cache_dir",
    "load_idx_dataset",
    "load_mnist",
    "load_fashion_mnist",
]


class DatasetError(ValueError):
    """A data file is missing, corrupt or not what it should be (the message says how to fix it)."""


SHA256 = {
    "mnist/train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "mnist/train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "mnist/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "fashion-mnist/train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "fashion-mnist/train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "fashion-mnist/t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

SOURCES = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

_NAMES = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "fashion": "fashion-mnist",
}
_SPLITS = {"train": ("train", 60000), "test": ("t10k", 10000)}
_TYPE_NAMES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32",
               0x0D: "float32", 0x0E: "float64"}
_GZIP_MAGIC = b"\x1f\x8b"
_DOWNLOAD_TIMEOUT_S = 60


# ----------------------------------------------------------------------------------------------
# Reading one IDX file
# ----------------------------------------------------------------------------------------------

def _fix_hint(path):
    return (f"Fix: delete {path} and download it again (or pass data_dir pointing at the original, "
            f"unmodified files).")


def read_idx(path, sha256=None):
    """Read one IDX file (gzipped or raw) into a numpy uint8 array of shape ``dims``.

    ``sha256``: if given, the sha256 (hex) of the file exactly as stored on disk (for a ``.gz``
    file: of the compressed bytes) must match. Gzip is detected by its magic bytes (1f 8b), not
    by the file name. Raises :class:`DatasetError` for a missing/unreadable file, a checksum
    mismatch, a corrupt or truncated gzip stream, a wrong IDX magic, an unsupported type code,
    or a payload whose size is not exactly prod(dims).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"IDX file {path} does not exist. Fix: check the path, or pass data_dir "
                           f"pointing at the directory holding the original files.") from None
    except OSError as exc:
        raise DatasetError(f"cannot read IDX file {path}: {exc}. Fix: check that the file is "
                           f"readable, or pass data_dir pointing at a readable copy.") from None

    if sha256 is not None:
        expected = str(sha256).strip().lower()
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected:
            raise DatasetError(
                f"sha256 mismatch for {path} ({len(raw)} bytes): expected sha256 {expected}, "
                f"got {actual}. The file is corrupt, truncated or not the original. {_fix_hint(path)}")

    if raw[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise DatasetError(f"corrupt or truncated gzip stream in {path} ({len(raw)} bytes "
                               f"compressed): {type(exc).__name__}: {exc}. {_fix_hint(path)}") from None
    else:
        data = raw

    return _parse_idx(data, path)


def _parse_idx(data, path):
    if len(data) < 4:
        raise DatasetError(f"{path} is too short to be an IDX file ({len(data)} bytes, the header "
                           f"alone needs at least 4). {_fix_hint(path)}")
    if data[0] != 0 or data[1] != 0:
        raise DatasetError(
            f"{path} is not an IDX file: the magic number must start with two zero bytes, got "
            f"{data[:4].hex(' ')} (expected 00 00 <type> <ndim>; gzip files start with 1f 8b). "
            f"{_fix_hint(path)}")
    type_code, ndim = data[2], data[3]
    if type_code != 0x08:
        what = _TYPE_NAMES.get(type_code, "unknown")
        raise DatasetError(
            f"{path}: IDX type code 0x{type_code:02X} ({what}) is not supported; only 0x08 "
            f"(unsigned byte, used by MNIST and Fashion-MNIST) is. Fix: use the original MNIST / "
            f"Fashion-MNIST files.")
    if ndim == 0:
        raise DatasetError(f"{path}: IDX header declares 0 dimensions. {_fix_hint(path)}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetError(f"{path} is truncated: the IDX header declares {ndim} dimensions "
                           f"({header_len} header bytes) but the data has {len(data)} bytes. "
                           f"{_fix_hint(path)}")
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = 1
    for d in dims:
        expected *= int(d)
    payload = len(data) - header_len
    if payload != expected:
        kind = "truncated" if payload < expected else "followed by trailing data"
        raise DatasetError(
            f"{path} is {kind}: dims {tuple(dims)} need exactly {expected} data bytes after the "
            f"{header_len}-byte header, found {payload}. {_fix_hint(path)}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims).copy()


# ----------------------------------------------------------------------------------------------
# Locating, downloading and loading the data sets
# ----------------------------------------------------------------------------------------------

def _canonical_name(name):
    key = str(name).strip().lower() if isinstance(name, str) else None
    if key not in _NAMES:
        raise ValueError(f"unknown data set name {name!r}; expected 'mnist' or 'fashion-mnist' "
                         f"(alias 'fashion')")
    return _NAMES[key]


def _check_split(split):
    if not isinstance(split, str) or split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split


def idx_files(name, split):
    """The two file names ``(images, labels)`` of data set ``name`` and ``split``."""
    _canonical_name(name)
    prefix = _SPLITS[_check_split(split)][0]
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def cache_dir():
    """The download cache: ``$BRIAN2LEARN_DATA`` if set, else ``~/.cache/brian2learn/datasets``."""
    env = os.environ.get("BRIAN2LEARN_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "brian2learn" / "datasets"


def _candidates(name, fname, data_dir):
    roots = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    roots.append(cache_dir())
    out = []
    for root in roots:
        for p in (root / name / fname, root / fname):
            if p not in out:
                out.append(p)
    return out


def _download(name, fname, expected_sha):
    """Download ``fname`` into ``cache_dir()/name/``; returns (path or None, list of error strings)."""
    target_dir = cache_dir() / name
    target = target_dir / fname
    errors = []
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return None, [f"cannot create cache directory {target_dir}: {exc}"]
    for base in SOURCES[name]:
        url = base + fname
        tmp_path = None
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=fname + ".", suffix=".part", dir=target_dir)
            tmp_path = Path(tmp_name)
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as resp:
                    while True:
                        chunk = resp.read(1 << 20)
                        if not chunk:
                            break
                        digest.update(chunk)
                        out.write(chunk)
            actual = digest.hexdigest()
            if actual != expected_sha:
                errors.append(f"{url}: sha256 mismatch (expected {expected_sha}, got {actual})")
                continue
            os.replace(tmp_path, target)
            tmp_path = None
            return target, errors
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError, EOFError) as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        finally:
            if tmp_path is not None:
                try:
                    tmp_path.unlink()
                except OSError:
                    pass
    return None, errors


def _locate(name, fname, data_dir, download):
    candidates = _candidates(name, fname, data_dir)
    for p in candidates:
        if p.is_file():
            return p
    errors = []
    if download:
        path, errors = _download(name, fname, SHA256[f"{name}/{fname}"])
        if path is not None:
            return path
    looked = "\n  ".join(str(p) for p in candidates)
    msg = f"{name} file {fname} not found. Looked in:\n  {looked}\n"
    if download:
        msg += "Download failed:\n  " + "\n  ".join(errors) + "\n"
    else:
        msg += "download=False, so nothing was downloaded.\n"
    msg += (f"Fix: pass data_dir pointing at a directory holding the original {name} .gz files "
            f"(as <data_dir>/{name}/{fname} or <data_dir>/{fname}), or "
            + ("retry with network access" if download else "call with download=True on a machine with network access")
            + f" (downloads go to {cache_dir()}; set BRIAN2LEARN_DATA to change it).")
    raise DatasetError(msg)


def load_idx_dataset(name, split="train", data_dir=None, download=True):
    """Images ``uint8 (N, 28, 28)`` and labels ``uint8 (N,)`` of MNIST or Fashion-MNIST.

    ``name``: 'mnist' or 'fashion-mnist' (alias 'fashion'); ``split``: 'train' (N = 60000) or
    'test' (N = 10000). ``data_dir``: a directory with the original .gz files, either in a
    ``<name>/`` subfolder or directly; it is only read, never written. Missing files are taken
    from the cache (``$BRIAN2LEARN_DATA`` or ``~/.cache/brian2learn/datasets``) or, with
    ``download=True``, downloaded into it. Every file's sha256 is checked.
    """
    name = _canonical_name(name)
    split = _check_split(split)
    img_name, lbl_name = idx_files(name, split)
    arrays = []
    for fname in (img_name, lbl_name):
        path = _locate(name, fname, data_dir, download)
        arrays.append((path, read_idx(path, sha256=SHA256[f"{name}/{fname}"])))
    (img_path, images), (lbl_path, labels) = arrays
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{img_path}: expected images of shape (N, 28, 28), got {images.shape}. "
                           f"{_fix_hint(img_path)}")
    if labels.ndim != 1:
        raise DatasetError(f"{lbl_path}: expected labels of shape (N,), got {labels.shape}. "
                           f"{_fix_hint(lbl_path)}")
    if len(images) != len(labels):
        raise DatasetError(f"{name} {split}: {len(images)} images in {img_path} but {len(labels)} "
                           f"labels in {lbl_path}. Fix: use the matching original image and label "
                           f"files of the same split.")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{lbl_path}: labels must be 0..9, found {int(labels.max())}. "
                           f"{_fix_hint(lbl_path)}")
    return images, labels


def load_mnist(split="train", data_dir=None, download=True):
    """MNIST ``(images uint8 (N, 28, 28), labels uint8 (N,))``; see :func:`load_idx_dataset`."""
    return load_idx_dataset("mnist", split, data_dir, download)


def load_fashion_mnist(split="train", data_dir=None, download=True):
    """Fashion-MNIST ``(images uint8 (N, 28, 28), labels uint8 (N,))``; see :func:`load_idx_dataset`."""
    return load_idx_dataset("fashion-mnist", split, data_dir, download)
