import numpy as np
from brian2learn.experiments.delay_only import build
for ds in ("mnist", "fashion"):
  for kind, ov in (("normal", {"normal": ((0.008, 0.05), (0.06, 0.1))}), ("normal", {"normal": ((0.015, 0.05), (0.06, 0.1))}), ("ternary", {"ternary": ((0.1, 0.008, 0.05), (0.2, 0.06, 0.1))}), ("ternary", {"ternary": ((0.1, 0.015, 0.05), (0.2, 0.06, 0.1))})):
    tr, cfg = build(ds, "delays", kind, seed=0, data_dir="/work/shared/datasets", n_train=320, n_test=32, progress=False, target="cython", **ov)
    rec = tr.net.simulate(tr.train[0])
    fr = [float(np.mean(np.isfinite(r))) for r in rec[1:]]
    print(ds, kind, ov, "fraction of (sample, neuron) pairs that fire per layer:", [round(f, 3) for f in fr], flush=True)
