"""Recurrent QIF network learning Poisson target trains with smooth exact gradients (Klos & Memmesheimer
2025, task (c) of issue 4): loss before / after, matched target spikes, time.

    python benchmarks/smooth_recurrent.py --trials 10000 --seed 7
    python benchmarks/smooth_recurrent.py --trials 10000 --max-seconds 1500      # labelled partial if cut

Writes benchmarks/results/smooth_recurrent.json with "command", "seeds", "trials" (run), "trials_requested",
"partial" (fewer trials than requested), "initial_loss", "final_loss" (exact replay), "final_loss_brian2"
(the Brian2 run of the final parameters), "matched_target_spikes" / "n_target_spikes" (target spikes hit
within "tolerance" tau_m by the ordinary output spike of the same rank, Brian2 run), "surplus_spikes",
"brian2_max_deviation" (max |spike time| difference between Brian2 and the exact replay over the
checked trials), "seconds", "seconds_per_trial", "machine"; and the figure smooth_recurrent.png (loss per
trial, Brian2 rasters before / after with the targets).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_backend_argument  # noqa: E402
from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

from brian2learn.experiments.smooth_gradients import plot_recurrent, recurrent_network  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7, help="inputs and targets (the reference's seed is 7)")
    p.add_argument("--trials", type=int, default=10000)
    add_backend_argument(p, default="event")
    p.add_argument("--check-every", type=int, default=100, help="Brian2 run every this many trials (replay)")
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--timing-note", default=None, help="e.g. 'measured under load from parallel jobs'")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "smooth_recurrent.json"))
    args = p.parse_args(argv)

    def log(k, loss):
        if k % 500 == 0:
            print(time.strftime("%H:%M:%S"), f"trial {k} loss {loss:.5f}", flush=True)

    r = recurrent_network(args.trials, seed=args.seed, simulator=args.simulator, check_every=args.check_every,
                          progress=log, max_seconds=args.max_seconds)
    out = {
        "command": command(__file__, argv),
        "seeds": [args.seed],
        "trials": r["trials"],
        "trials_requested": args.trials,
        "partial": r["trials"] < args.trials,
        "simulator": args.simulator,
        "check_every": args.check_every,
        "initial_loss": r["initial_loss"],
        "final_loss": r["final_loss"],
        "final_loss_brian2": r["final_loss_brian2"],
        "matched_target_spikes": r["matched"],
        "n_target_spikes": r["n_targets"],
        "tolerance": r["cfg"]["tol"],
        "surplus_spikes": r["surplus_spikes"],
        "brian2_max_deviation": r["brian2_max_deviation"],
        "seconds": r["seconds"],
        "seconds_per_trial": r["seconds"] / max(r["trials"], 1),
        "machine": machine(),
        "target_times": [t.tolist() for t in r["targets"]],
        "output_times_after": [r["raster_after"].spikes[0, i, :r["raster_after"].counts[0, i]].tolist()
                               for i in r["target_neurons"]],
    }
    if args.timing_note:
        out["timing_note"] = args.timing_note
    write_results(args.out, out, update=False)
    fig = plot_recurrent(r)
    fig.savefig(os.path.splitext(args.out)[0] + ".png", dpi=120)
    print({k: v for k, v in out.items() if k not in ("target_times", "output_times_after")})


if __name__ == "__main__":
    main()
