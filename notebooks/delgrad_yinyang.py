# %% [markdown]
# # DelGrad on Yin-Yang: exact spike-time gradients for weights and delays
#
# This notebook trains a small spiking network on the Yin-Yang dataset with **exact event-based gradients**
# for synaptic weights *and* transmission delays (DelGrad, Goeltz et al., *Nat. Commun.* 16, 2025; Goeltz et al.,
# *Nat. Mach. Intell.* 3, 2021). Information is carried by *when* a neuron fires its first spike
# (time-to-first-spike, TTFS, coding), and the network is simulated in Brian2.
#
# The neuron is a current-based leaky integrate-and-fire (LIF) neuron with an exponential synaptic current:
#
# $$C_m \frac{dV}{dt} = -g_l\,(V - E_l) + I, \qquad \frac{dI}{dt} = -\frac{I}{\tau_s}, \qquad
# I \leftarrow I + w_{ij} \text{ when a spike of } i \text{ arrives at } \tilde t_{ij} = t_i + d_{ij}.$$
#
# For a neuron at rest, the membrane potential is a sum of postsynaptic-potential kernels,
#
# $$V(t) - E_l = \frac{1}{g_l}\sum_i w_{ij}\,k\!\left(\frac{t - \tilde t_{ij}}{\tau_s}\right),\qquad
# k(x) = \frac{e^{-x/r} - e^{-x}}{r - 1},\quad r = \tau_m/\tau_s,$$
#
# and the first spike time $T_j$ is the first time $V$ reaches the threshold $\vartheta$.
# Only the first spike of each neuron in a trial counts. We use the reference setting $\tau_m = 2\tau_s$,
# $\tau_s = 5$ ms; all spike times below are in units of $\tau_s$.
#
# **Run size.** With `BRIAN2LEARN_SMOKE=1` (set by the test suite and by `notebooks/render.py`) the notebook
# runs a tiny version: 300 training / 200 test samples, batch 50, 2 epochs in section 3 and 1 epoch per network
# in section 4; accuracies are then far from converged. The run time is mostly Brian2 compiling each network's
# Cython code, once per machine (it is cached in `~/.cython/brian_extensions`): measured at smoke size on 2 CPU
# cores shared with other jobs, `python notebooks/render.py delgrad_yinyang` took 268 s with code still to
# compile (the first epoch of each network about 36 s, a second epoch 0.4 s) and 16 s once it was cached.
# Without it, it uses the full published splits (5000 train /
# 1000 test), batch 150 and 20 epochs per network (the reference trains 300).

# %%
import os

SMOKE = os.environ.get("BRIAN2LEARN_SMOKE") == "1"
if SMOKE:
    N_TRAIN, N_TEST, EPOCHS, BATCH = 300, 200, 2, 50
    EPOCHS_COMPARE = 1           # epochs per delay kind in section 4
else:
    N_TRAIN, N_TEST, EPOCHS, BATCH = None, None, 20, 150   # None: the full published splits
    EPOCHS_COMPARE = EPOCHS
SEED = 0
print(f"SMOKE={SMOKE}: n_train={N_TRAIN or 'all'}, n_test={N_TEST or 'all'}, epochs={EPOCHS}, batch={BATCH}")

# %%
import warnings
import numpy as np
import matplotlib.pyplot as plt
from brian2 import ms, mV, nA, prefs

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm's notebook widget is not needed

from brian2learn.datasets import yin_yang, ttfs_linear
from brian2learn.models import LIF, LayeredNetwork
from brian2learn.models.lif_analytic import first_spike_time
from brian2learn.experiments.yinyang import build

# share the compiled Cython code with the test suite when it sets a cache directory
if os.environ.get("BRIAN2LEARN_CACHE"):
    prefs.codegen.runtime.cython.cache_dir = os.path.abspath(os.path.join(os.environ["BRIAN2LEARN_CACHE"], "cython"))

