"""Unsupervised delay adaptation: one neuron learns to detect a repeated spatio-temporal pattern.

Hüning, Glünder & Palm, Neural Computation 10:555 (1998); Eurich et al., Phys. Rev. Lett. 82:1594
(1999). A LIF neuron with membrane noise receives `n_inputs` inputs of fixed weight `w_in`; a fixed
pattern (each input fires once in a `span` window) is shown in trials of length `T`, every spike
jittered, a fraction `p_distract` of the trials showing a fresh random pattern instead. Only the
delays learn, with learning_rules.DelayAdaptation: at each postsynaptic spike t_post, every synapse
whose presynaptic spike arrived at t~ = t_pre + d within `window` of it moves

    d <- clip(d + eta (t_post - t~), 0, d_max).

The neuron (Brian2 text, `NEURON`):

    tau_m dV/dt = E_l - V + sigma sqrt(2 tau_m) xi,   V > v_th: spike, V <- v_reset, 5 ms refractory

`learn` runs the learning trials in one Brian2 run; `present` shows patterns through fixed delays
(learning off) for the before/after comparison; `compare` gives the response rates to the pattern,
shuffled patterns and new patterns through the initial and the learned delays.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import (Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock,
                    mV, ms, network_operation, prefs, start_scope)
from brian2 import seed as brian2_seed

from ..learning_rules.delay_adaptation import DelayAdaptation

__all__ = ["NEURON", "DEFAULTS", "learn", "present", "compare"]

NEURON = """
dv/dt = (E_l - v)/tau_m + sigma*sqrt(2/tau_m)*xi : volt (unless refractory)
"""

#: settings (times in ms as plain floats where they index trials; quantities where Brian2 reads them)
DEFAULTS = dict(n_inputs=40, tau_m=5 * ms, E_l=-70 * mV, v_th=-54 * mV, v_reset=-70 * mV, sigma=2 * mV,
                w_in=1 * mV, refractory=5 * ms, span=20.0, offset=5.0, T=80.0, jitter=0.5, p_distract=0.2,
                d_max=40.0, d0=15.0, eta=0.2, window=20.0, dt=0.1 * ms)


def settings(**overrides):
    """DEFAULTS with `overrides`; unknown names are refused, naming the known ones."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    s = dict(DEFAULTS, **overrides)
    if int(s["n_inputs"]) < 1:
        raise ValueError(f"n_inputs must be >= 1, got {s['n_inputs']!r}")
    return s


def _neurons(s, n):
    group = NeuronGroup(n, NEURON, threshold="v > v_th", reset="v = v_reset", refractory=s["refractory"],
                        method="euler", namespace={k: s[k] for k in ("E_l", "tau_m", "sigma", "v_th", "v_reset")})
    group.v = s["E_l"]
    return group


def _trial_times(s, rel, n_trials):
    """Absolute spike times (ms) of trials whose relative times (n_trials, ..., n_inputs) are `rel`."""
    shape = (n_trials,) + (1,) * (rel.ndim - 1)
    return np.arange(n_trials).reshape(shape) * s["T"] + s["offset"] + np.clip(rel, -s["offset"],
                                                                                 s["T"] - s["offset"])


