"""Training with the learning rule inside the simulation: one cpp_standalone run per epoch.

(One module of about 450 lines on purpose: it builds ONE generated program, whose groups, pathways and
start-up code refer to each other's variables by name; split, the pieces could not be read alone.)

The exact spike-time gradient (learning_rules.spike_time_gradient) and Adam as Brian2 generated
code, so that a whole epoch -- every trial's forward pass, its backward pass, every optimiser step,
then the test set -- is one run of one compiled C++ program with no Python between trials (Brian2's
`cpp_standalone` device; the issue's "learning rules whose backward pass is local in time may run
as generated code ... a whole epoch is one standalone run").

One copy of the network runs the trials one after another; trial n occupies [n P, (n + 1) P) and
its steps are

    [0, S_D)          the trial proper (duration D): neurons may spike, as in LayeredNetwork
    [S_D, S_loss)     drain: no spikes; every event in flight arrives (longest delay + 2 dt)
    S_loss            every neuron and source that spiked emits `backward`; the output neurons emit
                      `loss` (the all-to-all `loss_syn` sums exp(-T_k / (xi tau_s)))
    S_loss + 1        pathway `slope`: each synapse i -> j stores k(x) and k'(x) of its input at j's
                      spike, x = (T_j - t_i - D_ij) / tau_s (0 if not causal, x <= 0), and adds
                      w k'(x) to V'_j, the slope at T_j, exactly as the numpy rule sums it;
                      outputs compute delta_k = dL/dT_k / n_batch (TTFS cross-entropy; silent: 0)
    S_loss + 1 + m    pathway `grad` of the synapses out of hidden layer L - 2 - m (m = 1, 2, ...;
                      its delta is complete by then), and at S_loss + 1 + L of the sources' synapses:

    g_w += -delta_j k(x) / V'_j,   g_d += delta_j w k'(x) / V'_j,   delta_i += delta_j w k'(x) / V'_j

the implicit-function gradient of learning_rules.spike_time_gradient, event by event: only synapses
whose presynaptic neuron spiked do any work.

At the start of every M-th trial (M = the network's batch_size; the last minibatch is padded with
silent trials that do not learn) a run_regularly applies Adam (AMSGrad optional) to every synapse,
clips the delays to [0, max_delay] and recomputes the exact and integer pathway delays. Brian2 reads
pathway delays into its spike queue only when a run starts, so one small C++ function
(`reload_delays`, the only hand-written C++) copies the new integer delays into the pathway and
calls Brian2's own generated queue preparation; the queues are empty then (every event of a trial
arrives inside it).

Inputs and labels live in TimedArrays (all samples, written once); the epoch's sample order, the
per-trial 1/n_batch, the learning rates and Adam's step count are TimedArrays given as run_args.
Parameters and Adam's moments go in as run_args and are read back after the run into the
LayeredNetwork's `params` and the Adam object, so checkpoints are the Trainer's and runtime and
in-simulation training can take turns.

Supported: LIF (any tau_m / tau_s), any depth, synaptic delays (clipped, not reparameterised),
TTFS cross-entropy, Adam. Anything else raises a clear error (other delay kinds, delay
reparameterisation, the MSE loss, weight bumping, gradient clipping).
"""
from __future__ import annotations

import hashlib
import math
import os
import time

import numpy as np
from brian2 import (Equations, Function, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, second)

from ..learning_rules.losses import predict
from ..learning_rules.optimizers import Adam
from ..learning_rules.spike_time_gradient import SpikeTimeGradient, UnsupportedModelError
from ..models.delays import DELIVERY_DUE, DELIVERY_STEP_CODE
from ..models.standalone import StandaloneProject, default_directory
from ..training.trainer import Trainer
from .base import Capabilities
from .brian2_runtime import SCHEDULE, Brian2Runtime, source_group

__all__ = ["InSimulation", "InSimulationTrainer"]


