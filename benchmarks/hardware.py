"""Hardware benchmark: NEST agreement of the PyNN export, and hardware-aware Yin-Yang training.

    python benchmarks/hardware.py --nest-epochs 30 --hw-epochs 300 --seeds 0 1 2
    python benchmarks/hardware.py --skip-nest --hw-epochs 300 --seeds 3 --update   # add a seed

nest_agreement: a 4-30-3 W+axonal Yin-Yang network (experiments.yinyang, tau_m = 2 tau_s) trained
for --nest-epochs in Brian2, then the 1000 test samples run in Brian2 and, exported with
hardware.pynn_export, on NEST (PyNN 0.13, iaf_psc_exp_ps) at --timestep; first-spike time
differences (model units tau_s and ms) over spikes present in both, and both test accuracies; each
back end's error against the closed-form spike times (to find out which one is off), and the same
export on pyNN.brian2 for a few samples.
hw_aware: experiments.yinyang_bss2 "W" and "W+axonal" (20-30-3, hardware-aware forward pass),
--hw-epochs each (the reference trains 300: fewer epochs are labelled partial), test accuracy
under the same hardware effects, and whether the trained network passes brainscales2.check.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from brian2 import ms

from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

from brian2learn.experiments import yinyang, yinyang_bss2  # noqa: E402
from brian2learn.hardware.brainscales2 import check, quantise_weights  # noqa: E402
from brian2learn.hardware.in_the_loop import BrianSubstrate, train_in_the_loop  # noqa: E402
from brian2learn.hardware.pynn_export import run_pynn  # noqa: E402
from brian2learn.learning_rules.losses import predict  # noqa: E402
from brian2learn.models.lif_analytic import first_spike_time  # noqa: E402


def closed_form_errors(net, x, brian, nest, step):
    """Max |t - closed form| per back end and layer, the closed form (models.lif_analytic) taken
    with the back end's own presynaptic spikes and delays (NEST: rounded to its resolution)."""
    out = {}
    for name, layers, rounded in (("brian2", brian[1:], False), ("nest", nest, True)):
        errs = []
        for l in range(net.n_layers):
            D = net.total_delays(l)
            if rounded:
                D = np.maximum(np.round(D / step), 1) * step
            pre = np.concatenate([x if l == 0 else layers[l - 1],
                                  np.broadcast_to(net.bias_times[l], (len(x), net.n_bias[l]))], 1)
            W = net.params[l]["w"]
            ref = np.array([[first_spike_time(net.model, p + D[:, j], W[:, j]) for j in range(W.shape[1])]
                            for p in pre])
            fin = np.isfinite(ref) & np.isfinite(layers[l])
            errs.append({"max": float(np.max(np.abs(layers[l][fin] - ref[fin]))),
                         "n_over_1e-3": int(np.sum(np.abs(layers[l][fin] - ref[fin]) > 1e-3)),
                         "spiking_mismatch": int(np.sum(np.isfinite(ref) != np.isfinite(layers[l])))})
        out[name] = errs
    return out


def pynn_brian2(net, x, brian):
    """The same export on pyNN.brian2 (on-grid spikes), a few samples (it is slow)."""
    import pyNN.brian2 as sim2

    t0 = time.perf_counter()
    out, _ = run_pynn(net, sim2, x, timestep=0.01 * ms)
    secs = time.perf_counter() - t0
    diffs = [np.abs(a[:len(x)] - b)[np.isfinite(a[:len(x)]) & np.isfinite(b)] for a, b in zip(brian[1:], out)]
    return {"n_samples": int(len(x)), "timestep_ms": 0.01, "max_abs_spike_time_diff": float(max(d.max() for d in diffs)),
            "spiking_mismatch_count": int(sum(np.sum(np.isfinite(a[:len(x)]) != np.isfinite(b))
                                              for a, b in zip(brian[1:], out))), "seconds": secs}


