# Probe (2026-12-06): why weight perturbation stalls on y = sin(pi x) (loss ~1e-2 where the exact gradient
# reaches 1e-4). One setting per run, seed 0, resampled training points, replay simulator, learning rate
# decaying to 0.05x. Usage: probe.py STEPS LR K EPS [DIST] [LAYERWISE 0|1] [HIDDEN]
import sys
import numpy as np
from brian2learn.experiments.perturbation_sciml import train

steps, lr, K, eps = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
dist = sys.argv[5] if len(sys.argv) > 5 else "gaussian"
layerwise = bool(int(sys.argv[6])) if len(sys.argv) > 6 else True
hidden = int(sys.argv[7]) if len(sys.argv) > 7 else 30
r = train("regression_sin", "perturbation", steps=steps, lr=lr, lr_final=0.05, K=K, eps=eps, distribution=dist,
          layerwise=layerwise, hidden=hidden, seed=0, resample=True, simulator="replay", log_every=max(1, steps // 6))
print(f"RESULT steps={steps} lr={lr} K={K} eps={eps} dist={dist} layerwise={layerwise} hidden={hidden}: "
      f"rel L2 {100 * r['rel_l2']:.2f} %, final loss {np.mean(r['losses'][-100:]):.3g}, {r['seconds']:.0f} s", flush=True)
