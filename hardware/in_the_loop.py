"""Training with a substrate in the loop, and hardware-aware training for BrainScaleS-2.

A substrate runs input spike times through the network's current parameters and returns what it
did as a models.network.TrialRecord (spike times per layer, model time units). The learning rule
(learning_rules.spike_time_gradient) needs nothing else, so it trains with whichever substrate is
plugged in: `BrianSubstrate` (the Brian2 simulation), `PyNNSubstrate` (any PyNN back end, e.g.
NEST), `ChipSubstrate` (BrainScaleS-2 through a user-supplied job runner; not reachable here, so
it is tested only for the script it writes and the calls it makes).

Hardware-aware forward pass (DelGrad, Goeltz et al. 2025, BrainScaleS-2 experiments), applied to
the parameters each trial sees while the master parameters stay real-valued:

    w_eff   = Q(w) / (1 + e_j),  Q(w) = round(30 clip(w, -63/30, 63/30)) / 30
    e_j     = f_j + n_j,  f_j ~ N(0.13, 0.08) fixed per neuron (fixed-pattern threshold noise),
              n_j ~ N(0, 0.04) new in each trial (trial-to-trial threshold noise)
    d_eff   = d + N(0, 0.01) tau per axonal delay and trial (delay jitter)

A threshold theta_j = theta (1 + e_j) (E_l = 0, theta = 1 in model units) is applied as the
equivalent scaling of neuron j's incoming weights: the potential is linear in the weights, so
sum_i w_i k = c (1 + e_j) and sum_i w_i / (1 + e_j) k = c have the same first crossing. Backward:
dL/dw = dL/dw_eff / (1 + e_j) (straight-through for Q, as in the reference); dL/dd = dL/dd_eff.
Input replication (x5 with shared delays, 20-30-3): `replicate_inputs` tiles the input times, and
the axonal delays of the replicas of one input are one parameter (`tie`).
"""
from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from brian2 import ms

from ..learning_rules.losses import LOSSES, batch_mean_gradient, predict
from ..learning_rules.optimizers import Adam, StepLR
from ..learning_rules.spike_time_gradient import SpikeTimeGradient
from ..backends.pynn import record_from_layers
from ..training.loop import EpochLoop
from .brainscales2 import BSS2, quantise_weights, write_chip_script
from .pynn_export import run_pynn

__all__ = ["BrianSubstrate", "PyNNSubstrate", "ChipSubstrate", "HardwareAware", "replicate_inputs",
           "gradients", "InTheLoopTrainer", "train_in_the_loop", "evaluate", "loss_substrate"]


class BrianSubstrate:
    """The Brian2 simulation of the LayeredNetwork itself."""

    name = "brian2"

    def __init__(self, net):
        self.net = net

    def run(self, input_times):
        return record_from_layers(self.net, input_times, self.net.simulate(input_times)[1:])


class PyNNSubstrate:
    """A PyNN back end module (e.g. pyNN.nest), through hardware.pynn_export.run_pynn."""

    def __init__(self, net, sim, timestep=0.01 * ms, **kwargs):
        self.net, self.sim, self.timestep, self.kwargs = net, sim, timestep, kwargs
        self.name = getattr(sim, "__name__", "pynn")

    def run(self, input_times):
        layers, _ = run_pynn(self.net, self.sim, input_times, self.timestep, **self.kwargs)
        return record_from_layers(self.net, input_times, layers)


class ChipSubstrate:
    """BrainScaleS-2: write the chip script, hand it to `runner`, read the spike times back.

    runner(script_path, inputs_path, output_path) must run the script on the system (e.g. submit
    it as an EBRAINS BrainScaleS-2 job) and leave the .npz it writes at output_path. The chip's
    spike times (us) are converted to model time units and the common delay-element offset of each
    projection is taken out, so the record means what the Brian2 record means.
    Not reachable here: only the script and these calls are tested (with a stand-in runner).
    """

    name = "brainscales2"

    def __init__(self, net, runner=None, workdir=None, hw=BSS2()):
        if runner is None:
            raise ValueError("ChipSubstrate needs runner=callable(script, inputs, output) that runs the script on "
                             "BrainScaleS-2 (the chip is not reachable from brian2learn itself)")
        self.net, self.runner, self.hw = net, runner, hw
        self.workdir = workdir or tempfile.mkdtemp(prefix="bss2-")

    def run(self, input_times):
        x = self.net.check_inputs(input_times)
        script = os.path.join(self.workdir, "bss2_network.py")
        inputs = os.path.join(self.workdir, "inputs_us.npy")
        output = os.path.join(self.workdir, "spikes.npz")
        desc = write_chip_script(self.net, script, self.hw)
        np.save(inputs, x * self.hw.time_unit_us)
        self.runner(script, inputs, output)
        offset, layers = 0.0, []
        with np.load(output) as z:
            for l, proj in enumerate(desc["projections"]):
                if any(proj["delayed"]):
                    offset += self.hw.delay_min_us
                layers.append((z[f"layer{l}_us"] - offset) / self.hw.time_unit_us)
        return record_from_layers(self.net, x, layers)