def nest_agreement(epochs, timestep_ms, seed=0, pynn_brian2_n=12):
    import pyNN.nest as sim

    trainer, _ = yinyang.build("4-30-3 W+axonal", seed=seed, progress=False)
    trainer.fit(epochs, log=print)
    x, y = trainer.test
    t0 = time.perf_counter()
    brian = trainer.net.simulate(x)
    t_brian = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest, rounding = run_pynn(trainer.net, sim, x, timestep=timestep_ms * ms, setup_kwargs=dict(verbosity="error"))
    t_nest = time.perf_counter() - t0
    diffs, silent = [], 0
    for a, b in zip(brian[1:], nest):
        both = np.isfinite(a) & np.isfinite(b)
        diffs.append(float(np.max(np.abs(a[both] - b[both]))))
        silent += int(np.sum(np.isfinite(a) != np.isfinite(b)))
    tu_ms = float(trainer.net.model.time_unit / ms)
    all_diff = np.concatenate([np.abs(a - b)[np.isfinite(a) & np.isfinite(b)] for a, b in zip(brian[1:], nest)])
    return {"median_abs_spike_time_diff": float(np.median(all_diff)),
            "p99_abs_spike_time_diff": float(np.quantile(all_diff, 0.99)),
            "error_vs_closed_form": closed_form_errors(trainer.net, x, brian, nest, timestep_ms / tu_ms),
            "pynn_brian2": pynn_brian2(trainer.net, x[:pynn_brian2_n], brian) if pynn_brian2_n else None,"max_abs_spike_time_diff": max(diffs), "unit": "tau_s", "max_abs_spike_time_diff_ms": max(diffs) * tu_ms,
            "per_layer_max_diff": diffs, "spiking_mismatch_count": silent,
            "acc_brian2": float(np.mean(predict(brian[-1]) == y)), "acc_nest": float(np.mean(predict(nest[-1]) == y)),
            "nest_model": "iaf_psc_exp_ps (pyNN.nest IF_curr_exp, spike_precision off_grid)",
            "timestep_ms": timestep_ms, "delay_rounding_max_ms": rounding, "train_epochs": epochs, "seed": seed,
            "n_test": int(len(x)), "seconds": {"brian2": t_brian, "nest": t_nest}}


def hw_aware(config, seeds, epochs):
    per_seed = []
    for seed in seeds:
        net, train, test, opt, hw, bump = yinyang_bss2.build(config, seed=seed)
        t0 = time.perf_counter()
        hist = train_in_the_loop(net, BrianSubstrate(net), train, test, epochs=epochs, optimizer=opt, hardware=hw,
                                 input_copies=yinyang_bss2.COPIES, bumping=bump, seed=seed)
        secs = time.perf_counter() - t0
        acc = hist[-1]["test_acc"]
        for p in net.params:
            p["w"] = quantise_weights(p["w"])
        net.params_changed()
        check(net, shared_inputs=yinyang_bss2.COPIES, quantised=True)  # raises if it does not fit
        per_seed.append(dict(seed=seed, test_acc=acc, curve=[h["test_acc"] for h in hist], seconds=secs,
                             fits_brainscales2=True))
    return summarise(per_seed, epochs)


def summarise(per_seed, epochs):
    accs = [r["test_acc"] for r in per_seed]
    seeds = [r["seed"] for r in per_seed]
    return {"test_acc_mean": float(np.mean(accs)), "test_acc_std": float(np.std(accs)), "seeds": seeds,
            "epochs": epochs, "per_seed": per_seed,
            "partial": f"{len(seeds)} seed(s), {epochs} of the reference 300 epochs" if epochs < 300 else None}


def merge_seeds(old, new):
    """Add new seeds to an existing entry trained for the same number of epochs (--update)."""
    if not old or old.get("epochs") != new["epochs"]:
        return new
    by_seed = {r["seed"]: r for r in old["per_seed"]}
    by_seed.update({r["seed"]: r for r in new["per_seed"]})
    merged = summarise([by_seed[k] for k in sorted(by_seed)], new["epochs"])
    merged["commands"] = sorted(set(old.get("commands", [])) | set(new.get("commands", [])))
    return merged


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nest-epochs", type=int, default=30)
    p.add_argument("--timestep", type=float, default=0.001, help="NEST resolution in ms")
    p.add_argument("--hw-epochs", type=int, default=300)
    p.add_argument("--pynn-brian2", type=int, default=12, help="test samples run on pyNN.brian2 (0: skip)")
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--skip-nest", action="store_true")
    p.add_argument("--update", action="store_true", help="add the seeds to hw_aware entries with the same epochs")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "hardware.json"))
    args = p.parse_args(argv)
    res = {"machine": machine(), "command": command(__file__, argv),
           "timing_note": "measured under load from parallel jobs (2 shared cores)"}
    if not args.skip_nest:
        res["nest_agreement"] = nest_agreement(args.nest_epochs, args.timestep, pynn_brian2_n=args.pynn_brian2)
        res["nest_agreement"]["command"] = res["command"]
        print(res["nest_agreement"])
        write_results(args.out, res, update=True)
    old = {}
    if args.update and os.path.exists(args.out):
        with open(args.out) as f:
            old = json.load(f).get("hw_aware", {})
    res["hw_aware"] = dict(old)
    for config in yinyang_bss2.CONFIGS:
        new = hw_aware(config, args.seeds, args.hw_epochs)
        new["commands"] = [res["command"]]
        res["hw_aware"][config] = merge_seeds(old.get(config), new)
        print(config, res["hw_aware"][config]["test_acc_mean"])
        write_results(args.out, res, update=True)


if __name__ == "__main__":
    main()
