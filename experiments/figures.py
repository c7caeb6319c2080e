"""The figures the command line writes: accuracy curves that stay readable after any number of epochs
(markers on every point), one sample's spike raster, delay histograms, loss curves."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_ttfs", "plot_curves", "plot_series"]


def _figure(*shape, size):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(*shape, figsize=size)


def _save(plt, fig, out_dir, name):
    fig.tight_layout()
    path = os.path.join(out_dir, f"{name}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_ttfs(trainer, title, delays_before, out_dir, name):
    """Accuracy per epoch, one test sample's spikes per layer, the delays before and after training."""
    plt, fig, ax = _figure(1, 3, size=(15, 4.2))
    net, hist = trainer.net, trainer.history
    ep = [h["epoch"] for h in hist]
    ax[0].plot(ep, [h["train_acc"] for h in hist], "o-", label="train (during epoch)")
    ax[0].plot(ep, [h["test_acc"] for h in hist], "s-", label="test")
    ax[0].set(xlabel="epoch", ylabel="accuracy", title=f"{title} accuracy")
    ax[0].legend()
    x, y = trainer.test
    offset = 0
    for l, times in enumerate(net.simulate(x[:1])):
        idx = np.nonzero(np.isfinite(times[0]))[0]
        ax[1].scatter(times[0][idx], offset + idx, s=14, label=["input", "hidden", "output"][min(l, 2)])
        offset += times.shape[1] + 2
    ax[1].set(xlabel="time (tau_s)", ylabel="neuron", title=f"one test sample (label {y[0]})")
    ax[1].legend()
    after = np.concatenate([net.total_delays(l).ravel() for l in range(net.n_layers)])
    bins = np.linspace(0, max(after.max(), delays_before.max()) + 1e-9, 40)
    ax[2].hist(delays_before, bins=bins, alpha=0.6, label="before")
    ax[2].hist(after, bins=bins, alpha=0.6, label="after")
    ax[2].set(xlabel="delay (tau_s)", ylabel="connections", title="transmission delays")
    ax[2].legend()
    return _save(plt, fig, out_dir, name)


def plot_curves(history, series, title, out_dir, name):
    """Accuracy per epoch: `series` maps a label to the history key it plots."""
    plt, fig, ax = _figure(size=(6, 4))
    for label, key in series.items():
        rows = [h for h in history if key in h]
        ax.plot([h["epoch"] for h in rows], [h[key] for h in rows], "o-", label=label)
    ax.set(xlabel="epoch", ylabel="accuracy", title=title)
    ax.legend()
    return _save(plt, fig, out_dir, name)


def plot_series(values, title, out_dir, name, xlabel="step", ylabel="loss"):
    """One value per step or trial (e.g. the training loss), on a log scale."""
    plt, fig, ax = _figure(size=(6, 4))
    ax.semilogy(np.arange(1, len(values) + 1), values, ".-" if len(values) < 50 else "-")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return _save(plt, fig, out_dir, name)
