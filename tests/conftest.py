"""Shared test set-up.

Compiled Cython code lives in Brian2's default cache (~/.cython/brian_extensions), shared by every
test, by the CLI subprocess and by notebook kernels, so each code object compiles once per machine.
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

# the original MNIST/Fashion-MNIST .gz files next to the repository, for the tests that train on them
_SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets")
if os.path.isfile(os.path.join(_SHARED, "mnist", "t10k-labels-idx1-ubyte.gz")):
    os.environ.setdefault("BRIAN2LEARN_SHARED_DATA", os.path.abspath(_SHARED))
