"""Back ends "brian2-cpp" and "brian2-cuda": the Brian2 network compiled once, one run per trial.

The same Brian2 objects as the "brian2" back end (backends.brian2_runtime), collected into a
standalone project (models.standalone.StandaloneProject): Brian2's `cpp_standalone` device, or
brian2cuda's `cuda_standalone` on a GPU (the `gpu` extra). The program is compiled once; every trial
is one run of it from its initial state with the trial's parameters and inputs as run_args (files
overwritten in place), so no state or in-flight spike leaks from one trial into the next, and the
learning rule runs in Python between runs.

Start-up code of the generated program: the command-line arguments are applied first, then the
pathway delays are derived from the exact delays in generated code, the state is set to rest.
"""
from __future__ import annotations

import numpy as np

from ..models.delays import DELIVERY_STEP_CODE, delivery_steps
from ..models.running import run_network
from ..models.standalone import StandaloneProject, default_directory, load_brian2cuda
from .base import Capabilities
from .brian2_runtime import Brian2Runtime

__all__ = ["Brian2CppStandalone", "Brian2CudaStandalone"]


class Brian2CppStandalone(Brian2Runtime):
    """Brian2's cpp_standalone device. directory: the project folder (default: a per-network cache
    folder); threads: OpenMP threads of the program (None: single-threaded)."""

    name = "brian2-cpp"
    device = "cpp_standalone"
    capabilities = Capabilities(summary="Brian2 cpp_standalone: compiled once, one run per trial with run_args")

    def __init__(self, directory=None, threads=None):
        super().__init__(target="cython")
        self.directory, self.threads = directory, threads

    def _signature(self):
        """What the generated code depends on (names its cache folder)."""
        return repr((self.network.signature(), self.threads, self.device))

    def _activate(self):
        project = StandaloneProject(self.directory or default_directory(self._signature()), self.threads,
                                    device=self.device)
        project.activate()
        return project

    def _finish_build(self):
        st, net = self.state, self.network
        project, neurons, sources = st.project, st.neurons, st.sources
        project.apply_run_args()
        for syn, _ in st.synapses.values():
            syn.pre.delay = f"{DELIVERY_STEP_CODE}*dt"
        sources.t_spike_ = np.inf
        sources.has_spiked = False
        state = {name: np.zeros(len(neurons)) for name in net.model.REST}
        net.model.reset_state(state)
        for name, values in state.items():
            if neurons.variables[name].dtype == bool:
                setattr(neurons, name, values.astype(bool))
            else:
                setattr(neurons, name + "_", values)
        run_network(st.net, net.duration * net.model.time_unit)
        project.build()

    def _args(self, inputs):
        """run_args of one trial: the input times, and the parameters when they changed (their files
        stay in place between runs otherwise)."""
        st = self.state
        project, args = st.project, st.param_args
        if self.dirty or not args:
            w_flat, d_flat, w_new, d_new = self._master_flat()
            delivery_steps(d_flat, self.network.dt)  # the same checks as the runtime broadcast
            d_scaled = d_flat * st.tu
            for name, (syn, idx) in st.synapses.items():
                if w_new or name + ".w" not in args:
                    args[name + ".w"] = project.write_arg(f"{name}.w", self._copy_weights(name, w_flat, idx))
                if d_new or name + ".delay_exact" not in args:
                    args[name + ".delay_exact"] = project.write_arg(f"{name}.delay_exact", d_scaled[idx])
        t_in = self._input_times(inputs).ravel() * st.tu
        return list(args.values()) + [project.write_arg("sources.t_in", t_in)]

    def _spike_arrays(self):
        """The arrays the last run wrote."""
        st = self.state
        src_t, lif_t = (getattr(st, g).variables["t_spike"].get_value() for g in ("sources", "neurons"))
        return src_t, lif_t, st.neurons.variables["inexact_crossing"].get_value()

    def run_trials(self, network, inputs, callback, batch_order=None):
        """One run of the compiled program per trial."""
        self.bind(network)
        order, trials = self.trials(network, inputs, batch_order)
        st = self.build()
        for k, batch in enumerate(trials):
            st.project.run(self._args(batch))
            callback(k, self._read_record(0.0, len(batch)))
        return order


class Brian2CudaStandalone(Brian2CppStandalone):
    """brian2cuda's cuda_standalone device (the `gpu` extra; a CUDA GPU to run)."""

    name = "brian2-cuda"
    device = "cuda_standalone"
    capabilities = Capabilities(summary="brian2cuda cuda_standalone on a GPU: compiled once, one run per trial",
                                extra="gpu")

    def __init__(self, directory=None):
        load_brian2cuda()          # fail here, with the install line, not at build time
        super().__init__(directory=directory, threads=None)
