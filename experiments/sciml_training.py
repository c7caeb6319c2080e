"""Weight-perturbation (or exact) training of a SpikingSciML model through the shared epoch loop.

`SciMLTrainer` is the perturbation family's use of training.loop.EpochLoop: one epoch is
`steps_per_epoch` optimiser steps on the task's whole grid, run as trials of ONE Brian2 run
(SpikingSciML.fit, so the per-run cost is paid once per epoch, not per step); after each epoch the
row holds the last loss, the relative L2 error on the evaluation points and the forward runs so far.
Callbacks, checkpoints and exact resume come from the loop: a checkpoint holds the network's weights
and readout, Adam's state, the estimator's and the loop's RNG states and the step count.

The learning rate follows experiments.perturbation_sciml.lr_factor over the total `steps`: constant
for the first `lr_hold` fraction, then an exponential decay to lr x lr_final at the last step. The
guard `reject_factor` compares a step's loss with the previous accepted step of the same epoch.
"""
from __future__ import annotations

import numpy as np

from ..learning_rules.optimizers import Adam
from ..learning_rules.perturbation import PerturbationGradient
from ..training.loop import EpochLoop
from .perturbation_sciml import SpikingSciML, lr_factor
from .sciml_tasks import make_task, rel_l2

__all__ = ["SciMLTrainer"]


class SciMLTrainer(EpochLoop):
    """task : a task name (experiments.sciml_tasks) or a Task;  gradient : 'perturbation' or 'exact';
    steps : total optimiser steps (the schedule's length; fit(epochs) stops after `steps` steps at the latest);
    K, eps, distribution, layerwise : the PerturbationGradient;  lr, lr_final, lr_hold : Adam and its decay;
    reject_factor, form : SpikingSciML.fit;  resample : new training points every step (regression tasks);
    model_kwargs : SpikingSciML's (hidden, decode, encode, dt, target, backend/simulator, ...)."""

    def __init__(self, task="regression_x2", gradient="perturbation", steps=500, steps_per_epoch=50, lr=0.05,
                 lr_final=0.05, lr_hold=0.0, K=8, eps=1e-2, distribution="gaussian", layerwise=True, n=None,
                 reject_factor=None, resample=False, form="loss", seed=0, callbacks=(), **model_kwargs):
        _check_settings(gradient, steps, steps_per_epoch, lr, lr_final, lr_hold, reject_factor,
                        model_kwargs.get("encode", "ttfs"))
        self.task = make_task(task, n) if isinstance(task, str) else task
        self.gradient, self.steps, self.steps_per_epoch = gradient, int(steps), int(steps_per_epoch)
        self.lr_final, self.lr_hold = lr_final, lr_hold
        self.fit_kwargs = dict(reject_factor=reject_factor, form=form)
        self.resample = bool(resample)
        self.model = SpikingSciML(self.task.domain, n_points=len(self.task.points), seed=seed, **model_kwargs)
        self.net = self.model.net
        self.estimator = (PerturbationGradient(K=K, eps=eps, distribution=distribution, layerwise=layerwise,
                                               seed=seed) if gradient == "perturbation" else None)
        self.optimizer = Adam({"weights": lr})
        self.resample_rng = np.random.default_rng((seed, 2))
        self.step = self.train_runs = 0
        self.log_every, self.u_eval = 0, None
        self._init_loop(seed, callbacks)

    @property
    def n_train(self):
        return self.steps_per_epoch

    @property
    def params(self):
        """Checkpointed arrays: the network's weights and the readout."""
        return list(self.net.params) + [{"readout": self.model.readout}]

    def _after_step(self, k, loss):
        self.step += 1
        self.optimizer.scale = lr_factor(self.step - 1, self.steps, self.lr_final, self.lr_hold)
        if self.log_every and (self.step - 1) % self.log_every == 0:
            print(f"step {self.step - 1}: loss {loss:.4g}", flush=True)
        self.batch_done(k, 1)

    def run_epoch(self):
        n = min(self.steps_per_epoch, self.steps - self.step)
        before = self.model.forward_runs
        losses = self.model.fit(self.task, n, self.optimizer, estimator=self.estimator, callback=self._after_step,
                                resample=self.resample_rng if self.resample else None, **self.fit_kwargs)
        self.train_runs += self.model.forward_runs - before
        self.epoch += 1
        self.stop_training = self.step >= self.steps
        self.u_eval = self.model.predict(self.task.eval_points)
        return dict(epoch=self.epoch, step=self.step, loss=losses[-1], losses=losses,
                    rel_l2=float(rel_l2(self.u_eval, self.task.exact(self.task.eval_points))),
                    forward_runs=self.train_runs, rejected_steps=getattr(self.model, "rejected_steps", 0))

    def describe(self, row):
        return (f"epoch {row['epoch']}: step {row['step']}, loss {row['loss']:.4g}, relative L2 error "
                f"{row['rel_l2']:.4g}")

    def state_meta(self):
        return {"step": self.step, "forward_runs": self.model.forward_runs, "train_runs": self.train_runs,
                "resample_rng": self.resample_rng.bit_generator.state,
                "estimator_rng": self.estimator.rng.bit_generator.state if self.estimator else None}

    def load_meta(self, meta):
        self.step, self.model.forward_runs = int(meta["step"]), int(meta["forward_runs"])
        self.train_runs = int(meta["train_runs"])
        self.resample_rng.bit_generator.state = meta["resample_rng"]
        if self.estimator is not None:
            self.estimator.rng.bit_generator.state = meta["estimator_rng"]
        self.model.set_theta(self.model.theta)      # the loaded weights reach both networks

    def config(self):
        return dict(task=self.task.name, gradient=self.gradient, steps=self.steps, steps_per_epoch=self.steps_per_epoch,
                    lr_final=self.lr_final, lr_hold=self.lr_hold, resample=self.resample,
                    **{k: v for k, v in self.fit_kwargs.items()})

    def solution(self):
        """(evaluation points, learned u, exact u)."""
        pts = self.task.eval_points
        return pts, self.model.predict(pts), self.task.exact(pts)


def _check_settings(gradient, steps, steps_per_epoch, lr, lr_final, lr_hold, reject_factor, encode):
    """Refuse settings the trainer cannot use, naming the setting, the value and the fix."""
    if gradient not in ("perturbation", "exact"):
        raise ValueError(f"gradient must be 'perturbation' or 'exact', got {gradient!r}")
    for name, value in (("steps", steps), ("steps_per_epoch", steps_per_epoch)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not (np.isfinite(lr) and lr > 0 and np.isfinite(lr_final) and lr_final > 0):
        raise ValueError(f"lr and lr_final must be > 0 (lr_final is the factor the rate decays to), "
                         f"got lr={lr!r}, lr_final={lr_final!r}")
    if reject_factor is not None and not (np.isfinite(reject_factor) and reject_factor > 1):
        raise ValueError(f"reject_factor must be None or a number > 1 (the loss increase that undoes a step), "
                         f"got {reject_factor!r}")
    if not 0 <= lr_hold < 1:
        raise ValueError(f"lr_hold (the fraction of steps at the full rate) must be in [0, 1), got {lr_hold!r}")
    if gradient == "exact" and encode != "ttfs":
        raise ValueError(f"gradient='exact' needs encode='ttfs' (the spike-time gradient does not model "
                         f"constant input currents), got encode={encode!r}; use gradient='perturbation'")
