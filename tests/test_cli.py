"""The command line runs the main job end to end (tiny size) and writes its figure and results."""
import json
import os
import subprocess
import sys

import pytest


def test_cli_list_and_train(tmp_path):
    out = subprocess.run([sys.executable, "-m", "brian2learn", "list"], capture_output=True, text=True, check=True)
    assert "4-30-3 W+synaptic" in out.stdout
    res = subprocess.run([sys.executable, "-m", "brian2learn", "train", "yinyang", "--epochs", "1", "--n-train", "150",
                          "--n-test", "100", "--batch-size", "50", "--out", str(tmp_path), "--no-progress"],
                         capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "test acc" in res.stdout
    result = json.load(open(tmp_path / "results.json"))
    assert result["epochs"] == 1 and 0 <= result["test_acc"] <= 1 and result["n_delays"] == 5 * 30 + 31 * 3
    assert (tmp_path / "yinyang.png").stat().st_size > 10000


@pytest.mark.skipif("BRIAN2LEARN_SHARED_DATA" not in os.environ,
                    reason="original MNIST files not found (../shared/datasets or $BRIAN2LEARN_SHARED_DATA)")
def test_cli_trains_delay_only_in_simulation(tmp_path):
    data = os.environ["BRIAN2LEARN_SHARED_DATA"]
    res = subprocess.run([sys.executable, "-m", "brian2learn", "train", "delay_only", "--dataset", "mnist",
                          "--weights", "ternary", "--backend", "in-simulation", "--hidden", "20", "--epochs", "2",
                          "--n-train", "96", "--n-test", "32", "--data-dir", data, "--out", str(tmp_path),
                          "--no-progress"], capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.load(open(tmp_path / "results.json"))
    assert result["cell"] == "mnist/delays/ternary" and result["in_simulation"] and result["epochs"] == 2
    assert result["n_trainable"] == 784 * 20 + 20 * 10 and 0 <= result["test_acc"] <= 1
    assert (tmp_path / "delay_only.png").stat().st_size > 10000


def _train_then_resume(command, out):
    """Run `command` for 1 epoch, then with --resume for 2: the second run continues the first."""
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    first = subprocess.run(command + ["--epochs", "1"], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run(command + ["--epochs", "2", "--resume"], capture_output=True, text=True, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stdout and "epoch 1:" not in second.stdout
    return json.load(open(out / "results.json"))


def test_cli_trains_src_and_resumes(tmp_path, shared_data):
    """`train src`: an epoch, then --resume for a second one from --out/checkpoint.npz; the readout
    and hidden_gain settings reach the experiment and the results."""
    base = [sys.executable, "-m", "brian2learn", "train", "src", "--dataset", "mnist", "--hidden", "16", "--steps",
            "40", "--lr", "0.01", "--n-train", "512", "--n-test", "128", "--data-dir", shared_data,
            "--readout", "membrane", "--hidden-gain", "2", "--out", str(tmp_path)]
    result = _train_then_resume(base, tmp_path)
    assert result["network"] == "784-16-10" and [h["epoch"] for h in result["history"]] == [1, 2]
    assert result["settings"]["readout"] == "membrane" and result["settings"]["hidden_gain"] == 2
    assert result["history"][1]["train_loss"] < result["history"][0]["train_loss"]   # it learns
    assert (tmp_path / "src.png").stat().st_size > 10000


def test_cli_trains_smooth_mnist_and_resumes(tmp_path, shared_data):
    """`train smooth_mnist --backend event`: an epoch, then --resume for a second one."""
    base = [sys.executable, "-m", "brian2learn", "train", "smooth_mnist", "--backend", "event", "--hidden", "12",
            "--batch-size", "50", "--n-train", "150", "--n-test", "60", "--data-dir", shared_data, "--out", str(tmp_path)]
    result = _train_then_resume(base + ["--p-flip", "0.05"], tmp_path)
    assert result["settings"]["p_flip"] == 0.05
    assert result["network"] == "784-12-12-10" and [h["epoch"] for h in result["history"]] == [0, 1, 2]
    assert result["history"][0]["silent_fraction"] > 0.9            # the network starts silent
    assert result["history"][2]["silent_fraction"] < result["history"][0]["silent_fraction"]
    assert (tmp_path / "smooth_mnist.png").stat().st_size > 10000


def test_cli_trains_yinyang_on_the_event_backend_and_refuses_misplaced_options(tmp_path):
    base = [sys.executable, "-m", "brian2learn", "train", "yinyang", "--epochs", "1", "--n-train", "150", "--n-test",
            "100", "--batch-size", "50", "--out", str(tmp_path), "--no-progress"]
    env = dict(os.environ, MPLBACKEND="Agg")
    res = subprocess.run(base + ["--backend", "event", "--hidden", "10"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "4-10-3" in res.stdout and "back end 'event'" in res.stdout
    result = json.load(open(tmp_path / "results.json"))
    assert result["epochs"] == 1 and result["backend"] == "event" and result["n_delays"] == 5 * 10 + 11 * 3
    # --resume keeps every stored setting; a flag that contradicts one is a usage error, not a traceback
    again = subprocess.run(base[:-5] + ["--out", str(tmp_path), "--epochs", "2", "--resume", "--no-progress"],
                           capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from" in again.stdout and "4-10-3" in again.stdout and "back end 'event'" in again.stdout
    clash = subprocess.run(base + ["--resume", "--hidden", "12"], capture_output=True, text=True, env=env)
    assert clash.returncode == 2 and "--hidden 12 differs from the stored 10" in clash.stderr
    assert "Traceback" not in clash.stderr
    for bad, says in ((["train", "delay_only", "--p-flip", "0.1"], "unrecognized arguments: --p-flip"),
                      (["train", "yinyang", "--config", "4-30-3 W+synapse"], "invalid choice: '4-30-3 W+synapse'"),
                      (["train", "yinyang", "--threads", "2"], "--threads sets OpenMP threads of --backend brian2-cpp")):
        res = subprocess.run([sys.executable, "-m", "brian2learn", *bad, "--out", str(tmp_path / "bad")],
                             capture_output=True, text=True, env=env)
        assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]


def test_cli_list_is_readable_and_perturbation_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "brian2learn", "list"], capture_output=True, text=True, check=True)
    assert "'4-30-3 W+synaptic'" in out.stdout and "event" in out.stdout and "{" not in out.stdout
    res = subprocess.run([sys.executable, "-m", "brian2learn", "train", "perturbation", "--task", "regression_x2",
                          "--steps", "3", "--hidden", "5", "--backend", "event", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.load(open(tmp_path / "results.json"))
    assert result["task"] == "regression_x2" and len(result["losses"]) == 3 and result["rel_l2"] > 0
    assert (tmp_path / "perturbation.png").stat().st_size > 5000


def test_cli_delay_adaptation_runs_and_has_only_its_flags(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, "-m", "brian2learn", "train", "delay_adaptation", "--inputs", "20",
                          "--trials", "20", "--test-trials", "5", "--out", str(tmp_path)], capture_output=True,
                         text=True, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.load(open(tmp_path / "results.json"))
    assert set(result["response_rates_initial_learned"]) == {"pattern", "shuffled pattern", "random pattern"}
    assert len(result["learned_delays_ms"]) == 20 and all(0 <= d <= 40 for d in result["learned_delays_ms"])
    assert (tmp_path / "delay_adaptation.png").stat().st_size > 5000
    wrong = subprocess.run([sys.executable, "-m", "brian2learn", "train", "delay_adaptation", "--epochs", "3"],
                           capture_output=True, text=True, env=env)
    assert wrong.returncode == 2 and "unrecognized arguments: --epochs" in wrong.stderr
