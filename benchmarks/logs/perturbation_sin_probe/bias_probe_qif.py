# Probe (2026-12-06, stop 22): the bias probe of bias_probe.py on the QIF (theta-neuron) substrate, whose
# unwrapped-phase readout is continuous in the weights. Train by perturbation for STEPS steps (seed 0,
# resampled points, the settings of the "qif_resample6000" benchmark entry), then average N estimates with
# K = 64 each (eps 0.01, layer-wise) and compare with the exact smooth gradient (QIFSciML.exact_gradient).
# Also counts perturbed copies whose hidden spike counts differ from the clean copy's at some point.
# Usage: bias_probe_qif.py TASK STEPS N
import sys
import numpy as np
from brian2learn.experiments.perturbation_qif import train_qif
from brian2learn.experiments.sciml_tasks import make_task
from brian2learn.learning_rules import PerturbationGradient, cosine_similarity

task, steps, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = train_qif(task, steps=steps, lr=0.05, lr_final=0.1, K=4, eps=0.01, hidden=16, seed=0, resample=True)
model, tk = r["model"], make_task(task)
print(f"{task} (QIF): after {steps} steps rel L2 {100 * r['rel_l2']:.2f} %", flush=True)
g, _ = model.exact_gradient(tk.points, tk.grad)
K = 64
model.use(PerturbationGradient(K=K, layerwise=True))
sub = model.substrate(tk.points)
acc = np.zeros_like(g)
for i in range(N):
    est = PerturbationGradient(K=K, eps=0.01, layerwise=True, seed=100 + i)
    acc += est.estimate(lambda s: tk.loss(sub(s)), model.theta, blocks=model.blocks)[0]
    if (i + 1) in (1, 4, 16, 64, N):
        print(f"  {i + 1} estimates of K={K} averaged: cosine to the exact gradient {cosine_similarity(acc, g):.3f}; "
              f"norm ratio {np.linalg.norm(acc / (i + 1)) / np.linalg.norm(g):.2f}", flush=True)
rng = np.random.default_rng(0)
counts = []
for row in np.vstack([model.theta, model.theta + 0.01 * rng.standard_normal((K, model.theta.size))]):
    model.set_theta(row)
    counts.append(model.net.simulate(model.encode(tk.points)).counts[1])

changed = np.array([(c != counts[0]).any(axis=1) for c in counts[1:]])   # (K, n)
print(f"  eps = 0.01 Gaussian perturbations: {100 * changed.any(axis=1).mean():.0f} % of copies change a hidden "
      f"spike count at some point; {100 * changed.mean():.1f} % of (copy, point) pairs", flush=True)
