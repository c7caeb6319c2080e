"""device='cuda_standalone' (brian2cuda): the same compile-once, run-per-minibatch mechanism on a GPU.

CI has neither brian2cuda nor a GPU: there only the error that says how to get brian2cuda is checked.
With the `gpu` extra installed (brian2cuda 1.0b1, brian2 2.10.1) and nvcc present, the network is
generated and compiled for an H100 (compute capability 9.0) without a GPU; on a GPU machine the
trained result is compared with the runtime device's (not only that it runs)."""
import importlib.util
import os
import subprocess

import numpy as np
import pytest

from brian2learn.models import LayeredNetwork
from brian2learn.models.standalone import find_nvcc

HAS_BRIAN2CUDA = importlib.util.find_spec("brian2cuda") is not None
HAS_NVCC = find_nvcc() is not None


def has_gpu():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


needs_brian2cuda = pytest.mark.skipif(not HAS_BRIAN2CUDA, reason="brian2cuda not installed (pip install -e '.[gpu]')")


@pytest.mark.skipif(HAS_BRIAN2CUDA, reason="brian2cuda is installed")
def test_without_brian2cuda_the_error_says_how_to_install_it():
    with pytest.raises(ImportError, match=r"pip install -e '\.\[gpu\]'"):
        LayeredNetwork(4, [3], device="cuda_standalone")


@needs_brian2cuda
def test_openmp_threads_are_refused_for_the_gpu(tmp_path):
    net = LayeredNetwork(4, [3], device="cuda_standalone", threads=2, standalone_dir=str(tmp_path))
    with pytest.raises(ValueError, match="threads .OpenMP. applies to device='cpp_standalone'"):
        net.build()


@needs_brian2cuda
@pytest.mark.skipif(not HAS_NVCC, reason="nvcc not found")
def test_network_generates_and_compiles_for_the_gpu_without_one(tmp_path):
    """Code generation and nvcc compilation of a 4-30-3 network with synaptic delays (brian2cuda's
    GPU detection off, compute capability 9.0): the binary exists and the per-trial arguments name
    the variables the generated main reads."""
    from brian2 import prefs

    from brian2learn.models.standalone import find_curand

    if find_curand(str(tmp_path)) is None:
        pytest.skip("no cuRAND (CUDA toolkit without curand; pip install nvidia-curand)")
    backend = prefs.devices.cuda_standalone.cuda_backend
    saved = (backend.detect_gpus, backend.compute_capability, backend.gpu_id,
             list(prefs.codegen.cpp.library_dirs), list(backend.extra_compile_args_nvcc))
    backend.detect_gpus, backend.compute_capability, backend.gpu_id = False, 9.0, 0
    try:
        net = LayeredNetwork(4, [30, 3], delays="synaptic", batch_size=8, device="cuda_standalone",
                             standalone_dir=str(tmp_path / "cuda"), seed=1)
        br = net.build()
    finally:
        backend.detect_gpus, backend.compute_capability, backend.gpu_id = saved[:3]
    # the build-only preferences (C++17, cuRAND folders) are put back after the build
    assert list(prefs.codegen.cpp.library_dirs) == saved[3] and list(backend.extra_compile_args_nvcc) == saved[4]
    assert br["project"].built and os.path.exists(tmp_path / "cuda" / "main")
    args = net._standalone_args(np.random.default_rng(0).uniform(0.15, 2.0, (8, 4)))
    names = {a.split("=")[0] for a in args}
    assert {"syn_src.w", "syn_src.delay_exact", "syn_lif.w", "syn_lif.delay_exact", "sources.t_in"} <= names
    main = open(tmp_path / "cuda" / "main.cu").read()
    assert "set_from_command_line" in main


@needs_brian2cuda
@pytest.mark.skipif(not has_gpu(), reason="no GPU (nvidia-smi lists none)")
def test_cuda_training_equals_runtime(tmp_path, monkeypatch):
    """Two epochs of Yin-Yang W+synaptic training on 200 samples: the GPU program, re-run per minibatch
    with the changed weights and delays, ends with the runtime device's parameters and accuracy
    (to the rounding of a different summation order in the GPU's atomic adds). The runtime reference
    uses the numpy target (equal to Cython's to 1e-13 here), so a GPU machine spends no time on a cold
    Cython compile."""
    from brian2learn.experiments.yinyang import build

    monkeypatch.setenv("BRIAN2LEARN_STANDALONE_DIR", str(tmp_path))

    def trained(device):
        trainer, _ = build("4-30-3 W+synaptic", seed=5, n_train=200, n_test=100, batch_size=50,
                           progress=False, device=device, target="numpy")
        initial = [{k: v.copy() for k, v in p.items()} for p in trainer.net.params]
        trainer.fit(2, log=None)
        return trainer, initial

    rt, initial = trained("runtime")
    gpu, _ = trained("cuda_standalone")
    for p0, p_rt, p_gpu in zip(initial, rt.net.params, gpu.net.params):
        for k in p_rt:
            assert not np.allclose(p_rt[k], p0[k])          # weights and delays were trained
            np.testing.assert_allclose(p_gpu[k], p_rt[k], rtol=1e-6, atol=1e-8)
    assert gpu.history[-1]["test_acc"] == rt.history[-1]["test_acc"]


@pytest.mark.skipif(os.path.exists("/usr/local/cuda/include/curand.h"), reason="this machine's CUDA has cuRAND")
def test_curand_is_found_in_the_toolkit_or_the_pip_wheel(tmp_path, monkeypatch):
    """find_curand: nothing to add when the toolkit has curand.h; the nvidia-curand wheel's folders,
    with a libcurand.so link to its versioned library, when only the wheel has it; None for neither."""
    from brian2learn.models import standalone

    toolkit = tmp_path / "cuda"
    (toolkit / "bin").mkdir(parents=True)
    (toolkit / "bin" / "nvcc").write_text("")
    monkeypatch.setattr(standalone.shutil, "which", lambda name: str(toolkit / "bin" / "nvcc"))
    wheel = tmp_path / "site" / "nvidia" / "cu13"
    spec = type("Spec", (), {"submodule_search_locations": [str(wheel.parent)]})
    monkeypatch.setattr(standalone.importlib.util, "find_spec", lambda name: spec if name == "nvidia" else None)
    assert standalone.find_curand(str(tmp_path / "p0")) is None

    (wheel / "include").mkdir(parents=True)
    (wheel / "lib").mkdir()
    (wheel / "include" / "curand.h").write_text("")
    (wheel / "lib" / "libcurand.so.10").write_text("")
    inc, libs = standalone.find_curand(str(tmp_path / "p1"))
    assert inc == [str(wheel / "include")] and libs[1] == str(wheel / "lib")
    assert os.path.realpath(os.path.join(libs[0], "libcurand.so")) == str(wheel / "lib" / "libcurand.so.10")

    (toolkit / "include").mkdir()
    (toolkit / "include" / "curand.h").write_text("")
    assert standalone.find_curand(str(tmp_path / "p2")) == ([], [])
