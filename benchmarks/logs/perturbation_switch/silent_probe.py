# Probe (2026-12-07): after STEPS steps of sin(pi x) training (seed 0, replay, resampled, K = 8 layer-wise,
# eps EPS, lr 0.02 -> 0.05x) with each estimate form, how many hidden neurons still spike, and how well
# does the form's estimate (one K = 8 estimate, and 16 averaged) agree with the exact gradient there?
# Usage: silent_probe.py STEPS EPS
import sys
import numpy as np
from brian2learn.experiments import perturbation_sciml as ps
from brian2learn.learning_rules import PerturbationGradient, cosine_similarity

steps, eps = int(sys.argv[1]), float(sys.argv[2])
for form in ("loss", "outputs", "outputs_unswitched"):
    r = ps.train("regression_sin", "perturbation", steps=steps, lr=0.02, lr_final=0.05, K=8, eps=eps, seed=0,
                 resample=True, simulator="replay", form=form)
    model, tk = r["model"], r["task_obj"]
    t_hidden = model.net.simulate(model.encode(tk.eval_points))[-1]
    fired = np.isfinite(t_hidden)
    g, _ = model.exact_gradient(tk.points, tk.grad)
    est = PerturbationGradient(K=8, eps=eps, layerwise=True, seed=7)
    model.use(est)
    x = model._check_points(tk.points)
    cos, acc = [], 0
    for i in range(16):
        V = est.directions(model.theta.size, model.blocks)
        stack = est.stack(model.theta, V)
        model._load_stack(stack)
        layers = model.batched.simulate(np.tile(x, (len(stack), 1)))
        U = model._stack_outputs(layers, stack)
        if form == "loss":
            e = est.combine(tk.loss(U), V)
        else:
            keep = ~model.switched(layers, len(V)) if form == "outputs_unswitched" else None
            e = est.combine_outputs(U, V, tk.grad(U[0]), keep=keep)
        cos.append(cosine_similarity(e, g))
        acc = acc + e
    print(f"{form}: rel L2 {100 * r['rel_l2']:.2f} %; hidden neurons spiking at some of the 129 evaluation points: "
          f"{int(fired.any(axis=0).sum())} of {fired.shape[1]}; (point, neuron) pairs spiking {100 * fired.mean():.1f} %; "
          f"cosine to the exact gradient: one K=8 estimate {np.mean(cos):.2f} +- {np.std(cos):.2f}, "
          f"16 averaged {cosine_similarity(acc, g):.2f}", flush=True)
