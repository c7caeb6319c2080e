# %% [markdown]
# # Delay-only training on MNIST: fixed random weights, only the delays learn
#
# Grappolini & Subramoney ("Beyond Weights: deep learning in spiking neural networks with pure
# synaptic-delay training", ICONS 2023) showed that a feed-forward spiking network whose **weights stay
# at fixed random values** can be trained by changing **only its synaptic delays**, and that ternary
# weights $\{-w_0, 0, +w_0\}$ barely hurt. Here the same question is asked of the time-to-first-spike
# LIF network of brian2learn, trained with the **exact spike-time gradient** of each delay
# (DelGrad, Goeltz et al. 2025):
#
# $$\frac{\partial L}{\partial d_{ij}} = \delta_j\,\frac{\partial T_j}{\partial \tilde t_{ij}},\qquad
# \frac{\partial T_j}{\partial \tilde t_{ij}} = \frac{w_{ij}\,k'(T_j-\tilde t_{ij})}{\sum_i w_{ij}\,k'(T_j-\tilde t_{ij})},$$
#
# with arrival $\tilde t_{ij} = t_i + d_{ij}$, PSP kernel $k$ and $\delta_j = \partial L/\partial T_j$.
# The comparison *delays vs weights* is one argument (`training=`), nothing else changes.

# %%
import os, warnings
import numpy as np
import matplotlib.pyplot as plt
warnings.filterwarnings("ignore", message="IProgress not found")

SMOKE = os.environ.get("BRIAN2LEARN_SMOKE") == "1"
if SMOKE:
    N_TRAIN, N_TEST, HIDDEN, EPOCHS = 96, 64, 40, 1
else:
    N_TRAIN, N_TEST, HIDDEN, EPOCHS = 10000, 2000, 350, 3
# the original IDX files: $BRIAN2LEARN_SHARED_DATA, else shared/datasets beside the checkout, else the download cache
import brian2learn
SHARED = os.environ.get("BRIAN2LEARN_SHARED_DATA") or os.path.join(os.path.dirname(brian2learn.__file__), "..", "shared", "datasets")
DATA_DIR = os.path.abspath(SHARED) if os.path.isdir(SHARED) else None
print(f"SMOKE={SMOKE}: {N_TRAIN} training / {N_TEST} test images, 784-{HIDDEN}-10, {EPOCHS} epoch(s); data from {DATA_DIR or 'the download cache'}")

# %% [markdown]
# ## 1. Pixels become spike times
#
# Each pixel fires at most once: brighter pixels earlier, dark pixels never. As in the reference, three
# latency levels are used, here over a window of $2\,\tau_s$ (10 ms):
# $t = 2\tau_s \cdot k/2$ with $k = \min(\lfloor 3(1-v)\rfloor, 2)$ for intensity $v \in (0, 1]$.

# %%
from brian2learn.datasets import load_mnist, ttfs_latency

images, labels = load_mnist("train", data_dir=DATA_DIR)
times = ttfs_latency(images[:3], window=2.0, levels=3)
fig, ax = plt.subplots(1, 4, figsize=(13, 3))
for i in range(3):
    t = times[i].reshape(28, 28)
    im = ax[i].imshow(np.where(np.isfinite(t), t, np.nan), cmap="viridis_r")
    ax[i].set_title(f"label {labels[i]}: spike time (tau_s)"); ax[i].axis("off")
fig.colorbar(im, ax=ax[2])
active = np.isfinite(ttfs_latency(images[:1000], window=2.0, levels=3)).sum(axis=1)
ax[3].hist(active, bins=30); ax[3].set(xlabel="input spikes per image", ylabel="images")
plt.tight_layout(); plt.show()
print(f"{active.mean():.0f} of 784 pixels spike per image on average")

