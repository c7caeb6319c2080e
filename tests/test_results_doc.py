"""docs/results.md is generated from benchmarks/results/*.json by docs/make_results.py and kept current."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "make_results.py"


def test_committed_results_doc_is_current():
    r = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout


def test_generator_writes_the_expected_row(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    entry = {"test_acc_mean": 0.95, "test_acc_std": 0.01, "seeds": [0, 1], "epochs": 3,
             "per_seed": {"0": {"test_acc": 0.94, "median_epoch_seconds": 1.5},
                          "1": {"test_acc": 0.96, "median_epoch_seconds": 1.5}},
             "command": "python benchmarks/yinyang.py --epochs 3", "machine": "test machine", "partial": False}
    (results / "tiny.json").write_text(json.dumps({"4-30-3 W": entry}))
    out = tmp_path / "results.md"
    cmd = [sys.executable, str(SCRIPT), "--results-dir", str(results), "--out", str(out)]
    assert subprocess.run(cmd, cwd=ROOT).returncode == 0
    text = out.read_text()
    assert "| 4-30-3 W | 95.00 % ± 1.00 % | 2 | 0, 1 | 3 | 1.5 |  | A |" in text
    assert "A = test machine" in text
    assert "`python benchmarks/yinyang.py --epochs 3`" in text
    assert "## Test suite" in text and "Not recorded yet" in text
    (results / "test_suite.json").write_text(json.dumps(
        {"cold_seconds": 602.0, "passed": 283, "machine": "m", "command": "bash scripts/run_tests.sh"}))
    assert subprocess.run(cmd + ["--check"], cwd=ROOT, capture_output=True).returncode == 1
    assert subprocess.run(cmd, cwd=ROOT).returncode == 0
    assert "| 602 | 283 | 0 | 0 | — / — | m |" in out.read_text()
    assert subprocess.run(cmd + ["--check"], cwd=ROOT).returncode == 0