TAU_S = 5 * ms
TAU_MS = float(TAU_S / ms)   # spike times (tau_s units) -> ms
CLASS_NAMES = ["yin", "yang", "dot"]
COLORS = ["tab:blue", "tab:orange", "tab:green"]

# %% [markdown]
# ## 1. The data: Yin-Yang
#
# Yin-Yang (Kriener, Goeltz & Petrovici 2022) is a small 2-D, three-class problem (yin, yang, dots) that a
# linear classifier cannot solve (about 64 %) but a hidden layer can (about 98 %). Each point $(x, y)$ becomes four
# features $(x, y, 1-x, 1-y) \in [0,1]^4$ (the mirrored copies keep the total input "amount" constant),
# and each feature $v$ is coded as the time of one input spike, early for small values:
#
# $$t = t_\text{early} + v\,(t_\text{late} - t_\text{early}) = 0.15 + 1.85\,v \quad [\tau_s].$$
#
# Each layer also receives one **bias spike** at $t = 0.9\,\tau_s$ with its own trainable weights.

# %%
x_train, y_train = yin_yang("train")
x_test, y_test = yin_yang("test")
times_train = ttfs_linear(x_train)
print("train", x_train.shape, "test", x_test.shape, "class counts", np.bincount(y_train))
print("first sample: features", x_train[0].round(3), "-> spike times [tau_s]", times_train[0].round(3))

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for c in range(3):
    sel = y_train == c
    axes[0].scatter(x_train[sel, 0], x_train[sel, 1], s=4, c=COLORS[c], label=CLASS_NAMES[c])
axes[0].set(xlabel="x", ylabel="y", title="Yin-Yang training set", aspect="equal")
axes[0].legend(markerscale=3, loc="upper right")
axes[1].hist(times_train.ravel(), bins=40, color="gray")
axes[1].set(xlabel=r"input spike time [$\tau_s$]", ylabel="count", title="TTFS-coded inputs")
fig.tight_layout()

# %% [markdown]
# ## 2. One trial's dynamics
#
# We build a 4-30-3 network with one trainable delay per connection (*synaptic* delays) and record the
# membrane potential $V$ and synaptic current $I$ of every neuron for one sample (this network, for display
# only, uses $dt = 0.05\,\tau_s$ and a trial of $6\,\tau_s$; the trained networks below use the reference's
# $dt = 0.01\,\tau_s$ and $4\,\tau_s$).
#
# **The simulation is exact**, not only up to $O(dt)$, although Brian2 runs on a time grid ($dt = 0.05\,\tau_s$ here):
#
# * an event whose exact arrival time $\tilde t$ falls inside a step is delivered at the end of that step, before
#   the threshold check, with its exact contribution at the elapsed time $s = t + dt - \tilde t$:
#   $I \mathrel{+}= w\,e^{-s/\tau_s}$, $V \mathrel{+}= (w/g_l)\,k(s/\tau_s)$ (no rounding of delays to the grid);
# * when $V$ crosses $\vartheta$ inside a step, the step's inputs are taken in the order they arrived: $V$ at
#   each of them (exact backward flow of the linear dynamics) picks the stretch where $V$ first reaches
#   $\vartheta$, and a safeguarded Newton search on that flow finds the crossing, so spike times are exact
#   to floating point, not grid times, also when inputs arrive after the crossing in the same step.
#
# Between events the dynamics are linear, so for $\tau_m = 2\tau_s$ the first spike has a closed form
# (Goeltz et al. 2021, Eq. 12): with $A_s = \sum_i w_i e^{\tilde t_i/\tau_s}$, $A_m = \sum_i w_i e^{\tilde t_i/\tau_m}$
# over the inputs that arrived before $T$,
#
# $$T = 2\tau_s \ln\frac{2A_s}{A_m + \sqrt{A_m^2 - 4A_s\,g_l\vartheta}}.$$
#
# Below, the simulated spike times are compared with this formula. They agree to floating-point
# precision, with one documented exception (`brian2learn.models.lif`): a neuron keeps the inputs of one step
# in a list of 4 (`N_KEPT_ARRIVALS`); when more than 4 inputs arrive in the step in which it crosses the
# threshold, the crossing is exact only to $O(dt)$, and `LayeredNetwork` marks it (`inexact_crossing`) and
# warns.

