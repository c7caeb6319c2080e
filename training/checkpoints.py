"""Checkpoints that a crash never breaks and that resume training exactly.

A checkpoint is ONE .npz file, written to a temporary file in the same folder and then renamed over
the old one (`os.replace` is atomic), so a reader (or a resume after a kill at any moment) sees the
old or the new checkpoint, never half of one or the parameters of one with the metadata of another:

    "param/<layer>/<name>"   every parameter array
    "opt/<slot>/<key>"       the optimiser's moment arrays
    "meta.json"              the epoch, the history, the RNG state, the optimiser's scalars and any other
                             JSON-able state the trainer adds (UTF-8 bytes)

Checkpoints of the earlier two-file layout (the metadata in <path>.json) still load.
`load_checkpoint` checks every array against the network's shapes before anything changes.
Used by every trainer through training.loop.EpochLoop.
"""
from __future__ import annotations

import io
import json
import os
import tempfile

import numpy as np

__all__ = ["atomic_write_bytes", "save_checkpoint", "load_checkpoint", "checkpoint_meta"]

META_KEY = "meta.json"


def atomic_write_bytes(path, data: bytes):
    """Write `data` to `path` through a temporary file in the same folder and an atomic rename."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path, params, optimizer, meta):
    """Atomically write `params` (list of dicts name -> array), the optimiser state and `meta` (a
    JSON-able dict: epoch, history, RNG state, ...)."""
    arrays = {f"param/{l}/{k}": v for l, p in enumerate(params) for k, v in p.items()}
    opt = optimizer.state_dict()
    for slot, d in opt.pop("slots").items():
        arrays.update({f"opt/{slot}/{k}": v for k, v in d.items()})
    text = json.dumps(dict(meta, optimizer=opt), indent=1, default=int)
    arrays[META_KEY] = np.frombuffer(text.encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _meta(path, stored):
    if stored is not None:
        return json.loads(stored.tobytes().decode())
    with open(str(path) + ".json") as f:                    # the earlier two-file layout
        return json.load(f)


def checkpoint_meta(path):
    """The metadata of a checkpoint (epoch, history, RNG state, ...) without loading its arrays."""
    with np.load(path) as z:
        return _meta(path, z[META_KEY] if META_KEY in z.files else None)


def load_checkpoint(path, params, optimizer, config=None):
    """Restore what `save_checkpoint` wrote into `params` (in place) and `optimizer`; returns the meta
    dict. The checkpoint must come from a network of the same architecture, and, with `config` (the
    settings the trainer saved as meta["config"]), with the same settings (else ValueError, raised
    before anything is loaded)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = _meta(path, arrays.pop(META_KEY, None))
    if config is not None:
        mine = json.loads(json.dumps(config))                # as it reads back from JSON (tuples -> lists)
        stored_cfg = meta.get("config", {})
        differ = {k: (stored_cfg.get(k, "absent"), mine.get(k, "absent")) for k in sorted(set(stored_cfg) | set(mine))
                  if stored_cfg.get(k, "absent") != mine.get(k, "absent")}
        if differ:
            raise ValueError(f"checkpoint {path} was written with other settings (stored, this run): {differ}; "
                             "create the trainer with the checkpoint's settings")
    expected = {f"param/{l}/{k}" for l, p in enumerate(params) for k in p}
    stored = {k for k in arrays if k.startswith("param/")}
    if stored != expected:
        raise ValueError(f"checkpoint {path} does not match this network: it holds {sorted(stored - expected)} "
                         f"that the network lacks and lacks {sorted(expected - stored)}")
    for l, p in enumerate(params):
        for k in p:
            key = f"param/{l}/{k}"
            if arrays[key].shape != p[k].shape:
                raise ValueError(f"checkpoint {path} does not match this network: {key} has shape "
                                 f"{arrays[key].shape}, the network's is {p[k].shape}")
    for l, p in enumerate(params):
        for k in p:
            p[k][...] = arrays[f"param/{l}/{k}"]
    opt = dict(meta.pop("optimizer"))
    slots = {}
    for k, v in arrays.items():
        if k.startswith("opt/"):
            _, slot, key = k.split("/", 2)
            slots.setdefault(slot, {})[key] = v
    opt["slots"] = {s: slots.get(s, {}) for s in optimizer.state_dict()["slots"]}   # empty slots store no array
    optimizer.load_state_dict(opt)
    return meta
