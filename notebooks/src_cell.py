# %% [markdown]
# # The spiking recurrent cell (SRC), trained by backpropagation through time
#
# De Geeter, Ernst & Drion ("Spike-based computation using classical recurrent neural networks",
# Neuromorphic Computing and Engineering 2024, arXiv 2306.03623) turn a GRU into a spiking neuron by
# fixing its gates: a fast positive feedback makes the upstroke, a slow negative feedback the
# refractoriness, and every operation stays differentiable, so plain BPTT trains deep networks of them.
# One step per `dt`:
#
# $$i[t] = \alpha\, i[t-1] + W s_{in}[t],\qquad x[t] = \rho \tanh(i[t]/\rho)$$
# $$h[t] = \tanh\big(x[t] + r\,h[t-1] + r_s\,h_s[t-1] + b_h\big),\qquad
# h_s[t] = z_s\,h_s[t-1] + (1-z_s)\,h[t-1],\qquad s[t] = \max(h[t], 0)$$
#
# with $\alpha=0.9,\ \rho=3,\ r=2,\ r_s=-7$, $z_s = 0.9$ while $h \le 0.5$ and $0$ above, $b_h \le -4$.
# In brian2learn the cell is a clock-driven Brian2 `NeuronGroup` whose update is readable abstract code,
# and the graded spikes $s$ travel through `Synapses` into a `(summed)` input of the next layer.

# %%
import os, time, warnings
import numpy as np
import matplotlib.pyplot as plt
warnings.filterwarnings("ignore", message="IProgress not found")

SMOKE = os.environ.get("BRIAN2LEARN_SMOKE") == "1"
if SMOKE:
    N_TRAIN, N_TEST, HIDDEN, DEPTH, STEPS, EPOCHS, N_EMU = 256, 128, 32, 3, 30, 1, 4
else:
    N_TRAIN, N_TEST, HIDDEN, DEPTH, STEPS, EPOCHS, N_EMU = 10000, 2000, 100, 3, 100, 3, 16
# the original IDX files: $BRIAN2LEARN_SHARED_DATA, else shared/datasets beside the checkout, else the download cache
import brian2learn
SHARED = os.environ.get("BRIAN2LEARN_SHARED_DATA") or os.path.join(os.path.dirname(brian2learn.__file__), "..", "shared", "datasets")
DATA_DIR = os.path.abspath(SHARED) if os.path.isdir(SHARED) else None
print(f"SMOKE={SMOKE}: {N_TRAIN} training / {N_TEST} test images, depth {DEPTH} x {HIDDEN}, {STEPS} steps")

# %% [markdown]
# ## 1. One cell: the Brian2 equations and its spikes

# %%
from brian2learn.models.src import SRC
print(SRC.equations()); print(SRC.update_code())

# %%
from brian2learn.experiments.src import plot_single_cell
plot_single_cell(); plt.show()

# %% [markdown]
# Under constant drive the cell fires regularly: $h$ jumps from rest ($\approx -1$) to $\approx 1$ in a
# couple of steps (positive feedback $r=2$), the slow state $h_s$ follows at once while $h>0.5$
# ($z_s=0$), and its negative feedback ($r_s=-7$) ends the spike and keeps the cell refractory until $h_s$
# relaxes ($z_s=0.9$). The output $s=\mathrm{ReLU}(h)$ is a graded pulse of a few steps.
#
# ## 2. The Brian2 run and the numpy forward used for training are the same equations

# %%
from brian2learn.models.src import SRCNetwork, simulate_brian2
from brian2learn.models.src_fast import simulate_numpy
net = SRCNetwork(20, (15, 12, 10), recurrent=True, seed=0)
for p in net.params: p["w"] *= 4
s_in = (np.random.default_rng(0).random((2, 60, 20)) < 0.3).astype(float)
t0 = time.perf_counter(); a = simulate_brian2(net, s_in); t1 = time.perf_counter(); b = simulate_numpy(net, s_in); t2 = time.perf_counter()
err = max(np.abs(a[l][k] - b[l][k]).max() for l in range(3) for k in a[l])
print(f"max difference {err:.1e}; Brian2 {t1 - t0:.2f} s, numpy {t2 - t1:.4f} s")
assert err < 1e-10

