"""The perturbation family through the shared epoch loop (experiments.sciml_training.SciMLTrainer):
epochs of steps, the step budget, and a resume from a checkpoint that ends bit-identical."""
import numpy as np
import pytest

from brian2learn.experiments.sciml_training import SciMLTrainer
from brian2learn.training import EarlyStopping

KW = dict(steps=6, steps_per_epoch=2, hidden=5, n=9, simulator="replay", seed=3, K=4, lr=0.02)


@pytest.mark.parametrize("gradient", ["perturbation", "exact"])
def test_resume_from_a_checkpoint_equals_training_straight(tmp_path, gradient):
    straight = SciMLTrainer("regression_x2", gradient=gradient, **KW)
    straight.fit(10, log=None)                        # stops at the step budget: 3 epochs of 2 steps
    assert straight.step == 6 and straight.epoch == 3 and [r["step"] for r in straight.history] == [2, 4, 6]
    first = SciMLTrainer("regression_x2", gradient=gradient, **KW)
    first.fit(1, checkpoint=tmp_path / "c.npz", log=None)
    resumed = SciMLTrainer("regression_x2", gradient=gradient, **KW).load(tmp_path / "c.npz")
    assert resumed.step == 2 and resumed.optimizer.scale == first.optimizer.scale
    resumed.fit(3, log=None)
    np.testing.assert_array_equal(resumed.model.theta, straight.model.theta)
    assert [r["losses"] for r in resumed.history] == [r["losses"] for r in straight.history]
    assert not np.array_equal(straight.model.theta, SciMLTrainer("regression_x2", gradient=gradient, **KW).model.theta)
    assert straight.history[-1]["rel_l2"] > 0


def test_other_settings_are_refused_and_callbacks_apply(tmp_path):
    t = SciMLTrainer("regression_x2", **KW)
    t.fit(1, checkpoint=tmp_path / "c.npz", log=None)
    with pytest.raises(ValueError, match="other settings.*steps_per_epoch"):
        SciMLTrainer("regression_x2", **dict(KW, steps_per_epoch=3)).load(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="steps_per_epoch must be an integer >= 1"):
        SciMLTrainer("regression_x2", **dict(KW, steps_per_epoch=0))
    stopper = SciMLTrainer("regression_x2", callbacks=[EarlyStopping("loss", patience=1, mode="min",
                                                                     min_delta=1e9)], **KW)
    stopper.fit(10, log=None)
    assert stopper.epoch == 2          # epoch 1 sets the best, epoch 2 does not improve by 1e9
