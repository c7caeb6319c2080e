"""The README's quickstart runs as written, and the package's public API is what help() shows."""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def test_readme_quickstart_runs_as_written(tmp_path):
    text = open(os.path.join(ROOT, "README.md")).read()
    quick = text[text.index("## Quickstart"):]
    code = re.search(r"```python\n(.*?)```", quick, re.S).group(1)
    (tmp_path / "quickstart.py").write_text(code)
    run = subprocess.run([sys.executable, "quickstart.py"], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"), timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    acc = float(re.search(r"Brian2 test accuracy: ([0-9.]+)", run.stdout).group(1))
    assert 0.0 <= acc <= 1.0
    assert "epoch    1" in run.stdout


def test_help_lists_the_public_api():
    run = subprocess.run([sys.executable, "-c", "import brian2learn as bl; help(bl)"], capture_output=True,
                         text=True, env=dict(os.environ, PAGER="cat", MANPAGER="cat"), timeout=600)
    assert run.returncode == 0, run.stderr
    for name in ("LayeredNetwork", "Trainer", "BACKENDS", "EarlyStopping", "Checkpoint", "backends", "training"):
        assert name in run.stdout
