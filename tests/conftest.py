"""Shared test set-up.

Compiled Cython code lives in Brian2's default cache (~/.cython/brian_extensions), shared by every
test, by the CLI subprocess and by notebook kernels, so each code object compiles once per machine.
"""
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# the original MNIST/Fashion-MNIST .gz files next to the repository, for the tests that train on them
_SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets")
if os.path.isfile(os.path.join(_SHARED, "mnist", "t10k-labels-idx1-ubyte.gz")):
    os.environ.setdefault("BRIAN2LEARN_SHARED_DATA", os.path.abspath(_SHARED))


@pytest.fixture
def shared_data():
    """The folder of the original MNIST/Fashion-MNIST .gz files (skips the test where there is none)."""
    if "BRIAN2LEARN_SHARED_DATA" not in os.environ:
        pytest.skip("original MNIST files not found (../shared/datasets or $BRIAN2LEARN_SHARED_DATA)")
    return os.environ["BRIAN2LEARN_SHARED_DATA"]


@pytest.fixture
def load_benchmark():
    """load_benchmark(name): the module benchmarks/<name>.py (the scripts are not part of the package)."""
    return _load_benchmark


def _load_benchmark(name):
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
