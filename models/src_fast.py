"""The SRC network's forward pass as vectorised numpy: the same equations as `models.src`.

Why it exists: a Brian2 run of 784-100-10 sends every one of the 78 400 x B graded synapse values
every step, which is far slower than one (B, 784) x (784, 100) matrix product per step; training
on MNIST uses this forward instead. tests/test_src.py checks that it equals the Brian2 run
(`models.src.simulate_brian2`) to float tolerance for depth 1-2, with and without recurrence, for
both readouts. Per step t and layer l (see models.src for the equations and constants):

    i_l[t]   = alpha i_l[t-1] + s_{l-1}[t] W_l + s_l[t-1] V_l
    h_l[t]   = z h_l[t-1] + (1 - z) tanh(rho tanh(i_l[t] / rho) + r h_l[t-1] + r_s h_s,l[t-1] + b_l)
    h_s,l[t] = z_s(h_l[t-1]) h_s,l[t-1] + (1 - z_s(h_l[t-1])) h_l[t-1]
    s_l[t]   = max(h_l[t], 0)
"""
from __future__ import annotations

import numpy as np

from .src import check_inputs, readout_logits

__all__ = ["simulate_numpy"]


def simulate_numpy(net, s_in, dtype=np.float64):
    """Record of the same form as `simulate_brian2` (list of per-layer dicts of (B, T, n) arrays)."""
    s_in = check_inputs(net, s_in).astype(dtype, copy=False)
    B, T, _ = s_in.shape
    c = net.cell
    record = []
    inp = s_in
    for l, (n, p) in enumerate(zip(net.sizes, net.params)):
        w = p["w"].astype(dtype, copy=False)
        drive = (inp.reshape(B * T, -1) @ w).reshape(B, T, n)  # all feed-forward input at once
        if net.is_integrator(l):
            i = np.empty((B, T, n), dtype)
            prev = np.zeros((B, n), dtype)
            for t in range(T):
                prev = c.alpha * prev + drive[:, t]
                i[:, t] = prev
            record.append({"i_x": i})
            inp = None
            continue
        v = p.get("w_rec")
        b = p["b_h"].astype(dtype, copy=False)
        rec = {k: np.empty((B, T, n), dtype) for k in ("i_x", "h", "h_s", "s")}
        i_t, h, hs, s = (np.zeros((B, n), dtype) for _ in range(4))
        for t in range(T):
            zs = np.where(h > c.h_th, c.z_s_dep, c.z_s_hyp)
            i_t = c.alpha * i_t + drive[:, t]
            if v is not None:
                i_t = i_t + s @ v
            x = c.rho * np.tanh(i_t / c.rho)
            h_new = np.tanh(x + c.r * h + c.r_s * hs + b)
            hs = zs * hs + (1 - zs) * h
            h = c.z * h + (1 - c.z) * h_new
            s = np.maximum(h, 0)
            rec["i_x"][:, t], rec["h"][:, t], rec["h_s"][:, t], rec["s"][:, t] = i_t, h, hs, s
        record.append(rec)
        inp = rec["s"]
    record.append({"logits": readout_logits(net, record)})
    return record
