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
                          "--weights", "ternary", "--in-simulation", "--hidden", "20", "--epochs", "2",
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
    """`train smooth_mnist --simulator replay`: an epoch, then --resume for a second one."""
    base = [sys.executable, "-m", "brian2learn", "train", "smooth_mnist", "--simulator", "replay", "--hidden", "12",
            "--batch-size", "50", "--n-train", "150", "--n-test", "60", "--data-dir", shared_data, "--out", str(tmp_path)]
    result = _train_then_resume(base + ["--p-flip", "0.05"], tmp_path)
    assert result["settings"]["p_flip"] == 0.05
    assert result["network"] == "784-12-12-10" and [h["epoch"] for h in result["history"]] == [0, 1, 2]
    assert result["history"][0]["silent_fraction"] > 0.9            # the network starts silent
    assert result["history"][2]["silent_fraction"] < result["history"][0]["silent_fraction"]
    assert (tmp_path / "smooth_mnist.png").stat().st_size > 10000


def test_cli_trains_yinyang_on_the_replay_simulator_and_refuses_misplaced_options(tmp_path):
    base = [sys.executable, "-m", "brian2learn", "train", "yinyang", "--epochs", "1", "--n-train", "150", "--n-test",
            "100", "--batch-size", "50", "--out", str(tmp_path), "--no-progress"]
    res = subprocess.run(base + ["--simulator", "replay"], capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"))
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.load(open(tmp_path / "results.json"))
    assert result["epochs"] == 1 and result["simulator"] == "replay"
    res = subprocess.run([sys.executable, "-m", "brian2learn", "train", "delay_only", "--p-flip", "0.1", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and "--p-flip is a smooth_mnist setting" in res.stderr
