"""Datasets (generated locally or read from the original files) and spike-time encoders."""
from .encoding import ttfs_linear
from .yinyang import yin_yang

__all__ = ["yin_yang", "ttfs_linear"]
