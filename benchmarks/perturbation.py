"""Weight perturbation vs exact gradients on spiking SciML tasks (Wan, Zhang & Karniadakis 2024).

    python benchmarks/perturbation.py --tasks regression_x2 poisson_sin heat --steps 3000 --seeds 0
    python benchmarks/perturbation.py --cosine --speed --update      # cosine_vs_K and the speed ratio
    python benchmarks/perturbation.py --plot                          # results/perturbation_cosine.png

Writes benchmarks/results/perturbation.json = {"<task>": {"rel_l2_perturbation", "rel_l2_exact_gradient",
"forward_runs", "seconds", "seeds", "steps", ...}, "cosine_vs_K": {K: {"mean", "std", "repeats"}},
"speed": {...}, "machine", "command"} (with --update, merged into what is there). Relative L2 errors
are against the analytic solutions on a grid finer than the training grid (experiments.sciml_tasks).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import command, machine, write_results  # noqa: E402

from brian2learn.experiments.perturbation_sciml import SpikingSciML, cosine_vs_K, train  # noqa: E402
from brian2learn.experiments.sciml_tasks import TASKS, make_task  # noqa: E402
from brian2learn.learning_rules import PerturbationGradient  # noqa: E402


def run_task(task, args):
    steps = args.steps_heat if task == "heat" and args.steps_heat else args.steps
    entry = dict(seeds=args.seeds, steps=steps, K=args.K, eps=args.eps, layerwise=True, hidden=args.hidden,
                 lr_perturbation=args.lr, lr_exact=args.lr_exact, optimizer="Adam, constant learning rate",
                 n_grid=len(make_task(task).points), decode="membrane")
    for gradient, key in (("perturbation", "rel_l2_perturbation"), ("exact", "rel_l2_exact_gradient")):
        errs, runs, secs = [], [], []
        lr = args.lr if gradient == "perturbation" else args.lr_exact
        for seed in args.seeds:
            r = train(task, gradient=gradient, steps=steps, lr=lr, lr_final=1.0, K=args.K, eps=args.eps,
                      hidden=args.hidden, seed=seed, log_every=max(steps // 5, 1))
            errs.append(r["rel_l2"])
            runs.append(r["forward_runs"])
            secs.append(r["seconds"])
            print(f"{task} {gradient} seed {seed}: rel L2 {r['rel_l2']:.4f}, final loss {r['losses'][-1]:.3g}, "
                  f"{r['seconds']:.1f} s", flush=True)
        entry[key] = float(np.mean(errs))
        entry[key + "_per_seed"] = errs
        entry["forward_runs" if gradient == "perturbation" else "forward_runs_exact"] = int(np.mean(runs))
        entry["seconds" if gradient == "perturbation" else "seconds_exact"] = float(np.mean(secs))
    entry["networks_per_step_perturbation"] = PerturbationGradient(K=args.K, layerwise=True).n_rows([1, 1])
    return entry


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
    cos = results["cosine_vs_K"]
    Ks = sorted(int(k) for k in cos if k.isdigit())
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(Ks, [cos[str(k)]["mean"] for k in Ks], yerr=[cos[str(k)]["std"] for k in Ks], marker="o",
                capsize=3, label="measured (TTFS network, Poisson loss)")
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
    p.add_argument("--hidden", type=int, default=30)
    p.add_argument("--cosine", action="store_true", help="cosine similarity to the exact gradient vs K")
    p.add_argument("--speed", action="store_true", help="batched step vs separate runs")
    p.add_argument("--partial", default=None, help="label for a partial run (e.g. '1 seed, 500 steps')")
    p.add_argument("--timing-note", default=None)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "perturbation.json"))
    p.add_argument("--update", action="store_true")
    p.add_argument("--plot", action="store_true", help="only redraw results/perturbation_cosine.png from --out")
    args = p.parse_args(argv)
    if args.plot:
        with open(args.out) as f:
            plot_cosine(json.load(f), os.path.join(os.path.dirname(args.out), "perturbation_cosine.png"))
        return
    cmd = command(__file__, argv)
    results = {}
    for task in args.tasks:
        results[task] = run_task(task, args)
        results[task]["command"] = cmd
        if args.partial:
            results[task]["partial"] = args.partial
        if args.timing_note:
            results[task]["timing_note"] = args.timing_note
        write_results(args.out, {task: results[task], "machine": machine()}, update=True)
    if args.cosine:
        results["cosine_vs_K"] = dict(cosine_vs_K(task="poisson_sin", hidden=args.hidden), task="poisson_sin",
                                      at="initial parameters", eps=1e-3, command=cmd)
        print("cosine_vs_K", results["cosine_vs_K"], flush=True)
    if args.speed:
        results["speed"] = dict(speed(args), command=cmd)
        if args.timing_note:
            results["speed"]["timing_note"] = args.timing_note
        print("speed", results["speed"], flush=True)
    results["machine"] = machine()
    write_results(args.out, results, update=args.update or bool(args.tasks))


if __name__ == "__main__":
    main()
