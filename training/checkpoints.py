"""Checkpoints that a crash never breaks and that resume training exactly.

A checkpoint is two files, each written to a temporary file in the same folder and then renamed
over the old one (`os.replace` is atomic), so a reader sees the old or the new file, never half of one:

    <path>        .npz: every parameter array ("param/<layer>/<name>") and the optimiser's moment
                  arrays ("opt/<slot>/<key>")
    <path>.json   the epoch, the history, the RNG state and any other JSON-able state the trainer adds

The parameters are written first, so an interrupted save leaves the parameters of the new
checkpoint with the metadata of the old one only if the process dies between the two renames; the
metadata records the epoch, and `load_checkpoint` checks every array against the network's shapes.
Used by `training.Trainer` (LIF networks, exact spike-time gradients) and
`experiments.src.SRCTrainer` (SRC networks, BPTT).
"""
from __future__ import annotations

import io
import json
import os
import tempfile

import numpy as np

__all__ = ["atomic_write_bytes", "save_checkpoint", "load_checkpoint"]


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
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_bytes(str(path) + ".json", json.dumps(dict(meta, optimizer=opt), indent=1, default=int).encode())


def load_checkpoint(path, params, optimizer, config=None):
    """Restore what `save_checkpoint` wrote into `params` (in place) and `optimizer`; returns the meta
    dict. The checkpoint must come from a network of the same architecture, and, with `config` (the
    settings the trainer saved as meta["config"]), with the same settings (else ValueError, raised
    before anything is loaded)."""
    with open(str(path) + ".json") as f:
        meta = json.load(f)
    if config is not None:
        mine = json.loads(json.dumps(config))                # as it reads back from JSON (tuples -> lists)
        stored_cfg = meta.get("config", {})
        differ = {k: (stored_cfg.get(k, "absent"), mine.get(k, "absent")) for k in sorted(set(stored_cfg) | set(mine))
                  if stored_cfg.get(k, "absent") != mine.get(k, "absent")}
        if differ:
            raise ValueError(f"checkpoint {path} was written with other settings (stored, this run): {differ}; "
                             "create the trainer with the checkpoint's settings")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
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
