#!/usr/bin/env python3
"""Write docs/results.md from benchmarks/results/*.json (stdlib only; no package import).

(One script of about 540 lines: one renderer per results file's structure, run as a script by CI's
test of the page; kept in one file so that `python docs/make_results.py` needs nothing else.)

    python docs/make_results.py            # (re)write docs/results.md
    python docs/make_results.py --check    # exit 1, with a diff summary, if docs/results.md is stale
    python docs/make_results.py --results-dir DIR --out FILE

One section per results file, in file-name order; inside a file, entries keep the order of the
JSON. Means and standard deviations are computed here from the per-seed values the file stores
(standard deviation with ddof 0, as the benchmarks store it); where a file stores no per-seed
values the stored mean and std are shown. Numbers are only formatted, never typed in by hand.
The optional benchmarks/results/test_suite.json ({"cold_seconds", "passed", "machine", "command"})
feeds the "Test suite" section.
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED_BY = "python docs/make_results.py"
TEST_SUITE = "test_suite.json"


# ----------------------------------------------------------------------------------------- formatting
def pct(x, digits=2):
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def num(x):
    """Seconds and other plain quantities: 3 significant digits below 100, integers above."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if x != x or math.isinf(x):
        return str(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if x == 0:
        return "0"
    if abs(x) < 1e-3:
        return f"{x:.2g}"
    return f"{x:.3g}"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out


def mean_std(values):
    """(mean, std with ddof 0, n) of the stored values, or None when there are none."""
    vals = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not vals:
        return None
    return statistics.fmean(vals), statistics.pstdev(vals), len(vals)


def mean_pm(ms, fmt=pct):
    if ms is None:
        return "—"
    m, s, n = ms
    return fmt(m) if n == 1 else f"{fmt(m)} ± {fmt(s)}"


class Machines:
    """Short labels (A, B, ...) for the machine strings of one section, with a legend."""

    def __init__(self):
        self.labels = {}

    def __call__(self, machine):
        if not machine:
            return "—"
        if machine not in self.labels:
            self.labels[machine] = chr(ord("A") + len(self.labels))
        return self.labels[machine]

    def legend(self):
        if not self.labels:
            return []
        return ["", "Machines: " + "; ".join(f"{v} = {k}" for k, v in self.labels.items()) + "."]


def commands_block(commands):
    """A collapsed list of the commands (a string or a list of strings per key); the keys that share
    a command are listed together."""
    by_cmd = {}
    for key, cmd in commands:
        for c in (cmd if isinstance(cmd, list) else [cmd]):
            if c:
                by_cmd.setdefault(c, [])
                if key and key not in by_cmd[c]:
                    by_cmd[c].append(key)
    if not by_cmd:
        return []
    lines = [f"- {'; '.join(cell(k) for k in keys) + ': ' if keys else ''}`{c}`" for c, keys in by_cmd.items()]
    return ["", "<details><summary>Commands</summary>", ""] + lines + ["", "</details>"]


def partial_text(entry):
    p = entry.get("partial")
    if p is True:
        return "partial"
    if not p:
        return ""
    return str(p)


# ----------------------------------------------------------------------------- accuracy entries
def per_seed_accuracies(entry, field="test_acc"):
    ps = entry.get("per_seed")
    if isinstance(ps, dict):
        return [v.get(field) for v in ps.values() if isinstance(v, dict)]
    if isinstance(ps, list):
        return [v.get(field) if isinstance(v, dict) else v for v in ps]
    return []


def accuracy_stats(entry, field="test_acc"):
    ms = mean_std(per_seed_accuracies(entry, field))
    if ms is not None:
        return ms
    mean = entry.get(f"{field}_mean")
    if mean is None:
        return None
    return float(mean), float(entry.get(f"{field}_std") or 0.0), len(entry.get("seeds") or [None])


def seeds_text(seeds):
    if not seeds:
        return "—"
    seeds = list(seeds)
    if len(seeds) > 2 and all(isinstance(s, int) for s in seeds) and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def epoch_seconds_text(entry, key, data):
    ps = entry.get("per_seed")
    if isinstance(ps, dict):
        med = [v.get("median_epoch_seconds") for v in ps.values() if isinstance(v, dict)]
        med = [m for m in med if isinstance(m, (int, float))]
        if med:
            lo, hi = min(med), max(med)
            return num(lo) if num(lo) == num(hi) else f"{num(lo)}-{num(hi)}"
    if isinstance(entry.get("seconds_per_training_sample"), (int, float)) and entry.get("n_train"):
        return num(entry["seconds_per_training_sample"] * entry["n_train"])
    es = data.get("epoch_seconds")
    if isinstance(es, dict) and isinstance(es.get(key), (int, float)):
        return num(es[key])
    return "—"


def is_accuracy_entry(v):
    return isinstance(v, dict) and ("test_acc_mean" in v or "test_acc_ordinary_mean" in v)


def accuracy_section(data, entries, machines):
    """Rows: configuration, test accuracy mean ± std (n seeds), seeds, epochs, s/epoch, extra, partial, machine."""
    has_val = any("test_acc_val_selected_mean" in e for _, e in entries)
    has_other = any("test_acc_other_simulator" in e for _, e in entries)
    has_params = any("n_params" in e or "n_trainable" in e or "n_weights" in e for _, e in entries)
    header = ["configuration", "test accuracy (mean ± std)", "n", "seeds", "epochs", "s / epoch"]
    if has_params:
        header.append("parameters")
    if has_val:
        header.append("test at best-validation epoch")
    if has_other:
        header.append("tested on the other simulator")
    header += ["partial", "machine"]
    rows, commands = [], []
    for key, e in entries:
        ms = accuracy_stats(e)
        row = [key, mean_pm(ms), ms[2] if ms else "—", seeds_text(e.get("seeds")), e.get("epochs", "—"),
               epoch_seconds_text(e, key, data)]
        if has_params:
            if "n_params" in e:
                row.append(e["n_params"])
            elif "n_trainable" in e:
                row.append(f"{e['n_trainable']:,}")
            elif "n_weights" in e:
                row.append(f"{e['n_weights']} weights + {e.get('n_delays', 0)} delays")
            else:
                row.append("—")
        if has_val:
            row.append(mean_pm(accuracy_stats_val(e)) if "test_acc_val_selected_mean" in e else "—")
        if has_other:
            other = e.get("test_acc_other_simulator") or {}
            row.append("; ".join(f"{sim}: {pct(v.get('test_acc_mean'))}" for sim, v in other.items()
                                 if isinstance(v, dict)) or "—")
        row += [partial_text(e), machines(e.get("machine") or data.get("machine"))]
        rows.append(row)
        commands.append((key, e.get("command")))
    return table(header, rows) + commands_block(commands)


def accuracy_stats_val(e):
    ps = e.get("per_seed")
    if isinstance(ps, dict):
        vals = [v.get("val_selected", {}).get("test_acc") for v in ps.values() if isinstance(v, dict)]
        ms = mean_std(vals)
        if ms is not None:
            return ms
    return float(e["test_acc_val_selected_mean"]), float(e.get("test_acc_val_selected_std") or 0.0), 1


def scalars(data, skip=(), prefix=""):
    """Flattened scalar leaves (dicts to depth 2, short lists of numbers) as `- key: value`."""
    out = []
    for k, v in data.items():
        if k in skip:
            continue
        name = f"{prefix}{k}"
        if isinstance(v, dict) and prefix.count(".") < 2:
            out += scalars(v, (), name + ".")
        elif isinstance(v, bool) or isinstance(v, str):
            if k not in ("command", "machine") and len(str(v)) < 200:
                out.append(f"- {cell(name)}: {cell(v)}")
        elif isinstance(v, (int, float)):
            out.append(f"- {cell(name)}: {num(v)}")
    return out


# ------------------------------------------------------------------------------- file handlers
def generic(name, data):
    m = Machines()
    entries = [(k, v) for k, v in data.items() if is_accuracy_entry(v)]
    out = []
    if entries:
        out += accuracy_section(data, entries, m)
    if isinstance(data.get("best_by_cell"), dict):
        out += ["", "Best complete entry per cell (`best_by_cell`; " + cell(data.get("best_by_cell_note", "")) + "):", ""]
        out += table(["cell", "entry", "test accuracy (stored mean ± std)", "seeds", "epochs"],
                     [[c, b.get("key"), mean_pm((b.get("test_acc_mean"), b.get("test_acc_std") or 0.0,
                                                 len(b.get("seeds") or [0]))),
                       seeds_text(b.get("seeds")), b.get("epochs")] for c, b in data["best_by_cell"].items()])
    es = data.get("epoch_seconds")
    if isinstance(es, dict) and "epoch_seconds_commands" in data:
        out += ["", "Timing runs (`epoch_seconds`: " + cell(data.get("epoch_seconds_note", "")) + "):", ""]
        out += table(["run", "s / epoch"], [[k, num(v)] for k, v in es.items()])
        out += commands_block(list(data["epoch_seconds_commands"].items()))
    elif isinstance(es, dict) and "epoch_seconds_command" in data:
        out += ["", "Timing run (`epoch_seconds`):", ""]
        out += table(["device", "s / epoch"], [[k, num(v)] for k, v in es.items()])
        out += commands_block([("timing", data["epoch_seconds_command"])])
    variants = data.get("variants")
    if isinstance(variants, dict):
        vent = [(k, v) for k, v in variants.items() if is_accuracy_entry(v)]
        if vent:
            out += ["", "Variants (tried, not adopted):", ""] + accuracy_section(data, vent, m)
    fw = data.get("forward_seconds_per_sample")
    if isinstance(fw, dict):
        out += ["", f"Forward pass only, seconds per sample ({cell(fw.get('network', ''))}, {fw.get('steps')} steps, "
                f"batch {fw.get('batch')}; {cell(fw.get('note', ''))}):", ""]
        out += table(["forward", "s / sample"], [[k, num(v)] for k, v in fw.items() if isinstance(v, (int, float))
                                                 and k not in ("steps", "batch")])
        out += commands_block([("forward", fw.get("command"))])
    if not out:
        flat = scalars(data, skip=("machine",))
        out += flat if flat else ["(no scalar values)"]
        cmds = [("", data.get("command"))] if data.get("command") else []
        out += commands_block(cmds)
    if data.get("machine") and not m.labels:
        m(data["machine"])
    return out + m.legend()


def perturbation(name, data):
    m = Machines()
    runs = [(k, v) for k, v in data.items() if isinstance(v, dict) and "rel_l2_perturbation" in v]
    rows, commands = [], []
    for k, e in runs:
        p = mean_std(e.get("rel_l2_perturbation_per_seed") or []) or (e["rel_l2_perturbation"], 0.0, 1)
        x = mean_std(e.get("rel_l2_exact_gradient_per_seed") or [])
        if x is None and e.get("rel_l2_exact_gradient") is not None:
            x = (e["rel_l2_exact_gradient"], 0.0, 1)
        ratio = f"{p[0] / x[0]:.1f}x" if x and x[0] else "—"
        rows.append([k, e.get("substrate", "lif"), e.get("simulator", "brian2"), e.get("steps"), e.get("K"),
                     seeds_text(e.get("seeds")), mean_pm(p), mean_pm(x), ratio, num(e.get("seconds")),
                     num(e.get("seconds_exact")), partial_text(e), m(e.get("machine") or data.get("machine"))])
        commands.append((k, e.get("command")))
    out = ["Relative L2 error against the analytic solution (mean ± std over the stored per-seed values):", ""]
    out += table(["task/label", "substrate", "simulator", "steps", "K", "seeds", "perturbation", "exact gradient",
                  "ratio", "s / seed (perturbation)", "s / seed (exact)", "partial", "machine"], rows)
    out += commands_block(commands)
    for k, e in data.items():
        if isinstance(e, dict) and k.startswith("cosine_vs_K"):
            ks = [kk for kk in e if kk.isdigit()]
            out += ["", f"`{k}`: cosine of the estimate to the exact gradient ({cell(e.get('task'))}, "
                    f"{cell(e.get('at'))}, eps {e.get('eps')}, substrate {e.get('substrate', 'lif')}), mean ± std:", ""]
            out += table(["K"] + ks, [["cosine"] + [f"{e[kk]['mean']:.2f} ± {e[kk]['std']:.2f}" for kk in ks]])
            out += commands_block([(k, e.get("command"))])
    sp = data.get("speed")
    if isinstance(sp, dict):
        out += ["", f"Batched step ({sp.get('networks_per_step')} networks x {sp.get('points')} points, one run) "
                f"{num(sp.get('batched_seconds_per_step'))} s against {num(sp.get('separate_seconds_per_step'))} s "
                f"for separate runs: {sp.get('ratio_separate_over_batched', 0):.1f}x ({cell(sp.get('timing_note', ''))})."]
        out += commands_block([("speed", sp.get("command"))])
    return out + m.legend()


def speed(name, data):
    m = Machines()
    out = []
    for net, d in data.items():
        if not isinstance(d, dict) or "epoch_seconds" not in d:
            continue
        out += ["", f"**{net}** ({d.get('n_train_timed')} training samples timed; "
                f"{num(d.get('synaptic_events_per_epoch'))} synaptic events per epoch; one event in a tight C loop "
                f"{d.get('event_cost_ns')} ns, lower bound {num(d.get('lower_bound_seconds'))} s):", ""]
        rows = [[dev, num(s), num(d.get("events_per_second", {}).get(dev)), num(d.get("limit_ratio", {}).get(dev)),
                 d.get("timing_notes", {}).get(dev, "")] for dev, s in d["epoch_seconds"].items()]
        out += table(["device", "s / epoch", "synaptic events / s", "x lower bound", "timing note"], rows)
        out += commands_block(list(d.get("commands", {}).items()))
    m(data.get("machine"))
    return out[1:] + m.legend()


def hardware(name, data):
    m = Machines()
    m(data.get("machine"))
    out = []
    na = data.get("nest_agreement")
    if isinstance(na, dict):
        unit = na.get("unit", "")
        out += [f"NEST agreement ({na.get('train_epochs')} training epochs, seed {na.get('seed')}, {na.get('n_test')} test "
                f"samples, {cell(na.get('nest_model', ''))}, step {na.get('timestep_ms')} ms):", ""]
        rows = [["median / 99th percentile / max spike-time difference Brian2 vs NEST",
                 f"{num(na.get('median_abs_spike_time_diff'))} / {num(na.get('p99_abs_spike_time_diff'))} / "
                 f"{num(na.get('max_abs_spike_time_diff'))} {unit}"],
                ["test accuracy Brian2 / NEST", f"{pct(na.get('acc_brian2'), 1)} / {pct(na.get('acc_nest'), 1)}"]]
        for sim, layers in (na.get("error_vs_closed_form") or {}).items():
            rows.append([f"{sim} vs closed form, max per layer (spikes off > 1e-3)",
                         "; ".join(f"{num(l.get('max'))} ({l.get('n_over_1e-3')})" for l in layers)])
        for sim, s in (na.get("seconds") or {}).items():
            rows.append([f"seconds, {sim}", num(s)])
        pb = na.get("pynn_brian2")
        if isinstance(pb, dict):
            rows.append([f"pyNN.brian2: max difference ({pb.get('n_samples')} samples, {pb.get('timestep_ms')} ms step)",
                         f"{num(pb.get('max_abs_spike_time_diff'))} {unit}, {num(pb.get('seconds'))} s"])
        out += table(["quantity", "value"], rows) + commands_block([("nest_agreement", na.get("command"))])
    hw = data.get("hw_aware")
    if isinstance(hw, dict):
        out += ["", "Hardware-aware training (test accuracy under the modelled hardware effects):", ""]
        out += accuracy_section(data, list(hw.items()), m)
    if data.get("command"):
        out += ["", f"Last command that wrote this file: `{data['command']}`"]
    return out + m.legend()


def threads(name, data):
    m = Machines()
    m(data.get("machine"))
    rows = []
    for sim in ("replay", "brian2"):
        for busy, d in (data.get(sim) or {}).items():
            rows.append([sim, busy] + [num(d.get(c)) for c in ("1 thread", "2 threads", "default")])
    out = [f"Median seconds per Yin-Yang training epoch ({data.get('epochs_timed')} timed epochs; "
           f"default = every core only for calls with at least {num(data.get('parallel_min_work'))} triples):", ""]
    return out + table(["simulator", "busy processes", "1 thread", "2 threads", "default"], rows) \
        + commands_block([("threads", data.get("command"))]) + m.legend()


def run_overhead(name, data):
    m = Machines()
    m(data.get("machine"))
    rows = []
    for w, d in data.items():
        if isinstance(d, dict):
            for how, v in d.items():
                rows.append([w, how, num(v.get("wall_seconds")), num(v.get("gc_seconds")), v.get("repeats")])
    out = [f"Objects tracked by the garbage collector: {num(data.get('objects_tracked'))}; {cell(data.get('note', ''))}.", ""]
    return out + table(["workload", "run", "wall s", "gc s", "repeats"], rows) \
        + commands_block([("run_overhead", data.get("command"))]) + m.legend()


def smooth_mnist(name, data):
    m = Machines()
    ordinary, pseudo, secs = [], [], []
    for s in data.get("per_seed") or []:
        ep = s.get("epochs") or []
        if ep:
            ordinary.append(ep[-1].get("acc_ordinary"))
            pseudo.append(ep[-1].get("acc_with_pseudo"))
    o = mean_std(ordinary) or (data.get("test_acc_ordinary_mean"), data.get("test_acc_ordinary_std") or 0.0, 1)
    p = mean_std(pseudo) or (data.get("test_acc_with_pseudo_mean"), 0.0, 1)
    es = data.get("epoch_seconds") or []
    rows = [[f"{data.get('settings', {}).get('n_hidden_layers', '')} x {data.get('settings', {}).get('hidden', '')} hidden",
             mean_pm(o), mean_pm(p), o[2], seeds_text(data.get("seeds")), data.get("epochs"),
             pct(data.get("acc_after_1_epoch")), f"{num(statistics.median(es))} (median of {len(es)})" if es else "—",
             data.get("simulator"), partial_text(data), m(data.get("machine"))]]
    out = table(["network", "test acc., ordinary spikes", "with pseudospikes", "n", "seeds", "epochs",
                 "with pseudospikes after 1 epoch", "s / epoch", "simulator", "partial", "machine"], rows)
    out += ["", f"Hidden neurons silent on every test image: {pct(data.get('silent_fraction_before'))} before, "
            f"{pct(data.get('silent_fraction_after'))} after; timing: {cell(data.get('timing_note', ''))}."]
    cmds = list((data.get("commands") or {}).items()) or [("", data.get("command"))]
    return out + commands_block(cmds) + m.legend()


def smooth_recurrent(name, data):
    m = Machines()
    rows = [[data.get("trials"), seeds_text(data.get("seeds")), num(data.get("initial_loss")),
             f"{num(data.get('final_loss'))} / {num(data.get('final_loss_brian2'))}",
             f"{data.get('matched_target_spikes')} of {data.get('n_target_spikes')}", data.get("tolerance"),
             data.get("surplus_spikes"), num(data.get("brian2_max_deviation")), num(data.get("seconds")),
             m(data.get("machine"))]]
    out = table(["trials", "seed", "loss before", "loss after (exact / Brian2)", "target spikes matched",
                 "tolerance (tau_m)", "surplus spikes", "max Brian2 deviation", "seconds", "machine"], rows)
    return out + commands_block([("", data.get("command"))]) + m.legend()


def broadcast(name, data):
    m = Machines()
    m(data.get("machine"))
    rows = [[k, num(v.get("synapses")), num(v.get("master_params")), num(v.get("seconds_weights")),
             num(v.get("seconds_delays")), num(v.get("seconds_queue_prepare")),
             f"{v.get('brian_synapse_bytes', 0) / 1e6:.0f} MB"] for k, v in data.items() if isinstance(v, dict)]
    out = table(["network/batch", "Brian2 synapses", "master parameters", "weights broadcast s", "delays broadcast s",
                 "queue re-preparation s", "synapse arrays"], rows)
    return out + commands_block([("", data.get("command"))]) + m.legend()


def grid_gradients(name, data):
    m = Machines()
    rows, commands = [], []
    for k, e in data.items():
        if not isinstance(e, dict):
            continue
        for ep, d in e.get("by_epoch", {}).items():
            rows.append([k, ep, f"{d.get('spikes_off_by_more_than_1e_3')} of {num(d.get('spikes_in_both'))}",
                         d.get("spikes_only_in_replay"), d.get("spikes_only_in_brian2"),
                         f"{d.get('samples_with_a_spike_off')} of {d.get('samples')}",
                         f"{d.get('cosine_median', 0):.4f} / {d.get('cosine_min', 0):.4f}",
                         num(d.get("epoch_gradient_relative_difference")), m(e.get("machine"))])
        commands.append((k, e.get("command")))
    out = table(["run", "epoch", "spikes off > 1e-3 tau_s", "missed by Brian2", "only in Brian2", "samples affected",
                 "minibatch cosine median / min", "epoch gradient rel. difference", "machine"], rows)
    return out + commands_block(commands) + m.legend()


def lockstep(name, data):
    m = Machines()
    rows, commands = [], []
    for k, e in data.items():
        if not isinstance(e, dict):
            continue
        be = e.get("by_epoch", {})
        last = be.get(str(e.get("epochs")), {})
        first = e.get("first_epoch_parameters_differ_by_more_than", {})
        acc = "; ".join(f"{kk[9:]}: {pct(v, 1)}" for kk, v in last.items() if kk.startswith("test_acc_"))
        rows.append([k, "; ".join(f"> {t}: epoch {ep}" for t, ep in first.items()),
                     e.get("epochs"), acc, num(e.get("seconds")), m(e.get("machine"))])
        commands.append((k, e.get("command")))
    out = table(["pair", "first epoch the parameters differ by", "epochs", "test accuracy at the end", "seconds",
                 "machine"], rows)
    return out + commands_block(commands) + m.legend()


HANDLERS = {
    "perturbation": perturbation, "speed": speed, "speed_lif_exact_steps": speed,
    "speed_lif_before_exact_steps": speed, "hardware": hardware, "threads": threads,
    "run_overhead": run_overhead, "smooth_mnist": smooth_mnist, "smooth_recurrent": smooth_recurrent,
    "broadcast": broadcast, "yinyang_grid_gradients": grid_gradients, "yinyang_lockstep": lockstep,
}


def test_suite_section(results_dir):
    out = ["## Test suite", ""]
    f = results_dir / TEST_SUITE
    if not f.exists():
        return out + [f"Not recorded yet (`benchmarks/results/{TEST_SUITE}` does not exist)."]
    d = json.loads(f.read_text())
    out += table(["cold run, seconds", "passed", "failed", "skipped", "Python / brian2", "machine"],
                 [[num(d.get("cold_seconds")), d.get("passed", "—"), d.get("failed", 0), d.get("skipped", 0),
                   f"{d.get('python', '—')} / {d.get('brian2', '—')}", d.get("machine", "—")]])
    if d.get("command"):
        out += ["", f"Command: `{d['command']}`" + (f" (log `benchmarks/{d['log']}`)" if d.get("log") else "")]
    return out


def render(results_dir):
    results_dir = Path(results_dir)
    out = ["# Results", "",
           f"<!-- Generated by `{GENERATED_BY}` from benchmarks/results/*.json. Do not edit by hand. -->",
           f"Generated by `{GENERATED_BY}` from `benchmarks/results/*.json`; do not edit by hand "
           f"(`{GENERATED_BY} --check` tells whether this file is current). Means ± std are over seeds "
           "(std with ddof 0), computed from the per-seed values stored in each file; how each file is "
           "produced is in `benchmarks/README.md`.", ""]
    out += test_suite_section(results_dir)
    for f in sorted(results_dir.glob("*.json")):
        if f.name == TEST_SUITE:
            continue
        data = json.loads(f.read_text())
        out += ["", f"## {f.stem}", "", f"From `benchmarks/results/{f.name}`.", ""]
        handler = HANDLERS.get(f.stem, generic)
        out += handler(f.stem, data) if isinstance(data, dict) else ["(not a JSON object)"]
    return "\n".join(out).rstrip() + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "results.md"))
    ap.add_argument("--check", action="store_true", help="exit 1 if --out differs from what would be written")
    args = ap.parse_args(argv)
    text = render(args.results_dir)
    out = Path(args.out)
    if args.check:
        current = out.read_text() if out.exists() else ""
        if current == text:
            return 0
        diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(), str(out), "generated", lineterm="", n=0))
        changed = sum(1 for l in diff if l[:1] in "+-" and l[:3] not in ("+++", "---"))
        print(f"{out} is out of date ({changed} lines differ); run `{GENERATED_BY}`.", file=sys.stderr)
        print("\n".join(diff[:40]), file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
