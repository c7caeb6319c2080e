"""The Yin-Yang generator follows the published recipe and splits."""
import numpy as np
import pytest

from brian2learn.datasets import ttfs_linear, yin_yang
from brian2learn.datasets.yinyang import yin_yang_class


def test_published_split_sizes_and_determinism():
    x, y = yin_yang("train")
    assert x.shape == (5000, 4) and y.shape == (5000,)
    x2, y2 = yin_yang("train")
    np.testing.assert_array_equal(x, x2)
    xt, yt = yin_yang("test")
    assert xt.shape == (1000, 4) and not np.array_equal(xt[:10], x[:10])
    assert set(np.unique(y)) == {0, 1, 2} and np.bincount(y).min() > 1500


def test_points_lie_in_the_circle_with_their_class():
    x, y = yin_yang("validation")
    np.testing.assert_allclose(x[:, 2:], 1 - x[:, :2])
    assert np.all(np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5)
    assert all(yin_yang_class(a, b) == c for (a, b), c in zip(x[:, :2], y))


def test_first_draws_follow_randomstate_recipe():
    rng = np.random.RandomState(42)
    goal = rng.randint(3)
    while True:
        p = rng.rand(2) * 1.0
        if np.hypot(*(p - 0.5)) <= 0.5 and yin_yang_class(*p) == goal:
            break
    x, y = yin_yang("train", size=1)
    assert y[0] == goal and np.allclose(x[0, :2], p)


def test_encoding_and_errors():
    np.testing.assert_allclose(ttfs_linear([0.0, 1.0, 0.5]), [0.15, 2.0, 1.075])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ttfs_linear([1.5])
    with pytest.raises(ValueError, match="finite"):
        ttfs_linear([np.nan])
    with pytest.raises(ValueError, match="split"):
        yin_yang("dev")


def _recorder(out, key, run, epochs=2):
    """record(seeds, add_seeds=False, epochs=2): experiments.yinyang_results.record_seeds as one
    invocation of benchmarks/yinyang.py would call it (its own command line and start time)."""
    from brian2learn.experiments import yinyang_results
    calls = []

    def record(seeds, add_seeds=False, epochs=epochs):
        calls.append(1)
        cmd = (f"python benchmarks/yinyang.py --configs '{key}' --epochs {epochs} --seeds "
               + " ".join(map(str, seeds)) + (" --add-seeds" if add_seeds else ""))
        return yinyang_results.record_seeds(out, key, seeds, lambda seed: run(key, seed, epochs), epochs, cmd,
                                            f"start {len(calls)}", add_seeds=add_seeds)
    return record


def test_benchmark_add_seeds_joins_the_stored_entry(tmp_path, monkeypatch):
    """experiments.yinyang_results.record_seeds (benchmarks/yinyang.py --add-seeds): new seeds join the
    stored entry (mean and std over all, both commands kept); stored seeds, another number of epochs or
    other settings are refused."""
    import json
    from brian2learn.experiments import yinyang_results
    out = str(tmp_path / "yy.json")
    lr = {"w": 0.01}

    def fake_run(config, seed, epochs, simulator="brian2", **changes):
        acc = 0.9 + seed / 100
        return dict(seed=seed, test_acc=acc, acc_after_10_epochs=acc - 0.1, epoch_seconds=[1.0, 0.5, 0.7],
                    curve={epochs: acc}, val_curve={epochs: acc}, val_selected=dict(epoch=epochs, val_acc=acc, test_acc=acc),
                    n_weights=43, n_delays=43, settings={"schedule": (20, 0.95), "lr_w": lr["w"]})

    record = _recorder(out, "4-5-3 W+synaptic", fake_run)
    record([0, 1])
    record([2], add_seeds=True)
    with open(out) as f:
        entry = json.load(f)["4-5-3 W+synaptic"]
    assert entry["seeds"] == [0, 1, 2] and entry["test_acc_mean"] == pytest.approx(0.91)
    assert entry["test_acc_std"] == pytest.approx(np.std([0.9, 0.91, 0.92]))
    assert entry["per_seed"]["0"]["median_epoch_seconds"] == pytest.approx(0.6)
    assert len(entry["command"]) == 2 and "--add-seeds" in entry["command"][1] and "earlier_runs" not in entry
    assert entry["partial"] == "2 of the reference 300 epochs"
    with open(out) as f:   # another process adds seed 3 while this one (having read seeds 0-2) runs 4
        stored = json.load(f)
    record([3], add_seeds=True)
    real_stored_runs, calls = yinyang_results.stored_runs, []

    def stale_at_start(entry, epochs):   # the first read (at the start) misses seed 3; later ones see it
        calls.append(1)
        return real_stored_runs(stored["4-5-3 W+synaptic"] if len(calls) == 1 else entry, epochs)

    monkeypatch.setattr(yinyang_results, "stored_runs", stale_at_start)
    record([4], add_seeds=True)
    monkeypatch.setattr(yinyang_results, "stored_runs", real_stored_runs)
    with open(out) as f:
        assert json.load(f)["4-5-3 W+synaptic"]["seeds"] == [0, 1, 2, 3, 4]
    with pytest.raises(SystemExit, match="already stored"):
        record([1], add_seeds=True)
    with pytest.raises(SystemExit, match="epochs"):
        record([5], add_seeds=True, epochs=3)
    lr["w"] = 0.5
    with pytest.raises(SystemExit, match="settings"):
        record([5], add_seeds=True)


