"""Smooth exact gradient descent with QIF / theta neurons (Klos & Memmesheimer, PRL 134, 027301 (2025)):
the concept, a single neuron and a recurrent network (the MNIST theta network: experiments.smooth_mnist).

Claim: when spikes come from a finite-time blow-up, they can appear or vanish only at the trial
end, so spike times and the loss change continuously; pseudospikes (the dynamics continued past
T) give gradients that add and remove spikes and reach silent neurons.

(a) `concept`: spike time and dt/dw against w for one QIF neuron (tau_m = 1, tau_s = 1/2) and one LIF
    neuron (tau_m = 1, tau_s = 1/2, threshold 1), one input at t = 0.5, T = 4 (units of tau_m).
(b) `single_neuron`: one QIF neuron, 22 inputs (20 fixed: times U(0, T), weights N(0, 1); 2 trained
    in weight and time from w = 0, t = 1 and 9), T = 10, targets 2.5 and 7.5, loss
    mean((t_n - target_n)^2) over the first two output spikes (ordinary or pseudo), SGD lr 0.1 on
    gradients clipped elementwise to +-0.02, input times kept in [0, T] (reference settings).
    The neuron is run on its closed-form event map (models.qif_analytic, checked against the Brian2
    integration in the tests); `single_neuron` re-simulates the final state in Brian2.
(c) `recurrent_network`: 10 recurrent QIF neurons (tau_m = 1, tau_s = 1/2, no self-connections), each
    driven by its own excitatory (+5) and inhibitory (-5) Poisson input train (rate 1/tau_m each), T = 10;
    trained: recurrent weights (from 0) and initial states V0, I0 (from 0), so that neurons 0 and 1
    emit Poisson target trains of rates 1 and 1/2 (ISIs Exp(rate) + 1 after the first, as in the
    reference), loss learning_rules.smooth_recurrent.spike_train_loss; AdaBelief lr 1e-2 decaying as
    exp(-trial / 2000), 10,000 trials. As in the reference, inputs and targets are drawn once (seed 7)
    and fixed over the trials. Gradients: exact complex-step forward mode through the closed-form
    event run; the network also runs in Brian2 (every trial with simulator='brian2', or every
    `check_every` trials with 'replay') and the two are compared.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..learning_rules.optimizers import SGD, AdaBelief, ExponentialLR
from ..learning_rules.smooth_gradient import QIFSmoothGradient
from ..learning_rules.smooth_recurrent import RecurrentQIFSmoothGradient
from ..models import LIF
from ..models.lif_analytic import closed_form_gradients, first_spike_time
from ..models.qif import QIF, simulate_qif
from ..models.qif_network import RecurrentQIFNetwork

__all__ = ["concept", "single_neuron", "recurrent_network", "recurrent_setup", "plot_recurrent", "RECURRENT_DEFAULTS"]


# ---- (a) concept ------------------------------------------------------------------------------------
def concept(weights, t_in=0.5, T=4.0):
    """QIF and LIF first spike time (QIF: ordinary or pseudo) and dt/dw for each input weight w.

    Returns a dict of arrays: w, qif_t, qif_dtdw, qif_pseudo (bool), lif_t (inf: no spike in [0, T]),
    lif_dtdw (nan where silent).
    """
    w = np.asarray(weights, dtype=float)
    rule = QIFSmoothGradient(QIF())
    qt, qd, qp = [], [], []
    for wk in w:
        t, pseudo, J = rule.jacobian(0.0, 0.0, [t_in], [wk], T, 1, [("weight", 0)])
        qt.append(t[0])
        qd.append(J[0, 0])
        qp.append(pseudo[0])
    # LIF with tau_s = tau_m / 2 (closed form): times in units of tau_s, threshold reached by g_l = 1
    lif = LIF(tau_s=0.5 * ms, tau_m=1 * ms)
    lt, ld = [], []
    for wk in w:
        ts = first_spike_time(lif, np.array([2 * t_in]), np.array([wk]), t_max=2 * T) if wk > 0 else np.inf
        lt.append(ts / 2)
        if np.isfinite(ts):
            dw, _ = closed_form_gradients(lif, ts, np.array([2 * t_in]), np.array([wk]))
            ld.append(np.ravel(dw)[0] / 2)
        else:
            ld.append(np.nan)
    return dict(w=w, qif_t=np.array(qt), qif_dtdw=np.array(qd), qif_pseudo=np.array(qp), lif_t=np.array(lt),
                lif_dtdw=np.array(ld), T=T, lif_weight_unit="nA on g_l = 0.5 uS, threshold 1 mV")


# ---- (b) single QIF neuron ----------------------------------------------------------------------------
def single_neuron(n_trials=3000, seed=0, T=10.0, targets=(2.5, 7.5), lr=0.1, clip=0.02, check_brian2=True,
                  brian2_target="numpy"):
    """Train the weights and times of 2 of 22 inputs so that the first two output spikes hit the targets.

    Returns a dict: history of output times, loss, trained parameters; final distances to the targets;
    and (check_brian2) the output spike times of the final state simulated in Brian2.
    """
    rng = np.random.default_rng(seed)
    n_fixed = 20
    times = np.r_[1.0, 9.0, rng.uniform(0, T, n_fixed)]
    weights = np.r_[0.0, 0.0, rng.normal(size=n_fixed)]
    targets = np.asarray(targets, dtype=float)
    rule = QIFSmoothGradient(QIF())
    trainable = [("weight", 0), ("weight", 1), ("time", 0), ("time", 1)]
    opt = SGD(lr)
    hist_t, hist_loss, hist_p = [], [], []
    for _ in range(int(n_trials)):
        t_out, pseudo, J = rule.jacobian(0.0, 0.0, times, weights, T, len(targets), trainable)
        err = t_out - targets
        hist_t.append(t_out)
        hist_loss.append(np.mean(err ** 2))
        hist_p.append(np.r_[weights[:2], times[:2]])
        grad = np.clip(J @ (2 * err / len(targets)), -clip, clip)
        params = [{"w": weights[:2].copy(), "t": times[:2].copy()}]
        opt.step(params, [{"w": grad[:2], "t": grad[2:]}])
        weights[:2], times[:2] = params[0]["w"], np.clip(params[0]["t"], 0.0, T)
    t_final, pseudo, _ = rule.jacobian(0.0, 0.0, times, weights, T, len(targets), trainable[:1])
    out = dict(t_out=np.array(hist_t), loss=np.array(hist_loss), params=np.array(hist_p), targets=targets,
               final_t=t_final, final_pseudo=pseudo, final_distance=np.abs(t_final - targets),
               input_times=times.copy(), input_weights=weights.copy(), T=T)
    if check_brian2:
        spikes, _, _ = simulate_qif(QIF(), times[None], weights[None], duration=T * ms, dt=1e-3 * ms,
                                    target=brian2_target)
        out["brian2_spikes"] = spikes[0]
    return out


# ---- (c) recurrent QIF network --------------------------------------------------------------------------
RECURRENT_DEFAULTS = dict(n_neurons=10, T=10.0, w_exc=5.0, w_inh=-5.0, input_rate=1.0, target_rates=(1.0, 0.5),
                          dead_time=1.0, lr=1e-2, tau_lr=2000.0, alpha=10.0, dt=1e-3, tol=0.05)


def _rate(name, value):
    if hasattr(value, "dim"):
        raise ValueError(f"{name} must be a plain number in units of 1/tau_m, not a quantity ({value!r})")
    v = float(value)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite rate >= 0 (units of 1/tau_m), got {value!r}")
    return v


def _poisson(rng, rate, T, dead_time=0.0):
    """Poisson spike times in [0, T) (ISIs Exp(rate), plus dead_time after the first spike)."""
    if rate == 0:
        return np.zeros(0)
    isi = rng.exponential(1.0 / rate, int(5 * T * rate) + 20)
    isi[1:] += dead_time
    t = np.cumsum(isi)
    return t[t < T]


def recurrent_setup(seed=7, target="cython", batch_size=1, **overrides):
    """The network (inputs drawn with seed), the target trains and the gradient rule of task (c)."""
    unknown = set(overrides) - set(RECURRENT_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(RECURRENT_DEFAULTS)}")
    cfg = dict(RECURRENT_DEFAULTS, **overrides)
    r_in = _rate("input_rate", cfg["input_rate"])
    rates = [_rate(f"target_rates[{i}]", r) for i, r in enumerate(cfg["target_rates"])]
    for name in ("w_exc", "w_inh", "T", "dt", "lr", "tau_lr", "dead_time"):
        if hasattr(cfg[name], "dim") or not np.isfinite(float(cfg[name])):
            raise ValueError(f"{name} must be a finite plain number (units of tau_m), got {cfg[name]!r}")
    rng = np.random.default_rng(seed)
    N, T = int(cfg["n_neurons"]), float(cfg["T"])
    trains = [(_poisson(rng, r_in, T), i, w) for w in (cfg["w_exc"], cfg["w_inh"]) for i in range(N)]
    times = np.concatenate([t for t, _, _ in trains])
    neurons = np.concatenate([np.full(len(t), i) for t, i, _ in trains])
    weights = np.concatenate([np.full(len(t), float(w)) for t, _, w in trains])
    targets = [_poisson(rng, r, T, cfg["dead_time"]) for r in rates]
    net = RecurrentQIFNetwork(N, times, neurons, weights, duration=T * ms, model=QIF(1 * ms), dt=cfg["dt"] * ms,
                              batch_size=batch_size, target=target)
    return net, targets, RecurrentQIFSmoothGradient(net, targets, alpha=cfg["alpha"]), cfg


def _matched(rule, record, tol):
    """Target spikes hit within tol by the ordinary spike of the same rank; surplus ordinary spikes."""
    t, pseudo = rule.output_times(record, rule.net.params[0]["w"])
    hit = surplus = 0
    for i, K in enumerate(rule.n_per - 1):
        hit += int(np.sum(~pseudo[0, i, :K] & (np.abs(t[0, i, :K] - rule.S[i, :K]) < tol)))
        surplus += int(max(record.counts[0, rule.target_neurons[i]] - K, 0))
    return hit, surplus


def _compare(a, b):
    """Max |spike time difference| between two records (inf if the spike counts differ)."""
    if not np.array_equal(a.counts, b.counts):
        return np.inf
    fin = np.isfinite(a.spikes)
    return float(np.abs(a.spikes[fin] - b.spikes[fin]).max(initial=0.0))


def recurrent_network(n_trials=10000, seed=7, simulator="replay", check_every=0, target="cython", progress=None,
                      max_seconds=None, **overrides):
    """Train task (c); returns a dict with the loss per trial, Brian2 rasters before and after, targets,
    matched target spikes (within cfg tol, ordinary spikes of the same rank) and the Brian2 / replay
    agreement. simulator: 'brian2' (Brian2 run every trial, compared with the exact replay that gives the
    gradient) or 'replay' (Brian2 every check_every trials, and before / after). max_seconds: stop
    early (the result says how many trials ran).
    """
    if simulator not in ("brian2", "replay"):
        raise ValueError(f"simulator must be 'brian2' or 'replay', got {simulator!r}")
    net, targets, rule, cfg = recurrent_setup(seed, target, **overrides)
    opt = AdaBelief(cfg["lr"])
    sched = ExponentialLR(opt, cfg["tau_lr"])
    p = net.params[0]
    before = net.simulate()
    losses, dev = [], 0.0
    t0 = time.perf_counter()
    for k in range(int(n_trials)):
        L, g, rec = rule.loss_and_grad()
        losses.append(L)
        if simulator == "brian2" or (check_every and k % check_every == 0):
            dev = max(dev, _compare(net.simulate(), rec))
        opt.step(net.params, [g])
        sched.step()
        p["w"][~net.mask] = 0.0
        if progress:
            progress(k, L)
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            break
    seconds = time.perf_counter() - t0
    L_final, _, rec = rule.loss_and_grad()
    after = net.simulate()
    dev = max(dev, _compare(after, rec))
    hit, surplus = _matched(rule, after, cfg["tol"])
    return dict(loss=np.array(losses), initial_loss=losses[0] if losses else L_final, final_loss=L_final,
                final_loss_brian2=float(rule.loss(after)[0]), trials=len(losses), seconds=seconds,
                raster_before=before, raster_after=after, targets=targets, target_neurons=rule.target_neurons,
                matched=hit, n_targets=int(sum(len(t) for t in targets)), surplus_spikes=surplus,
                brian2_max_deviation=dev, params={k2: v.copy() for k2, v in p.items()}, cfg=cfg, seed=seed,
                simulator=simulator)


def plot_recurrent(res):
    """Loss per trial and the Brian2 rasters before / after training (targets marked); returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 1.2, 1.2]})
    ax = axes[0]
    ax.loglog(np.arange(1, len(res["loss"]) + 1), res["loss"], "k", lw=0.8)
    ax.set_xlabel("trial")
    ax.set_ylabel("loss")
    ax.set_title(f"loss ({res['trials']} trials)")
    T = res["cfg"]["T"]
    for ax, key, title in ((axes[1], "raster_before", "before"), (axes[2], "raster_after", "after")):
        rec = res[key]
        N = rec.counts.shape[1]
        for i in range(N):
            t = rec.spikes[0, i, :rec.counts[0, i]]
            tar = i in res["target_neurons"]
            ax.vlines(t, i + 0.05, i + 0.75, color=f"C{i}" if tar else "k", lw=1.5 if tar else 0.8)
        for i, s in zip(res["target_neurons"], res["targets"]):
            ax.plot(s, np.full(len(s), i + 0.9), "v", color="C4", ms=6, label="target" if i == 0 else None)
        ax.set_xlim(0, T)
        ax.set_ylim(-0.1, N + 0.2)
        ax.invert_yaxis()
        ax.set_xlabel("time (tau_m)")
        ax.set_ylabel("neuron")
        ax.set_title(f"Brian2 raster, {title} training")
    axes[2].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
