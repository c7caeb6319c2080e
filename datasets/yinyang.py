"""The Yin-Yang dataset (Kriener, Goeltz & Petrovici, "The Yin-Yang dataset", NICE 2022).

Points in the unit square, three classes (yin, yang, dots), generated locally, no download.
Exactly the published generator: numpy RandomState(seed); for each sample draw the class with
randint(3), then rejection-sample (x, y) = rand(2) * 2 r_big until the point lies in the big
circle and has that class. Features are (x, y, 1 - x, 1 - y). Published splits: train 5000
(seed 42), validation 1000 (seed 41), test 1000 (seed 40).
"""
from __future__ import annotations

import numpy as np

__all__ = ["yin_yang", "yin_yang_class", "SPLITS", "CLASS_NAMES"]

R_SMALL, R_BIG = 0.1, 0.5
SPLITS = {"train": (5000, 42), "validation": (1000, 41), "test": (1000, 40)}
CLASS_NAMES = ("yin", "yang", "dot")


def yin_yang_class(x, y, r_small=R_SMALL, r_big=R_BIG):
    """Class of the point (x, y) (inside the big circle): 0 yin, 1 yang, 2 dot."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    if d_right < r_small or d_left < r_small:
        return 2
    is_yang = (d_right <= r_small) or (r_small < d_left <= 0.5 * r_big) or (y > r_big and d_right > 0.5 * r_big)
    return int(is_yang)


def yin_yang(split="train", size=None, seed=None, r_small=R_SMALL, r_big=R_BIG):
    """Return (features (N, 4) in [0, 1], labels (N,)) for a published split or a custom size/seed."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    n_default, seed_default = SPLITS[split]
    n = n_default if size is None else int(size)
    if n < 1:
        raise ValueError(f"size must be >= 1, got {size!r}")
    rng = np.random.RandomState(seed_default if seed is None else seed)
    points = np.empty((n, 2))
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        goal = rng.randint(3)
        while True:
            x, y = rng.rand(2) * 2.0 * r_big
            if np.hypot(x - r_big, y - r_big) > r_big:
                continue
            if yin_yang_class(x, y, r_small, r_big) == goal:
                break
        points[i] = x, y
        labels[i] = goal
    features = np.concatenate([points, 1.0 - points], axis=1)
    return features, labels