# %%
net = LayeredNetwork(4, [30, 3], model=LIF(tau_s=5 * ms, tau_m=10 * ms), delays="synaptic", n_bias=1,
                     batch_size=1, dt=0.05 * 5 * ms, duration=6 * 5 * ms, seed=0, record_states=True)
out = net.simulate(times_train[:1])      # [inputs (1, 4), hidden (1, 30), outputs (1, 3)], tau_s units, inf = silent
t_in, t_hid, t_out = out[0][0], out[1][0], out[2][0]
print("input spikes  [tau_s]:", t_in.round(3))
print("hidden spikes [tau_s]:", np.round(t_hid[:8], 4), "...", f"({np.isfinite(t_hid).sum()}/30 fire)")
print("output spikes [tau_s]:", t_out.round(4), f"-> predicted class {CLASS_NAMES[int(np.argmin(t_out))]}, "
      f"label {CLASS_NAMES[y_train[0]]}")

# %%
mon = net.backend.monitor                # rows: hidden 0..29, then outputs 30..32 (batch_size 1)
t_ms = mon.t / ms
theta = float(net.model.v_th / mV)
fired = np.flatnonzero(np.isfinite(t_hid))
show_hidden = list(fired[:4]) + list(np.flatnonzero(~np.isfinite(t_hid))[:1])   # a few that fire, one silent

fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex=True)
for col, (rows, spikes, title) in enumerate([(show_hidden, t_hid[show_hidden], "hidden neurons"),
                                            ([30, 31, 32], t_out, "output neurons")]):
    for n, (r, ts) in enumerate(zip(rows, spikes)):
        color = f"C{n}"
        label = f"hidden {r}" if col == 0 else CLASS_NAMES[r - 30]
        axes[0, col].plot(t_ms, mon.v[r] / mV, color=color, lw=1, label=label)
        axes[1, col].plot(t_ms, mon.I[r] / nA, color=color, lw=1)
        if np.isfinite(ts):
            axes[0, col].axvline(ts * TAU_MS, color=color, ls=":", lw=1)
            axes[0, col].plot(ts * TAU_MS, theta, "o", color=color, ms=5)
    axes[0, col].axhline(theta, color="k", ls="--", lw=0.8)
    axes[0, col].set(title=f"{title}: V(t) (dots: first spike)", ylabel="V [mV]")
    axes[0, col].legend(fontsize=7, loc="upper right")
    axes[1, col].set(xlabel="t [ms]", ylabel="I [nA]")
fig.suptitle("TTFS: only the first threshold crossing counts; the neuron is then silent for the rest of the trial")
fig.tight_layout()

# %%
fig, ax = plt.subplots(figsize=(9, 4.5))
groups = [("input", t_in, 0), ("bias", np.array([0.9]), 4), ("hidden", t_hid, 5), ("output", t_out, 35)]
for (name, ts, offset), color in zip(groups, ["k", "gray", "tab:purple", "tab:red"]):
    idx = np.flatnonzero(np.isfinite(ts))
    ax.scatter(ts[idx] * TAU_MS, offset + idx, s=18, c=color, marker="|" if name != "output" else "o", label=name)
for c in range(3):
    ax.annotate(CLASS_NAMES[c], (t_out[c] * TAU_MS if np.isfinite(t_out[c]) else 30, 35 + c),
                xytext=(5, -3), textcoords="offset points", fontsize=8)
ax.set(xlabel="t [ms]", ylabel="neuron (input | bias | hidden | output)", xlim=(0, 30),
       title="Spike raster of one trial (the earliest output spike is the prediction)")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()


