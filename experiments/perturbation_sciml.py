"""Spiking networks for scientific machine learning, trained by weight perturbation or exact gradients.

(About 470 lines: `SpikingSciML` is one model whose encodings, decodings, substrate and both gradient
paths share its network and task; `train` and `cosine_vs_K` are its two runs.)

Wan, Zhang & Karniadakis, "Randomized forward mode gradient for spiking neural networks in
scientific machine learning", arXiv 2411.07057. A TTFS LIF network (models.lif, tau_m = 2 tau_s)
maps a point x in R^d to a real value u(x); a task (experiments.sciml_tasks) turns u on a grid into
a loss. The same network and loss are trained two ways:

- `gradient="perturbation"`: learning_rules.perturbation, the clean parameters and their 2K
  perturbed copies, times every grid point, are batch copies of ONE Brian2 run (per-copy weight
  offsets, LayeredNetwork.set_copy_offsets);
- `gradient="exact"`: learning_rules.spike_time_gradient (exact event-based dT/dw), chained through
  the decoder and the finite-difference loss: dL/dtheta = sum_p dL/du_p du_p/dtheta.

Input encoding (`encode=`). Each coordinate z in [lo, hi] becomes s = (z - lo) / (hi - lo) in [0, 1]
and two input channels, s and 1 - s (so both encodings have the same parameters):
- 'ttfs' (default): two input spikes, at t = 0.15 + 1.85 s and t = 0.15 + 1.85 (1 - s) (tau_s
  units; the Yin-Yang encoding, datasets.ttfs_linear);
- 'current': two constant input currents, proportional to s and to 1 - s: hidden neuron j of the
  first layer receives I_ext_j = w_sj s + w_cj (1 - s) (weight units, nA) for the whole trial
  (models.lif's I_ext term; models.network `input_currents=True`). The input weights w_sj, w_cj
  are trained and perturbed like the other weights. The output is continuous in s (a neuron with
  I_ext above the rheobase g_l (v_th - E_l) fires at -tau_m ln(1 - rheobase / I_ext) without any
  input spike), except, as with TTFS inputs, where a potential touches the threshold and the first
  spike jumps. Exact spike-time gradients do not model the currents, so 'current'
  trains with `gradient="perturbation"` only (a forward-only rule needs nothing more).
Either way every layer also gets one bias spike at 0.9 tau_s.

Output decoding (`decode=`):
- 'membrane': a non-spiking readout neuron (same LIF dynamics, no threshold) read at the trial end
  T_r; its potential is, exactly (models.lif),
      u = c + sum_j a_j k(T_r - t_j - D),     k(x) = exp(-x/2) - exp(-x)   (tau_m = 2 tau_s)
  over the hidden spikes t_j that arrived (after the latency D) before T_r; a_j, c are trained.
  The readout is evaluated in closed form from the recorded hidden spike times (it is linear in
  the PSPs, so no simulation is needed for it); du/da_j = k(.), du/dt_j = -a_j k'(.).
- 'spike_time': two spiking output neurons, u = s_out (T_1 - T_0) (a spike-time difference,
  s_out = 1 / tau_s by default); a silent output counts as firing at the trial end and passes
  no gradient.

Parameters theta (flat): the weights of every projection (LayeredNetwork order), then for
'membrane' the readout (a_1..a_H, c). The parameter blocks (one per layer) serve layer-wise
perturbation.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..datasets import ttfs_linear
from ..learning_rules import PerturbationGradient, SpikeTimeGradient, cosine_similarity
from ..models import LIF, LayeredNetwork
from .sciml_tasks import make_task

__all__ = ["SpikingSciML", "train", "lr_factor", "input_channels", "DECODERS", "ENCODINGS", "FORMS"]

DECODERS = ("membrane", "spike_time")
ENCODINGS = ("ttfs", "current")
FORMS = ("loss", "outputs", "outputs_unswitched")


def input_channels(domain, points):
    """(s, 1 - s) per coordinate: (n, 2 d) for points (n, d) inside `domain` ((lo, hi) per dimension),
    s = (z - lo) / (hi - lo) in [0, 1]."""
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(domain):
        raise ValueError(f"points must have shape (n, {len(domain)}), got {p.shape}")
    lo, hi = np.array(domain).T
    s = (p - lo) / (hi - lo)
    if np.any(s < -1e-12) or np.any(s > 1 + 1e-12):
        raise ValueError(f"points must lie inside the domain {domain}")
    s = np.clip(s, 0.0, 1.0)
    return np.concatenate([s, 1 - s], axis=1)


class SpikingSciML:
    """A TTFS network with a real-valued decoder, and a batched substrate for weight perturbation.

    Parameters
    ----------
    domain : sequence of (lo, hi), one per input dimension
    hidden : int or sequence of int, hidden LIF layer sizes
    decode : 'membrane' or 'spike_time' (see the module docstring)
    encode : 'ttfs' (input spike times) or 'current' (constant input currents), see the module docstring
    n_points : int, grid points per forward evaluation (the task's points)
    n_rows : int, parameter vectors per perturbation run (PerturbationGradient.n_rows())
    dt, duration : floats in tau_s (duration is also the readout time T_r)
    weight_init : per projection (mean, std) in weight units (default N(2, 2): with two input spikes
                  and a bias most hidden neurons fire for every x, so u(x) is smooth)
    seed : int;  target : Brian2 code-generation target
    simulator : 'brian2' (default) or 'replay' (models.lif_replay: the exact closed-form event forward,
                no Brian2 run; 'ttfs' inputs only). Every forward run, clean or perturbed, uses it.
    Only weights (and the readout) are trained; delays stay at the latency.
    """

    def __init__(self, domain, hidden=30, decode="membrane", n_points=33, n_rows=1, dt=0.01, duration=3.0,
                 seed=0, target="cython", weight_init=((2.0, 2.0),), out_scale=1.0, encode="ttfs",
                 simulator="brian2"):
        if decode not in DECODERS:
            raise ValueError(f"decode must be one of {DECODERS}, got {decode!r}")
        if encode not in ENCODINGS:
            raise ValueError(f"encode must be one of {ENCODINGS} (input spike times or constant input "
                             f"currents), got {encode!r}")
        self.encoding = encode
        self.domain = [tuple(map(float, d)) for d in domain]
        if not self.domain or any(not hi > lo for lo, hi in self.domain):
            raise ValueError(f"domain must be a non-empty list of (lo, hi) with hi > lo, got {domain!r}")
        self.decode = decode
        hidden = [int(hidden)] if np.isscalar(hidden) else [int(h) for h in hidden]
        layers = hidden + ([2] if decode == "spike_time" else [])
        tau_s = 5 * ms
        model = LIF(tau_s=tau_s, tau_m=2 * tau_s)
        kw = dict(model=model, n_bias=1, bias_times=0.9 * tau_s, weight_init=weight_init, dt=dt * tau_s,
                  duration=duration * tau_s, seed=seed, target=target, input_currents=encode == "current",
                  simulator=simulator)
        n_in = 2 * len(self.domain)
        self.n_points, self.n_rows = int(n_points), int(n_rows)
        self.net = LayeredNetwork(n_in, layers, batch_size=self.n_points, **kw)
        self._net_args = (n_in, layers, kw)
        self._batched = None
        self.out_scale = float(out_scale)
        rng = np.random.default_rng(seed + 1)
        H = hidden[-1]
        self.readout = (np.concatenate([rng.standard_normal(H) / np.sqrt(H), [0.0]])
                        if decode == "membrane" else np.zeros(0))
        self.grad_rule = SpikeTimeGradient(model)
        self.forward_runs = 0

    @property
    def batched(self):
        """The network of n_rows x n_points batch copies (built on first use; shares `net.params`)."""
        if self._batched is None or self._batched.batch_size != self.n_points * self.n_rows:
            n_in, layers, kw = self._net_args
            self._batched = LayeredNetwork(n_in, layers, batch_size=self.n_points * self.n_rows, **kw)
            self._batched.params = self.net.params          # one set of master parameters
        return self._batched

    def use(self, estimator):
        """Size the batched network for one estimate of `estimator` (its n_rows for these blocks)."""
        self.n_rows = estimator.n_rows(self.blocks)
        return self

    # ---- parameters --------------------------------------------------------------------
    @property
    def blocks(self):
        sizes = [p["w"].size for p in self.net.params]
        return sizes + ([self.readout.size] if self.readout.size else [])

    @property
    def theta(self):
        return np.concatenate([p["w"].ravel() for p in self.net.params] + [self.readout])

    def set_theta(self, theta):
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (sum(self.blocks),) or not np.all(np.isfinite(theta)):
            raise ValueError(f"theta must be {sum(self.blocks)} finite values, got shape {theta.shape}")
        o = 0
        for p in self.net.params:
            p["w"][...] = theta[o:o + p["w"].size].reshape(p["w"].shape)
            o += p["w"].size
        self.readout = theta[o:].copy()
        self.net.params_changed()
        if self._batched is not None:
            self._batched.params_changed()

    # ---- encoding and decoding ---------------------------------------------------------
    def encode(self, points):
        """The network inputs (n, 2 d) for points (n, d) inside the domain: spike times in tau_s
        ('ttfs') or the current channels (s, 1 - s) ('current')."""
        channels = input_channels(self.domain, points)
        return channels if self.encoding == "current" else ttfs_linear(channels)

    def _membrane_features(self, t_hidden):
        """k(T_r - t_j - D) and k'(.) for hidden spike times (n, H); zero for spikes that did not arrive."""
        x = self.net.duration - t_hidden - self.net.latency
        causal = np.isfinite(x) & (x > 0)
        xs = np.where(causal, x, 0.0)
        m = self.net.model
        return np.where(causal, m.kernel(xs), 0.0), np.where(causal, m.kernel_derivative(xs), 0.0)

    def decode_outputs(self, record_layers, readout):
        """u (n,) from the spike times of one copy's layers and its readout parameters."""
        if self.decode == "membrane":
            k, _ = self._membrane_features(record_layers[-1])
            return k @ readout[:-1] + readout[-1]
        T = np.where(np.isfinite(record_layers[-1]), record_layers[-1], self.net.duration)
        return self.out_scale * (T[:, 1] - T[:, 0])

    # ---- forward runs --------------------------------------------------------------------
    def predict(self, points):
        """u at any number of points with the clean parameters (one Brian2 run, in trials)."""
        layers = self.net.simulate(self.encode(points))
        self.forward_runs += 1
        return self.decode_outputs(layers, self.readout)

    def _check_points(self, points):
        x = self.encode(points)
        if len(x) != self.n_points:
            raise ValueError(f"the network was built for {self.n_points} points, got {len(x)}")
        return x

    def _load_stack(self, stack):
        """Per-copy weight offsets so that copy m * n_points + p runs parameter row m."""
        M, n_w = len(stack), self.net.n_weights
        if M > self.n_rows:
            raise ValueError(f"{M} parameter rows but the batched network holds {self.n_rows}; "
                             "call model.use(estimator) first")
        dw = np.zeros((self.n_rows, n_w))
        dw[:M] = stack[:, :n_w] - self.theta[:n_w]
        self.batched.set_copy_offsets(np.repeat(dw, self.n_points, axis=0))

    def _stack_outputs(self, layers, stack):
        """U (M, n_points) from the spike times of the batched copies."""
        n, n_w = self.n_points, self.net.n_weights
        return np.stack([self.decode_outputs([t[m * n:(m + 1) * n] for t in layers], stack[m, n_w:])
                         for m in range(len(stack))])

    def substrate(self, points):
        """The perturbation substrate for `points` (n_points of them): stack (M, n_theta) -> U (M, n).

        All M parameter vectors run as M x n_points batch copies of ONE Brian2 run; copy
        m * n_points + p gets the weights of row m (per-copy offsets from the master weights)."""
        x = self._check_points(points)

        def outputs(stack):
            self._load_stack(stack)
            layers = self.batched.simulate(np.tile(x, (len(stack), 1)))
            self.forward_runs += 1
            return self._stack_outputs(layers, stack)

        return outputs

    def switched(self, layers, n_dir, central=True):
        """(n_dir, n_points) bool: direction k changed the set of spiking neurons (any layer) at point p
        in its perturbed copy (either copy of a central pair), against the clean row 0. These are the
        outputs that may have jumped (PerturbationGradient.combine_outputs, keep = ~switched)."""
        n = self.n_points
        M = 1 + n_dir * (2 if central else 1)
        fired = np.concatenate([np.isfinite(t[:M * n]) for t in layers], axis=1).reshape(M, n, -1)
        changed = (fired[1:] != fired[:1]).any(axis=2)
        return changed[:n_dir] | changed[n_dir:] if central else changed

    def sequential_substrate(self, points):
        """The same map, one Brian2 run per parameter row (for the speed comparison)."""
        x = self.encode(points)

        def outputs(stack):
            keep = self.theta
            U = []
            for row in stack:
                self.set_theta(row)
                layers = self.net.simulate(x)
                self.forward_runs += 1
                U.append(self.decode_outputs(layers, self.readout))
            self.set_theta(keep)
            return np.stack(U)

        return outputs

    # ---- exact gradient --------------------------------------------------------------------
    def _exact_from_record(self, rec, dL_du):
        u = self.decode_outputs(rec.layers, self.readout)
        g_u = np.asarray(dL_du(u), dtype=float)
        if self.decode == "membrane":
            k, kp = self._membrane_features(rec.layers[-1])
            g_read = np.concatenate([g_u @ k, [g_u.sum()]])
            dL_dT = g_u[:, None] * (-self.readout[None, :-1] * kp)
        else:
            g_read = np.zeros(0)
            fired = np.isfinite(rec.layers[-1])
            dL_dT = self.out_scale * g_u[:, None] * np.array([-1.0, 1.0]) * fired
        grads, _ = self.grad_rule.backward(self.net, rec, dL_dT)
        return np.concatenate([g["w"].ravel() for g in grads] + [g_read]), u

    def _check_exact(self):
        if self.encoding != "ttfs":
            raise ValueError(f"exact gradients need encode='ttfs' (the spike-time gradient does not model "
                             f"constant input currents); got encode={self.encoding!r}: use "
                             "gradient='perturbation' or encode='ttfs'")

    def exact_gradient(self, points, dL_du):
        """(dL/dtheta, u): exact spike-time gradients chained through the decoder, one Brian2 run."""
        self._check_exact()
        out = {}
        self.net.run_trials(self._check_points(points), lambda k, rec: out.setdefault("rec", rec))
        self.forward_runs += 1
        return self._exact_from_record(out["rec"], dL_du)

    # ---- training: every step is one trial of ONE long Brian2 run ------------------------------
    def fit(self, task, steps, optimizer, estimator=None, callback=None, reject_factor=None, resample=None,
            form="loss"):
        """Train on `task` for `steps` steps; estimator=None: exact gradients, else weight perturbation.

        All steps are trials of one Brian2 run (models.network.run_trials): after each trial the
        gradient is computed from its record, the optimiser updates theta, and (perturbation) the
        next directions are loaded as per-copy offsets before the next trial starts.
        callback(step, loss) is called after each step. Returns the clean losses per step.

        reject_factor (perturbation only; None: off): a step whose clean loss comes out above
        reject_factor x the loss before it is undone (theta goes back, new directions are drawn).
        With TTFS a first spike can jump where a potential touches the threshold, and the PDE
        losses' finite differences (1/h^2) turn such a jump in u(x) into a large loss; the guard
        needs only the clean loss that every step measures anyway. `self.rejected_steps` counts them.

        resample (None or a numpy Generator): every step trains on new points, `task.resample(resample)`
        (experiments.sciml_tasks; regression tasks), drawn before the run starts.

        form (perturbation only; FORMS): 'loss' -- finite differences of the loss (PerturbationGradient.
        combine); 'outputs' -- finite differences of every output u_p chained with the task's dL/du at
        the clean outputs (combine_outputs; the forward-mode chain rule); 'outputs_unswitched' -- the
        same, leaving out at each point the directions whose perturbed copies changed the set of
        spiking neurons there (keep = ~switched), so that jumps of u where a first spike appears or
        vanishes do not enter. `self.switched_fraction` holds the fraction of (direction, point) pairs
        that switched at each step (output forms)."""
        if resample is None:
            tasks, xs = [task] * steps, [self._check_points(task.points)] * steps
        else:
            tasks = [task.resample(resample) for _ in range(steps)]
            xs = [self._check_points(t.points) for t in tasks]
        losses = []

        def update(g):
            theta = self.theta
            optimizer.step([{"w": theta}], [{"w": g}])
            self.set_theta(theta)

        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if form != "loss" and estimator is None:
            raise ValueError(f"form={form!r} applies to weight perturbation (pass an estimator); the exact "
                             "gradient has no form to choose: drop form or pass an estimator")
        if estimator is None:
            self._check_exact()

            def on_trial(k, rec):
                g, u = self._exact_from_record(rec, tasks[k].grad)
                losses.append(float(tasks[k].loss(u)[0]))
                update(g)
                if callback is not None:
                    callback(k, losses[-1])

            self.net.run_trials(np.concatenate(xs), on_trial)
        else:
            self.use(estimator)
            state = {}
            self.rejected_steps, self.switched_fraction = 0, []
            central = estimator.mode == "central"

            def draw():
                state["V"] = estimator.directions(self.theta.size, self.blocks)
                state["stack"] = estimator.stack(self.theta, state["V"])
                self._load_stack(state["stack"])

            def estimate(k, rec, U):
                if form == "loss":
                    return estimator.combine(tasks[k].loss(U), state["V"])
                switched = self.switched(rec.layers, len(state["V"]), central)
                self.switched_fraction.append(float(switched.mean()))
                keep = ~switched if form == "outputs_unswitched" else None
                return estimator.combine_outputs(U, state["V"], tasks[k].grad(U[0]), keep=keep)

            def on_trial(k, rec):
                U = self._stack_outputs(rec.layers, state["stack"])
                L = tasks[k].loss(U)
                if not np.all(np.isfinite(L)):
                    raise FloatingPointError("non-finite loss in a perturbed copy; lower eps")
                losses.append(float(L[0]))
                if reject_factor is not None and "loss_before" in state and L[0] > reject_factor * state["loss_before"]:
                    self.set_theta(state["theta_before"])
                    self.rejected_steps += 1
                else:
                    state["theta_before"], state["loss_before"] = self.theta, float(L[0])
                    update(estimate(k, rec, U))
                draw()
                if callback is not None:
                    callback(k, losses[-1])

            draw()
            M = len(state["stack"])
            self.batched.run_trials(np.concatenate([np.tile(x, (M, 1)) for x in xs]), on_trial)
        self.forward_runs += steps
        return losses


def lr_factor(step, steps, lr_final=1.0, lr_hold=0.0):
    """The learning-rate factor after step `step` (0-based) of `steps`: 1 for the first lr_hold
    fraction of the steps, then an exponential decay that reaches lr_final at the last step."""
    return lr_final ** max(0.0, ((step + 1) / steps - lr_hold) / (1 - lr_hold))


def train(task="regression_x2", gradient="perturbation", steps=500, lr=0.05, lr_final=0.05, K=8, eps=1e-2,
          distribution="gaussian", layerwise=True, hidden=30, decode="membrane", n=None, seed=0,
          dt=0.01, target="cython", log_every=0, encode="ttfs", weight_init=((2.0, 2.0),), lr_hold=0.0,
          reject_factor=None, resample=False, simulator="brian2", form="loss"):
    """Train one task with Adam; returns a dict with the relative L2 error, forward runs, seconds, losses.

    The learning rate stays at lr for the first `lr_hold` fraction of the steps, then decays
    exponentially to lr * lr_final at the last step (the perturbation estimate is noisy, so a constant
    rate leaves an error floor proportional to it). `encode`: 'ttfs' or 'current' (SpikingSciML).
    `reject_factor`: undo perturbation steps that raise the clean loss by more than this factor
    (SpikingSciML.fit); the result's "rejected_steps" counts them. `resample`: new training points
    in every grid cell at every step (regression tasks; experiments.sciml_tasks, Task.resample).
    `simulator`: 'brian2' or 'replay' (SpikingSciML). `form`: how the perturbation estimate is formed
    (SpikingSciML.fit: 'loss', 'outputs', 'outputs_unswitched'); the result's "switched_fraction" is the
    mean fraction of (direction, point) pairs whose copies changed a spike (output forms; else None)."""
    from .sciml_training import SciMLTrainer   # the epoch loop builds on this module

    trainer = SciMLTrainer(task, gradient=gradient, steps=steps, steps_per_epoch=steps, lr=lr, lr_final=lr_final,
                           lr_hold=lr_hold, K=K, eps=eps, distribution=distribution, layerwise=layerwise, n=n,
                           reject_factor=reject_factor, resample=resample, form=form, seed=seed, hidden=hidden,
                           decode=decode, dt=dt, target=target, encode=encode, weight_init=weight_init,
                           simulator=simulator)
    log = None
    if log_every:
        log = lambda line: print(f"{task} {gradient}: {line}", flush=True)   # noqa: E731
        trainer.log_every = int(log_every)
    t0 = time.perf_counter()
    trainer.fit(1, log=log)
    seconds = time.perf_counter() - t0
    row, model = trainer.history[-1], trainer.model
    return dict(task=task, gradient=gradient, rel_l2=row["rel_l2"], losses=row["losses"],
                forward_runs=row["forward_runs"], seconds=seconds, model=model, task_obj=trainer.task,
                u_eval=trainer.u_eval, rejected_steps=row["rejected_steps"],
                switched_fraction=float(np.mean(model.switched_fraction)) if getattr(model, "switched_fraction", None)
                else None)

def cosine_vs_K(task="poisson_sin", Ks=(1, 2, 4, 8, 16, 32, 64), repeats=5, eps=1e-3, hidden=30, n=None,
                distribution="gaussian", layerwise=False, seed=0, target="cython", simulator="brian2", model=None):
    """Cosine similarity of the perturbation estimate to the exact gradient, per K (mean, std over repeats).

    At the initial parameters of the TTFS network on `task` -- or of `model`, any substrate with
    `exact_gradient`, `substrate`, `use`, `theta` and `blocks` for the task's points (e.g.
    experiments.perturbation_qif.QIFSciML); every estimate is one batched Brian2 run."""
    tk = make_task(task, n)
    if model is None:
        model = SpikingSciML(tk.domain, hidden=hidden, n_points=len(tk.points), seed=seed, target=target,
                             simulator=simulator)
    model.use(PerturbationGradient(K=max(Ks), layerwise=layerwise))
    g, _ = model.exact_gradient(tk.points, tk.grad)
    sub = model.substrate(tk.points)
    out = {}
    for K in Ks:
        est = PerturbationGradient(K=K, eps=eps, distribution=distribution, layerwise=layerwise, seed=seed + K)
        c = [cosine_similarity(est.estimate(lambda s: tk.loss(sub(s)), model.theta, blocks=model.blocks)[0], g)
             for _ in range(repeats)]
        out[str(K)] = dict(mean=float(np.mean(c)), std=float(np.std(c)), repeats=repeats)
    return out