# %% [markdown]
# ## 2. The network and its fixed weights
#
# 784 inputs, one hidden LIF layer, 10 outputs; $\tau_m = 2\tau_s$, $\tau_s = 5$ ms; one trainable delay per
# connection in $[0, 2\tau_s]$, initialised $\mathcal N(1, 0.5)\,\tau_s$ clipped to that range (every connection
# also has a fixed latency of $2\,dt = 0.1\,\tau_s$, included in the total delays plotted below). The weights are drawn once (in units where 1 is a single PSP that just reaches
# threshold at its peak): hidden $\mathcal N(0.015, 0.05)$, output $\mathcal N(0.06, 0.1)$, and never change. The
# class is the output neuron that fires first; the loss is the TTFS cross-entropy on the output spike times
# ($\xi = 0.2\,\tau_s$, `loss="ce"`, the default of `experiments.delay_only.build`; its docstring records why not
# the shift-invariant MSE). Adam (amsgrad), batch 32, learning rate 0.03 for the delays.
#
# With three latency levels many inputs arrive in the same time step ($dt = 0.05\,\tau_s$). A neuron keeps at
# most 4 inputs of one step exactly (`brian2learn.models.lif`), so when more arrive in the step of its threshold
# crossing, that spike time is exact only to $O(dt)$: the `RuntimeWarning` below counts such neurons.

# %%
from brian2learn.experiments.delay_only import build

trainer, cfg = build("mnist", "delays", "normal", seed=0, data_dir=DATA_DIR, n_train=N_TRAIN, n_test=N_TEST,
                     hidden=HIDDEN, progress=not SMOKE)
net = trainer.net
print(f"trainable parameters: {cfg['n_trainable']} delays; fixed weights: {net.n_weights}")
w_before = [p["w"].copy() for p in net.params]
d_before = net.total_delays(0).ravel().copy()
acc0, _, t_out0 = trainer.evaluate()
out = net.simulate(trainer.test[0][:32])
print(f"before training: test accuracy {acc0:.3f}; hidden neurons firing {np.isfinite(out[1]).mean():.2f}, "
      f"outputs firing {np.isfinite(out[2]).mean():.2f}")

# %% [markdown]
# ## 3. Train only the delays

# %%
trainer.fit(EPOCHS, log=print)
acc1, _, _ = trainer.evaluate()
same = all(np.array_equal(a, p["w"]) for a, p in zip(w_before, net.params))
print(f"after {EPOCHS} epoch(s): test accuracy {acc1:.3f} (before {acc0:.3f}); weights bit-identical: {same}")
assert same

# %%
d_after = net.total_delays(0).ravel()
fig, ax = plt.subplots(1, 2, figsize=(11, 3.5))
ax[0].hist(d_before, bins=50, alpha=0.6, label="before"); ax[0].hist(d_after, bins=50, alpha=0.6, label="after")
ax[0].set(xlabel="delay input -> hidden (tau_s)", ylabel="connections"); ax[0].legend()
change = (d_after - d_before).reshape(784, -1)
w = w_before[0][:784]
ax[1].scatter(w.ravel()[::50], change.ravel()[::50], s=2)
ax[1].set(xlabel="fixed weight", ylabel="delay change (tau_s)", title="which delays moved")
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 4. Ternary weights, and weight training for comparison
#
# Ternary weights: a normal sample rounded and clamped to $\{-1, 0, 1\}$, times $w_0$ (the values printed
# below are in model weight units). Weight training uses
# the same network with the delays frozen instead (Adam, learning rate 0.003, with weight bumping). (At smoke
# size these are one short epoch each on 96 images, so the accuracies are noise; the measured comparison at
# full size is in `benchmarks/results/delay_only.json`, written by `benchmarks/delay_only.py`.)

# %%
results = {"delays / normal": acc1}
for training, weights in (("delays", "ternary"), ("weights", "normal")):
    tr, c = build("mnist", training, weights, seed=0, data_dir=DATA_DIR, n_train=N_TRAIN, n_test=N_TEST,
                  hidden=HIDDEN, progress=not SMOKE)
    tr.fit(EPOCHS, log=None)
    results[f"{training} / {weights}"] = tr.evaluate()[0]
    if weights == "ternary":
        print("ternary weight values:", np.unique(tr.net.params[0]["w"]))
for k, v in results.items():
    print(f"{k:18s} test accuracy {v:.3f}")