class InSimulation(Brian2Runtime):
    """Back end "in-simulation": `Trainer(..., backend="in-simulation")` trains every epoch as one
    compiled run (InSimulationTrainer below); trials outside training run on the Brian2 runtime."""

    name = "in-simulation"
    capabilities = Capabilities(summary="the whole epoch (forward, exact gradient, Adam, test set) as one "
                                        "cpp_standalone run; Trainer with loss='ce' and Adam only",
                                delay_kinds=frozenset({"synaptic"}), reparameterised_delays=False,
                                copy_offsets=False, training="fused")

STEP = "(t_in_timesteps % P_steps)"  # the step inside the current trial
DELAY_EXACT = "(latency + d)*tau_s"     # a synapse's transmission delay from its trained delay d

SLOPE_CODE = """
x_g = (t_spike_post - t_spike_pre - delay_exact)/tau_s
causal = int(x_g > 0)*int(x_g < 1000)
s_g = clip(x_g, 0, 1000)*tau_s
{kernels}k_syn = causal*psp
kp_syn = causal*dpsp
slope_post += w*kp_syn
"""

GRAD_CODE = """
fires = int(slope_post > min_slope)
scale_g = fires*delta_post/(slope_post + 1 - fires)
kp_g = scale_g*kp_syn
"""

ADAM_CODE = """
m_{p} = apply*(b1*m_{p} + (1 - b1)*g_{p}) + (1 - apply)*m_{p}
v_{p} = apply*(b2*v_{p} + (1 - b2)*g_{p}**2) + (1 - apply)*v_{p}
{vmax}
{p} = {p} - apply*lr_{p}(t)*m_{p}/(1 - b1**n_adam)/(sqrt({v}/(1 - b2**n_adam)) + eps)
g_{p} = 0
"""


