"""Shared test set-up.

Compiled Cython code lives in Brian2's default cache (~/.cython/brian_extensions), shared by every
test, by the CLI subprocess and by notebook kernels, so each code object compiles once per machine.
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