def loss_substrate(net, spikes, x, y, loss="mse"):
    """The weight-perturbation rule's substrate (learning_rules.perturbation) on any spike substrate.

    Returns losses(stack): for each row of `stack` (all weights of `net`, flattened layer by layer as
    in `np.concatenate([p["w"].ravel() for p in net.params])`) the network's weights are set to the
    row, `spikes.run(x)` runs it (Brian2, a PyNN back end or the chip: no gradient needed from it),
    and the mean `loss` of the output spike times against labels y is returned. Rows run one after
    another; the master weights are restored afterwards.
    """
    x = net.check_inputs(x)
    y = np.asarray(y)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    shapes = [p["w"].shape for p in net.params]
    cuts = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    def losses(stack):
        stack = np.asarray(stack, dtype=float)
        if stack.ndim != 2 or stack.shape[1] != net.n_weights:
            raise ValueError(f"stack must have shape (rows, {net.n_weights}) (all weights), got {stack.shape}")
        master = [p["w"] for p in net.params]
        out = []
        try:
            for row in stack:
                for p, w, shape in zip(net.params, np.split(row, cuts), shapes):
                    p["w"] = w.reshape(shape)
                net.params_changed()
                rec = spikes.run(x)
                out.append(float(np.mean(LOSSES[loss](rec.output[:len(x)], y)[0])))
        finally:
            for p, w in zip(net.params, master):
                p["w"] = w
            net.params_changed()
        return np.array(out)

    return losses


def replicate_inputs(x, copies):
    """(N, n) input times -> (N, copies * n): replica r of input i is column r * n + i."""
    return np.tile(np.asarray(x, dtype=float), (1, int(copies)))


@dataclass
class HardwareAware:
    """The hardware effects of the forward pass (see the module docstring); all in model units."""

    hw: BSS2 = BSS2()
    quantise: bool = True
    threshold_fpn: tuple = (0.13, 0.08)
    threshold_trial_std: float = 0.04
    delay_jitter: float = 0.01
    seed: int = 0

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        self._fpn = None

    def fpn(self, net):
        """Fixed-pattern threshold offsets, one array per layer, drawn once per network."""
        if self._fpn is None:
            mean, std = self.threshold_fpn
            self._fpn = [mean + std * self.rng.standard_normal(n) for n in net.layer_sizes]
        return self._fpn

    def threshold_scale(self, net):
        """1 / (1 + e_j) per layer for one trial."""
        return [1.0 / np.maximum(1.0 + f + self.threshold_trial_std * self.rng.standard_normal(f.shape), 1e-3)
                for f in self.fpn(net)]

    def apply(self, net):
        """Write the effective parameters of one trial into `net`; returns (master params, scales)."""
        master = copy.deepcopy(net.params)
        scales = self.threshold_scale(net)
        for l, p in enumerate(net.params):
            w = quantise_weights(p["w"], self.hw) if self.quantise else p["w"]
            p["w"] = w * scales[l][None, :]
            if "axonal" in p and self.delay_jitter:
                d = net.delay_config.values(master[l])["axonal"]
                d_eff = np.maximum(d + self.delay_jitter * self.rng.standard_normal(d.shape), 0.0)
                p["axonal"] = _raw_delay(net.delay_config, d_eff)
        net.params_changed()
        return master, scales

    @staticmethod
    def restore(net, master):
        for p, m in zip(net.params, master):
            p.update(m)
        net.params_changed()

    @contextlib.contextmanager
    def forward(self, net):
        """The effective parameters in `net` for one trial, the master ones restored after.

        Yields the per-layer incoming-weight scales (for the backward chain rule)."""
        master, scales = self.apply(net)
        try:
            yield scales
        finally:
            self.restore(net, master)