# %%
# Closed form vs. simulation. Arrival times = presynaptic spike times + total delays D_ij (latency included).
# Projection 0: the 4 inputs, then the bias spike at 0.9 tau_s; projection 1: the 30 hidden neurons, then its bias.
def closed_form(l, pre_times, j):
    arrivals = np.concatenate([pre_times, [0.9]]) + net.total_delays(l)[:, j]
    return first_spike_time(net.model, arrivals, net.params[l]["w"][:, j], t_max=net.duration)

T_hid = np.array([closed_form(0, t_in, j) for j in range(30)])
T_out = np.array([closed_form(1, t_hid, k) for k in range(3)])
for name, sim, ref in [("hidden", t_hid, T_hid), ("output", t_out, T_out)]:
    assert np.array_equal(np.isfinite(sim), np.isfinite(ref)), "simulation and closed form disagree on who fires"
    both = np.isfinite(sim)
    err = np.max(np.abs(sim[both] - ref[both])) if both.any() else 0.0
    print(f"{name:6s}: {both.sum():2d} spikes, max |T_sim - T_closed form| = {err:.2e} tau_s  (dt = {net.dt} tau_s)")

# %% [markdown]
# ## 3. Training with exact gradients
#
# **Loss.** The output neuron that fires first gives the class. Training minimises the shift-invariant
# mean squared error of DelGrad (Goeltz et al. 2025; `loss="mse"`, the default of
# `experiments.yinyang.build`) on the output spike times,
# $L = \tfrac12 \sum_{k \ne y} \big[(T_k - T_y) - \delta\big]^2$ with $\delta = 0.2\,\tau_s$: only time
# differences matter, and every wrong-class neuron is pulled to fire $\delta$ after the correct one. A silent
# output neuron enters at the trial end and gets no gradient. (The TTFS cross-entropy of Goeltz et al. 2021,
# Eq. 14, is `loss="ce"`; measured here it trained worse on Yin-Yang, see the docstring of
# `experiments.yinyang`.)
#
# **Gradients from the implicit function theorem.** A first spike is defined by the condition
# $V(T; x) = \vartheta$, where $x$ is any parameter (a weight $w_{ij}$, a delay $d_{ij}$, or a presynaptic
# spike time $t_i$). Differentiating the identity $V(T(x); x) = \vartheta$ gives
#
# $$\frac{dT}{dx} = -\frac{\partial V/\partial x}{\partial V/\partial t}\Big|_{t = T},$$
#
# so, with $V' = \sum_i w_i k'\big((T - \tilde t_i)/\tau_s\big)$ the slope at threshold,
#
# $$\frac{\partial T}{\partial w_{ij}} = -\frac{k(T - \tilde t_{ij})}{V'},\qquad
# \frac{\partial T}{\partial d_{ij}} = \frac{\partial T}{\partial \tilde t_{ij}} = \frac{w_{ij}\,k'(T - \tilde t_{ij})}{V'}.$$
#
# A delay shifts an arrival time, so its gradient is the arrival-time gradient; the same term with respect
# to $t_i$ carries the error to the previous layer (event-based backpropagation:
# $\delta_i = \sum_j \delta_j\, \partial T_j/\partial \tilde t_{ij}$). Only the spike times of one forward pass are
# needed; no membrane traces are stored. Delays are parameterised as $d = \sigma(p)\,\tau_s$ (between 0
# and 1 $\tau_s$, plus a fixed latency of $2\,dt$) and trained with Adam together with the weights (learning
# rate $\times 0.95$ every 20 epochs); silent output neurons are woken up by "weight bumping".

# %%
trainer, cfg = build("4-30-3 W+synaptic", seed=SEED, n_train=N_TRAIN, n_test=N_TEST, batch_size=BATCH,
                     progress=False)