def test_benchmark_evaluates_the_final_network_on_the_other_simulator(tmp_path):
    """A replay-trained network evaluated by the Brian2 run (numpy target: no compile) gives the same test
    accuracy, the simulator is put back, and the entry averages the cross evaluations of the seeds that
    have one (seeds stored before the field existed have none)."""
    import json
    from brian2learn.experiments.simulator_agreement import other_simulator_test_acc
    from brian2learn.experiments.yinyang import build
    trainer, _ = build("4-30-3 W+synaptic", seed=2, n_train=300, n_test=200, progress=False,
                       simulator="replay", target="numpy")
    for _ in range(2):
        trainer.train_epoch()
    own = trainer.evaluate()[0]
    cross = other_simulator_test_acc(trainer)
    assert set(cross) == {"brian2"} and abs(cross["brian2"] - own) <= 1 / 200
    assert trainer.net.simulator == "replay"
    with pytest.raises(ValueError, match="simulator must be 'brian2' or 'replay'"):
        with trainer.net.use_simulator("nest"):
            pass
    assert trainer.net.simulator == "replay"

    def fake_run(config, seed, epochs, simulator="brian2", **changes):
        acc = 0.9 + seed / 100
        return dict(seed=seed, test_acc=acc, acc_after_10_epochs=None, epoch_seconds=[1.0], curve={2: acc},
                    val_curve={2: acc}, val_selected=dict(epoch=2, val_acc=acc, test_acc=acc), n_weights=243,
                    n_delays=243, settings={}, **({"test_acc_other_simulator": {"replay": acc + 0.01}} if seed else {}))

    out = str(tmp_path / "yy.json")
    _recorder(out, "4-30-3 W+synaptic", fake_run)([0, 1, 3])
    with open(out) as f:
        entry = json.load(f)["4-30-3 W+synaptic"]
    summary = entry["test_acc_other_simulator"]["replay"]
    assert summary["seeds"] == [1, 3] and summary["test_acc_mean"] == pytest.approx(0.93)
    assert summary["trained_simulator_test_acc_mean"] == pytest.approx(0.92)
    assert "test_acc_other_simulator" not in entry["per_seed"]["0"]