def _raw_delay(cfg, d):
    """The raw parameter that gives delay d (inverse of DelayConfig.values)."""
    if cfg.reparam is None:
        return d
    shift, scale = cfg.reparam
    s = np.clip((d - shift) / scale, 1e-9, 1 - 1e-9)
    return np.log(s / (1.0 - s))


def tie(net, arrays, copies, kind="axonal", reduce="mean"):
    """Make the input replicas share one axonal delay (in place): parameters are averaged
    (reduce='mean'); gradients of the shared delay are the sum over its replicas (reduce='sum')."""
    if copies <= 1 or kind not in arrays[0]:
        return
    n = net.n_inputs // copies
    a = arrays[0][kind]
    shared = getattr(a[:n * copies].reshape(copies, n), reduce)(axis=0)
    a[:n * copies] = np.tile(shared, copies)


def _ones(net):
    return [np.ones(n) for n in net.layer_sizes]


@contextlib.contextmanager
def _plain(net):
    yield _ones(net)


def _backward(net, rec, y, loss, rule, scales):
    """Gradients for the master parameters from one trial's record (effective params in `net`)."""
    n = len(y)
    _, dL = LOSSES[loss](rec.output[:n], y, t_missing=net.duration)
    grads, _ = rule.backward(net, rec, batch_mean_gradient(dL, len(rec.output)))
    for g, s in zip(grads, scales):
        g["w"] = g["w"] * s[None, :]   # threshold noise as weight scaling; straight-through for Q
    return grads


def gradients(net, substrate, x, y, hardware=None, loss="mse", rule=None):
    """(gradients for the master parameters, record) of the mean loss on one minibatch, with the
    forward pass on `substrate` (under the hardware effects, if given)."""
    rule = rule or SpikeTimeGradient(net.model)
    with (hardware.forward(net) if hardware else _plain(net)) as scales:
        rec = substrate.run(x)
        grads = _backward(net, rec, y, loss, rule, scales)
    return grads, rec


def _run_brian(net, x, order, hardware, on_trial):
    """Every trial in ONE Brian2 run (LayeredNetwork.run_trials). At each trial boundary
    `on_trial(k, record, backward, finish)` runs: `backward(y, loss, rule)` gives the gradients
    while the trial's effective parameters are still in place, `finish()` puts the master ones back
    (on_trial may then change them); fresh hardware effects are drawn for the next trial."""
    state = {"master": None}

    def begin():
        if hardware:
            state["master"], state["scales"] = hardware.apply(net)
        else:
            state["scales"] = _ones(net)

    def finish():
        if state["master"] is not None:
            hardware.restore(net, state["master"])
            state["master"] = None

    def callback(k, rec):
        on_trial(k, rec, lambda y, loss, rule: _backward(net, rec, y, loss, rule, state["scales"]), finish)
        finish()
        if (k + 1) * net.batch_size < len(order):
            begin()

    begin()
    try:
        net.run_trials(x, callback, batch_order=order)
    finally:
        finish()


def _step(net, grads, optimizer, input_copies):
    tie(net, grads, input_copies, reduce="sum")
    optimizer.step(net.params, grads)
    for p in net.params:
        net.delay_config.clip(p)
    net.params_changed()


def evaluate(net, substrate, data, hardware=None, loss="mse"):
    """(accuracy, output spike times) of `substrate` on (input times, labels); with the Brian2
    substrate every trial of batch_size samples gets its own trial-to-trial noise."""
    x, y = data
    if isinstance(substrate, BrianSubstrate):
        outs = []
        _run_brian(net, x, np.arange(len(x)), hardware,
                   lambda k, rec, backward, finish: outs.append(rec.output[:rec.n_valid].copy()))
        out = np.concatenate(outs)
    else:
        with (hardware.forward(net) if hardware else _plain(net)):
            out = substrate.run(x).output
    return float(np.mean(predict(out) == y)), out


