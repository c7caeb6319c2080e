"""Execute the notebook sources (notebooks/<name>.py, jupytext "percent" format) and publish them.

    python notebooks/render.py                  # every notebook, smoke size (BRIAN2LEARN_SMOKE=1)
    python notebooks/render.py delgrad_yinyang  # one or more, by name
    python notebooks/render.py --full           # full size (hours for some notebooks)

For each source it writes, into docs/notebooks/ (or --out):
  <name>.ipynb     the executed notebook, with its outputs and figures;
  <name>.md        a Markdown export, its figures as PNG files in <name>_files/.
A markdown cell inserted at the top says at which size the copy was run, how long it took and where.

Each notebook runs in a fresh temporary working directory (nothing it writes lands in the
repository) on a kernel of this interpreter. tests/test_notebooks.py executes the sources with the
same `execute` function, at smoke size.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
ROOT = NOTEBOOK_DIR.parent
DOCS_DIR = ROOT / "docs" / "notebooks"
KERNEL = "python3"
EXCLUDE = {"render"}   # .py files in notebooks/ that are not notebooks


def sources(directory=NOTEBOOK_DIR):
    """The notebook sources: every notebooks/*.py except this script."""
    return sorted(p for p in Path(directory).glob("*.py") if p.stem not in EXCLUDE)


def read(path):
    """The notebook of a jupytext source."""
    import jupytext
    return jupytext.read(str(path))


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


def kernel_env(scratch):
    """Environment changes that make the 'python3' kernel run this interpreter (the one with
    brian2learn installed). If the spec found points at another interpreter (e.g. a user-level
    kernel), a spec for sys.executable is written under `scratch` and put first on JUPYTER_PATH."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        if _runs_this_interpreter(KernelSpecManager().get_kernel_spec(KERNEL).argv):
            return {}
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import write_kernel_spec
    root = Path(scratch) / "jupyter"
    write_kernel_spec(str(root / "kernels" / KERNEL))  # argv: [sys.executable, -m, ipykernel_launcher, ...]
    return {"JUPYTER_PATH": os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")]))}


@contextlib.contextmanager
def _environ(changes):
    """Set (value) or unset (None) environment variables, restoring them afterwards."""
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(nb, smoke=True, figures=True, timeout=1800, workdir=None):
    """Run `nb` top to bottom in place; return the seconds it took.

    The kernel inherits os.environ with BRIAN2LEARN_SMOKE=1 (smoke) or without it (full size), and
    runs in `workdir` (default: a fresh temporary directory, removed afterwards). figures=False
    uses the Agg backend (no figure outputs, as in the test). nbclient raises CellExecutionError
    at the first cell that fails, with that cell's source and traceback."""
    from nbclient import NotebookClient
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="brian2learn-nb-"))
        cwd = workdir or os.path.join(scratch, "cwd")
        os.makedirs(cwd, exist_ok=True)
        env = {"BRIAN2LEARN_SMOKE": "1" if smoke else None,
               "MPLBACKEND": None if figures else "Agg"}   # None: the kernel's inline backend
        env.update(kernel_env(scratch))
        stack.enter_context(_environ(env))
        client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                                resources={"metadata": {"path": cwd}})
        t0 = time.perf_counter()
        client.execute()
        return time.perf_counter() - t0


def _banner(name, smoke, seconds):
    import nbformat
    size = ("**smoke size** (`BRIAN2LEARN_SMOKE=1`): tiny data sets and few epochs or steps, so the "
            "numbers and figures show what the notebook does, not converged results"
            if smoke else "**full size** (no `BRIAN2LEARN_SMOKE`)")
    return nbformat.v4.new_markdown_cell(
        f"> Rendered copy of [`notebooks/{name}.py`](../../notebooks/{name}.py), executed by "
        f"`python notebooks/render.py{'' if smoke else ' --full'}` at {size}. "
        f"It ran in {seconds:.0f} s on {os.cpu_count()} CPU cores ({platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}), reusing whatever compiled code Brian2 had cached on that machine "
        f"(a first run compiles it and takes longer).")


def render(path, out_dir=DOCS_DIR, smoke=True, timeout=1800):
    """Execute one source and write <name>.ipynb, <name>.md and <name>_files/ into out_dir."""
    import nbformat

    path = Path(path)
    name = path.stem
    nb = read(path)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    seconds = execute(nb, smoke=smoke, figures=True, timeout=timeout)
    nb.cells.insert(0, _banner(name, smoke, seconds))
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / f"{name}.ipynb")
    files = f"{name}_files"
    shutil.rmtree(out_dir / files, ignore_errors=True)
    body, outputs = to_markdown(nb, files)
    for rel, data in outputs.items():
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (out_dir / f"{name}.md").write_text(body, encoding="utf-8")
    return seconds


def to_markdown(nb, files):
    """(Markdown text, {relative path: PNG bytes}): nbconvert's exporter if installed, else a plain one."""
    try:
        from nbconvert import MarkdownExporter
    except ImportError:
        return _plain_markdown(nb, files)
    body, resources = MarkdownExporter().from_notebook_node(nb, resources={"output_files_dir": files})
    return body, dict(resources.get("outputs", {}))


def _plain_markdown(nb, files):
    import base64
    parts, outputs = [], {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        parts.append(f"```python\n{cell.source}\n```")
        for j, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            if out.output_type == "stream":
                parts.append(f"```\n{out.text.rstrip()}\n```")
            elif out.output_type == "error":
                parts.append("```\n" + "\n".join(out.traceback) + "\n```")
            elif "image/png" in data:
                rel = f"{files}/output_{i}_{j}.png"
                outputs[rel] = base64.b64decode(data["image/png"])
                parts.append(f"![png]({rel})")
            elif "text/plain" in data:
                parts.append(f"```\n{data['text/plain'].rstrip()}\n```")
    return "\n\n".join(parts) + "\n", outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all of notebooks/*.py)")
    parser.add_argument("--full", action="store_true", help="full size instead of smoke size")
    parser.add_argument("--out", default=str(DOCS_DIR), help="output folder (default docs/notebooks)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [NOTEBOOK_DIR / f"{Path(n).stem}.py" for n in args.names] or sources()
    for p in paths:
        if not p.is_file():
            parser.error(f"no notebook source {p}")
    for p in paths:   # one at a time
        seconds = render(p, args.out, smoke=not args.full, timeout=args.timeout)
        print(f"{p.stem}: {seconds:.1f} s -> {Path(args.out) / p.stem}.ipynb, .md", flush=True)


if __name__ == "__main__":
    main()
