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
def run_benchmark():
    """run_benchmark(name, *args, ok=True): benchmarks/<name>.py run as a script in a subprocess from the
    repository root (the scripts are not part of the package, so tests do not import them); returns the
    CompletedProcess, asserting its exit status is 0 (ok=True) or not 0 (ok=False)."""
    return _run_benchmark


def _run_benchmark(name, *args, ok=True):
    import subprocess
    import sys
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    proc = subprocess.run([sys.executable, os.path.join("benchmarks", f"{name}.py"), *map(str, args)], cwd=root,
                          capture_output=True, text=True)
    assert (proc.returncode == 0) == ok, f"exit status {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc
