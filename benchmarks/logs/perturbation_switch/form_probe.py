# Probe (2026-12-07): sin(pi x), seed 0, replay, resampled points, K = 8 layer-wise, lr 0.02 -> 0.05x over
# STEPS steps, eps EPS: training with the loss form (the benchmark's), the output form with every
# direction kept, and the output form with the switched (direction, point) pairs left out.
# Usage: form_probe.py STEPS EPS
# (form_probe_3000_eps0.01.log ran the same three variants through an earlier spelling of the option,
# switch_mask=True with `switched` stubbed to all-False for "all kept"; the code paths are the same.)
import sys
import numpy as np
from brian2learn.experiments import perturbation_sciml as ps

steps, eps = int(sys.argv[1]), float(sys.argv[2])
for name, form in (("loss form", "loss"), ("output form, all kept", "outputs"),
                   ("output form, switched left out", "outputs_unswitched")):
    r = ps.train("regression_sin", "perturbation", steps=steps, lr=0.02, lr_final=0.05, K=8, eps=eps, seed=0,
                 resample=True, simulator="replay", form=form)
    L = r["losses"]
    print(f"{name}: rel L2 {100 * r['rel_l2']:.2f} %, loss (mean of last 100 steps) {np.mean(L[-100:]):.4f}, "
          f"at 25/50/75 %: {np.mean(L[steps // 4 - 50:steps // 4]):.4f} {np.mean(L[steps // 2 - 50:steps // 2]):.4f} "
          f"{np.mean(L[3 * steps // 4 - 50:3 * steps // 4]):.4f}; switched {r['switched_fraction']}", flush=True)
