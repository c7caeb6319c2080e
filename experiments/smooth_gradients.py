"""Smooth exact gradient descent with QIF / theta neurons (Klos & Memmesheimer, PRL 134, 027301 (2025)).

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
(d) `SmoothMNIST`: theta neurons (tau = 6/pi, I0 = 5/4, Theta = 6, T = 2; times in ms as the unit),
    784-100-100-10, weights U(+-0.5 / sqrt(fan_in)), trainable initial phases from Theta/2 (silent
    network), binarised TTFS input (pixel >= 128 spikes at T ln(1/0.99)), loss
    -log softmax(-t)_label + 0.01 (exp(t_label / T) - 1) on the first output spike (ordinary or pseudo),
    AdaBelief lr 4e-3 decaying as exp(-step / (100 epochs)), batch 1000, initial phases clipped
    to [0, Theta], and, as regularisation during training only, each binary input pixel of a
    training batch flipped (spiking <-> silent) with probability p_flip = 0.02 (reference settings:
    the configuration of the reference's MNIST notebook, whose 10 networks gave 97.3 %).
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..training.loop import EpochLoop
from ..datasets import load_idx_dataset
from ..learning_rules.optimizers import SGD, AdaBelief, ExponentialLR
from ..learning_rules.smooth_gradient import QIFSmoothGradient, SmoothGradient, smooth_mnist_loss
from ..learning_rules.smooth_recurrent import RecurrentQIFSmoothGradient
from ..models import LIF
from ..models.lif_analytic import closed_form_gradients, first_spike_time
from ..models.qif import QIF, simulate_qif
from ..models.qif_network import RecurrentQIFNetwork
from ..models.theta_network import ThetaNetwork

__all__ = ["concept", "single_neuron", "recurrent_network", "recurrent_setup", "plot_recurrent", "RECURRENT_DEFAULTS",
           "mnist_data", "mnist_input_time", "flip_inputs", "SmoothMNIST", "MNIST_DEFAULTS"]


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


# ---- (d) MNIST ------------------------------------------------------------------------------------------
MNIST_DEFAULTS = dict(hidden=100, n_hidden_layers=2, T=2.0, lr=4e-3, tau_lr_epochs=100.0, batch_size=1000,
                      batch_copies=500, dt=0.05, beta=0.01, weight_scale=0.5, phi0=0.5, p_flip=0.02)


def mnist_input_time(T=2.0):
    """The one input spike time of a bright pixel: T ln(1/0.99) (a LIF neuron's first spike under
    a constant input, as in the reference)."""
    return T * np.log(1 / 0.99)


def _check_p_flip(p_flip):
    if not (isinstance(p_flip, (int, float)) and 0.0 <= p_flip <= 1.0):
        raise ValueError(f"p_flip must be a probability in [0, 1] (the reference uses 0.02; 0 turns "
                         f"input flipping off), got {p_flip!r}")


def flip_inputs(x, p_flip, rng, T=2.0):
    """Binary TTFS inputs with each pixel flipped with probability p_flip: a spiking pixel falls
    silent (inf), a silent one spikes at `mnist_input_time(T)` (the reference's training-time
    regularisation). Returns a new array; x is left alone."""
    _check_p_flip(p_flip)
    if p_flip == 0.0:
        return x
    flip = rng.random(x.shape) < p_flip
    return np.where(flip, np.where(np.isfinite(x), np.inf, mnist_input_time(T)), x)


def mnist_data(data_dir=None, n_train=None, n_test=None, T=2.0, download=True):
    """Binarised TTFS inputs: pixel >= 128 spikes at T ln(1/0.99), others silent. ((x, y), (x, y))."""
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_idx_dataset("mnist", split, data_dir=data_dir, download=download)
        if n is not None:
            images, labels = images[:n], labels[:n]
        flat = images.reshape(len(images), -1)
        out.append((np.where(flat >= 128, mnist_input_time(T), np.inf), labels.astype(int)))
    return out


class SmoothMNIST(EpochLoop):
    """The MNIST theta network, its AdaBelief optimiser and the smooth gradient rule.

    simulator: 'brian2' (forward run in Brian2, the rule replays the recorded input spikes) or 'replay'
    (the rule's exact event-based numpy replay alone, no Brian2). Both train on the replayed times,
    which are exact; tests measure how closely the Brian2 run agrees.
    """

    def __init__(self, seed=0, simulator="brian2", target="cython", n_batches_per_epoch=60, callbacks=(), **overrides):
        unknown = set(overrides) - set(MNIST_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(MNIST_DEFAULTS)}")
        if simulator not in ("brian2", "replay"):
            raise ValueError(f"simulator must be 'brian2' or 'replay', got {simulator!r}")
        cfg = self.cfg = dict(MNIST_DEFAULTS, **overrides)
        _check_p_flip(cfg["p_flip"])
        self.simulator = simulator
        self.net = ThetaNetwork(784, [cfg["hidden"]] * cfg["n_hidden_layers"] + [10], duration=cfg["T"] * ms,
                                dt=cfg["dt"] * ms, batch_size=min(cfg["batch_copies"], cfg["batch_size"]),
                                weight_scale=cfg["weight_scale"], phi0=cfg["phi0"], seed=seed, target=target,
                                input_levels=1)
        self.rule = SmoothGradient(self.net.model)
        self.opt = AdaBelief(cfg["lr"])
        self.schedule = ExponentialLR(self.opt, cfg["tau_lr_epochs"] * n_batches_per_epoch)
        self._init_loop(seed, callbacks)   # history: history[0] is the test evaluation before training
        self._data = None
        self.timings = {"brian2": 0.0, "replay": 0.0, "backward": 0.0, "update": 0.0}

    def _trace(self, x):
        t0 = time.perf_counter()
        src = self.net.simulate(x) if self.simulator == "brian2" else x
        t1 = time.perf_counter()
        tr = self.rule.forward(self.net, src)
        t2 = time.perf_counter()
        self.timings["brian2"] += t1 - t0
        self.timings["replay"] += t2 - t1
        return tr

    def step(self, x, y):
        """One optimiser step on a batch; returns (mean loss, accuracy with pseudospikes)."""
        tr = self._trace(x)
        t_out, _ = tr.output_times(1)
        loss, g = smooth_mnist_loss(t_out[:, :, 0], y, self.net.T, self.cfg["beta"])
        t0 = time.perf_counter()
        grads, _ = self.rule.backward(self.net, tr, g[:, :, None] / len(y), input_grad=False)
        t1 = time.perf_counter()
        self.opt.step(self.net.params, grads)
        self.schedule.step()
        Theta = self.net.model.Theta
        for p in self.net.params:
            np.clip(p["phi0"], 0.0, Theta, out=p["phi0"])
        self.timings["backward"] += t1 - t0
        self.timings["update"] += time.perf_counter() - t1
        return float(loss.mean()), float(np.mean(np.argmin(t_out[:, :, 0], axis=1) == y))

    def train_epoch(self, x, y, progress=None):
        order = self.rng.permutation(len(x))
        bs = self.cfg["batch_size"]
        losses = []
        for i in range(0, len(x), bs):
            idx = order[i:i + bs]
            xb = flip_inputs(x[idx], self.cfg["p_flip"], self.rng, self.cfg["T"])
            losses.append(self.step(xb, y[idx])[0])
            if progress:
                progress(i // bs, losses[-1])
            self.batch_done(i // bs, len(idx))
        self.epoch += 1
        return float(np.mean(losses))

    def fit(self, train, test, epochs, checkpoint=None, log=print, progress=None, callbacks=()):
        """Train until `epochs` epochs are done in total (resumes from self.epoch, e.g. after `load`).
        history[0] is the test evaluation before training; each epoch adds its loss, seconds, their
        split (Brian2 / replay / backward / update) and the test evaluation. With `checkpoint` (a path)
        the state is saved after every epoch (training.loop.EpochLoop)."""
        self._data = (train, test, progress)
        try:
            return EpochLoop.fit(self, epochs, checkpoint=checkpoint, log=log, callbacks=callbacks)
        finally:
            self._data = None

    @property
    def n_train(self):
        return len(self._data[0][0]) if self._data else None

    def before_training(self, log):
        if not self.history:
            if log:
                log("evaluating the untrained network (the first run compiles the Brian2 code; later runs reuse it)")
            self.history.append(dict(epoch=0, **self.evaluate(*self._data[1])))
            if log:
                log(f"before training: {self.history[0]}")

    def run_epoch(self):
        train, test, progress = self._data
        self.timings = dict.fromkeys(self.timings, 0.0)
        t0 = time.perf_counter()
        loss = self.train_epoch(*train, progress=progress)
        secs = time.perf_counter() - t0
        return dict(epoch=self.epoch, train_loss=loss, epoch_seconds=secs, split=dict(self.timings),
                    **self.evaluate(*test))

    def describe(self, row):
        return (f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, test acc {row['acc_ordinary']:.4f} "
                f"(ordinary spikes) {row['acc_with_pseudo']:.4f} (with pseudospikes), hidden silent "
                f"{row['silent_fraction']:.3f} ({row['epoch_seconds']:.0f} s: {row['split']})")

    # ---- checkpoints (training.loop: atomic, exact resume) -------------------------------
    @property
    def params(self):
        return self.net.params

    @property
    def optimizer(self):
        return self.opt

    def state_meta(self):
        return {"lr_decay_steps": self.schedule.n}

    def load_meta(self, meta):
        self.schedule.n = int(meta["lr_decay_steps"])

    def config(self):
        return self.cfg

    def evaluate(self, x, y, chunk=1000):
        """Accuracy with ordinary spikes only (silent outputs at T) and with pseudospikes, loss, hidden
        activity: the fraction of hidden neurons silent on every sample and spikes per hidden neuron."""
        T = self.net.T
        correct_ord = correct_ps = 0
        loss = 0.0
        hidden = self.net.layer_sizes[:-1]
        ever = [np.zeros(n, bool) for n in hidden]
        n_spk = 0.0
        for i in range(0, len(x), chunk):
            xb, yb = x[i:i + chunk], y[i:i + chunk]
            tr = self._trace(xb)
            t_out, pseudo = tr.output_times(1)
            t1 = t_out[:, :, 0]
            lb, _ = smooth_mnist_loss(t1, yb, T, self.cfg["beta"])
            loss += lb.sum()
            correct_ps += int(np.sum(np.argmin(t1, axis=1) == yb))
            correct_ord += int(np.sum(np.argmin(np.where(pseudo[:, :, 0], T, t1), axis=1) == yb))
            for l in range(len(hidden)):
                c = tr.layers[l].counts
                ever[l] |= (c > 0).any(axis=0)
                n_spk += c.sum()
        n = len(x)
        return dict(acc_ordinary=correct_ord / n, acc_with_pseudo=correct_ps / n, loss=loss / n,
                    silent_fraction=float(1 - np.mean(np.concatenate(ever))),
                    hidden_spikes_per_neuron=float(n_spk / (n * sum(hidden))))
