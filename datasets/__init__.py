"""Datasets (generated locally or read from the original files) and spike-time encoders."""
from .encoding import latency_steps, rate_steps, ttfs_latency, ttfs_linear
from .idx import DatasetError, load_fashion_mnist, load_idx_dataset, load_mnist, read_idx
from .nmnist import emulate_nmnist, read_nmnist, write_nmnist
from .yinyang import yin_yang

__all__ = [
    "yin_yang",
    "ttfs_linear",
    "ttfs_latency",
    "DatasetError",
    "read_idx",
    "load_idx_dataset",
    "load_mnist",
    "load_fashion_mnist",
    "rate_steps",
    "latency_steps",
    "read_nmnist",
    "write_nmnist",
    "emulate_nmnist",
]
