"""Brian2's `cpp_standalone` device for trial-by-trial training: compile once, re-run with run_args.

Brian2 generates one C++ project for the network, compiles it once, and each trial is one run of
the binary with the trial's parameters and inputs passed on its command line (`run_args`); the
learning rule runs in Python between runs (DESIGN.md, "Devices"). Every run starts from the
initial state, so no state or in-flight spike leaks from one trial into the next.

Brian2 2.9 facts this module is built on (checked here):
- `run_args` sets NeuronGroup variables and synaptic variables from a file (`name=path`); the
  dict form writes a new md5-named file per call, which would pile up one file per training step,
  so the files are written here under fixed names and overwritten each trial;
- the command-line names of a Synapses object's pathway delays are all `<syn>.delay`, so only the
  first pathway's could be set. The pathway delays are therefore computed in generated code from
  the synaptic variable `delay_exact` after the command line is applied (`device.apply_run_args()`
  placed before that code), and the spike queues are prepared after both;
- a SpikeGeneratorGroup's times cannot be set by run_args: inputs are a NeuronGroup variable
  (`t_in`) with a threshold on t (models.network).

One Brian2 standalone project per process is active at a time (Brian2's device is global): building
a second standalone network invalidates the first, which then refuses to run with a clear message.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
from brian2 import get_device, prefs, set_device
from brian2.devices.device import all_devices

__all__ = ["StandaloneProject", "default_directory"]

_ACTIVE = {"project": None}


def default_directory(key: str) -> str:
    """A per-network build folder under the cache (reused, so an unchanged network rebuilds fast)."""
    root = os.environ.get("BRIAN2LEARN_STANDALONE_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "brian2learn", "standalone"))
    return os.path.join(root, hashlib.sha1(key.encode()).hexdigest()[:16])


class StandaloneProject:
    """The lifetime of one compiled standalone project: activate, build, run with arguments.

    directory : str, where Brian2 writes and compiles the project (make reuses unchanged objects)
    threads : int or None, OpenMP threads of the generated code (None or 0: single-threaded)
    """

    def __init__(self, directory, threads=None):
        self.directory = os.path.abspath(directory)
        self.threads = int(threads or 0)
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (OpenMP threads; 0 = none), got {threads!r}")
        self.built = False
        self._previous_device = None
        self.invalidated = False
        self.device = None

    def activate(self):
        """Make Brian2 collect the objects created next into this project."""
        previous = _ACTIVE["project"]
        self._previous_device = get_device()
        if previous is not None and previous is not self:
            previous.built = False
            previous.invalidated = True
        self.device = all_devices["cpp_standalone"]
        self.device.reinit()  # forget objects collected by an earlier project
        set_device(self.device, build_on_run=False, directory=self.directory)
        prefs.devices.cpp_standalone.openmp_threads = self.threads
        _ACTIVE["project"] = self

    def apply_run_args(self):
        """Apply the command-line arguments here in the generated main (before later set-up code)."""
        self.device.apply_run_args()

    def build(self):
        """Generate and compile the project (no run); Brian2's runtime device is active again after."""
        self.device.build(directory=self.directory, compile=True, run=False, with_output=False)
        self.built = True
        previous = self._previous_device
        set_device(previous if previous is not self.device else "runtime", build_on_run=True)

    def write_arg(self, name, values, dtype=np.float64, suffix=""):
        """A `name=path` command-line argument whose values are written to a fixed file (`suffix`
        distinguishes the files of processes that share the project)."""
        path = os.path.join(self.directory, "static_arrays", f"runarg_{name.replace('.', '_')}{suffix}.dat")
        np.ascontiguousarray(values, dtype=dtype).tofile(path)
        return f"{name}={path}"

    def run(self, args, results_directory=None):
        """Run the compiled program with these command-line arguments (`results_directory`:
        relative to the project, where the program writes its final state; default 'results')."""
        if self.invalidated:
            raise RuntimeError("this network's cpp_standalone project was replaced by one built later in "
                               "this process (Brian2 has one standalone device per process); rebuild it "
                               "or use device='runtime'")
        if not self.built:
            raise RuntimeError("the standalone project has not been built yet")
        self.device.run(directory=self.directory, with_output=False, run_args=list(args),
                        results_directory=results_directory)
