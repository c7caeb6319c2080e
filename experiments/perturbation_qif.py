"""Weight perturbation on a QIF (theta-neuron) network: the same SciML tasks on another substrate.

learning_rules.perturbation needs only a substrate, stack (M, n) -> losses (M,); this module gives
one built on models.theta_network.ThetaNetwork (the QIF neuron in phase form, models.qif.ThetaNeuron)
instead of the LIF network of experiments.perturbation_sciml. Nothing of the rule changes.

Network: 2 d inputs -> H theta neurons -> linear readout.
- Input (TTFS): coordinate z in [lo, hi] -> s in [0, 1], two input spikes at t_lo + (t_hi - t_lo) s
  and t_lo + (t_hi - t_lo)(1 - s) (time unit of the model, ms by default). The default window
  (0.105, 1.005) keeps grid points off the dt grid: an input exactly on a step boundary falls into
  one step or the other depending on the rounding of the trial start, and the theta neuron's
  in-step handling then differs (measured: up to 1.1 in u between two runs of the same network at
  dt = 0.01 with the window (0.1, 1.0); none off the grid or at dt = 0.001).
- Hidden: theta neurons (tau = 6/pi, I0 = 5/4, Theta = 6), initial phase Theta / 2, trial T = 2.
- Readout: the unwrapped phase psi_j = n_spikes_j Theta + phi_j(T) of each hidden neuron is
  continuous in inputs and weights (a spike resets phi by Theta and adds one to the count); its
  advance over the free flow, (psi_j - phi0 - T) / Theta, is the feature, and u = a . feature + c.
- Parameters theta: the input weights (2 d x H, row-major), then (a_1..a_H, c); blocks: one per layer.

The substrate runs all M parameter rows x n points as batch copies of ONE Brian2 run: copy
m * n + p gets row m's input weights (ThetaNetwork copies are block-diagonal, so each copy's
synapses take their own weights).

Exact-gradient baseline (same network, same loss): the unwrapped phase psi_j is what the spikes do
not reset, so d psi_j / dw = d phi_j(T) / dw with the spike count held fixed -- the event adjoint
recursion of learning_rules.SmoothGradient (Klos & Memmesheimer 2025) started at
dL/dphi_j(T) = a_j (dL/du) / Theta and with no spike-time terms. psi is continuous in the weights
(a spike that moves past T adds Theta to n_spikes Theta as phi(T) drops by Theta), so this gradient
is smooth, unlike the LIF TTFS readout's.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from ..learning_rules import Adam, PerturbationGradient, SmoothGradient
from ..models.qif import ThetaNeuron
from ..models.theta_network import ThetaNetwork
from .perturbation_sciml import input_channels, lr_factor
from .sciml_tasks import make_task, rel_l2

__all__ = ["QIFSciML", "train_qif"]


class _PerCopyThetaNetwork(ThetaNetwork):
    """A ThetaNetwork whose batch copies take their own first-layer weights (`copy_weights`)."""

    copy_weights = None  # (batch_size, n_inputs, n_hidden) or None: the master weights everywhere

    def load_params(self):
        super().load_params()
        if self.copy_weights is not None:
            self.syn[0].w_[:] = self.copy_weights.ravel()


class QIFSciML:
    """Theta-neuron network mapping points of `domain` to u (see the module docstring).

    Parameters
    ----------
    domain : sequence of (lo, hi), one per input dimension
    hidden : int, theta neurons
    n_points : int, points per forward evaluation;  n_rows : int, parameter rows per batched run
    input_window : (t_lo, t_hi), input spike times in the model's time unit (inside the trial)
    weight_scale : input weights U(-a, a) / sqrt(2 d);  seed, dt, duration (Quantities), target
    """

    def __init__(self, domain, hidden=16, n_points=17, n_rows=1, input_window=(0.105, 1.005), weight_scale=3.0,
                 duration=2 * ms, dt=0.01 * ms, seed=0, target="cython"):
        self.domain = [tuple(map(float, d)) for d in domain]
        if not self.domain or any(not hi > lo for lo, hi in self.domain):
            raise ValueError(f"domain must be a non-empty list of (lo, hi) with hi > lo, got {domain!r}")
        self.model = ThetaNeuron()
        self.window = tuple(map(float, input_window))
        T = float(duration / self.model.time_unit)
        if not 0 <= self.window[0] < self.window[1] < T:
            raise ValueError(f"input_window must satisfy 0 <= t_lo < t_hi < the trial duration ({T}), "
                             f"got {input_window!r}")
        if int(hidden) != hidden or hidden < 1 or int(n_points) != n_points or n_points < 1:
            raise ValueError(f"hidden and n_points must be integers >= 1, got {hidden!r}, {n_points!r}")
        self.hidden, self.n_points, self.n_rows = int(hidden), int(n_points), int(n_rows)
        self._kw = dict(model=self.model, duration=duration, dt=dt, weight_scale=weight_scale, phi0=0.5,
                        seed=seed, target=target)
        self.net = ThetaNetwork(2 * len(self.domain), [self.hidden], batch_size=self.n_points, **self._kw)
        self._batched = None
        rng = np.random.default_rng(seed + 1)
        self.readout = np.concatenate([rng.standard_normal(self.hidden) / np.sqrt(self.hidden), [0.0]])
        self.forward_runs = 0

    # ---- parameters ----------------------------------------------------------------------------
    @property
    def blocks(self):
        return [self.net.params[0]["w"].size, self.readout.size]

    @property
    def theta(self):
        return np.concatenate([self.net.params[0]["w"].ravel(), self.readout])

    def set_theta(self, theta):
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (sum(self.blocks),) or not np.all(np.isfinite(theta)):
            raise ValueError(f"theta must be {sum(self.blocks)} finite values, got shape {theta.shape}")
        W = self.net.params[0]["w"]
        W[...] = theta[:W.size].reshape(W.shape)
        self.readout = theta[W.size:].copy()

    def use(self, estimator):
        """Size the batched network for one estimate of `estimator`."""
        self.n_rows = estimator.n_rows(self.blocks)
        return self

    # ---- encoding, decoding, runs --------------------------------------------------------------
    def encode(self, points):
        """Input spike times (n, 2 d) in the model's time unit for points (n, d) inside the domain."""
        t_lo, t_hi = self.window
        return t_lo + (t_hi - t_lo) * input_channels(self.domain, points)

    def features(self, record):
        """(psi - phi0 - T) / Theta per hidden neuron: the phase advance the inputs caused."""
        Theta = self.model.Theta
        psi = record.counts[1] * Theta + record.phi_T[1]
        return (psi - self.net.params[0]["phi0"] - self.net.T) / Theta

    def predict(self, points):
        rec = self.net.simulate(self.encode(points))
        self.forward_runs += 1
        return self.features(rec) @ self.readout[:-1] + self.readout[-1]

    def exact_gradient(self, points, dL_du):
        """(dL/dtheta, u) for the loss with output gradient dL_du(u): one Brian2 run of the points and
        the SmoothGradient adjoints on its record (see the module docstring)."""
        rec = self.net.simulate(self.encode(points))
        self.forward_runs += 1
        F = self.features(rec)
        a = self.readout[:-1]
        u = F @ a + self.readout[-1]
        g_u = np.asarray(dL_du(u), dtype=float)
        rule = SmoothGradient(self.model)
        trace = rule.forward(self.net, rec)
        no_spike_terms = np.zeros(F.shape + (1,))
        grads, _ = rule.backward(self.net, trace, no_spike_terms, input_grad=False,
                                 dL_dphiT=g_u[:, None] * a[None, :] / self.model.Theta)
        return np.concatenate([grads[0]["w"].ravel(), g_u @ F, [g_u.sum()]]), u

    @property
    def batched(self):
        if self._batched is None or self._batched.batch_size != self.n_points * self.n_rows:
            self._batched = _PerCopyThetaNetwork(2 * len(self.domain), [self.hidden],
                                                 batch_size=self.n_points * self.n_rows, **self._kw)
        self._batched.params = self.net.params   # one set of master parameters
        return self._batched

    def substrate(self, points):
        """stack (M, n_theta) -> U (M, n_points): the M rows x n points as batch copies of ONE run."""
        x = self.encode(points)
        if len(x) != self.n_points:
            raise ValueError(f"the network was built for {self.n_points} points, got {len(x)}")
        n_w = self.blocks[0]

        def outputs(stack):
            stack = np.asarray(stack, dtype=float)
            M = len(stack)
            if stack.ndim != 2 or stack.shape[1] != sum(self.blocks) or M > self.n_rows:
                raise ValueError(f"stack must have shape (<= {self.n_rows}, {sum(self.blocks)}), got "
                                 f"{stack.shape}; call model.use(estimator) first")
            net = self.batched
            W = np.repeat(stack[:, :n_w], self.n_points, axis=0)
            W = np.concatenate([W, np.repeat(W[:1], net.batch_size - len(W), axis=0)])  # unused copies
            net.copy_weights = W.reshape(net.batch_size, *self.net.params[0]["w"].shape)
            F = self.features(net.simulate(np.tile(x, (M, 1)))).reshape(M, self.n_points, self.hidden)
            self.forward_runs += 1
            return np.einsum("mph,mh->mp", F, stack[:, n_w:-1]) + stack[:, -1:]

        return outputs