# %% [markdown]
# ## 3. Exact BPTT against finite differences of the Brian2 run

# %%
from brian2learn.learning_rules.bptt import BPTT, cross_entropy
y = np.array([1, 7])
loss, acc, grads = BPTT(net, "exact").gradients(s_in, b, y)
w = net.params[0]["w"]; idx = np.unravel_index(np.argmax(np.abs(grads[0]["w"])), w.shape); eps = 1e-5
w[idx] += eps; lp = cross_entropy(simulate_brian2(net, s_in)[-1]["logits"], y)[0]
w[idx] -= 2 * eps; lm = cross_entropy(simulate_brian2(net, s_in)[-1]["logits"], y)[0]; w[idx] += eps
print(f"dL/dW[0]{idx}: BPTT {grads[0]['w'][idx]:.6f}, finite difference {(lp - lm) / (2 * eps):.6f}")

# %% [markdown]
# ## 4. A deep SRC network on MNIST (rate code)
#
# `gradient="paper"` stops the gradient through the cell's own recurrence ($h[t-1]$, $h_s[t-1]$) and
# lets it pass the ReLU, as in the paper's training; `"exact"` is the full gradient checked above.
# Below the network trains with `gradient="paper"` (the default of `experiments.src.build`), Adam, learning
# rate 3e-3, batch 64, a rate code of `STEPS` steps per image. (Measured on 6000 MNIST images, 2 epochs:
# the exact gradient reached 19.5 % test accuracy, the paper's gradient 87.3 %; `benchmarks/README.md`.)
# At smoke size (256 training images, 30 steps, 1 epoch, 32 cells per layer) the accuracy says little.

# %%
from brian2learn.experiments.src import build
trainer, cfg = build("mnist", seed=0, data_dir=DATA_DIR, n_train=N_TRAIN, n_test=N_TEST, depth=DEPTH,
                     hidden=HIDDEN, steps=STEPS, lr=3e-3)
print(f"784-{'-'.join(map(str, trainer.net.sizes))}, test accuracy before training {trainer.evaluate():.3f}")
hist = trainer.fit(EPOCHS)
rec = simulate_numpy(trainer.net, next(trainer._batches(trainer.test, False))[0][:8])
print("fraction of (cell, step) pairs spiking per layer:", [round(float((r['s'] > 0).mean()), 3) for r in rec[:-1]])

# %% [markdown]
# ## 5. N-MNIST: the real format, and an emulated data set
#
# The full N-MNIST is not available offline here; `emulate_nmnist` makes **emulated** N-MNIST recordings
# from MNIST digits (three saccades seen by an idealised event camera). The real sample recording is
# read with the same reader.

# %%
from brian2learn.datasets import emulate_nmnist, load_mnist, read_nmnist
from brian2learn.datasets.nmnist import frames
images, labels = load_mnist("test", data_dir=DATA_DIR)
em = emulate_nmnist(images[:N_EMU])
real = os.path.join(DATA_DIR or "", "n-mnist", "sample_nmnist.bin")
recs = [("emulated, label %d" % labels[0], em[0])] + ([("real sample", read_nmnist(real))] if os.path.isfile(real) else [])
fig, ax = plt.subplots(1, len(recs) * 2, figsize=(6 * len(recs), 3))
for k, (name, ev) in enumerate(recs):
    f = frames([ev], 3)[0].reshape(3, 2, 34, 34).sum(axis=(0, 1))
    ax[2 * k].imshow(f, cmap="gray"); ax[2 * k].set_title(f"{name}: {len(ev)} events"); ax[2 * k].axis("off")
    ax[2 * k + 1].hist(ev["t"] / 1000, bins=60); ax[2 * k + 1].set(xlabel="t (ms)", ylabel="events")
plt.tight_layout(); plt.show()
