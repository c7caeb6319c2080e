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
import time
import numpy as np
import matplotlib.pyplot as plt
from brian2 import (NeuronGroup, Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses,
                    defaultclock, mV, ms, network_operation, prefs, seed, start_scope)

from brian2learn.learning_rules import DelayAdaptation

# one neuron and a few dozen synapses: numpy code needs no compilation and is fast enough here
prefs.codegen.target = "numpy"
defaultclock.dt = 0.1 * ms
rng = np.random.default_rng(SEED)   # patterns, jitter
seed(SEED)                          # Brian2's random numbers (membrane noise)

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
tau_m = 5 * ms
E_l = -70 * mV
v_th = -54 * mV
v_reset = -70 * mV
sigma = 2 * mV           # membrane noise
W_IN = 1 * mV            # fixed weight of every input
LIF = '''
dv/dt = (E_l - v)/tau_m + sigma*sqrt(2/tau_m)*xi : volt (unless refractory)
'''
LIF_KW = dict(threshold="v > v_th", reset="v = v_reset", refractory=5 * ms, method="euler")

SPAN = 20.0              # ms: every input fires once in [0, SPAN)
OFFSET = 5.0             # ms: pattern onset within a trial
T = 80.0                 # ms: trial length (onset + span + maximal delay + decay)
JITTER = 0.5             # ms: standard deviation of each spike's jitter, drawn anew in every trial
P_DISTRACT = 0.2         # fraction of learning trials that show a fresh random pattern instead
D_MAX, D0 = 40.0, 15.0   # ms: maximal and initial delay (all equal)

pattern = rng.uniform(0, SPAN, N_INPUTS)

fig, ax = plt.subplots(figsize=(6, 3))
ax.scatter(pattern, np.arange(N_INPUTS), s=12, c="k")
ax.set(xlabel="spike time in the pattern [ms]", ylabel="input", title="the repeated pattern")
fig.tight_layout()

# %% [markdown]
# ## 2. Learning: repeated presentations, delay adaptation only
#
# The pattern is shown in `N_TRIALS` trials of 80 ms, in one run. Every spike is jittered (0.5 ms), and 20 % of the
# trials show a fresh random pattern instead (distractors). The rule: $\eta = 0.2$, window $w = 20$ ms,
# $d_\text{max} = 40$ ms. At each trial start a network operation records the delays (then the rule's operation
# makes the learned delays act).

# %%
start_scope()
t_start = time.time()
trial_kind = np.where(rng.random(N_TRIALS) < P_DISTRACT, "distractor", "pattern")
rel = np.where((trial_kind == "pattern")[:, None], pattern[None, :], rng.uniform(0, SPAN, (N_TRIALS, N_INPUTS)))
rel = rel + JITTER * rng.standard_normal(rel.shape)
times = np.arange(N_TRIALS)[:, None] * T + OFFSET + np.clip(rel, -OFFSET, T - OFFSET)
inputs = SpikeGeneratorGroup(N_INPUTS, np.tile(np.arange(N_INPUTS), N_TRIALS), times.ravel() * ms)

neuron = NeuronGroup(1, LIF, **LIF_KW)
neuron.v = E_l
rule = DelayAdaptation(eta=0.2, window=20 * ms, d_max=D_MAX * ms)
S = rule.synapses(inputs, neuron, model="w : volt", on_pre="v_post += w")
S.connect()
S.w = W_IN
S.delay = D0 * ms

delay_log = []

@network_operation(dt=T * ms, when="start", order=-1)       # before the rule's operation (order 0)
def log_delays():
    delay_log.append(S.delay[:] / ms)

spikes = SpikeMonitor(neuron)
net = Network(inputs, neuron, S, spikes, log_delays, rule.network_operation(T * ms))
net.run(N_TRIALS * T * ms)
delays = np.array(delay_log)                # delays in force during trial k
learned = S.delay[:] / ms
print(f"learning: {N_TRIALS} trials in {time.time() - t_start:.1f} s")