def test_grid_gradient_benchmark_compares_brian2_and_replay_gradients():
    """experiments.simulator_agreement.compare_epoch (benchmarks/yinyang_grid_gradients.py): one pass
    without learning; on a fresh network the Brian2 run's minibatch gradient points where the exact one
    does, every spike is counted, and nothing is trained."""
    from brian2learn.experiments.simulator_agreement import compare_epoch
    from brian2learn.experiments.yinyang import build
    trainer, _ = build("4-30-3 W+synaptic", seed=0, n_train=300, n_test=50, progress=False, target="numpy")
    before = [{k: v.copy() for k, v in p.items()} for p in trainer.net.params]
    row = compare_epoch(trainer)
    assert row["samples"] == 300 and row["minibatches"] == 2
    assert row["cosine_min"] > 1 - 1e-9 and row["epoch_gradient_relative_difference"] < 1e-6
    assert row["spikes_in_both"] > 300 * 30 and row["spikes_only_in_brian2"] == row["spikes_only_in_replay"] == 0
    assert row["spikes_off_by_more_than_1e_3"] == row["samples_with_a_spike_off"] == 0
    for p, p0 in zip(trainer.net.params, before):
        for k in p:
            np.testing.assert_array_equal(p[k], p0[k])


def test_lockstep_benchmark_trains_brian2_and_replay_equal_to_rounding(tmp_path, run_benchmark):
    """benchmarks/yinyang_lockstep.py (run as a script): after one epoch (34 Adam steps) the
    Brian2-trained and the replay-trained parameters are equal to rounding, and the entry records it."""
    import json
    out = str(tmp_path / "lock.json")
    run_benchmark("yinyang_lockstep", "--epochs", "1", "--every", "1", "--out", out)
    entry = json.load(open(out))["4-30-3 W+synaptic seed=0"]
    assert entry["by_epoch"]["1"]["max_param_difference"] < 1e-9
    assert entry["first_epoch_parameters_differ_by_more_than"] == {}
    assert entry["by_epoch"]["1"]["test_acc_brian2"] == entry["by_epoch"]["1"]["test_acc_replay"]


def test_benchmark_add_seeds_accepts_entries_from_before_a_setting_existed(tmp_path):
    """An entry stored before bump_dead existed ran without it: seeds with bump_dead=False join it."""
    import json
    out = str(tmp_path / "yy.json")

    def fake_run(config, seed, epochs, simulator="brian2", **changes):
        settings = {"schedule": (20, 0.95)} if seed == 0 else {"schedule": (20, 0.95), "bump_dead": False}
        return dict(seed=seed, test_acc=0.9, acc_after_10_epochs=0.8, epoch_seconds=[1.0], curve={epochs: 0.9},
                    val_curve={epochs: 0.9}, val_selected=dict(epoch=epochs, val_acc=0.9, test_acc=0.9),
                    n_weights=43, n_delays=43, settings=settings)

    record = _recorder(out, "4-5-3 W+synaptic", fake_run)
    record([0])
    record([1], add_seeds=True)
    with open(out) as f:
        assert json.load(f)["4-5-3 W+synaptic"]["seeds"] == [0, 1]


