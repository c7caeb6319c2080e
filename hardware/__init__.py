"""Hardware paths: PyNN export (NEST reference), BrainScaleS-2 constraints and script, substrates for
in-the-loop and hardware-aware training, NIR. PyNN, NEST and nir are optional (`.[hardware]`) and
imported only where used."""
from .brainscales2 import BSS2, ConstraintError, check, quantise_weights, write_chip_script
from .in_the_loop import (BrianSubstrate, ChipSubstrate, HardwareAware, PyNNSubstrate, replicate_inputs,
                          train_in_the_loop)
from .nir_export import read_nir, to_nir, write_nir
from .pynn_export import UnsupportedExportError, network_spec, run_pynn, write_pynn_script

__all__ = ["BSS2", "ConstraintError", "check", "quantise_weights", "write_chip_script", "BrianSubstrate",
           "ChipSubstrate", "HardwareAware", "PyNNSubstrate", "replicate_inputs", "train_in_the_loop",
           "read_nir", "to_nir", "write_nir", "UnsupportedExportError", "network_spec", "run_pynn",
           "write_pynn_script"]