spike_trial = (spikes.t / ms // T).astype(int)
spike_rel = spikes.t / ms - spike_trial * T - OFFSET     # relative to pattern onset
fired = np.zeros(N_TRIALS, bool)
fired[spike_trial] = True
is_pat = trial_kind == "pattern"
first = np.flatnonzero(fired & is_pat)
print("first response to the pattern in trial", first[0] if len(first) else None)

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
def present(patterns, delay_sets, n_rep, record_v=False):
    '''Show patterns[p] through delays delay_sets[p] n_rep times; return (response rate per p, v monitor).'''
    start_scope()
    patterns, delay_sets = np.asarray(patterns, float), np.asarray(delay_sets, float)
    P = len(patterns)
    group = NeuronGroup(P, LIF, **LIF_KW)
    group.v = E_l
    rel = patterns[None] + JITTER * rng.standard_normal((n_rep, P, N_INPUTS))
    t = np.arange(n_rep)[:, None, None] * T + OFFSET + np.clip(rel, -OFFSET, T - OFFSET)
    src = SpikeGeneratorGroup(P * N_INPUTS, np.tile(np.arange(P * N_INPUTS), n_rep), t.ravel() * ms)
    syn = Synapses(src, group, "w : volt", on_pre="v_post += w")
    syn.connect(i=np.arange(P * N_INPUTS), j=np.arange(P * N_INPUTS) // N_INPUTS)
    syn.w = W_IN
    syn.delay = delay_sets.ravel() * ms
    mon = SpikeMonitor(group)
    objs = [group, src, syn, mon]
    vmon = None
    if record_v:
        vmon = StateMonitor(group, "v", record=True)
        objs.append(vmon)
    Network(*objs).run(n_rep * T * ms)
    hit = np.zeros((n_rep, P), bool)
    hit[(mon.t / ms // T).astype(int), mon.i[:]] = True
    return hit.mean(axis=0), vmon

initial = np.full(N_INPUTS, D0)
_, vmon = present([pattern, pattern], [initial, learned], 1, record_v=True)
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(vmon.t / ms - OFFSET, vmon.v[0] / mV, label="initial delays")
ax.plot(vmon.t / ms - OFFSET, vmon.v[1] / mV, label="learned delays")
ax.axhline(v_th / mV, ls="--", c="gray", lw=1, label="threshold")
ax.set(xlabel="time after pattern onset [ms]", ylabel="V [mV]", title="membrane potential, one presentation")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
N_SHUFFLE = N_RANDOM = 10
tests = {"pattern": [pattern],
         "shuffled pattern": [rng.permutation(pattern) for _ in range(N_SHUFFLE)],
         "random pattern": [rng.uniform(0, SPAN, N_INPUTS) for _ in range(N_RANDOM)]}
pats = [p for group in tests.values() for p in group]
n = len(pats)
rates, _ = present(pats + pats, [initial] * n + [learned] * n, N_TEST)
before, after = rates[:n], rates[n:]
print(f"response rate over {N_TEST} trials per pattern (mean over the patterns of a kind)")
print(f"{'':18s} {'initial delays':>15s} {'learned delays':>15s}")
rows, i = {}, 0
for name, group in tests.items():
    sl = slice(i, i + len(group))
    i += len(group)
    rows[name] = (before[sl].mean(), after[sl].mean())
    print(f"{name:18s} {rows[name][0]:15.2f} {rows[name][1]:15.2f}")

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
#   fewer inputs, weaker weights or less noise the neuron may stay silent and nothing is learned (try `sigma = 1*mV`).
# * A spike is pulled only toward *one* time; inputs whose spike comes more than `window` away, or that would need a
#   delay outside $[0, d_\text{max}]$, are left out of the cluster.
# * In the smoke-test size (`BRIAN2LEARN_SMOKE=1`) the numbers are noisier; the full size uses 300 learning trials
#   and 100 test trials per pattern.
