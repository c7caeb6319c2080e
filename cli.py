"""Command line: `python -m brian2learn <command>`.

    python -m brian2learn list                          the named experiments
    python -m brian2learn train yinyang [options]       train, print per-epoch accuracy, write
                                                        a figure and results.json to --out
    python -m brian2learn train delay_only --dataset mnist --training delays --weights ternary \
        --in-simulation [options]                       delay-only MNIST / Fashion-MNIST (the rule in
                                                        generated code: one compiled run per epoch)
    python -m brian2learn train src --dataset mnist --depth 2 --steps 100 --schedule 3 0.5 [options]
                                                        spiking recurrent cells trained by BPTT
    python -m brian2learn train smooth_mnist --simulator replay [options]
                                                        theta neurons, smooth exact gradients
Every `train` writes a checkpoint after each epoch to --out/checkpoint.npz; --resume continues it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

__all__ = ["main"]


def _machine():
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def _plot(trainer, title, delays_before, out_dir, name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net = trainer.net
    hist = trainer.history
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    ep = [h["epoch"] for h in hist]
    ax[0].plot(ep, [h["train_acc"] for h in hist], label="train (during epoch)")
    ax[0].plot(ep, [h["test_acc"] for h in hist], label="test")
    ax[0].set(xlabel="epoch", ylabel="accuracy", title=f"{title} accuracy")
    ax[0].legend()
    # one test sample's spikes
    x, y = trainer.test
    t = net.simulate(x[:1])
    names = ["input", "hidden", "output"]
    offset = 0
    for l, times in enumerate(t):
        idx = np.nonzero(np.isfinite(times[0]))[0]
        ax[1].scatter(times[0][idx], offset + idx, s=14, label=names[min(l, 2)])
        offset += times.shape[1] + 2
    ax[1].set(xlabel="time (tau_s)", ylabel="neuron", title=f"one test sample (label {y[0]})")
    ax[1].legend()
    after = np.concatenate([net.total_delays(l).ravel() for l in range(net.n_layers)])
    bins = np.linspace(0, max(after.max(), delays_before.max()) + 1e-9, 40)
    ax[2].hist(delays_before, bins=bins, alpha=0.6, label="before")
    ax[2].hist(after, bins=bins, alpha=0.6, label="after")
    ax[2].set(xlabel="delay (tau_s)", ylabel="connections", title="transmission delays")
    ax[2].legend()
    fig.tight_layout()
    path = os.path.join(out_dir, f"{name}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _write_result(args, result):
    """Write results.json (the result plus the command and the machine) to --out; returns its path."""
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump(dict(result, command=" ".join(sys.argv), machine=_machine()), f, indent=1, default=float)
    return path


def _build(args):
    """(trainer, a one-line description, results entries) of the named experiment."""
    common = dict(seed=args.seed, n_train=args.n_train, n_test=args.n_test, progress=not args.no_progress,
                  threads=args.threads)
    if args.experiment == "yinyang":
        from .experiments import yinyang

        if args.in_simulation:
            raise SystemExit("--in-simulation: the Yin-Yang configurations use the MSE loss, weight bumping and "
                             "reparameterised delays, which the generated-code rule does not implement")
        trainer, cfg = yinyang.build(args.config, hidden=args.hidden, batch_size=args.batch_size,
                                     device=args.device, simulator=args.simulator, **common)
        return trainer, f"Yin-Yang {args.config}", {"config": args.config, "simulator": args.simulator}
    from .experiments import delay_only

    if args.dataset not in ("mnist", "fashion"):
        raise SystemExit(f"--dataset {args.dataset}: delay_only trains on mnist or fashion")
    if args.p_flip is not None:
        raise SystemExit("--p-flip is a smooth_mnist setting (input flipping of its binary pixels)")
    overrides = {k: v for k, v in dict(hidden=args.hidden, batch_size=args.batch_size).items() if v is not None}
    trainer, cfg = delay_only.build(args.dataset, args.training, args.weights, data_dir=args.data_dir,
                                    device=args.device, in_simulation=args.in_simulation,
                                    directory=None, simulator=args.simulator, **common, **overrides)
    label = f"{args.dataset}/{args.training}/{args.weights}"
    return trainer, f"delay-only {label}", {"cell": label, "n_trainable": cfg["n_trainable"],
                                            "in_simulation": args.in_simulation, "simulator": args.simulator}


def cmd_train(args):
    args.out = args.out or os.path.join("output", args.experiment)
    os.makedirs(args.out, exist_ok=True)
    if args.experiment == "src":
        return cmd_train_src(args)
    if args.experiment == "smooth_mnist":
        return cmd_train_smooth(args)
    trainer, title, entries = _build(args)
    net = trainer.net
    ckpt = os.path.join(args.out, "checkpoint.npz")
    if args.resume and os.path.exists(ckpt):
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at epoch {trainer.epoch}")
    delays_before = np.concatenate([net.total_delays(l).ravel() for l in range(net.n_layers)])
    print(f"{title}: {net.n_inputs}-{'-'.join(map(str, net.layer_sizes))}, "
          f"{net.n_weights} weights, {net.n_delays} trainable delays, batch {net.batch_size}, "
          f"dt = {net.dt} tau_s, trial {net.duration} tau_s, tau_s = {net.model.tau_s}")
    t0 = time.perf_counter()
    trainer.fit(args.epochs, checkpoint=ckpt)
    wall = time.perf_counter() - t0
    acc, loss, _ = trainer.evaluate()
    fig = _plot(trainer, title, delays_before, args.out, args.experiment)
    result = {"experiment": args.experiment, **entries, "seed": args.seed, "epochs": trainer.epoch,
              "test_acc": acc, "test_loss": loss, "history": trainer.history, "n_weights": net.n_weights,
              "n_delays": net.n_delays, "wall_seconds": wall, "figure": fig}
    print(f"final test accuracy {acc:.4f}; figure {fig}; results {_write_result(args, result)}")


def cmd_train_src(args):
    """SRC networks (experiments.src) trained by BPTT: per-epoch accuracy, a checkpoint after every
    epoch, results.json and an accuracy figure in --out."""
    from .experiments.src import build

    dataset = args.dataset
    trainer, cfg = build(dataset, seed=args.seed, data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test,
                         depth=args.depth, hidden=args.hidden, steps=args.steps, lr=args.lr,
                         batch_size=args.batch_size, gradient=args.gradient, readout=args.readout,
                         hidden_gain=args.hidden_gain, schedule=tuple(args.schedule) if args.schedule else None)
    ckpt = os.path.join(args.out, "checkpoint.npz")
    if args.resume and os.path.exists(ckpt):
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at epoch {trainer.epoch}")
    sizes = "-".join(str(n) for n in [trainer.net.n_in, *trainer.net.sizes])
    print(f"SRC {dataset}: {sizes}, {cfg['steps']} steps per sample, batch {cfg['batch_size']}, "
          f"{cfg['n_train']} training / {cfg['n_test']} test samples")
    t0 = time.perf_counter()
    trainer.fit(args.epochs, checkpoint=ckpt)
    wall = time.perf_counter() - t0
    fig = _plot_curves(trainer.history, {"train (during epoch)": "train_acc", "test": "test_acc"},
                       f"SRC {dataset} {sizes}", args.out, "src")
    result = {"experiment": "src", "dataset": dataset, "emulated": dataset == "nmnist-emulated",
              "network": sizes, "seed": args.seed, "epochs": trainer.epoch,
              "test_acc": trainer.history[-1]["test_acc"] if trainer.history else None,
              "settings": {k: cfg[k] for k in ("steps", "batch_size", "lr", "gradient", "schedule", "readout",
                                                  "hidden_gain")},
              "history": trainer.history, "wall_seconds": wall, "figure": fig}
    print(f"final test accuracy {result['test_acc']:.4f}; figure {fig}; results {_write_result(args, result)}")


def cmd_train_smooth(args):
    """The MNIST theta network with smooth exact gradients (experiments.smooth_gradients.SmoothMNIST):
    test accuracy with ordinary spikes and with pseudospikes per epoch, a checkpoint after every epoch,
    results.json and an accuracy figure in --out."""
    from .experiments.smooth_gradients import SmoothMNIST, mnist_data

    train, test = mnist_data(args.data_dir, args.n_train, args.n_test)
    overrides = {k: v for k, v in dict(hidden=args.hidden, batch_size=args.batch_size, p_flip=args.p_flip).items()
                 if v is not None}
    batch = overrides.get("batch_size", 1000)
    exp = SmoothMNIST(seed=args.seed, simulator=args.simulator, n_batches_per_epoch=-(-len(train[0]) // batch),
                      **overrides)
    ckpt = os.path.join(args.out, "checkpoint.npz")
    if args.resume and os.path.exists(ckpt):
        exp.load(ckpt)
        print(f"resumed from {ckpt} at epoch {exp.epoch}")
    sizes = "-".join(str(n) for n in [784, *exp.net.layer_sizes])
    print(f"smooth MNIST, theta neurons {sizes}, simulator {args.simulator}, batch {exp.cfg['batch_size']}, "
          f"{len(train[0])} training / {len(test[0])} test images")
    t0 = time.perf_counter()
    exp.fit(train, test, args.epochs, checkpoint=ckpt)
    fig = _plot_curves(exp.history, {"test, ordinary spikes": "acc_ordinary", "test, with pseudospikes":
                                     "acc_with_pseudo"}, f"smooth MNIST {sizes}", args.out, "smooth_mnist")
    last = exp.history[-1]
    result = {"experiment": "smooth_mnist", "network": sizes, "seed": args.seed, "epochs": exp.epoch,
              "simulator": args.simulator, "settings": exp.cfg, "test_acc_ordinary": last["acc_ordinary"],
              "test_acc_with_pseudo": last["acc_with_pseudo"], "history": exp.history,
              "wall_seconds": time.perf_counter() - t0, "figure": fig}
    print(f"final test accuracy {last['acc_ordinary']:.4f} (ordinary) / {last['acc_with_pseudo']:.4f} "
          f"(with pseudospikes); figure {fig}; results {_write_result(args, result)}")


def _plot_curves(history, series, title, out_dir, name):
    """Accuracy per epoch: series maps a label to the history key it plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, key in series.items():
        rows = [h for h in history if key in h]
        ax.plot([h["epoch"] for h in rows], [h[key] for h in rows], "o-", label=label)
    ax.set(xlabel="epoch", ylabel="accuracy", title=title)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, f"{name}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cmd_list(args):
    from .experiments import yinyang

    for name, cfg in yinyang.CONFIGS.items():
        print(f"yinyang  --config '{name}'   lr {cfg['lr']}")
    print("delay_only  --dataset mnist|fashion  --training delays|weights|both  --weights normal|ternary  "
          "[--in-simulation]")
    print("src  --dataset mnist|fashion|nmnist-emulated|nmnist  --depth N  --hidden N  --steps N  "
          "[--schedule EPOCHS GAMMA] [--gradient paper|exact] [--readout counts|membrane] [--hidden-gain G]")
    print("smooth_mnist  [--simulator brian2|replay]  [--hidden N]  [--batch-size N]  [--p-flip P]")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m brian2learn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a named experiment")
    t.add_argument("experiment", choices=["yinyang", "delay_only", "src", "smooth_mnist"])
    t.add_argument("--config", default="4-30-3 W+synaptic", help="yinyang: a named configuration")
    t.add_argument("--dataset", choices=["mnist", "fashion", "nmnist-emulated", "nmnist"], default="mnist",
                   help="delay_only: mnist or fashion; src: any (nmnist-emulated: the event-camera emulation)")
    t.add_argument("--training", choices=["delays", "weights", "both"], default="delays", help="delay_only")
    t.add_argument("--weights", choices=["normal", "ternary"], default="normal", help="delay_only")
    t.add_argument("--data-dir", default=None, help="delay_only, src: folder of the IDX .gz files (default: "
                                                    "download into the cache) or of N-MNIST")
    t.add_argument("--in-simulation", action="store_true",
                   help="delay_only: the exact gradient and Adam as generated code, one compiled run per epoch")
    t.add_argument("--depth", type=int, default=1, help="src: number of hidden layers")
    t.add_argument("--steps", type=int, default=None, help="src: time steps per sample (default 200)")
    t.add_argument("--lr", type=float, default=None, help="src: Adam learning rate (default 1e-3)")
    t.add_argument("--gradient", choices=["paper", "exact"], default=None,
                   help="src: the paper's gradient stops or the exact gradient")
    t.add_argument("--schedule", nargs=2, type=float, metavar=("EPOCHS", "GAMMA"), default=None,
                   help="src: learning rate x GAMMA every EPOCHS epochs")
    t.add_argument("--readout", choices=["counts", "membrane"], default=None,
                   help="src: summed output spikes, or the mean of a non-spiking integrator (default counts)")
    t.add_argument("--hidden-gain", type=float, default=None,
                   help="src: factor on the initial weights into the SRC layers after the first (default 1)")
    t.add_argument("--simulator", choices=["brian2", "replay"], default="brian2",
                   help="yinyang, delay_only, smooth_mnist: the Brian2 run, or the exact event replay alone "
                        "(closed forms, no time grid; faster for Yin-Yang and smooth MNIST)")
    t.add_argument("--p-flip", type=float, default=None,
                   help="smooth_mnist: probability of flipping each training input pixel (default 0.02, as the "
                        "reference; 0: off)")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--hidden", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--n-train", type=int, default=None, help="use the first N training samples")
    t.add_argument("--n-test", type=int, default=None)
    t.add_argument("--out", default=None, help="output folder (default: output/<experiment>)")
    t.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.npz")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--device", choices=["runtime", "cpp_standalone", "cuda_standalone"], default="runtime",
                   help="Brian2 runtime (Cython), or a compiled cpp_standalone / cuda_standalone (brian2cuda, the "
                        "gpu extra) program re-run per minibatch")
    t.add_argument("--threads", type=int, default=None, help="OpenMP threads for cpp_standalone")
    t.set_defaults(func=cmd_train)
    sub.add_parser("list", help="list named experiments").set_defaults(func=cmd_list)
    args = p.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
