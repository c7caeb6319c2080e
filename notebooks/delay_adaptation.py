# %% [markdown]
# # Unsupervised delay adaptation: a neuron learns to detect a spatio-temporal pattern
#
# A neuron receives $N$ inputs. A fixed spatio-temporal **pattern** (each input fires once at its own time in a
# 20 ms window) is shown again and again. The weights stay **fixed** and are chosen so that the neuron fires only
# when many inputs *arrive together*. Only the transmission delays learn, with a local, unsupervised rule
# (Hüning, Glünder & Palm 1998, *Neural Computation* 10:555; Eurich et al. 1999, *Phys. Rev. Lett.* 82:1594):
# whenever the neuron fires at $t_\text{post}$, every synapse whose presynaptic spike *arrived* at
# $\tilde t = t_\text{pre} + d$ within a window $w$ of it moves its delay so that the arrival approaches the
# postsynaptic spike,
#
# $$d \leftarrow \operatorname{clip}\bigl(d + \eta\,(t_\text{post} - \tilde t),\ 0,\ d_\text{max}\bigr)
# \qquad\text{if } |t_\text{post} - \tilde t| \le w .$$
#
# Arrivals before the spike get longer delays, arrivals after it shorter ones. If the neuron fires during the pattern
# (at first only now and then, helped by membrane noise), the arrivals of the pattern are pulled together; then it
# fires more reliably, which pulls them together further. The neuron becomes a **coincidence detector** for the
# pattern, and for nothing else: a shuffled or new pattern, seen through the learned delays, arrives spread out.
#
# The rule is generated Brian2 synaptic code (`brian2learn.learning_rules.DelayAdaptation`): `on_pre` records the
# arrival time (in `on_pre`, `t` *is* the delivery time), `on_post` updates the delay. Brian2's spike queue reads the
# delays only when it is initialised (at the start of every `run`), so within one long run the rule's
# `network_operation(period)` re-initialises it at every trial boundary; spikes in flight keep their delivery times.

# %%
import os

SMOKE = os.environ.get("BRIAN2LEARN_SMOKE") == "1"
if SMOKE:
    N_TRIALS, N_TEST = 100, 20      # learning presentations, test repetitions per pattern
else:
    N_TRIALS, N_TEST = 300, 100
N_INPUTS = 40
SEED = 1
print(f"SMOKE={SMOKE}: {N_INPUTS} inputs, {N_TRIALS} learning trials, {N_TEST} test trials per pattern")

# %%
import numpy as np
import matplotlib.pyplot as plt
from brian2 import mV, ms

from brian2learn.experiments import delay_adaptation as da

# %% [markdown]
# ## 1. Neuron, inputs and pattern
#
# A leaky integrate-and-fire neuron with membrane noise (an Ornstein-Uhlenbeck process of standard deviation
# $\sigma$); each arriving input spike adds $w$ to $V$:
#
# $$\tau_m \frac{dV}{dt} = E_l - V + \sigma\sqrt{2\tau_m}\,\xi(t), \qquad V \leftarrow V + w \text{ at each arrival},
# \qquad V > \vartheta:\ \text{spike},\ V \leftarrow V_r,\ 5\text{ ms refractory}.$$
#
# With $\tau_m = 5$ ms and $\vartheta - E_l = 16$ mV, $w = 1$ mV (`W_IN`), the neuron needs about 16 of its 40 inputs within a
# few milliseconds. Spread over 20 ms (the pattern with equal initial delays), the inputs give about 10 mV: the neuron
# fires only occasionally, when the noise helps. All 40 aligned give 40 mV.

# %%
print("neuron:", da.NEURON.strip())
print({k: v for k, v in da.DEFAULTS.items()})   # every setting; da.learn(..., sigma=1*mV) changes one
S = da.settings()
OFFSET, T, D_MAX = S["offset"], S["T"], S["d_max"]

# %% [markdown]
# ## 2. Learning: repeated presentations, delay adaptation only
#
# The pattern is shown in `N_TRIALS` trials of 80 ms, in one run. Every spike is jittered (0.5 ms), and 20 % of the
# trials show a fresh random pattern instead (distractors). The rule: $\eta = 0.2$, window $w = 20$ ms,
# $d_\text{max} = 40$ ms. At each trial start a network operation records the delays (then the rule's operation
# makes the learned delays act).

# %%
res = da.learn(N_TRIALS, seed=SEED, n_inputs=N_INPUTS)
pattern, delays, learned = res["pattern"], res["delays"], res["learned"]   # delays in force during trial k
spike_trial, spike_rel, fired = res["spike_trial"], res["spike_rel"], res["fired"]
is_pat = res["trial_kind"] == "pattern"
print(f"learning: {N_TRIALS} trials in {res['seconds']:.1f} s")
first = np.flatnonzero(fired & is_pat)
print("first response to the pattern in trial", first[0] if len(first) else None)

