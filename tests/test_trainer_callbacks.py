"""One Trainer with callbacks: logging, early stopping, checkpoints, and a resume after a kill -9 at a
random point that gives bit-identical parameters."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from brian2learn.training import Callback, Checkpoint, EarlyStopping, JSONLogger, Trainer

SCRIPT = r'''
import sys
import numpy as np
from brian2 import ms
from brian2learn.datasets import ttfs_linear, yin_yang
from brian2learn.models import LIF, DelayConfig, LayeredNetwork
from brian2learn.training import Checkpoint, EarlyStopping, Trainer

def make():
    tau = 5 * ms
    x, y = yin_yang("train")
    train = (ttfs_linear(x[:40]), y[:40])
    net = LayeredNetwork(4, [6, 3], model=LIF(tau_s=tau, tau_m=2 * tau), delays=DelayConfig("synaptic", init=(0.3, 0.1)),
                         n_bias=1, bias_times=0.9 * tau, batch_size=8, weight_init=((1.5, 1.0), (0.8, 1.0)),
                         dt=0.01 * tau, duration=4 * tau, seed=2, backend="event")
    stop = EarlyStopping(monitor="train_loss", mode="min", patience=10 ** 6)
    return Trainer(net, train, seed=5, progress=False, callbacks=[stop])

if __name__ == "__main__":
    path, epochs = sys.argv[1], int(sys.argv[2])
    trainer = make()
    trainer.fit(epochs, log=None, callbacks=[Checkpoint(path)])
'''


@pytest.fixture()
def script(tmp_path):
    path = tmp_path / "train_tiny.py"
    path.write_text(SCRIPT)
    sys.path.insert(0, str(tmp_path))
    import importlib
    module = importlib.import_module("train_tiny")
    yield path, module
    sys.path.remove(str(tmp_path))
    sys.modules.pop("train_tiny", None)


def test_resume_after_kill_at_a_random_point_is_bit_identical(tmp_path, script):
    path, module = script
    epochs = 300
    ckpt = tmp_path / "ckpt.npz"
    proc = subprocess.Popen([sys.executable, str(path), str(ckpt), str(epochs)], cwd=tmp_path)
    try:
        t0 = time.time()
        while not os.path.exists(ckpt) and proc.poll() is None and time.time() - t0 < 300:
            time.sleep(0.01)
        time.sleep(np.random.default_rng().uniform(0.0, 0.5))   # somewhere in training, maybe mid-save
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run should still be training when killed"
    resumed = module.make().load(ckpt)
    stopped_at = resumed.epoch
    assert 1 <= stopped_at < epochs
    resumed.fit(epochs, log=None)
    straight = module.make()
    straight.fit(epochs, log=None)
    for pr, ps in zip(resumed.net.params, straight.net.params):
        for k in ps:
            assert np.array_equal(pr[k], ps[k]), k
    timeless = lambda h: [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in h]
    assert timeless(resumed.history) == timeless(straight.history)
    assert resumed.callbacks.callbacks[0].state_dict() == straight.callbacks.callbacks[0].state_dict()


def test_early_stopping_stops_and_its_state_survives_a_checkpoint(tmp_path, script):
    _, module = script
    trainer = module.make()
    stop = EarlyStopping(monitor="train_acc", patience=2, mode="max", min_delta=1.0)   # nothing improves by 1
    trainer.callbacks.callbacks[0] = stop
    trainer.fit(50, log=None)
    assert trainer.epoch == 3 and trainer.stop_training      # epoch 1 sets best, 2 and 3 wait
    trainer.save(tmp_path / "c.npz")
    again = module.make()
    again.callbacks.callbacks[0] = EarlyStopping(monitor="train_acc", patience=2, mode="max", min_delta=1.0)
    again.load(tmp_path / "c.npz")
    assert again.callbacks.callbacks[0].state_dict() == stop.state_dict() == {"best": stop.best, "waited": 2}


def test_callbacks_see_every_hook_in_order_and_loggers_write(tmp_path, script):
    _, module = script
    seen = []

    class Spy(Callback):
        def on_train_begin(self, trainer):
            seen.append("begin")

        def on_epoch_begin(self, trainer, epoch):
            seen.append(("epoch", epoch))

        def on_batch_end(self, trainer, batch, n):
            seen.append(("batch", batch, n))

        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(("end", epoch, logs["epoch"]))

        def on_train_end(self, trainer):
            seen.append("done")

    lines = []
    trainer = module.make()
    trainer.fit(2, log=lines.append, callbacks=[Spy(), JSONLogger(tmp_path / "h.json"),
                                                  Checkpoint(tmp_path / "c.npz", every=2)])
    batches = [("batch", k, n) for k, n in enumerate([8, 8, 8, 8, 8])]
    assert seen == ["begin", ("epoch", 0), *batches, ("end", 0, 1), ("epoch", 1), *batches, ("end", 1, 2), "done"]
    assert len(lines) == 2 and lines[1].startswith("epoch    2  train acc")
    assert json.loads((tmp_path / "h.json").read_text()) == json.loads(json.dumps(trainer.history))
    assert Trainer.load(module.make(), tmp_path / "c.npz").epoch == 2
    with pytest.raises(TypeError, match="Callback objects"):
        module.make().fit(1, log=None, callbacks=[print])
