"""brian2learn: spiking networks whose timing carries the computation, trained on Brian2.

A Brian2 simulation is the substrate; a learning rule reads what the substrate did (spike times)
and writes new parameters back (see DESIGN.md).
"""
__version__ = "0.1.0"
