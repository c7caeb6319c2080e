# Probe (2026-12-07): does leaving out the directions that switch a hidden spike (output form,
# PerturbationGradient.combine_outputs with keep = ~switched) remove the bias of the perturbation
# estimate on sin(pi x)? Same state as bias_probe.py: STEPS steps of plain perturbation (seed 0, replay,
# the benchmark's settings); then N estimates of K = 64 (layer-wise), for each eps: the loss form
# (combine), the output form with all directions kept, and the output form without the switched ones,
# averaged and compared with the exact spike-time gradient.
# Usage: switch_probe.py TASK STEPS N
import sys
import numpy as np
from brian2learn.experiments.perturbation_sciml import train
from brian2learn.learning_rules import PerturbationGradient, cosine_similarity

task, steps, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = train(task, "perturbation", steps=steps, lr=0.02, lr_final=0.05, K=8, eps=0.01, seed=0, resample=True,
          simulator="replay")
model, tk = r["model"], r["task_obj"]
print(f"{task}: after {steps} steps rel L2 {100 * r['rel_l2']:.2f} %", flush=True)
g, u0 = model.exact_gradient(tk.points, tk.grad)
K = 64
x = model._check_points(tk.points)
for eps in (0.01, 0.001):
    est = PerturbationGradient(K=K, eps=eps, layerwise=True, seed=100)
    model.use(est)
    acc = {"loss form": 0, "output form, all kept": 0, "output form, switched left out": 0}
    left_out = []
    for i in range(N):
        V = est.directions(model.theta.size, model.blocks)
        stack = est.stack(model.theta, V)
        model._load_stack(stack)
        layers = model.batched.simulate(np.tile(x, (len(stack), 1)))
        U = model._stack_outputs(layers, stack)
        sw = model.switched(layers, len(V))
        left_out.append(sw.mean())
        acc["loss form"] = acc["loss form"] + est.combine(tk.loss(U), V)
        acc["output form, all kept"] = acc["output form, all kept"] + est.combine_outputs(U, V, tk.grad(U[0]))
        acc["output form, switched left out"] = acc["output form, switched left out"] + \
            est.combine_outputs(U, V, tk.grad(U[0]), keep=~sw)
        if (i + 1) in (1, 4, 16, N):
            print(f"  eps {eps}: {i + 1} estimates of K={K} averaged; cosine to the exact gradient: " +
                  ", ".join(f"{k} {cosine_similarity(a, g):.3f} (norm ratio {np.linalg.norm(a / (i + 1)) / np.linalg.norm(g):.2f})"
                            for k, a in acc.items()), flush=True)
    print(f"  eps {eps}: {100 * np.mean(left_out):.1f} % of (direction, point) pairs switched a spike", flush=True)
