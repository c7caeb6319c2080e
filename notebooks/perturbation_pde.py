# %% [markdown]
# # Weight perturbation: regression and PDEs with spiking networks, forward runs only
#
# Wan, Zhang & Karniadakis ("Randomized forward mode gradient for spiking neural networks in scientific
# machine learning", arXiv 2411.07057) train spiking networks without a backward pass: perturb the
# weights along random directions $v_k$ and watch the loss change,
#
# $$g = \frac{1}{K}\sum_{k=1}^{K}\frac{L(w+\epsilon v_k)-L(w-\epsilon v_k)}{2\epsilon}\,v_k,\qquad
# \mathbb{E}[v v^\top] = I \;\Rightarrow\; \mathbb{E}[g] = \nabla L + O(\epsilon^2).$$
#
# In brian2learn the clean network and its $2K$ perturbed copies run as batch copies of **one** Brian2
# simulation (per-copy weight offsets), so a step costs one run. The network is a time-to-first-spike
# LIF network: a point $x$ becomes two input spike times, and $u(x)$ is the membrane potential of a
# non-spiking readout at the trial end. PDE derivatives are finite differences of $u$ between grid
# points, so the physics-informed loss also needs forward runs only. The exact event-based gradient
# (DelGrad) of the same network and loss is the baseline.

# %%
import os, warnings
import numpy as np
import matplotlib.pyplot as plt
warnings.filterwarnings("ignore", message="IProgress not found")
from brian2learn.learning_rules import PerturbationGradient, cosine_similarity
from brian2learn.experiments.perturbation_sciml import train, cosine_vs_K

SMOKE = os.environ.get("BRIAN2LEARN_SMOKE") == "1"
if SMOKE:
    HIDDEN, N1, NH, STEPS, KS, REPEATS = 10, 9, 5, 15, (1, 4, 16), 2
else:
    HIDDEN, N1, NH, STEPS, KS, REPEATS = 30, 33, 11, 2000, (1, 2, 4, 8, 16, 32, 64), 5
print(f"SMOKE={SMOKE}: hidden {HIDDEN}, {N1} grid points (1D), {NH}x{NH} (heat), {STEPS} steps")

# %% [markdown]
# ## 1. The estimator on a quadratic
#
# For $L = \frac12 (w-c)^\top H (w-c)$ the central difference quotient is exactly $v^\top\nabla L$, so the
# only error is the random direction: the mean over many estimates converges to the gradient, and the
# cosine to the true gradient grows with $K$ (about $\sqrt{K/(K+n)}$ for $n$ parameters).

# %%
rng = np.random.default_rng(0)
n = 50
A = rng.standard_normal((n, n)); H = A @ A.T / n + np.eye(n); c = rng.standard_normal(n)
loss = lambda S: 0.5 * np.einsum("mi,ij,mj->m", S - c, H, S - c)
w = np.zeros(n); true = H @ (w - c)
for K in (1, 4, 16, 64):
    est = PerturbationGradient(K=K, eps=1e-3, seed=K)
    cos = [cosine_similarity(est.estimate(loss, w)[0], true) for _ in range(20)]
    print(f"K={K:3d}: cosine {np.mean(cos):.3f}  (sqrt(K/(K+n)) = {np.sqrt(K / (K + n)):.3f})")

# %% [markdown]
# ## 2. Cosine to the exact gradient on a TTFS network
#
# At the initial parameters of the spiking network on the Poisson task, each estimate is one batched
# Brian2 run; the exact gradient comes from the spike-time gradient rule chained through the readout
# and the finite-difference loss.

# %%
cos = cosine_vs_K("poisson_sin", Ks=KS, repeats=REPEATS, hidden=HIDDEN, n=N1)
Ks = [int(k) for k in cos]
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(Ks, [cos[str(k)]["mean"] for k in Ks], yerr=[cos[str(k)]["std"] for k in Ks], marker="o", capsize=3)
ax.set(xscale="log", xlabel="directions K", ylabel="cosine(estimate, exact gradient)", title="TTFS network, Poisson loss")
plt.tight_layout(); plt.show()


# %% [markdown]
# ## 3. Regression $y = x^2$ on $[-1, 1]$
#
# Same network, same loss $\frac1n\sum_i (u(x_i) - x_i^2)^2$, Adam; perturbation ($K = 8$, central) against
# the exact gradient.

