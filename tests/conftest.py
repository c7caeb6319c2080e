"""Shared test set-up: one Cython cache for the whole suite, small random networks."""
import os

import numpy as np
import pytest

# one compiled-code cache for every test process (a cold Cython compile takes about a minute)
os.environ.setdefault("BRIAN2LEARN_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache"))

from brian2 import prefs  # noqa: E402

prefs.codegen.runtime.cython.cache_dir = os.path.abspath(os.path.join(os.environ["BRIAN2LEARN_CACHE"], "cython"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