delays_before = [trainer.net.total_delays(l).copy() for l in range(trainer.net.n_layers)]   # for section 5
print(f"{trainer.net.n_weights} weights, {trainer.net.n_delays} delays; learning rates {cfg['lr']}")
history = trainer.fit(EPOCHS)

# %%
ep = [h["epoch"] for h in history]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
axes[0].plot(ep, [h["train_acc"] for h in history], "o-", label="train (during epoch)")
axes[0].plot(ep, [h["test_acc"] for h in history], "s-", label="test")
axes[0].axhline(1 / 3, color="gray", ls=":", lw=1, label="chance")
axes[0].set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title="4-30-3 W+synaptic")
axes[0].legend()
for ax in axes[:2]:   # one marker per epoch, so that a run of one epoch still shows its point
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlim(0.5, max(ep) + 0.5)
axes[1].plot(ep, [h["train_loss"] for h in history], "o-", label="train")
axes[1].plot(ep, [h["test_loss"] for h in history], "s-", label="test")
axes[1].set(xlabel="epoch", ylabel="shift-invariant MSE", title="loss")
axes[1].legend()

acc, loss, t_out_test = trainer.evaluate()
x_te = x_test if N_TEST is None else x_test[:N_TEST]
pred = np.argmin(t_out_test, axis=1)
axes[2].scatter(x_te[:, 0], x_te[:, 1], s=6, c=[COLORS[p] for p in pred])
axes[2].set(xlabel="x", ylabel="y", aspect="equal", title=f"test predictions (acc {acc:.3f})")
fig.tight_layout()
epoch_s = ", ".join(f"{h['epoch_seconds']:.1f}" for h in history)
print(f"final test accuracy {acc:.3f}; seconds per epoch: {epoch_s} (the first also compiles Brian2's code if not cached)")

# %% [markdown]
# ## 4. The delay kinds compared
#
# DelGrad distinguishes where a delay sits: on the **axon** of the presynaptic neuron $i$ (one $d_i$ shared by all
# its outgoing connections), on the **dendrite** of the postsynaptic neuron $j$ (one $d_j$ for all its inputs),
# or on each **synapse** ($d_{ij}$, as many as there are weights). The total delay of $i \to j$ is
# $D_{ij} = d_i + d_j + d_{ij}$ (the kinds in use), and the chain rule from $\partial L / \partial D_{ij}$ gives
#
# $$\frac{\partial L}{\partial d_i} = \sum_j \frac{\partial L}{\partial D_{ij}},\qquad
# \frac{\partial L}{\partial d_j} = \sum_i \frac{\partial L}{\partial D_{ij}},\qquad
# \frac{\partial L}{\partial d_{ij}} = \frac{\partial L}{\partial D_{ij}}.$$
#
# We train each variant for the same number of epochs and compare test accuracy and parameter count.
# (In the smoke run this is a single epoch on a few hundred samples, so differences are noise, and on a
# machine without Brian2's compiled code cached the time of that epoch is mostly compilation.)

# %%
CONFIG_NAMES = ["4-30-3 W", "4-30-3 W+axonal", "4-30-3 W+dendritic", "4-30-3 W+synaptic"]
results = []
for name in CONFIG_NAMES:
    tr, _ = build(name, seed=SEED, n_train=N_TRAIN, n_test=N_TEST, batch_size=BATCH, progress=False)
    h = tr.fit(EPOCHS_COMPARE, log=None)
    results.append(dict(config=name, test_acc=h[-1]["test_acc"], n_weights=tr.net.n_weights,
                        n_delays=tr.net.n_delays, seconds=sum(r["epoch_seconds"] for r in h)))