# %%
def compare(task, n, steps, lr=0.02):
    runs = {g: train(task, gradient=g, steps=steps, lr=lr, hidden=HIDDEN, n=n) for g in ("perturbation", "exact")}
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    for g, r in runs.items():
        ax[0].semilogy(r["losses"], label=f"{g}: rel. L2 {r['rel_l2']:.3f}")
        print(f"{task} {g}: rel. L2 {r['rel_l2']:.4f}, {r['forward_runs']} Brian2 trials, {r['seconds']:.1f} s")
    ax[0].set(xlabel="step", ylabel="loss"); ax[0].legend()
    return runs, ax[1]

def show_1d(task, label):
    """Train `task` both ways and plot the learned u(x) against the exact solution."""
    runs, ax = compare(task, N1, STEPS)
    tk = runs["exact"]["task_obj"]; x = tk.eval_points[:, 0]
    ax.plot(x, tk.exact(tk.eval_points), "k--", label=label)
    for g, r in runs.items():
        ax.plot(x, r["u_eval"], label=g)
    ax.legend(); plt.tight_layout(); plt.show()

show_1d("regression_x2", "x^2")

# %% [markdown]
# ## 4. Poisson $-u'' = \pi^2\sin(\pi x)$, $u(0) = u(1) = 0$
#
# Physics-informed loss: residual $-(u_{i-1} - 2u_i + u_{i+1})/h^2 - f(x_i)$ at the interior grid points
# plus the two boundary values, all from forward runs.

# %%
show_1d("poisson_sin", "sin(pi x)")

# %% [markdown]
# ## 5. Heat equation $u_t = \kappa u_{xx}$, $\kappa = 1/\pi^2$, $u(x, 0) = \sin(\pi x)$
#
# The input is the point $(x, t)$ (four input spikes); the solution is $e^{-t}\sin(\pi x)$.

# %%
runs, ax = compare("heat", NH, STEPS)
tk = runs["exact"]["task_obj"]
side = int(round(np.sqrt(len(tk.eval_points))))
err = np.abs(runs["perturbation"]["u_eval"] - tk.exact(tk.eval_points)).reshape(side, side)
im = ax.imshow(err.T, origin="lower", extent=(0, 1, 0, 1), aspect="auto")
ax.set(xlabel="x", ylabel="t", title="|u - exact|, perturbation"); plt.colorbar(im, ax=ax)
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 6. $\sin(\pi x)$: a readout that jumps, and one that does not
#
# On the TTFS LIF network, a hidden neuron whose potential peak sinks below threshold loses its spike at a
# finite time, so $u(x)$ jumps; nearly every perturbation of a trained network switches some spike, and the
# finite differences measure the jumps (a biased estimate: `benchmarks/README.md`). In the QIF (theta)
# network of `experiments.perturbation_qif` a spike can only leave at the trial end, and the readout (the
# unwrapped phase $n_\mathrm{spikes}\Theta + \phi(T)$) is continuous, so perturbation stays unbiased. Its
# exact baseline is the smooth gradient of Klos & Memmesheimer (`train_qif(gradient="exact")`).

# %%
from brian2learn.experiments.perturbation_qif import train_qif

QIF_HIDDEN = 6 if SMOKE else 16
sin_runs = {
    "LIF, perturbation": train("regression_sin", gradient="perturbation", steps=STEPS, lr=0.02, hidden=HIDDEN, n=N1,
                               resample=True),
    "QIF, perturbation": train_qif("regression_sin", steps=STEPS, lr=0.05, lr_final=0.1, K=4, hidden=QIF_HIDDEN, n=N1,
                                   resample=True),
    "QIF, exact smooth gradient": train_qif("regression_sin", steps=STEPS, lr=0.05, lr_final=0.1, hidden=QIF_HIDDEN,
                                            n=N1, resample=True, gradient="exact"),
}
tk = sin_runs["LIF, perturbation"]["task_obj"]; x = tk.eval_points[:, 0]
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
ax[1].plot(x, tk.exact(tk.eval_points), "k--", label="sin(pi x)")
for name, r in sin_runs.items():
    ax[0].semilogy(r["losses"], label=f"{name}: rel. L2 {r['rel_l2']:.3f}")
    ax[1].plot(x, r["u_eval"], label=name)
    print(f"{name}: rel. L2 {r['rel_l2']:.4f}, {r['seconds']:.1f} s")
ax[0].set(xlabel="step", ylabel="loss (fresh points every step)"); ax[0].legend(); ax[1].legend()
plt.tight_layout(); plt.show()

# %% [markdown]
# Measured numbers for the full-size runs (seeds, steps, seconds) are in
# `benchmarks/results/perturbation.json`, written by `benchmarks/perturbation.py`.
