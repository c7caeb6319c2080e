"""Weight perturbation vs exact gradients on spiking SciML tasks (Wan, Zhang & Karniadakis 2024).

    python benchmarks/perturbation.py --tasks regression_x2 poisson_sin heat --steps 3000 --seeds 0
    python benchmarks/perturbation.py --tasks regression_x2 --steps 6000 --lr-final 0.1 --label decay
    python benchmarks/perturbation.py --tasks regression_x2 --encode current --label current
    python benchmarks/perturbation.py --tasks regression_x2 --steps 6000 --lr-final 0.1 --resample --label resample
    python benchmarks/perturbation.py --tasks regression_x2 --backend event --steps 30000 --label long
                                                        # the closed-form event forward instead of Brian2
    python benchmarks/perturbation.py --tasks regression_sin --backend event --form outputs --label outputs
                                                        # per-output differences chained with dL/du
    python benchmarks/perturbation.py --cosine --speed --update      # cosine_vs_K and the speed ratio
    python benchmarks/perturbation.py --cosine --substrate qif --hidden 16   # "cosine_vs_K/qif"
    python benchmarks/perturbation.py --plot                          # results/perturbation_cosine.png

Writes benchmarks/results/perturbation.json = {"<task>": {"rel_l2_perturbation", "rel_l2_exact_gradient",
"forward_runs", "seconds", "seeds", "steps", ...}, "cosine_vs_K": {K: {"mean", "std", "repeats"}},
"speed": {...}, "machine", "command"} (with --update, merged into what is there). Relative L2 errors
are against the analytic solutions on a grid finer than the training grid (experiments.sciml_tasks).
With several seeds an entry holds the mean, the std ("*_std") and the per-seed values.

A task's entry is never overwritten silently by a worse run: `--label NAME` writes the run under its
own key "<task>/NAME"; without a label, a run that is not better than the stored entry (perturbation
error) is appended to that entry's "variants", and a better one replaces it, keeping the old one
under "earlier".
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_backend_argument  # noqa: E402
from brian2learn.experiments.result_store import add_seeds as store_add_seeds  # noqa: E402
from brian2learn.experiments.result_store import command, keep_better, machine, write_results  # noqa: E402

from brian2learn.experiments.perturbation_qif import QIFSciML, train_qif  # noqa: E402
from brian2learn.experiments.perturbation_sciml import FORMS, SpikingSciML, cosine_vs_K, train  # noqa: E402
from brian2learn.experiments.sciml_tasks import TASKS, make_task  # noqa: E402
from brian2learn.learning_rules import PerturbationGradient  # noqa: E402


FORM_NOTES = {
    "outputs": "output form: per-point finite differences of u chained with dL/du at the clean outputs "
               "(PerturbationGradient.combine_outputs)",
    "outputs_unswitched": "output form, at each point leaving out the directions that changed the set of spiking "
                          "neurons there (PerturbationGradient.combine_outputs keep)"}


def _schedule(lr_final, hold=0.0):
    if lr_final == 1.0:
        return "Adam, constant learning rate"
    start = f"after {hold:g} of the steps at lr, " if hold else ""
    return f"Adam, {start}learning rate decaying exponentially to {lr_final:g} x lr at the last step"


def run_task(task, args):
    steps = args.steps_heat if task == "heat" and args.steps_heat else args.steps
    entry = dict(seeds=args.seeds, steps=steps, K=args.K, eps=args.eps, layerwise=True, hidden=args.hidden,
                 lr_perturbation=args.lr, lr_exact=args.lr_exact, optimizer=_schedule(args.lr_final, args.lr_hold),
                 optimizer_exact=_schedule(args.lr_final_exact), n_grid=len(make_task(task).points),
                 decode="membrane", encode=args.encode, substrate=args.substrate, simulator=args.simulator)
    if args.substrate == "qif":
        entry.update(decode="unwrapped phase of the theta neurons, linear readout", hidden=args.hidden,
                     exact_gradient="smooth exact gradient of the unwrapped phase (QIFSciML.exact_gradient)")
    if args.lr_final != 1.0:
        entry["lr_final_factor"] = args.lr_final
    if args.reject_factor is not None:
        entry["reject_factor"] = args.reject_factor
    if args.resample:
        entry["resample"] = "new training points every step, one uniform in each grid cell (Task.resample)"
    if args.form != "loss":
        entry["estimate"] = FORM_NOTES[args.form]
    runs_of = [("perturbation", "rel_l2_perturbation")]
    if args.encode == "ttfs" and not args.no_exact:
        runs_of.append(("exact", "rel_l2_exact_gradient"))
    else:
        entry.update(rel_l2_exact_gradient=None, lr_exact=None, optimizer_exact=None)
        entry["exact_gradient_note"] = (
            "not run: the exact spike-time gradient does not model constant input currents" if args.encode != "ttfs"
            else "not run (--no-exact)")
    for gradient, key in runs_of:
        errs, runs, secs = [], [], []
        lr = args.lr if gradient == "perturbation" else args.lr_exact
        lr_final = args.lr_final if gradient == "perturbation" else args.lr_final_exact
        hold = args.lr_hold if gradient == "perturbation" else 0.0
        for seed in args.seeds:
            common = dict(steps=steps, lr=lr, lr_final=lr_final, K=args.K, eps=args.eps, hidden=args.hidden, seed=seed,
                          log_every=max(steps // 5, 1), lr_hold=hold)
            r = (train_qif(task, gradient=gradient, **common, resample=args.resample) if args.substrate == "qif" else
                 train(task, gradient=gradient, encode=args.encode, **common,
                       reject_factor=args.reject_factor if gradient == "perturbation" else None,
                       resample=args.resample, simulator=args.simulator,
                       form=args.form if gradient == "perturbation" else "loss"))
            if gradient == "perturbation" and args.reject_factor is not None:
                entry.setdefault("rejected_steps_per_seed", []).append(r["rejected_steps"])
            if gradient == "perturbation" and args.form != "loss":
                entry.setdefault("switched_fraction_per_seed", []).append(r["switched_fraction"])
            errs.append(r["rel_l2"])
            runs.append(r["forward_runs"])
            secs.append(r["seconds"])
            print(f"{task} {gradient} seed {seed}: rel L2 {r['rel_l2']:.4f}, final loss {r['losses'][-1]:.3g}, "
                  f"{r['seconds']:.1f} s", flush=True)
        entry[key] = float(np.mean(errs))
        entry[key + "_std"] = float(np.std(errs))
        entry[key + "_per_seed"] = errs
        entry["forward_runs" if gradient == "perturbation" else "forward_runs_exact"] = int(np.mean(runs))
        entry["seconds" if gradient == "perturbation" else "seconds_exact"] = float(np.mean(secs))
    entry["networks_per_step_perturbation"] = PerturbationGradient(K=args.K, layerwise=True).n_rows([1, 1])
    return entry


def merge_entry(old, new):
    """The stored entry for a task after a new run: the better run (perturbation error) on top, the
    other kept under "earlier" (superseded) or "variants" (not better) -- nothing is dropped."""
    return keep_better(old, new, "rel_l2_perturbation")


#: what entries written before these keys existed ran with
OLD_DEFAULTS = {"encode": "ttfs", "optimizer_exact": "Adam, constant learning rate", "substrate": "lif"}
CONFIG_KEYS = ("steps", "K", "eps", "hidden", "lr_perturbation", "lr_exact", "optimizer", "optimizer_exact",
               "n_grid", "decode", "encode", "substrate", "reject_factor", "estimate")


def add_seeds(old, new):
    """`new` (more seeds of the same configuration as the stored `old`) merged into one entry:
    per-seed values joined, means and stds recomputed, both commands kept."""
    return store_add_seeds(old, new, CONFIG_KEYS, OLD_DEFAULTS,
                           metrics=("rel_l2_perturbation", "rel_l2_exact_gradient"),
                           joined=("rejected_steps_per_seed", "switched_fraction_per_seed"),
                           seed_weighted=("seconds", "seconds_exact", "forward_runs", "forward_runs_exact"),
                           integers=("forward_runs", "forward_runs_exact"))


def speed(args, repeats=5):
    """Simulations per second: the batched step (2K + 1 copies x points, ONE run) vs one run per copy."""
    task = make_task("poisson_sin")
    model = SpikingSciML(task.domain, hidden=args.hidden, n_points=len(task.points))
    est = PerturbationGradient(K=args.K, eps=args.eps, layerwise=True)
    model.use(est)
    out = {}
    for name, sub in (("batched", model.substrate(task.points)), ("separate", model.sequential_substrate(task.points))):
        stack = est.stack(model.theta, est.directions(model.theta.size, model.blocks))
        sub(stack)  # compile / warm up
        t0 = time.perf_counter()
        for _ in range(repeats):
            sub(stack)
        dt = (time.perf_counter() - t0) / repeats
        out[f"{name}_seconds_per_step"] = dt
        out[f"{name}_networks_per_second"] = len(stack) / dt
    out["ratio_separate_over_batched"] = out["separate_seconds_per_step"] / out["batched_seconds_per_step"]
    out.update(K=args.K, networks_per_step=est.n_rows(model.blocks), points=len(task.points), hidden=args.hidden, repeats=repeats)
    return out


def plot_cosine(results, path):
    """Cosine similarity to the exact gradient against K (from the results' cosine_vs_K)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (("cosine_vs_K", "TTFS LIF network"), ("cosine_vs_K/qif", "QIF network (smooth)")):
        cos = results.get(key)
        if cos:
            Ks = sorted(int(k) for k in cos if k.isdigit())
            ax.errorbar(Ks, [cos[str(k)]["mean"] for k in Ks], yerr=[cos[str(k)]["std"] for k in Ks], marker="o",
                        capsize=3, label=f"{label}, Poisson loss")
    ax.set(xscale="log", xlabel="directions K", ylabel="cosine(estimate, exact gradient)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="*", default=[], choices=sorted(TASKS))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--K", type=int, default=8)
    p.add_argument("--eps", type=float, default=1e-2)
    p.add_argument("--steps-heat", type=int, default=None, help="steps for the heat task (default: --steps)")
    p.add_argument("--lr", type=float, default=0.02, help="Adam learning rate, perturbation")
    p.add_argument("--lr-exact", type=float, default=0.05, help="Adam learning rate, exact gradient")
    p.add_argument("--lr-final", type=float, default=1.0,
                   help="perturbation: the learning rate decays exponentially to lr * this at the last step "
                        "(1: constant)")
    p.add_argument("--lr-hold", type=float, default=0.0,
                   help="perturbation: fraction of the steps at the full rate before the decay starts")
    p.add_argument("--lr-final-exact", type=float, default=1.0, help="the same for the exact gradient")
    p.add_argument("--encode", default="ttfs", choices=["ttfs", "current"], help="input encoding")
    p.add_argument("--substrate", default="lif", choices=["lif", "qif"],
                   help="lif: the TTFS LIF network; qif: the theta-neuron network (experiments.perturbation_qif)")
    p.add_argument("--reject-factor", type=float, default=None,
                   help="perturbation (LIF): undo a step that raises the clean loss by more than this factor")
    p.add_argument("--no-exact", action="store_true", help="skip the exact-gradient baseline")
    p.add_argument("--form", default="loss", choices=FORMS,
                   help="LIF substrate: how the perturbation estimate is formed (SpikingSciML.fit form)")
    p.add_argument("--resample", action="store_true",
                   help="regression tasks: new training points in every grid cell at every step (LIF substrate)")
    p.add_argument("--add-seeds", action="store_true",
                   help="add these seeds to the stored entry of the same configuration (mean/std over all)")
    p.add_argument("--label", default=None,
                   help="store the runs under their own key '<task>/LABEL' (a labelled configuration)")
    p.add_argument("--hidden", type=int, default=30)
    add_backend_argument(p, help="LIF substrate; the event back end takes ttfs inputs only")
    p.add_argument("--cosine", action="store_true", help="cosine similarity to the exact gradient vs K")
    p.add_argument("--speed", action="store_true", help="batched step vs separate runs")
    p.add_argument("--partial", default=None, help="label for a partial run (e.g. '1 seed, 500 steps')")
    p.add_argument("--timing-note", default=None)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "perturbation.json"))
    p.add_argument("--update", action="store_true",
                   help="accepted for old command lines: every run merges into the results file (nothing stored is dropped)")
    p.add_argument("--plot", action="store_true", help="only redraw results/perturbation_cosine.png from --out")
    args = p.parse_args(argv)
    if args.plot:
        with open(args.out) as f:
            plot_cosine(json.load(f), os.path.join(os.path.dirname(args.out), "perturbation_cosine.png"))
        return
    for name, value in (("--lr-final", args.lr_final), ("--lr-final-exact", args.lr_final_exact)):
        if not 0 < value <= 1:
            p.error(f"{name} must be in (0, 1] (the factor the learning rate decays to), got {value}")
    if args.reject_factor is not None and not args.reject_factor > 1:
        p.error(f"--reject-factor must be > 1, got {args.reject_factor}")
    for flag, value in (("--reject-factor", args.reject_factor is not None), ("--form", args.form != "loss")):
        if args.substrate == "qif" and value:
            p.error(f"{flag} is implemented for the LIF substrate only")
    if args.resample and not all(t.startswith("regression") for t in args.tasks):
        p.error("--resample is for the regression tasks only (the PDE losses' finite differences need their grid)")
    if args.simulator == "replay" and (args.substrate != "lif" or args.encode != "ttfs"):
        p.error("--backend event is the LIF network with spike-time inputs: drop --substrate qif / --encode current")
    if args.substrate == "qif" and args.encode != "ttfs":
        p.error("--substrate qif takes spike-time inputs only: drop --encode current")
    if not 0 <= args.lr_hold < 1:
        p.error(f"--lr-hold must be in [0, 1) (a fraction of the steps), got {args.lr_hold}")
    if args.label is not None and (not args.label or "/" in args.label):
        p.error(f"--label must be a non-empty name without '/', got {args.label!r}")
    cmd = command(__file__, argv)
    results = {}
    for task in args.tasks:
        entry = run_task(task, args)
        entry["command"] = cmd
        if args.partial:
            entry["partial"] = args.partial
        if args.timing_note:
            entry["timing_note"] = args.timing_note
        label = args.label if args.label is not None or args.substrate == "lif" else "qif"
        key = task if label is None else f"{task}/{label}"
        if label is not None:
            entry["label"] = label
        stored = {}
        if os.path.exists(args.out):
            with open(args.out) as f:
                stored = json.load(f).get(key, {})
        results[key] = add_seeds(stored, entry) if args.add_seeds and stored else merge_entry(stored, entry)
        write_results(args.out, {key: results[key], "machine": machine()}, update=True)
    if args.cosine:
        key, model = "cosine_vs_K", None
        if args.substrate == "qif":
            task = make_task("poisson_sin")
            key, model = "cosine_vs_K/qif", QIFSciML(task.domain, hidden=args.hidden, n_points=len(task.points))
        results[key] = dict(cosine_vs_K(task="poisson_sin", hidden=args.hidden, model=model), task="poisson_sin",
                            at="initial parameters", eps=1e-3, substrate=args.substrate, hidden=args.hidden, command=cmd)
        print(key, results[key], flush=True)
    if args.speed:
        results["speed"] = dict(speed(args), command=cmd)
        if args.timing_note:
            results["speed"]["timing_note"] = args.timing_note
        print("speed", results["speed"], flush=True)
    results["machine"] = machine()
    write_results(args.out, results, update=True)


if __name__ == "__main__":
    main()