def learn(n_trials, seed=1, **overrides):
    """Learning trials in one Brian2 run (numpy target: one neuron needs no compilation). Returns a dict:
    pattern (ms), delays in force during each trial (n_trials, n_inputs; ms), learned delays, trial_kind,
    spike_trial and spike_rel (each postsynaptic spike's trial and time after the pattern onset), fired
    per trial, seconds, the settings and the RNG (for `compare`)."""
    s = settings(**overrides)
    n, T = int(s["n_inputs"]), s["T"]
    prefs.codegen.target = "numpy"
    defaultclock.dt = s["dt"]
    rng = np.random.default_rng(seed)   # pattern, trial kinds, jitter
    brian2_seed(seed)                   # Brian2's random numbers (membrane noise)
    pattern = rng.uniform(0, s["span"], n)
    start_scope()
    t0 = time.time()
    kind = np.where(rng.random(n_trials) < s["p_distract"], "distractor", "pattern")
    rel = np.where((kind == "pattern")[:, None], pattern[None, :], rng.uniform(0, s["span"], (n_trials, n)))
    rel = rel + s["jitter"] * rng.standard_normal(rel.shape)
    inputs = SpikeGeneratorGroup(n, np.tile(np.arange(n), n_trials), _trial_times(s, rel, n_trials).ravel() * ms)
    neuron = _neurons(s, 1)
    rule = DelayAdaptation(eta=s["eta"], window=s["window"] * ms, d_max=s["d_max"] * ms)
    syn = rule.synapses(inputs, neuron, model="w : volt", on_pre="v_post += w")
    syn.connect()
    syn.w = s["w_in"]
    syn.delay = s["d0"] * ms
    log = []

    @network_operation(dt=T * ms, when="start", order=-1)       # before the rule's operation (order 0)
    def log_delays():
        log.append(syn.delay[:] / ms)

    spikes = SpikeMonitor(neuron)
    Network(inputs, neuron, syn, spikes, log_delays, rule.network_operation(T * ms)).run(n_trials * T * ms)
    spike_trial = (spikes.t / ms // T).astype(int)
    fired = np.zeros(n_trials, bool)
    fired[spike_trial] = True
    return dict(pattern=pattern, delays=np.array(log), learned=syn.delay[:] / ms, trial_kind=kind,
                spike_trial=spike_trial, spike_rel=spikes.t / ms - spike_trial * T - s["offset"], fired=fired,
                seconds=time.time() - t0, settings=s, rng=rng)


def present(s, patterns, delay_sets, n_rep, rng, record_v=False):
    """Show patterns[p] through fixed delays delay_sets[p] (ms) n_rep times, each with fresh jitter and
    its own neuron; returns (response rate per p, the StateMonitor of v or None)."""
    start_scope()
    patterns, delay_sets = np.asarray(patterns, float), np.asarray(delay_sets, float)
    P, n = len(patterns), int(s["n_inputs"])
    group = _neurons(s, P)
    rel = patterns[None] + s["jitter"] * rng.standard_normal((n_rep, P, n))
    src = SpikeGeneratorGroup(P * n, np.tile(np.arange(P * n), n_rep), _trial_times(s, rel, n_rep).ravel() * ms)
    syn = Synapses(src, group, "w : volt", on_pre="v_post += w")
    syn.connect(i=np.arange(P * n), j=np.arange(P * n) // n)
    syn.w = s["w_in"]
    syn.delay = delay_sets.ravel() * ms
    mon = SpikeMonitor(group)
    objs = [group, src, syn, mon]
    vmon = None
    if record_v:
        vmon = StateMonitor(group, "v", record=True)
        objs.append(vmon)
    Network(*objs).run(n_rep * s["T"] * ms)
    hit = np.zeros((n_rep, P), bool)
    hit[(mon.t / ms // s["T"]).astype(int), mon.i[:]] = True
    return hit.mean(axis=0), vmon


def compare(result, n_test, n_shuffle=10, n_random=10):
    """{kind: (response rate through the initial delays, through the learned delays)} for the pattern,
    `n_shuffle` shuffles of it and `n_random` new patterns, each shown `n_test` times."""
    s, rng, pattern = result["settings"], result["rng"], result["pattern"]
    n = int(s["n_inputs"])
    tests = {"pattern": [pattern],
             "shuffled pattern": [rng.permutation(pattern) for _ in range(n_shuffle)],
             "random pattern": [rng.uniform(0, s["span"], n) for _ in range(n_random)]}
    pats = [p for group in tests.values() for p in group]
    initial = np.full(n, s["d0"])
    rates, _ = present(s, pats + pats, [initial] * len(pats) + [result["learned"]] * len(pats), n_test, rng)
    before, after = rates[:len(pats)], rates[len(pats):]
    rows, i = {}, 0
    for name, group in tests.items():
        sl = slice(i, i + len(group))
        i += len(group)
        rows[name] = (float(before[sl].mean()), float(after[sl].mean()))
    return rows
