# Probe (2026-12-06): is the perturbation estimate on sin(pi x) biased? Train by perturbation for STEPS
# steps (seed 0, replay simulator, the benchmark's settings), then average N estimates with K = 64 each
# (eps 0.01, layer-wise) and compare the average with the exact spike-time gradient: an unbiased
# estimate's average approaches the exact gradient (cosine -> 1) as N grows. Also counts, per
# perturbed copy, whether some hidden neuron gains or loses its spike at some point. Same for x^2.
# Usage: bias_probe.py TASK STEPS N
import sys
import numpy as np
from brian2learn.experiments.perturbation_sciml import train
from brian2learn.learning_rules import PerturbationGradient, cosine_similarity

task, steps, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = train(task, "perturbation", steps=steps, lr=0.02, lr_final=0.05, K=8, eps=0.01, seed=0, resample=True,
          simulator="replay")
model, tk = r["model"], r["task_obj"]
print(f"{task}: after {steps} steps rel L2 {100 * r['rel_l2']:.2f} %", flush=True)
g, _ = model.exact_gradient(tk.points, tk.grad)
K = 64
model.use(PerturbationGradient(K=K, layerwise=True))
sub = model.substrate(tk.points)
acc, cos_single = np.zeros_like(g), []
for i in range(N):
    est = PerturbationGradient(K=K, eps=0.01, layerwise=True, seed=100 + i)
    e = est.estimate(lambda s: tk.loss(sub(s)), model.theta, blocks=model.blocks)[0]
    acc += e
    cos_single.append(cosine_similarity(e, g))
    if (i + 1) in (1, 4, 16, 64, N):
        print(f"  {i + 1} estimates of K={K} averaged: cosine to the exact gradient {cosine_similarity(acc, g):.3f}; "
              f"norm ratio {np.linalg.norm(acc / (i + 1)) / np.linalg.norm(g):.2f}", flush=True)
# spike-set changes: the clean and perturbed copies' hidden spikes at each point
x = model._check_points(tk.points)
rng = np.random.default_rng(0)
stack = model.theta[None, :] + 0.01 * rng.standard_normal((K, model.theta.size))
stack = np.vstack([model.theta[None, :], stack])
model._load_stack(stack)
layers = model.batched.simulate(np.tile(x, (len(stack), 1)))
n = model.n_points
hidden = layers[-1]
fired = np.isfinite(hidden).reshape(len(stack), n, -1)
changed = (fired[1:] != fired[:1]).any(axis=(2))   # (K, n): copy k at point p gained/lost a hidden spike
print(f"  eps = 0.01 Gaussian perturbations: {100 * changed.any(axis=1).mean():.0f} % of copies change the set of "
      f"spiking hidden neurons at some point; {100 * changed.mean():.1f} % of (copy, point) pairs", flush=True)
