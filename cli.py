"""Command line: `python -m brian2learn <command>`; each experiment family has its own flags.

    python -m brian2learn list                                   the experiments and back ends
    python -m brian2learn train yinyang --config "4-30-3 W+axonal" --backend event
    python -m brian2learn train delay_only --dataset fashion --weights ternary --backend in-simulation
    python -m brian2learn train src --dataset mnist --depth 2 --steps 100 --schedule 3 0.5
    python -m brian2learn train smooth_mnist --backend event
    python -m brian2learn train perturbation --task poisson_sin --gradient perturbation --steps 500
    python -m brian2learn train delay_adaptation --trials 300

Outputs (figure, results.json, checkpoint.npz, settings.json) go to --out (default output/<family>).
Epoch-based families write a checkpoint after every epoch; `--resume` continues it with the settings
stored at the first run (a flag that contradicts them is refused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from .experiments.figures import plot_curves, plot_series, plot_ttfs

__all__ = ["main"]

# flags every epoch-based family shares, with their defaults
COMMON = dict(epochs=20, seed=0, n_train=None, n_test=None, out=None)
NOT_SETTINGS = {"resume", "epochs", "no_progress", "out", "family", "command", "func", "defaults", "parser"}


def _machine():
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def _write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1, default=float)
    return path


# ---- the families: each builds its trainer from the settings -------------------------------------
def build_yinyang(s):
    from .experiments import yinyang

    trainer, cfg = yinyang.build(s["config"], seed=s["seed"], n_train=s["n_train"], n_test=s["n_test"],
                                 hidden=s["hidden"], batch_size=s["batch_size"], backend=s["backend"],
                                 backend_options=_backend_options(s))
    return trainer, f"Yin-Yang {s['config']}", {"config": s["config"]}


def build_delay_only(s):
    from .experiments import delay_only

    overrides = {k: s[k] for k in ("hidden", "batch_size", "dt") if s[k] is not None}
    trainer, cfg = delay_only.build(s["dataset"], s["training"], s["weights"], seed=s["seed"], data_dir=s["data_dir"],
                                    n_train=s["n_train"], n_test=s["n_test"], backend=s["backend"],
                                    backend_options=_backend_options(s), **overrides)
    label = f"{s['dataset']}/{s['training']}/{s['weights']}"
    return trainer, f"delay-only {label}", {"cell": label, "n_trainable": cfg["n_trainable"],
                                            "in_simulation": s["backend"] == "in-simulation"}


def _backend_options(s):
    if s.get("threads") is not None:
        if s["backend"] != "brian2-cpp":
            raise ValueError(f"--threads sets OpenMP threads of --backend brian2-cpp, not of {s['backend']!r}")
        return {"threads": s["threads"]}
    return None


def build_src(s):
    from .experiments.src import build

    trainer, cfg = build(s["dataset"], seed=s["seed"], data_dir=s["data_dir"], n_train=s["n_train"],
                         n_test=s["n_test"], depth=s["depth"], hidden=s["hidden"], steps=s["steps"], lr=s["lr"],
                         batch_size=s["batch_size"], gradient=s["gradient"], readout=s["readout"],
                         hidden_gain=s["hidden_gain"], schedule=tuple(s["schedule"]) if s["schedule"] else None)
    sizes = "-".join(str(n) for n in [trainer.net.n_in, *trainer.net.sizes])
    return trainer, f"SRC {s['dataset']} {sizes}", {
        "dataset": s["dataset"], "emulated": s["dataset"] == "nmnist-emulated", "network": sizes,
        "settings": {k: cfg[k] for k in ("steps", "batch_size", "lr", "gradient", "schedule", "readout",
                                         "hidden_gain")}}


def build_smooth_mnist(s):
    from .experiments.smooth_mnist import SmoothMNIST, mnist_data

    train, test = mnist_data(s["data_dir"], s["n_train"], s["n_test"])
    overrides = {k: s[k] for k in ("hidden", "batch_size", "p_flip") if s[k] is not None}
    batch = overrides.get("batch_size", 1000)
    exp = SmoothMNIST(seed=s["seed"], simulator="replay" if s["backend"] == "event" else "brian2",
                      n_batches_per_epoch=-(-len(train[0]) // batch), **overrides)
    exp.data = (train, test)
    sizes = "-".join(str(n) for n in [784, *exp.net.layer_sizes])
    return exp, f"smooth MNIST {sizes}", {"network": sizes, "settings": exp.cfg}


FAMILIES = {"yinyang": build_yinyang, "delay_only": build_delay_only, "src": build_src,
            "smooth_mnist": build_smooth_mnist}


# ---- running a family ------------------------------------------------------------------------------
def _settings(args, parser, defaults):
    """The run's settings: the defaults, then (with --resume) those stored at the first run, then the flags
    given now; a given flag that contradicts a stored setting is refused."""
    given = {k: v for k, v in vars(args).items() if v is not None and k not in NOT_SETTINGS}
    stored_path = os.path.join(args.out, "settings.json")
    stored = {}
    if args.resume and os.path.exists(stored_path):
        stored = json.load(open(stored_path))
        clash = {k: (stored[k], v) for k, v in given.items() if k in stored and stored[k] != v}
        if clash:
            parser.error("; ".join(f"--{k.replace('_', '-')} {v!r} differs from the stored {s!r}"
                                   for k, (s, v) in clash.items())
                         + f" ({stored_path}): drop the flag to resume, or start a new --out")
    return {**defaults, **stored, **given}


def cmd_train(args, parser, defaults):
    family = args.family
    args.out = args.out or os.path.join("output", family)
    os.makedirs(args.out, exist_ok=True)
    s = _settings(args, parser, defaults)
    try:
        trainer, title, entries = FAMILIES[family](s)
    except (ValueError, KeyError, FileNotFoundError) as err:     # bad settings: a usage error, not a traceback
        parser.error(str(err).strip("'\""))
    trainer.progress = not args.no_progress
    _write_json(os.path.join(args.out, "settings.json"), s)
    ckpt = os.path.join(args.out, "checkpoint.npz")
    if args.resume and os.path.exists(ckpt):
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at epoch {trainer.epoch}")
    net = trainer.net
    before = None
    if family in ("yinyang", "delay_only"):
        before = np.concatenate([net.total_delays(l).ravel() for l in range(net.n_layers)])
        print(f"{title}: {net.n_inputs}-{'-'.join(map(str, net.layer_sizes))}, {net.n_weights} weights, "
              f"{net.n_delays} trainable delays, batch {net.batch_size}, dt = {net.dt} tau_s, trial "
              f"{net.duration} tau_s, back end {net.backend.name!r}")
    else:
        print(f"{title}: {s}")
    t0 = time.perf_counter()
    if family == "smooth_mnist":
        trainer.fit(*trainer.data, args.epochs, checkpoint=ckpt)
    else:
        trainer.fit(args.epochs, checkpoint=ckpt)
    wall = time.perf_counter() - t0
    result = {"experiment": family, **entries, "seed": s["seed"], "epochs": trainer.epoch,
              "history": trainer.history, "wall_seconds": wall, "settings_given": s}
    if before is not None:
        acc, loss, _ = trainer.evaluate()
        result.update(test_acc=acc, test_loss=loss, n_weights=net.n_weights, n_delays=net.n_delays,
                      backend=net.backend.name,
                      figure=plot_ttfs(trainer, title, before, args.out, family))
    elif family == "src":
        result.update(test_acc=trainer.history[-1]["test_acc"] if trainer.history else None,
                      figure=plot_curves(trainer.history, {"train (during epoch)": "train_acc", "test": "test_acc"},
                                         title, args.out, family))
    else:
        last = trainer.history[-1]
        result.update(test_acc_ordinary=last["acc_ordinary"], test_acc_with_pseudo=last["acc_with_pseudo"],
                      backend=s["backend"],
                      figure=plot_curves(trainer.history, {"test, ordinary spikes": "acc_ordinary",
                                                           "test, with pseudospikes": "acc_with_pseudo"},
                                         title, args.out, family))
    path = _write_json(os.path.join(args.out, "results.json"),
                       dict(result, command=" ".join(sys.argv), machine=_machine()))
    acc = result.get("test_acc", result.get("test_acc_ordinary"))
    print(f"final test accuracy {acc:.4f}; figure {result['figure']}; results {path}")


def cmd_perturbation(args, parser, defaults):
    """Weight-perturbation (or exact) gradients on a SciML task (experiments.sciml_training.SciMLTrainer):
    one epoch = --steps-per-epoch steps; a checkpoint after each; losses, relative L2 error, a figure."""
    from .experiments.sciml_training import SciMLTrainer

    args.out = args.out or os.path.join("output", "perturbation")
    os.makedirs(args.out, exist_ok=True)
    s = _settings(args, parser, defaults)
    try:
        trainer = SciMLTrainer(s["task"], gradient=s["gradient"], steps=s["steps"],
                               steps_per_epoch=s["steps_per_epoch"], lr=s["lr"], K=s["K"], eps=s["eps"],
                               hidden=s["hidden"], seed=s["seed"],
                               simulator="replay" if s["backend"] == "event" else "brian2")
    except (ValueError, KeyError) as err:
        parser.error(str(err).strip("'\""))
    trainer.progress = not args.no_progress
    _write_json(os.path.join(args.out, "settings.json"), s)
    ckpt = os.path.join(args.out, "checkpoint.npz")
    if args.resume and os.path.exists(ckpt):
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at step {trainer.step}")
    t0 = time.perf_counter()
    trainer.fit(-(-s["steps"] // s["steps_per_epoch"]), checkpoint=ckpt)
    losses = [x for row in trainer.history for x in row["losses"]]
    fig = plot_series(losses, f"{s['task']} ({s['gradient']})", args.out, "perturbation")
    last = trainer.history[-1]
    result = {"experiment": "perturbation", "task": s["task"], "gradient": s["gradient"], "rel_l2": last["rel_l2"],
              "forward_runs": last["forward_runs"], "steps": trainer.step, "losses": losses,
              "history": [{k: v for k, v in row.items() if k != "losses"} for row in trainer.history],
              "wall_seconds": time.perf_counter() - t0, "settings_given": s, "figure": fig,
              "command": " ".join(sys.argv), "machine": _machine()}
    path = _write_json(os.path.join(args.out, "results.json"), result)
    print(f"relative L2 error {last['rel_l2']:.4g} after {trainer.step} steps; figure {fig}; results {path}")


def cmd_delay_adaptation(args, parser, defaults):
    """Unsupervised delay adaptation (experiments.delay_adaptation): arrival-time spread per trial and the
    response rates to the pattern, shuffled and new patterns before and after learning."""
    from brian2 import mV

    from .experiments import delay_adaptation as da

    args.out = args.out or os.path.join("output", "delay_adaptation")
    os.makedirs(args.out, exist_ok=True)
    s = {**defaults, **{k: v for k, v in vars(args).items() if v is not None and k not in NOT_SETTINGS}}
    try:
        res = da.learn(s["trials"], seed=s["seed"], n_inputs=s["inputs"], sigma=s["sigma"] * mV, eta=s["eta"])
    except ValueError as err:
        parser.error(str(err))
    spread = (res["pattern"][None, :] + res["delays"]).std(axis=1)
    rows = da.compare(res, s["test_trials"])
    fig = plot_series(spread, "arrival-time spread of the pattern", args.out, "delay_adaptation", xlabel="trial",
                      ylabel="std of arrival times [ms]")
    result = {"experiment": "delay_adaptation", "spread_ms_first_last": [float(spread[0]), float(spread[-1])],
              "response_rates_initial_learned": rows, "learned_delays_ms": res["learned"].tolist(),
              "seconds": res["seconds"], "settings_given": s, "figure": fig, "command": " ".join(sys.argv),
              "machine": _machine()}
    path = _write_json(os.path.join(args.out, "results.json"), result)
    for name, (before, after) in rows.items():
        print(f"{name:18s} response rate {before:.2f} (initial delays) -> {after:.2f} (learned delays)")
    print(f"arrival-time spread {spread[0]:.2f} -> {spread[-1]:.2f} ms; figure {fig}; results {path}")


def cmd_list(args, parser, defaults):
    from .backends import capability_table
    from .experiments import yinyang
    from .experiments.sciml_tasks import TASKS

    print("Experiments (python -m brian2learn train <family> --help for each one's flags):")
    print("  yinyang        Yin-Yang, LIF TTFS networks, exact gradients for weights and delays; --config:")
    for name, cfg in yinyang.CONFIGS.items():
        lr = cfg["lr"] if not isinstance(cfg["lr"], dict) else ", ".join(f"{k} {v}" for k, v in cfg["lr"].items())
        print(f"                   {name!r:28s} learning rate {lr}")
    print("  delay_only     MNIST / Fashion-MNIST with fixed random or ternary weights, trained delays")
    print("  src            spiking recurrent cells trained by backpropagation through time")
    print("  smooth_mnist   theta neurons with smooth exact gradients (pseudospikes)")
    print(f"  perturbation   weight-perturbation gradients on a SciML task: {', '.join(sorted(TASKS))}")
    print("  delay_adaptation  a neuron learns a repeated spike pattern by local, unsupervised delay adaptation")
    print("\nBack ends (--backend):")
    for row in capability_table():
        print(f"  {row['name']:14s} {row['summary']}" + (f"  [extra: {row['extra']}]" if row["extra"] else ""))


# ---- the parser --------------------------------------------------------------------------------------
def _common(p, data=True, resumable=True):
    """The flags every family has; those with a dataset take its sizes and --epochs, those with
    checkpoints --resume."""
    p.add_argument("--seed", type=int, help="seed of data order, initialisation and noise")
    p.add_argument("--out", help="output folder (default output/<family>)")
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    if resumable:
        p.add_argument("--resume", action="store_true", help="continue --out/checkpoint.npz with its stored settings")
    if data:
        p.add_argument("--n-train", type=int, help="use the first N training samples")
        p.add_argument("--n-test", type=int, help="use the first N test samples")
        p.add_argument("--epochs", type=int, default=COMMON["epochs"], help="train until this many epochs (default 20)")


def build_parser():
    from .backends import BACKENDS
    from .experiments.sciml_tasks import TASKS
    from .experiments.yinyang import CONFIGS

    p = argparse.ArgumentParser(prog="python -m brian2learn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the experiments and back ends").set_defaults(func=cmd_list, defaults={})
    train = sub.add_parser("train", help="train one experiment family").add_subparsers(dest="family", required=True)
    lif_backends = [b for b in BACKENDS if b not in ("data-parallel", "pynn")]

    y = train.add_parser("yinyang", help="Yin-Yang, exact spike-time gradients for weights and delays")
    y.add_argument("--config", choices=list(CONFIGS), help="named configuration (default '4-30-3 W+synaptic')")
    y.add_argument("--hidden", type=int, help="hidden neurons (default: the configuration's)")
    y.add_argument("--batch-size", type=int, help="minibatch (default: the configuration's)")
    y.add_argument("--backend", choices=[b for b in lif_backends if b != "in-simulation"],
                   help="what runs the network (default brian2; event: exact closed forms, fastest)")
    y.add_argument("--threads", type=int, help="OpenMP threads of --backend brian2-cpp")
    y.set_defaults(defaults=dict(COMMON, config="4-30-3 W+synaptic", hidden=None, batch_size=None, backend="brian2",
                                 threads=None))

    d = train.add_parser("delay_only", help="MNIST / Fashion-MNIST with fixed weights, trained delays")
    d.add_argument("--dataset", choices=["mnist", "fashion"], help="default mnist")
    d.add_argument("--training", choices=["delays", "weights", "both"], help="what learns (default delays)")
    d.add_argument("--weights", choices=["normal", "ternary"], help="fixed weight distribution (default normal)")
    d.add_argument("--data-dir", help="folder of the IDX .gz files (default: download into the cache)")
    d.add_argument("--hidden", type=int, help="hidden neurons (default 350)")
    d.add_argument("--batch-size", type=int, help="minibatch (default 32)")
    d.add_argument("--dt", type=float, help="time step in units of tau_s (default 0.05)")
    d.add_argument("--backend", choices=lif_backends,
                   help="what runs the network (default brian2; in-simulation: rule and Adam as generated code)")
    d.add_argument("--threads", type=int, help="OpenMP threads of --backend brian2-cpp")
    d.set_defaults(defaults=dict(COMMON, dataset="mnist", training="delays", weights="normal", data_dir=None,
                                 hidden=None, batch_size=None, dt=None, backend="brian2", threads=None))

    r = train.add_parser("src", help="spiking recurrent cells trained by BPTT")
    r.add_argument("--dataset", choices=["mnist", "fashion", "nmnist-emulated", "nmnist"], help="default mnist")
    r.add_argument("--data-dir", help="folder of the IDX .gz files or of N-MNIST")
    r.add_argument("--depth", type=int, help="hidden layers (default 1)")
    r.add_argument("--hidden", type=int, help="neurons per hidden layer")
    r.add_argument("--steps", type=int, help="time steps per sample (default 200)")
    r.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3)")
    r.add_argument("--batch-size", type=int)
    r.add_argument("--gradient", choices=["paper", "exact"], help="the paper's gradient stops or the exact one")
    r.add_argument("--schedule", nargs=2, type=float, metavar=("EPOCHS", "GAMMA"),
                   help="learning rate x GAMMA every EPOCHS epochs")
    r.add_argument("--readout", choices=["counts", "membrane"], help="summed output spikes or an integrator")
    r.add_argument("--hidden-gain", type=float, help="factor on the initial weights of the later SRC layers")
    r.set_defaults(defaults=dict(COMMON, dataset="mnist", data_dir=None, depth=1, hidden=None, steps=None, lr=None,
                                 batch_size=None, gradient=None, schedule=None, readout=None, hidden_gain=None))

    m = train.add_parser("smooth_mnist", help="theta neurons, smooth exact gradients, pseudospikes")
    m.add_argument("--data-dir", help="folder of the IDX .gz files")
    m.add_argument("--hidden", type=int, help="neurons per hidden layer")
    m.add_argument("--batch-size", type=int, help="minibatch (default 1000)")
    m.add_argument("--p-flip", type=float, help="probability of flipping each training pixel (default 0.02)")
    m.add_argument("--backend", choices=["brian2", "event"], help="Brian2 forward run or the exact event replay alone")
    m.set_defaults(defaults=dict(COMMON, data_dir=None, hidden=None, batch_size=None, p_flip=None, backend="brian2"))

    for parser in (y, d, r, m):
        _common(parser)
        parser.set_defaults(func=cmd_train, parser=parser)

    w = train.add_parser("perturbation", help="weight-perturbation gradients on a SciML task (regression, PDE)")
    w.add_argument("--task", choices=sorted(TASKS), help="default regression_x2")
    w.add_argument("--gradient", choices=["perturbation", "exact"], help="default perturbation")
    w.add_argument("--steps", type=int, help="optimiser steps (default 500)")
    w.add_argument("--steps-per-epoch", type=int, help="steps per Brian2 run and checkpoint (default 50)")
    w.add_argument("--lr", type=float, help="Adam learning rate (default 0.05)")
    w.add_argument("--K", type=int, help="perturbation directions per step (default 8)")
    w.add_argument("--eps", type=float, help="perturbation size (default 0.01)")
    w.add_argument("--hidden", type=int, help="hidden neurons (default 30)")
    w.add_argument("--backend", choices=["brian2", "event"], help="what runs the network (default brian2)")
    _common(w, data=False)
    w.set_defaults(func=cmd_perturbation, parser=w, defaults=dict(seed=0, task="regression_x2", gradient="perturbation",
                                                                  steps=500, steps_per_epoch=50, lr=0.05, K=8, eps=1e-2,
                                                                  hidden=30, backend="brian2"))
    a = train.add_parser("delay_adaptation", help="local unsupervised delay adaptation to a repeated pattern")
    a.add_argument("--inputs", type=int, help="input neurons (default 40)")
    a.add_argument("--trials", type=int, help="learning trials of 80 ms (default 300)")
    a.add_argument("--test-trials", type=int, help="test presentations per pattern (default 100)")
    a.add_argument("--sigma", type=float, help="membrane noise in mV (default 2)")
    a.add_argument("--eta", type=float, help="delay learning rate (default 0.2)")
    _common(a, data=False, resumable=False)
    a.set_defaults(func=cmd_delay_adaptation, parser=a, defaults=dict(seed=1, inputs=40, trials=300, test_trials=100,
                                                                      sigma=2.0, eta=0.2))
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.func(args, getattr(args, "parser", parser), args.defaults)


if __name__ == "__main__":
    main()