print(f"{'config':20s} {'test acc':>8s} {'weights':>8s} {'delays':>7s} {'train s':>8s}")
for r in results:
    print(f"{r['config']:20s} {r['test_acc']:8.3f} {r['n_weights']:8d} {r['n_delays']:7d} {r['seconds']:8.1f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
labels = [r["config"].replace("4-30-3 ", "") for r in results]
axes[0].bar(labels, [r["test_acc"] for r in results], color="tab:blue")
axes[0].axhline(1 / 3, color="gray", ls=":", lw=1)
axes[0].set(ylabel="test accuracy", ylim=(0, 1), title=f"after {EPOCHS_COMPARE} epoch(s)")
axes[1].bar(labels, [r["n_weights"] for r in results], label="weights")
axes[1].bar(labels, [r["n_delays"] for r in results], bottom=[r["n_weights"] for r in results], label="delays")
axes[1].set(ylabel="trainable parameters", title="parameter count")
axes[1].legend()
fig.tight_layout()

# %% [markdown]
# ## 5. Learned delays
#
# The synaptic delays of the network trained in section 3, before and after training (total delays
# $D_{ij}$ in units of $\tau_s$, including the fixed latency of $2\,dt = 0.02\,\tau_s$). They start near
# $\sigma(-2.3) \approx 0.09\,\tau_s$ above the latency ($p \sim \mathcal N(-2.3, 0.5)$) and spread out as
# the network learns to use them to shape *when* inputs coincide at each neuron. After the few epochs of a
# smoke-size run they have barely moved.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for l, ax in enumerate(axes):
    after = trainer.net.total_delays(l)
    bins = np.linspace(0, max(delays_before[l].max(), after.max()) * 1.05, 40)
    ax.hist(delays_before[l].ravel(), bins=bins, alpha=0.6, label="before training")
    ax.hist(after.ravel(), bins=bins, alpha=0.6, label=f"after {trainer.epoch} epoch(s)")
    ax.set(xlabel=r"total delay $D_{ij}$ [$\tau_s$]", ylabel="connections",
           title=["input+bias -> hidden", "hidden+bias -> output"][l])
    ax.legend()
    print(f"projection {l}: mean |change| {np.mean(np.abs(after - delays_before[l])):.4f} tau_s, "
          f"range after [{after.min():.3f}, {after.max():.3f}] tau_s")
fig.tight_layout()

# %% [markdown]
# ## 6. The same network without a time grid: `backend="event"`
#
# For $\tau_m = \tau_s$ and $\tau_m = 2\tau_s$ the first spike time of a neuron has a closed form in its
# input arrival times (Lambert W, or a quadratic in $e^{-t/2\tau_s}$). The back end `"event"`
# (`backends/event.py`, `models/lif_replay.py`) computes every layer's spike times from those closed forms,
# event by event, with no Brian2 run: the same `TrialRecord`, the same gradient rule and optimiser. Below,
# the network trained in section 3 runs on the test set on both back ends (`net.using("event")` switches
# within a block), and one epoch trains on each.
#

# %%
import time

fast, _ = build("4-30-3 W+synaptic", seed=SEED, n_train=N_TRAIN, n_test=N_TEST, batch_size=BATCH,
                progress=False, backend="event")
fast.net.params = [{k: v.copy() for k, v in p.items()} for p in trainer.net.params]   # the trained network
x_test_times = trainer.test[0]
brian_out = trainer.net.simulate(x_test_times)[-1]
replay_out = fast.net.simulate(x_test_times)[-1]
both = np.isfinite(brian_out) & np.isfinite(replay_out)
print(f"output spikes: Brian2 {np.isfinite(brian_out).sum()}, replay {np.isfinite(replay_out).sum()}; "
      f"|difference| median {np.median(np.abs(brian_out - replay_out)[both]):.1e}, "
      f"max {np.abs(brian_out - replay_out)[both].max():.1e} tau_s (dt = {trainer.net.dt} tau_s)")
for name, tr in (("Brian2", trainer), ("replay", fast)):
    t0 = time.perf_counter()
    tr.train_epoch()
    print(f"one training epoch on {name}: {time.perf_counter() - t0:.2f} s")