def test_benchmark_writes_each_seed_and_keeps_schedules_apart(tmp_path):
    """experiments.yinyang_results (benchmarks/yinyang.py): a finished seed is in the file before the
    next one starts (labelled partial), and a run with another learning-rate schedule is stored beside
    the reference entry."""
    import json
    from brian2learn.experiments.yinyang_results import entry_key
    out = str(tmp_path / "yy.json")
    key = entry_key("4-5-3 W+synaptic", (10, 0.9))
    assert key == "4-5-3 W+synaptic schedule=10x0.9"

    def fake_run(config, seed, epochs, simulator="brian2", **changes):
        if seed == 1 and epochs == 2:
            with open(out) as f:
                stored = json.load(f)["4-5-3 W+synaptic schedule=10x0.9"]
            assert stored["seeds"] == [0] and "1 of 2 seeds" in stored["partial"]
        acc = 0.9 + seed / 100
        return dict(seed=seed, test_acc=acc, acc_after_10_epochs=None, epoch_seconds=[1.0, 0.5], curve={2: acc},
                    val_curve={2: acc}, val_selected=dict(epoch=2, val_acc=acc, test_acc=acc), n_weights=43,
                    n_delays=43, settings={"schedule": (10, 0.9)})

    with open(out, "w") as f:
        json.dump({"4-5-3 W+synaptic": {"test_acc_mean": 0.95}}, f)
    record = _recorder(out, key, fake_run)
    record([0, 1])
    with open(out) as f:
        stored = json.load(f)
    assert stored["4-5-3 W+synaptic"] == {"test_acc_mean": 0.95}          # the reference entry is kept
    entry = stored["4-5-3 W+synaptic schedule=10x0.9"]
    assert entry["seeds"] == [0, 1] and entry["test_acc_mean"] == pytest.approx(0.905)
    assert entry["partial"] == "2 of the reference 300 epochs" and "earlier_runs" not in entry
    # a new run of the same entry keeps the one it replaces (from its first write on)
    record([0], epochs=3)
    with open(out) as f:
        stored = json.load(f)
    entry = stored["4-5-3 W+synaptic schedule=10x0.9"]
    assert entry["epochs"] == 3 and entry["seeds"] == [0]
    assert [e["epochs"] for e in entry["earlier_runs"]] == [2] and entry["earlier_runs"][0]["seeds"] == [0, 1]
    assert stored["4-5-3 W+synaptic"] == {"test_acc_mean": 0.95}          # still merged
    # other learning rates, batch size and simulator: an entry of their own, named by them
    assert (entry_key("4-5-3 W+synaptic", None, "replay", {"weights": 0.02, "delays": 0.01}, 50)
            == "4-5-3 W+synaptic lr=0.02/0.01 batch=50 simulator=replay")
    assert entry_key("4-5-3 W+synaptic", None, "replay", final_decay=1) == "4-5-3 W+synaptic final_decay=1 simulator=replay"
    assert entry_key("4-5-3 W+synaptic", None, bump_dead=True) == "4-5-3 W+synaptic bump_dead"
    assert entry_key("4-5-3 W+synaptic", None) == "4-5-3 W+synaptic"


def test_benchmark_script_passes_its_options_to_the_run(tmp_path, run_benchmark):
    """benchmarks/yinyang.py (run as a script, 1 epoch on the replay): --schedule, --lr and --batch-size
    reach the trainer (its recorded settings) and name the entry, beside an untouched reference entry."""
    import json
    out = str(tmp_path / "yy.json")
    with open(out, "w") as f:
        json.dump({"4-5-3 W+synaptic": {"test_acc_mean": 0.95}}, f)
    run_benchmark("yinyang", "--configs", "4-5-3 W+synaptic", "--seeds", "0", "--epochs", "1", "--schedule", "10",
                  "0.9", "--lr", "0.02", "0.01", "--batch-size", "50", "--simulator", "replay", "--out", out)
    with open(out) as f:
        stored = json.load(f)
    assert stored["4-5-3 W+synaptic"] == {"test_acc_mean": 0.95}
    entry = stored["4-5-3 W+synaptic schedule=10x0.9 lr=0.02/0.01 batch=50 simulator=replay"]
    assert entry["seeds"] == [0] and entry["epochs"] == 1
    settings = entry["settings"]
    assert settings["schedule"] == [10, 0.9] and settings["batch_size"] == 50
    assert settings["lr"] == {"weights": 0.02, "delays": 0.01} and settings["simulator"] == "replay"


def test_final_decay_reaches_the_trainer_and_is_checked():
    """final_decay=N: the trainer's StepLR decays over the last N of `epochs`; N outside 1..epochs is refused."""
    from brian2learn.experiments.yinyang import build

    trainer, _ = build("4-5-3 W+synaptic", n_train=30, n_test=30, progress=False, simulator="replay", epochs=10,
                       final_decay=4, batch_size=30)
    assert trainer.schedule.decay == (6, 10) and not trainer.bumping.dead
    trainer.schedule.set_epoch(9)
    assert trainer.optimizer.scale == pytest.approx(0.02)
    assert build("4-5-3 W+synaptic", n_train=30, n_test=30, progress=False, simulator="replay",
                 bump_dead=True)[0].bumping.dead
    with pytest.raises(ValueError, match="final_decay"):
        build("4-5-3 W+synaptic", n_train=30, n_test=30, progress=False, simulator="replay", epochs=10,
              final_decay=11)