class InTheLoopTrainer(EpochLoop):
    """Minibatch training where `substrate` does every forward pass and the exact spike-time rule
    computes the gradients from its record (training.loop.EpochLoop: callbacks, checkpoints, exact
    resume, with the hardware effects' random state). With the Brian2 substrate an epoch is one Brian2
    run (batch_size = the network's); other substrates run minibatch by minibatch. `schedule`:
    (step_size, gamma) of a StepLR learning-rate decay, or None."""

    def __init__(self, net, substrate, train, test=None, optimizer=None, loss="mse", batch_size=None,
                 hardware=None, input_copies=1, bumping=None, schedule=(20, 0.95), seed=0, callbacks=()):
        self.net, self.substrate, self.train, self.test = net, substrate, train, test
        self.rule = SpikeTimeGradient(net.model)
        self.optimizer = optimizer or Adam(0.005)
        self.loss, self.hardware, self.input_copies, self.bumping = loss, hardware, input_copies, bumping
        self.brian = isinstance(substrate, BrianSubstrate)
        self.B = net.batch_size if self.brian else (batch_size or net.batch_size)
        self.schedule = StepLR(self.optimizer, *schedule) if schedule else None
        tie(net, net.params, input_copies)
        self._init_loop(seed, callbacks)

    @property
    def n_train(self):
        return len(self.train[0])

    def run_epoch(self):
        net, (x, y), B = self.net, self.train, self.B
        if self.schedule:
            self.schedule.set_epoch(self.epoch)
        order = self.rng.permutation(len(x))
        stats = {"correct": 0}

        def learn(k, rec, yb, grads_fn, finish):
            stats["correct"] += int(np.sum(predict(rec.output[:len(yb)]) == yb))
            grads = grads_fn(yb, self.loss, self.rule)
            finish()                                    # master parameters back in place
            self.batch_done(k, len(yb))
            if self.bumping is not None and self.bumping(net, rec) and self.bumping.skip_step:
                return
            _step(net, grads, self.optimizer, self.input_copies)

        if self.brian:
            _run_brian(net, x, order, self.hardware,
                       lambda k, rec, backward, finish: learn(k, rec, y[order[k * B:k * B + rec.n_valid]], backward,
                                                              finish))
        else:
            for k, start in enumerate(range(0, len(x), B)):
                idx = order[start:start + B]
                with (self.hardware.forward(net) if self.hardware else _plain(net)) as scales:
                    rec = self.substrate.run(x[idx])
                    grads = _backward(net, rec, y[idx], self.loss, self.rule, scales)
                learn(k, rec, y[idx], lambda *a: grads, lambda: None)
        self.epoch += 1
        row = {"epoch": self.epoch, "train_acc": stats["correct"] / len(x)}
        if self.test is not None:
            row["test_acc"] = evaluate(net, self.substrate, self.test, self.hardware, self.loss)[0]
        return row

    def describe(self, row):
        return (f"epoch {row['epoch']}: train acc {row['train_acc']:.4f}"
                + (f"  test acc {row['test_acc']:.4f}" if "test_acc" in row else ""))

    def state_meta(self):
        hw = self.hardware
        return {"bumping": self.bumping.state_dict() if self.bumping else None,
                "hardware_rng": hw.rng.bit_generator.state if hw else None,
                "hardware_fpn": [f.tolist() for f in hw._fpn] if hw is not None and hw._fpn is not None else None}

    def load_meta(self, meta):
        self.net.params_changed()
        if self.bumping is not None and meta["bumping"] is not None:
            self.bumping.load_state_dict(meta["bumping"])
        if self.hardware is not None:
            self.hardware.rng.bit_generator.state = meta["hardware_rng"]
            fpn = meta["hardware_fpn"]
            self.hardware._fpn = None if fpn is None else [np.asarray(f) for f in fpn]


def train_in_the_loop(net, substrate, train, test=None, epochs=1, optimizer=None, loss="mse", batch_size=None,
                      hardware=None, input_copies=1, bumping=None, schedule=(20, 0.95), seed=0, log=print):
    """InTheLoopTrainer(...).fit(epochs, log=log): the history (one dict per epoch)."""
    trainer = InTheLoopTrainer(net, substrate, train, test, optimizer=optimizer, loss=loss, batch_size=batch_size,
                               hardware=hardware, input_copies=input_copies, bumping=bumping, schedule=schedule,
                               seed=seed)
    return trainer.fit(epochs, log=log)