fig, ax = plt.subplots(figsize=(6, 3))
ax.scatter(pattern, np.arange(N_INPUTS), s=12, c="k")
ax.set(xlabel="spike time in the pattern [ms]", ylabel="input", title="the repeated pattern")
fig.tight_layout()

# %%
arrivals = pattern[None, :] + delays       # arrival times of the pattern's spikes (no jitter), per trial
spread = arrivals.std(axis=1)
print(f"arrival-time spread (std over inputs): {spread[0]:.2f} ms before, {spread[-1]:.2f} ms after "
      f"{N_TRIALS} trials; delays at 0: {(learned <= 0.05).sum()}, at d_max: {(learned >= D_MAX - 0.05).sum()}")
quarter = max(1, N_TRIALS // 4)
print(f"pattern trials with a response: first quarter {fired[:quarter][is_pat[:quarter]].mean():.2f}, "
      f"last quarter {fired[-quarter:][is_pat[-quarter:]].mean():.2f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
k = np.arange(N_TRIALS)
for i in range(N_INPUTS):
    axes[0].plot(k, arrivals[:, i], lw=0.6, color="tab:blue", alpha=0.6)
pat_spk = is_pat[spike_trial]
axes[0].scatter(spike_trial[pat_spk], spike_rel[pat_spk], s=8, c="tab:red", zorder=3,
                label="postsynaptic spike (pattern trial)")
axes[0].scatter(spike_trial[~pat_spk], spike_rel[~pat_spk], s=14, c="tab:gray", marker="x", zorder=3,
                label="postsynaptic spike (distractor trial)")
axes[0].set(xlabel="trial", ylabel="time after pattern onset [ms]",
            title="arrival times of the pattern's inputs")
axes[0].legend(loc="upper right", fontsize=8)
axes[1].plot(k, spread, c="k")
axes[1].set(xlabel="trial", ylabel="std of arrival times [ms]", yscale="log", title="arrival-time spread")
fig.tight_layout()


# %% [markdown]
# ## 3. Before and after: membrane potential and responses
#
# For testing, learning is off: the delays are copied into plain, fixed synapses, one neuron per (pattern, delays)
# pair, all simulated together with independent noise. Every test trial jitters the spikes as during learning.
# A *response* is at least one spike in the trial. We compare the pattern, shuffled versions of it (the same spike
# times given to other inputs) and fresh random patterns, through the initial and through the learned delays.

# %%
initial = np.full(N_INPUTS, S["d0"])
_, vmon = da.present(res["settings"], [pattern, pattern], [initial, learned], 1, res["rng"], record_v=True)
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(vmon.t / ms - OFFSET, vmon.v[0] / mV, label="initial delays")
ax.plot(vmon.t / ms - OFFSET, vmon.v[1] / mV, label="learned delays")
ax.axhline(S["v_th"] / mV, ls="--", c="gray", lw=1, label="threshold")
ax.set(xlabel="time after pattern onset [ms]", ylabel="V [mV]", title="membrane potential, one presentation")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
rows = da.compare(res, N_TEST)
print(f"response rate over {N_TEST} trials per pattern (mean over the patterns of a kind)")
print(f"{'':18s} {'initial delays':>15s} {'learned delays':>15s}")
for name, (before, after) in rows.items():
    print(f"{name:18s} {before:15.2f} {after:15.2f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
x = np.arange(len(rows))
ax.bar(x - 0.2, [r[0] for r in rows.values()], 0.4, label="initial delays")
ax.bar(x + 0.2, [r[1] for r in rows.values()], 0.4, label="learned delays")
ax.set_xticks(x, list(rows))
ax.set(ylabel="response rate", ylim=(0, 1.05))
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## 4. What this shows, and what it does not
#
# * Delay adaptation alone, with no teacher and no gradient, aligns the arrivals of a repeated pattern to within
#   about the input jitter, and the neuron then responds to that pattern in (nearly) every trial, while its response
#   to shuffled or new patterns stays at the low rate that the noise and chance coincidences give.
# * When the neuron fires by chance in a distractor trial, that spike pulls the delays toward the distractor's
#   arrivals and the pattern's alignment is partly lost (the jumps in the spread); the next pattern trials repair it.
#   The cluster may also drift slowly, since the neuron fires a little after the arrivals that trigger it.
# * Learning starts only once the neuron fires during the pattern. Here membrane noise provides the first spikes; with
#   fewer inputs, weaker weights or less noise the neuron may stay silent and nothing is learned (try
#   `da.learn(N_TRIALS, sigma=1*mV)`).
# * A spike is pulled only toward *one* time; inputs whose spike comes more than `window` away, or that would need a
#   delay outside $[0, d_\text{max}]$, are left out of the cluster.
# * In the smoke-test size (`BRIAN2LEARN_SMOKE=1`) the numbers are noisier; the full size uses 300 learning trials
#   and 100 test trials per pattern.
