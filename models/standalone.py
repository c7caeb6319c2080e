"""Brian2's `cpp_standalone` device for trial-by-trial training: compile once, re-run with run_args.

Brian2 generates one C++ project for the network, compiles it once, and each trial is one run of
the binary with the trial's parameters and inputs passed on its command line (`run_args`); the
learning rule runs in Python between runs (DESIGN.md, "Devices"). Every run starts from the
initial state, so no state or in-flight spike leaks from one trial into the next.

Brian2 facts this module is built on (checked with brian2 2.10.1, the version setup.cfg pins):
- `run_args` sets NeuronGroup variables and synaptic variables from a file (`name=path`); the
  dict form writes a new md5-named file per call, which would pile up one file per training step,
  so the files are written here under fixed names and overwritten each trial;
- the command-line names of a Synapses object's pathway delays are all `<syn>.delay` (each pathway's
  `delay` is a variable owned by the Synapses object, brian2/synapses/synapses.py SynapticPathway,
  and `set_variable_by_name` names variables `owner.name + "." + var.name`, cpp_standalone
  templates/objects.cpp), so only the first pathway's could be set. The pathway delays are therefore
  computed in generated code from the synaptic variable `delay_exact` after the command line is
  applied, and the spike queues are prepared after both;
- without `device.apply_run_args()` the generated main applies the command line only just before
  `net.run` (brian2/devices/cpp_standalone/device.py, network_run: `set_from_command_line(args)` is
  appended to the run lines when `run_args_applied` is false), i.e. after the code placed before the
  run and after the spike queues were prepared from the old delays (checked on 2.10.1: a 5 ms delay
  given on the command line over a built-in 1 ms is delivered after 1 ms without `apply_run_args()`,
  after 5 ms with it); so `apply_run_args()` is placed before that code (models.network);
- a SpikeGeneratorGroup's times cannot be set by run_args: inputs are a NeuronGroup variable
  (`t_in`) with a threshold on t (models.network).

One Brian2 standalone project per process is active at a time (Brian2's device is global): building
a second standalone network invalidates the first, which then refuses to run with a clear message.

`cuda_standalone` (brian2cuda) is the same mechanism on a GPU: brian2cuda's device subclasses
cpp_standalone, its generated main reads the same command line (`set_from_command_line`), and every
trial is again a fresh run of the compiled program from its initial state, so the two brian2cuda
limits that matter for training do not arise (it has no store/restore, which is not used; its spike
queues would keep the old delays if delays changed inside one run, but here each run sets the
delays from the command line before the queues are prepared). brian2cuda 1.0b1 pins brian2 2.10.1,
the package's own (both need Python >= 3.12), and applies run_args like cpp_standalone (brian2cuda/
device.py, network_run). By default brian2cuda detects the GPU when building; to build on a machine
without one (e.g. to check that a network generates and compiles), set `prefs.devices.cuda_standalone.cuda_backend.detect_gpus = False`,
`...cuda_backend.gpu_id = 0` and `...cuda_backend.compute_capability` (e.g. 9.0 for an H100) first.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil

import numpy as np
from brian2 import get_device, prefs, set_device
from brian2.devices.device import all_devices

__all__ = ["StandaloneProject", "default_directory", "DEVICES", "load_brian2cuda"]

_ACTIVE = {"project": None}
DEVICES = ("cpp_standalone", "cuda_standalone")


def load_brian2cuda():
    """Import brian2cuda (registers Brian2's 'cuda_standalone' device), or say how to get it."""
    try:
        import brian2cuda  # noqa: F401
    except ImportError as err:
        raise ImportError("device='cuda_standalone' needs brian2cuda: pip install -e '.[gpu]' (brian2cuda "
                          "1.0b1, for the brian2 2.10.1 installed with this package), or use "
                          f"device='cpp_standalone' ({err})") from err
    return brian2cuda


def find_nvcc():
    """Path of nvcc: on the PATH, else under $CUDA_PATH (default /usr/local/cuda); None if neither."""
    default = os.path.join(os.environ.get("CUDA_PATH", "/usr/local/cuda"), "bin", "nvcc")
    return shutil.which("nvcc") or (default if os.path.exists(default) else None)


def find_curand(directory):
    """(include dirs, library dirs) to add so that nvcc finds cuRAND, which brian2cuda's generated code
    includes and links (-lcurand): none when the CUDA toolkit has it; else those of the `nvidia-curand`
    pip wheel (whose library has only its versioned name, so a `libcurand.so` link to it is made in
    `directory`); None when neither is there. Without nvcc: none (brian2cuda reports that)."""
    nvcc = find_nvcc()
    if nvcc is None:
        return [], []
    toolkit = os.path.dirname(os.path.dirname(os.path.realpath(nvcc)))
    if any(os.path.exists(os.path.join(root, "include", "curand.h")) for root in (toolkit, "/usr/local/cuda")):
        return [], []
    spec = importlib.util.find_spec("nvidia")
    for root in (spec.submodule_search_locations if spec else []):
        for sub in ("cu13", "cu12", "curand"):
            inc, lib = os.path.join(root, sub, "include"), os.path.join(root, sub, "lib")
            versioned = sorted(f for f in os.listdir(lib) if f.startswith("libcurand.so.")) if os.path.isdir(lib) else []
            if os.path.exists(os.path.join(inc, "curand.h")) and versioned:
                links = os.path.join(directory, "curand_lib")
                os.makedirs(links, exist_ok=True)
                link = os.path.join(links, "libcurand.so")
                if os.path.lexists(link):
                    os.remove(link)
                os.symlink(os.path.join(lib, versioned[0]), link)
                return [inc], [links, lib]
    return None


def set_cuda_prefs(directory):
    """Preferences the generated CUDA code needs with brian2cuda 1.0b1 (returns the previous values):

    - C++17 for nvcc and its host compiler (still needed: brian2cuda 1.0b1's templates/makefile passes
      -std=c++11, which the Thrust/CUB of CUDA 13 refuse, checked: "Thrust requires at least C++17";
      nvcc keeps the last -std it is given);
    - no loop-invariant optimisation: with it, a reset whose lifted constants read `dt` (the exact
      spike time t + dt - u) and whose per-neuron code reads it too declares `dt` twice in one
      kernel, which nvcc rejects ("dt has already been declared"; still so with brian2cuda 1.0b1
      and CUDA 13.0);
    - cuRAND from the `nvidia-curand` wheel where the CUDA toolkit has none (`find_curand`; still
      needed: brian2cuda 1.0b1 links -lcurand (templates/makefile) but passes nvcc only Brian2's
      and the preferences' folders (brian2cuda/device.py, compile_source), never a pip wheel's).
    """
    curand = find_curand(directory)
    if curand is None:
        raise RuntimeError("device='cuda_standalone': cuRAND not found (no curand.h in the CUDA toolkit); "
                           "install the toolkit's cuRAND or `pip install nvidia-curand` (CUDA 13) / "
                           "`nvidia-curand-cu12` (CUDA 12)")
    cpp, nvcc = prefs.codegen.cpp, prefs.devices.cuda_standalone.cuda_backend
    saved = {"codegen.loop_invariant_optimisations": prefs.codegen.loop_invariant_optimisations,
             "codegen.cpp.extra_compile_args_gcc": list(cpp.extra_compile_args_gcc),
             "codegen.cpp.library_dirs": list(cpp.library_dirs),
             "codegen.cpp.runtime_library_dirs": list(cpp.runtime_library_dirs),
             "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc": list(nvcc.extra_compile_args_nvcc)}
    prefs.codegen.loop_invariant_optimisations = False
    cpp.extra_compile_args_gcc = [a for a in cpp.extra_compile_args_gcc if not a.startswith("-std=")] + ["-std=c++17"]
    nvcc.extra_compile_args_nvcc = ([a for a in nvcc.extra_compile_args_nvcc if not a.startswith("-std=")]
                                    + ["-std=c++17"] + [f"-I{d}" for d in curand[0]])
    cpp.library_dirs = list(cpp.library_dirs) + curand[1]
    cpp.runtime_library_dirs = list(cpp.runtime_library_dirs) + curand[1]
    return saved


def restore_prefs(saved):
    """Put back preferences saved by `set_cuda_prefs`."""
    for name, value in saved.items():
        prefs[name] = value


def default_directory(key: str) -> str:
    """A per-network build folder under the cache (reused, so an unchanged network rebuilds fast)."""
    root = os.environ.get("BRIAN2LEARN_STANDALONE_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "brian2learn", "standalone"))
    return os.path.join(root, hashlib.sha1(key.encode()).hexdigest()[:16])


class StandaloneProject:
    """The lifetime of one compiled standalone project: activate, build, run with arguments.

    directory : str, where Brian2 writes and compiles the project (make reuses unchanged objects)
    threads : int or None, OpenMP threads of the generated code (None or 0: single-threaded;
              cpp_standalone only)
    device : 'cpp_standalone' (default) or 'cuda_standalone' (brian2cuda, see the module docstring)
    """

    def __init__(self, directory, threads=None, device="cpp_standalone"):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        self.directory = os.path.abspath(directory)
        self.threads = int(threads or 0)
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (OpenMP threads; 0 = none), got {threads!r}")
        if self.threads and device != "cpp_standalone":
            raise ValueError(f"threads (OpenMP) applies to device='cpp_standalone', not {device!r}; drop threads")
        self.device_name = device
        if device == "cuda_standalone":
            load_brian2cuda()
        self.built = False
        self._saved_prefs = {}
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
        self.device = all_devices[self.device_name]
        self.device.reinit()  # forget objects collected by an earlier project
        set_device(self.device, build_on_run=False, directory=self.directory)
        if self.device_name == "cpp_standalone":
            prefs.devices.cpp_standalone.openmp_threads = self.threads
        else:
            self._saved_prefs = set_cuda_prefs(self.directory)
        _ACTIVE["project"] = self

    def apply_run_args(self):
        """Apply the command-line arguments here in the generated main (before later set-up code)."""
        self.device.apply_run_args()

    def build(self):
        """Generate and compile the project (no run); Brian2's runtime device is active again after."""
        try:
            self.device.build(directory=self.directory, compile=True, run=False, with_output=False)
        finally:
            restore_prefs(self._saved_prefs)
            self._saved_prefs = {}
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
            raise RuntimeError(f"this network's {self.device_name} project was replaced by one built later in "
                               "this process (Brian2 has one standalone device per process); rebuild it "
                               "or use device='runtime'")
        if not self.built:
            raise RuntimeError("the standalone project has not been built yet")
        self.device.run(directory=self.directory, with_output=False, run_args=list(args),
                        results_directory=results_directory)
