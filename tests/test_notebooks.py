"""Run every notebook in notebooks/ top to bottom at its smoke size (BRIAN2LEARN_SMOKE=1).

nbclient raises CellExecutionError on the first cell that errors, which fails the test. The kernel
must be this interpreter (the one with brian2learn installed): jupyter_client starts a kernelspec
whose argv[0] is 'python'/'python3' with sys.executable, which covers the spec that ipykernel
installs into a venv and its built-in fallback. If the 'python3' spec found points at another
interpreter (e.g. a user-level kernel), a spec for sys.executable is written into a temporary
directory put first on JUPYTER_PATH, so nothing outside the test is changed.
"""
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "python3"


def _runs_this_interpreter(argv):
    """True if jupyter_client would launch the kernel command `argv` with sys.executable."""
    if not argv:
        return False
    exe = argv[0]
    aliases = {"python", f"python{sys.version_info[0]}", "python%i.%i" % sys.version_info[:2]}
    if exe in aliases:  # jupyter_client replaces these names with sys.executable
        return True
    # compare without resolving symlinks: a venv's python links to the base interpreter
    return os.path.normcase(os.path.abspath(exe)) == os.path.normcase(os.path.abspath(sys.executable))


def _ensure_kernel(monkeypatch, tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        if _runs_this_interpreter(spec.argv):
            return
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path / "jupyter"
    write_kernel_spec(str(root / "kernels" / KERNEL))  # argv: [sys.executable, -m, ipykernel_launcher, ...]
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")])))
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    assert _runs_this_interpreter(spec.argv), f"could not provide a {KERNEL} kernel for {sys.executable}"


@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=lambda p: p.name if p else "no-notebooks")
def test_notebook_runs(path, monkeypatch, tmp_path):
    if path is None:
        pytest.fail(f"no notebooks found in {NOTEBOOK_DIR}")
    _ensure_kernel(monkeypatch, tmp_path)
    # the kernel inherits os.environ; monkeypatch restores both variables afterwards
    monkeypatch.setenv("BRIAN2LEARN_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError if any cell fails