def train_qif(task="regression_x2", steps=300, lr=0.05, lr_final=1.0, K=4, eps=1e-2, hidden=16, n=None, seed=0,
              log_every=0, target="cython", lr_hold=0.0, resample=False, gradient="perturbation"):
    """Train a QIFSciML network on a SciML task with Adam, by weight perturbation (gradient='perturbation')
    or with the exact smooth gradient (gradient='exact', QIFSciML.exact_gradient: the baseline of the
    same network and loss); returns a dict like experiments.perturbation_sciml.train (rel_l2 on the
    task's evaluation grid, losses, runs, seconds).

    `resample`: new training points at every step, one drawn uniformly in each grid cell
    (regression tasks; Task.resample, the same draws as the LIF substrate's `train(resample=True)`),
    so that the network learns the function between the grid points, not only at them."""
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if gradient not in ("perturbation", "exact"):
        raise ValueError(f"gradient must be 'perturbation' or 'exact', got {gradient!r}")
    if not (lr > 0 and 0 < lr_final <= 1 and 0 <= lr_hold < 1):
        raise ValueError(f"lr must be > 0, lr_final (the factor the rate decays to) in (0, 1] and lr_hold "
                         f"(the fraction of steps at the full rate) in [0, 1), got lr={lr!r}, "
                         f"lr_final={lr_final!r}, lr_hold={lr_hold!r}")
    tk = make_task(task, n)
    model = QIFSciML(tk.domain, hidden=hidden, n_points=len(tk.points), seed=seed, target=target)
    est = PerturbationGradient(K=K, eps=eps, layerwise=True, seed=seed)
    model.use(est)
    # every step's points, drawn before any run (a PDE task refuses to resample: its loss needs the grid)
    rng = np.random.default_rng((seed, 2))
    tasks = [tk.resample(rng) for _ in range(int(steps))] if resample else [tk] * int(steps)
    opt = Adam({"weights": lr})
    losses = []
    t0 = time.perf_counter()
    for step, tk_step in enumerate(tasks):
        theta = model.theta
        if gradient == "exact":
            g, u = model.exact_gradient(tk_step.points, tk_step.grad)
            loss = float(tk_step.loss(u)[0])
        else:
            sub = model.substrate(tk_step.points)
            g, loss = est.estimate(lambda s: tk_step.loss(sub(s)), theta, blocks=model.blocks)
        losses.append(loss)
        opt.scale = lr_factor(step, steps, lr_final, lr_hold)
        opt.step([{"w": theta}], [{"w": g}])
        model.set_theta(theta)
        if log_every and step % log_every == 0:
            print(f"{task} qif {gradient} step {step}: loss {loss:.4g}", flush=True)
    seconds = time.perf_counter() - t0
    u_eval = model.predict(tk.eval_points)
    return dict(task=task, substrate="qif", gradient=gradient, rel_l2=rel_l2(u_eval, tk.exact(tk.eval_points)), losses=losses,
                forward_runs=model.forward_runs, seconds=seconds, model=model, u_eval=u_eval)
