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
