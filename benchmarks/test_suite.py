"""Wall time of the default test suite, run exactly as CI runs it (`bash .ci/run`), cold or warm.

Cold (the default) is a fresh machine as far as this project can make one: the virtual environment
(.venv), Brian2's compiled-code cache (~/.cython/brian_extensions) and the standalone projects
(~/.cache/brian2learn/standalone) are moved aside before the run, so it includes creating the venv,
the pip installs and every compilation; they are deleted afterwards (the run has made new ones).

    python benchmarks/test_suite.py            # cold
    python benchmarks/test_suite.py --warm     # with the caches as they are

Writes `benchmarks/results/test_suite.json` = {"cold_seconds", "passed", "failed", "skipped", "summary",
"command", "machine", "python", "brian2", "workers", "log"} (a warm run adds the same under "warm");
the console output goes to benchmarks/logs/test_suite_<cold|warm>.log.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

from brian2learn.experiments.result_store import command, machine, write_results  # noqa: E402

CACHES = [os.path.join(ROOT, ".venv"), os.path.expanduser("~/.cython/brian_extensions"),
          os.path.expanduser("~/.cache/brian2learn/standalone")]
SUMMARY = re.compile(r"=+ (.*\bin [0-9.]+s.*?) =+\s*$", re.M)


def counts(summary):
    """{'passed': n, 'failed': n, 'skipped': n, ...} from pytest's closing line."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", summary)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--warm", action="store_true", help="keep the venv and the compiled-code caches")
    p.add_argument("--out", default=os.path.join(HERE, "results", "test_suite.json"))
    args = p.parse_args(argv)
    kind = "warm" if args.warm else "cold"
    aside = tempfile.mkdtemp(prefix="suite-caches-")
    moved = []
    if not args.warm:
        for i, path in enumerate(CACHES):
            if os.path.exists(path):
                shutil.move(path, os.path.join(aside, str(i)))
                moved.append(path)
    log_path = os.path.join(HERE, "logs", f"test_suite_{kind}.log")
    env = dict(os.environ, CI="true")
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        rc = subprocess.run(["bash", ".ci/run"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    seconds = time.perf_counter() - t0
    shutil.rmtree(aside, ignore_errors=True)
    text = open(log_path).read()
    found = SUMMARY.findall(text)
    summary = found[-1] if found else f"no pytest summary (exit {rc})"
    python = subprocess.run([os.path.join(ROOT, ".venv", "bin", "python"), "-c",
                             "import sys, brian2; print(sys.version.split()[0], brian2.__version__)"],
                            capture_output=True, text=True).stdout.split()
    entry = {f"{kind}_seconds": round(seconds, 1), **counts(summary), "summary": summary, "exit_code": rc,
             "moved_aside": moved, "command": command(__file__, argv), "machine": machine(),
             "python": python[0] if python else None, "brian2": python[1] if len(python) > 1 else None,
             "workers": int(os.environ.get("TEST_WORKERS", 2)), "log": os.path.relpath(log_path, HERE)}
    write_results(args.out, {"warm": entry} if args.warm else entry, update=True)
    print(f"{kind} suite: {seconds:.0f} s, {summary} (exit {rc}); {args.out}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