class InSimulationTrainer(Trainer):
    """A Trainer whose epochs run as one compiled Brian2 program each (see the module docstring).

    Same arguments as `Trainer` (network: a LayeredNetwork; its batch_size is the minibatch), plus
    directory : folder of the standalone project (default: a cache folder per network and data;
                processes that train on the same network and data share its compiled program)
    threads : must be None (single-threaded; OpenMP is not checked for this program)

    `train_epoch()` trains one epoch and evaluates the test set in the same run; `evaluate()` on the
    test set returns that result while the parameters are unchanged, and simulates with the
    network's runtime device otherwise.
    """

    def __init__(self, network, train, test=None, optimizer=None, schedule=None, loss="ce", loss_kwargs=None,
                 bumping=None, seed=0, progress=True, trainable=("weights", "delays"), directory=None,
                 threads=None, backend="in-simulation", rule=None, callbacks=()):
        if backend != "in-simulation" or rule is not None:
            raise ValueError("InSimulationTrainer runs its own generated rule on backend 'in-simulation': "
                             "pass neither another backend nor a rule")
        super().__init__(network, train, test, optimizer=optimizer, schedule=schedule, loss=loss,
                         loss_kwargs=loss_kwargs, bumping=bumping, seed=seed, progress=progress,
                         trainable=trainable, callbacks=callbacks)
        self._check_supported()
        if threads:
            raise NotImplementedError("in-simulation training runs single-threaded (threads=None): its queue "
                                      "re-preparation has not been checked with Brian2's OpenMP queues")
        self.directory = directory
        self._program = None
        self._test_result = None

    # ---- what the generated rule covers -------------------------------------------------
    def _check_supported(self):
        net, model, opt = self.net, self.net.model, self.optimizer
        needed = ("kernel_pair_code", "flush_code", "rest_code")
        missing = [n for n in needed if not hasattr(model, n)]
        if missing:
            raise UnsupportedModelError(f"{type(model).__name__} lacks {missing}, which the in-simulation "
                                        "gradient needs (Brian2 code for the PSP kernel and its derivative, the "
                                        "held inputs and the rest state); use Trainer instead")
        SpikeTimeGradient(model)  # the same requirements as the numpy rule
        from . import check_supported

        check_supported(InSimulation(), net)   # delay kinds, clipped delays, record_states
        if self.loss_name != "ce":
            raise NotImplementedError(f"in-simulation training implements the TTFS cross-entropy only "
                                      f"(loss='ce'), got loss={self.loss_name!r}; use Trainer for it")
        if self.bumping is not None:
            raise NotImplementedError("weight bumping is not implemented in generated code: pass bumping=None "
                                      "or use Trainer")
        if type(opt) is not Adam or opt.max_grad_norm is not None:
            raise NotImplementedError(f"in-simulation training implements Adam (amsgrad optional) without "
                                      f"gradient clipping, got {type(opt).__name__}"
                                      f"(max_grad_norm={getattr(opt, 'max_grad_norm', None)})")

    @property
    def groups(self):
        """Trained synaptic variables: 'w' (weights) and/or 'd' (synaptic delays)."""
        out = []
        if "weights" in self.trainable:
            out.append("w")
        if "delays" in self.trainable and self.net.delay_config.kinds:
            out.append("d")
        return tuple(out)

    @property
    def _slots(self):
        """The Adam state kept per synapse (names of the Adam object's stores)."""
        return ("m", "v", "vmax") if self.optimizer.amsgrad else ("m", "v")

    def _param_key(self, g):
        return "w" if g == "w" else "synaptic"

    # ---- the program ---------------------------------------------------------------------
    def _build(self):
        if self._program is not None and not self._program["project"].invalidated:
            return self._program
        net, model = self.net, self.net.model
        tu = model.time_unit
        lay = net.layout(copies=1)
        M, L = net.batch_size, net.n_layers
        S_D = int(round(net.duration / net.dt))
        max_delay = net.latency + (net.delay_config.max_delay if net.delay_config.kinds else 0.0)
        S_loss = S_D + int(math.ceil(max_delay / net.dt)) + 2
        P_steps = S_loss + L + 2
        step = net.dt * tu
        P = P_steps * step
        x_tr, y_tr = self.train
        x_te, y_te = self.test if self.test is not None else (np.zeros((0, net.n_inputs)), np.zeros(0, int))
        n_train, n_test = len(x_tr), len(x_te)
        n_batches = -(-n_train // M)
        n_train_trials = n_batches * M + 1  # + the trial whose start applies the last update
        n_trials = n_train_trials + n_test
        rows = np.concatenate([x_tr, x_te, np.full((1, net.n_inputs), np.inf)])
        table = np.full((len(rows), lay["n_src"]), np.inf)
        table[:, :net.n_inputs] = rows
        for l, nb in enumerate(net.n_bias):
            c = lay["bias_col"][l]
            table[:-1, c:c + nb] = net.bias_times[l]  # the silent row stays silent
        labels = np.concatenate([y_tr, y_te, [0]]).astype(float)
        groups = self.groups
        key = repr((net.signature(), "in-simulation", n_train, n_test, tuple(groups), self.loss_kwargs,
                    self.optimizer.b1, self.optimizer.b2, self.optimizer.eps, self.optimizer.amsgrad,
                    net.delay_config.max_delay, SpikeTimeGradient.min_slope,
                    hashlib.sha1(table.tobytes() + labels.tobytes()).hexdigest()))
        project = StandaloneProject(self.directory or default_directory(key))
        project.activate()

        ns = dict(model.namespace, P_steps=P_steps, S_D=S_D, S_loss=S_loss,
                  D_trial=net.duration * tu, xi=self.loss_kwargs.get("xi", 0.2), min_slope=SpikeTimeGradient.min_slope,
                  latency=net.latency, d_max=net.delay_config.max_delay, b1=self.optimizer.b1,
                  b2=self.optimizer.b2, eps=self.optimizer.eps, trials_per_batch=M, period=P)
        ns["x_table"] = TimedArray(table * tu, dt=1 * second, name="x_table")
        ns["y_table"] = TimedArray(labels, dt=1 * second, name="y_table")
        ns["trial_row"] = TimedArray(np.zeros(n_trials), dt=P, name="trial_row")
        ns["trial_scale"] = TimedArray(np.zeros(n_trials), dt=P, name="trial_scale")
        for name in ("lr_w", "lr_d", "adam_t0"):
            ns[name] = TimedArray(np.zeros(1), dt=P, name=name)
        learning = "trial_scale(t) > 0"

        sources = source_group(lay["n_src"], step, namespace=ns,
                               events={"backward": f"has_spiked and {learning} and {STEP} == S_loss"})
        extra = """
        t0 : second            # start of the current trial
        slope : 1              # V' at the spike (weight units)
        delta : 1              # dL/dT (per tau_s), filled by the backward pass
        sumexp : 1             # outputs: sum_k exp(-T_k/(xi tau_s))
        cls : integer (constant)       # outputs: class index; -1 otherwise
        """
        neurons = NeuronGroup(lay["n_lif"], model.equations + Equations(extra),
                              threshold=f"({model.threshold}) and {STEP} < S_D",
                              reset=model.reset, method="exact",
                              events={"loss": f"cls >= 0 and {learning} and {STEP} == S_loss",
                                      "delta": f"cls >= 0 and {learning} and {STEP} == S_loss + 1",
                                      "backward": f"has_spiked and {learning} and {STEP} == S_loss"},
                              namespace=ns, dt=step, name="neurons")
        neurons.run_on_event("delta", "p_k = exp(-clip(t_spike - t0, 0*second, D_trial)/(xi*tau_s))/sumexp\n"
                                      "y_k = int(y_table(trial_row(t)*second) + 0.5)\n"
                                      "delta = int(has_spiked)*(int(cls == y_k) - p_k)/xi*trial_scale(t)")
        cls = np.full(lay["n_lif"], -1)
        out0 = lay["lif_col"][-1]
        cls[out0:] = np.arange(net.layer_sizes[-1])
        neurons.cls = cls
        sources.run_regularly("t_in = t + x_table(trial_row(t)*second, i)\nt_spike = inf*second\n"
                              "has_spiked = False", dt=P, when="start", order=2, name="sources_trial_start")
        neurons.run_regularly(model.flush_code, when="synapses", order=-1, name="neurons_flush")
        neurons.run_regularly(model.rest_code + "\nt0 = t\nslope = 0\ndelta = 0\nsumexp = 0", dt=P,
                              when="start", order=2, name="neurons_trial_start")

        syn_model = model.synapse_model + Equations("\n".join(
            ["d : 1  # the trained delay parameter (tau_s units)", "delivery_k : 1  # integer delay of `pre`"]
            + ["k_syn : 1  # k and k' of this input at the postsynaptic spike (0: not causal)", "kp_syn : 1"]
            + [f"g_{g} : 1" for g in groups] + [f"{s}_{g} : 1" for g in groups for s in self._slots]))
        slope_code = SLOPE_CODE.format(kernels=model.kernel_pair_code("s_g"))
        grad_code = GRAD_CODE
        if "w" in groups:
            grad_code += "g_w += -scale_g*k_syn\n"
        if "d" in groups:
            grad_code += "g_d += w*kp_g\n"
        synapses, learning_ops = {}, []
        objects = [sources, neurons]
        for name, src_group, (pre, post, idx) in (("syn_src", sources, lay["src"]), ("syn_lif", neurons, lay["lif"])):
            if len(pre) == 0:
                continue
            on_pre = {"pre": model.on_pre(DELIVERY_DUE), "slope": slope_code,
                      "grad": grad_code + ("delta_pre += w*kp_g" if name == "syn_lif" else "")}
            syn = Synapses(src_group, neurons, syn_model, on_pre=on_pre, namespace=ns, dt=step, name=name,
                           on_event={"pre": "spike", "slope": "backward", "grad": "backward"},
                           delay={"slope": 0 * second})
            syn.connect(i=pre, j=post)
            # the gradient of a synapse is delivered once its target's delta is complete: the step
            # after the last hidden layer (or the trial's sources) emitted `backward`, later for
            # layers further from the output (see the module docstring)
            pre_layer = np.full(len(pre), -1) if name == "syn_src" else np.searchsorted(
                lay["lif_col"], pre, side="right") - 1
            syn.grad.delay = np.where(pre_layer < 0, L, L - 1 - pre_layer) * step
            synapses[name] = (syn, idx)
            objects.append(syn)
            if groups:
                adam = ("apply = int(t > 0.5*dt)\n"
                        "n_adam = clip(adam_t0(t) + floor(t/(trials_per_batch*period) + 0.5), 1, 1e15)\n")
                for g in groups:
                    vmax = f"vmax_{g} = clip(v_{g}, vmax_{g}, 1e300)" if self.optimizer.amsgrad else ""
                    adam += ADAM_CODE.format(p=g, vmax=vmax, v=f"vmax_{g}" if self.optimizer.amsgrad else f"v_{g}")
                if "d" in groups:
                    adam += "d = clip(d, 0, d_max)\n"
                adam += f"delay_exact = {DELAY_EXACT}\ndelivery_k = {DELIVERY_STEP_CODE}"
                learning_ops.append(syn.run_regularly(adam, dt=M * P, when="start", order=0, name=f"{name}_adam"))
        loss_syn = Synapses(neurons, neurons, on_pre="sumexp_post += exp(-clip(t_spike_pre - t0_pre, 0*second, "
                                                     "D_trial)/(xi*tau_s))",
                            on_event="loss", namespace=ns, dt=step, name="loss_syn")
        outs = np.arange(out0, lay["n_lif"])
        loss_syn.connect(i=np.repeat(outs, len(outs)), j=np.tile(outs, len(outs)))
        objects.append(loss_syn)
        if "d" in groups:
            control = NeuronGroup(1, "reloaded : second", namespace=dict(reload_delays=_reload_delays(synapses)),
                                  dt=step, name="control")
            learning_ops.append(control.run_regularly("reloaded = reload_delays(dt)", dt=M * P, when="start",
                                                      order=1, name="control_reload"))
            objects.append(control)
        monitor = SpikeMonitor(neurons[out0:], variables="t_spike", when="end", name="output_spikes")
        objects.append(monitor)
        network = Network(*objects)
        network.schedule = SCHEDULE

        project.apply_run_args()
        for syn, _ in synapses.values():
            syn.delay_exact = DELAY_EXACT
            syn.pre.delay = f"{DELIVERY_STEP_CODE}*dt"
        network.run(n_train_trials * P, namespace={})
        for op in learning_ops:  # the test set does not learn
            op.active = False
        if n_test:
            network.run(n_test * P, namespace={})
        project.build()
        self._program = dict(project=project, synapses=synapses, monitor=monitor, P=float(P), n_train=n_train,
                             n_test=n_test, n_train_trials=n_train_trials, n_trials=n_trials,
                             n_out=net.layer_sizes[-1], n_batches=n_batches)
        return self._program

    # ---- one epoch -----------------------------------------------------------------------
    def _flat(self, arrays_by_key):
        return np.concatenate([a.ravel() for a in arrays_by_key])

    def _run_args(self, prog, order):
        net, opt = self.net, self.optimizer
        project = prog["project"]
        M, n_train = net.batch_size, prog["n_train"]
        tag = f"_{os.getpid()}"
        row = np.full(prog["n_trials"], float(n_train + prog["n_test"]))  # the silent row
        row[:n_train] = order
        row[prog["n_train_trials"]:] = n_train + np.arange(prog["n_test"])
        scale = np.zeros(prog["n_trials"])
        sizes = np.minimum(M, n_train - np.arange(prog["n_batches"]) * M)
        scale[:n_train] = np.repeat(1.0 / sizes, M)[:n_train]
        args = [project.write_arg("trial_row.values", row, suffix=tag),
                project.write_arg("trial_scale.values", scale, suffix=tag)]
        args += [f"lr_{g}.values={opt.lr(self._param_key(g))!r}" for g in self.groups]
        args += [f"adam_t0.values={float(opt.t)!r}"] if self.groups else []
        w_flat = self._flat([p["w"] for p in net.params])
        d_flat = (self._flat([p["synaptic"] for p in net.params]) if net.delay_config.kinds
                  else np.zeros_like(w_flat))
        if not (np.all(np.isfinite(w_flat)) and np.all(np.isfinite(d_flat))):
            raise FloatingPointError("a weight or delay is NaN or inf; lower the learning rate")
        values = {"w": w_flat, "d": d_flat}
        for g in self.groups:
            shapes = [p[self._param_key(g)] for p in net.params]
            for slot in self._slots:
                store = getattr(opt, slot)
                values[f"{slot}_{g}"] = self._flat([store.get(f"{l}/{self._param_key(g)}", np.zeros_like(a))
                                                    for l, a in enumerate(shapes)])
        for name, (syn, idx) in prog["synapses"].items():
            for var, flat in values.items():
                args.append(project.write_arg(f"{name}.{var}", flat[idx], suffix=tag))
        return args

    def _read_back(self, prog):
        net, opt = self.net, self.optimizer
        sizes = [p["w"].size for p in net.params]
        off = np.cumsum([0] + sizes)
        for g in self.groups:
            for var in [g] + [f"{s}_{g}" for s in self._slots]:
                flat = np.empty(off[-1])
                for syn, idx in prog["synapses"].values():
                    flat[idx] = syn.variables[var].get_value()
                key = self._param_key(g)
                for l, p in enumerate(net.params):
                    part = flat[off[l]:off[l + 1]].reshape(p[key].shape)
                    if var == g:
                        p[key][...] = part
                    else:
                        getattr(opt, var.split("_")[0])[f"{l}/{key}"] = part.copy()
        opt.t += prog["n_batches"]
        net.params_changed()

    def _output_times(self, prog):
        mon = prog["monitor"]
        P = prog["P"]
        t = np.asarray(mon.t_[:])
        trial = np.floor(t / P + 1e-9).astype(int)
        times = np.full((prog["n_trials"], prog["n_out"]), np.inf)
        times[trial, np.asarray(mon.i[:])] = (np.asarray(mon.t_spike_[:]) - trial * P) / float(self.net.model.time_unit)
        return times

    def train_epoch(self):
        x, y = self.train
        if self.schedule:
            self.schedule.set_epoch(self.epoch)
        order = self.rng.permutation(len(x))
        prog = self._build()
        args = self._run_args(prog, order)
        t0 = time.perf_counter()
        prog["project"].run(args, results_directory=f"results_{os.getpid()}")
        seconds = time.perf_counter() - t0
        self.batch_done(0, len(x))   # the whole epoch was one run
        times = self._output_times(prog)
        self._read_back(prog)
        t_train = times[:prog["n_train"]]
        loss, _ = self._loss(t_train, y[order])
        self.epoch += 1
        if prog["n_test"]:
            t_test = times[prog["n_train_trials"]:]
            test_loss, _ = self._loss(t_test, self.test[1])
            self._test_result = (self.epoch, (float(np.mean(predict(t_test) == self.test[1])),
                                              float(test_loss.mean()), t_test))
        return dict(train_loss=float(loss.mean()), train_acc=float(np.mean(predict(t_train) == y[order])),
                    bumped_batches=0, epoch_seconds=seconds)

    def evaluate(self, data=None):
        if data is None and self._test_result is not None and self._test_result[0] == self.epoch:
            return self._test_result[1]
        return super().evaluate(data)

    def load(self, path):
        self._test_result = None
        return super().load(path)


def _reload_delays(synapses):
    """The C++ function that copies each synapse's integer delay into its delivery pathway and
    re-prepares the spike queue with Brian2's own generated code (called once per minibatch)."""
    from brian2 import get_device

    device = get_device()
    headers, body = [], []
    for syn, _ in synapses.values():
        k = device.get_array_name(syn.variables["delivery_k"], access_data=False)
        delay = device.get_array_name(syn.pre.variables["delay"], access_data=False)
        fn = f"before_run_{syn.pre.name}_push_spikes"
        headers.append(f'#include "code_objects/{fn}.h"')
        body.append(f"""
    {{
        std::vector<double>& k = {k};
        std::vector<double>& delay = {delay};
        for (size_t s = 0; s < k.size(); s++) delay[s] = k[s]*step;
    }}
    _{fn}();""")
    code = "\n".join(headers) + "\nstatic double reload_delays(const double step)\n{\n    using namespace brian;" + \
        "\n".join(body) + "\n    return step;\n}\n"

    def unavailable(step):
        raise NotImplementedError("reload_delays exists only in the generated C++ (cpp_standalone)")

    f = Function(unavailable, arg_units=[second], return_unit=second, stateless=False)
    f.implementations.add_implementation("cpp", {"support_code": "", "hashdefine_code": code},
                                         name="reload_delays")
    return f
