"""Run every notebook source (notebooks/<name>.py, jupytext "percent" format) top to bottom at its
smoke size (BRIAN2LEARN_SMOKE=1), and check that each has a rendered copy in docs/notebooks/.

The sources are the only copy of each notebook: jupytext reads one into a notebook, and
notebooks/render.py's `execute` runs it with nbclient on a kernel of this interpreter (the one
with brian2learn installed), with the Agg backend, in a fresh temporary working directory, so
nothing a notebook writes lands in the repository. nbclient raises CellExecutionError at the first
cell that errors (its source and traceback in the message), which fails the test; the notebooks'
own asserts are cells like any other. `python notebooks/render.py` executes the same way (with
figures) and writes the rendered copies.
"""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
DOCS_DIR = ROOT / "docs" / "notebooks"


def _load_render():
    spec = importlib.util.spec_from_file_location("brian2learn_notebooks_render", NOTEBOOK_DIR / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _load_render()
SOURCES = render.sources(NOTEBOOK_DIR)


def test_sources_found_and_single():
    """Notebook sources exist, and no .ipynb beside them (one source per notebook)."""
    assert SOURCES, f"no notebook sources in {NOTEBOOK_DIR}"
    assert not sorted(NOTEBOOK_DIR.glob("*.ipynb")), "notebooks/ holds .ipynb files: the .py sources are the notebooks"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_source_is_a_notebook(path):
    """jupytext reads the source into markdown and code cells; it starts with a title."""
    nb = render.read(path)
    kinds = {c.cell_type for c in nb.cells}
    assert {"markdown", "code"} <= kinds, f"{path.name}: cells {kinds}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
        f"{path.name} should start with a markdown title cell"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_rendered_copy_exists(path):
    """docs/notebooks/ holds an executed copy (<name>.ipynb with outputs) and a Markdown export."""
    import nbformat
    ipynb, md = DOCS_DIR / f"{path.stem}.ipynb", DOCS_DIR / f"{path.stem}.md"
    assert ipynb.is_file() and md.is_file(), \
        f"no rendered copy of {path.name} in {DOCS_DIR}: run python notebooks/render.py {path.stem}"
    nb = nbformat.read(ipynb, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{ipynb} has no outputs"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs(path):
    nb = render.read(path)
    render.execute(nb, smoke=True, figures=False, timeout=900)  # raises CellExecutionError if a cell fails
