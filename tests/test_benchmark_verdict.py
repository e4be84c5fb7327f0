"""The verdict benchmark still runs end to end (tiny sizes), so its figures stay real."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_verdict_benchmark_prints_times_queries_and_the_ratio(scratch_database_url):
    out = subprocess.run(
        [sys.executable, "benchmarks/verdict.py", "--tests", "200", "--runs", "12", "-n", "2"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": scratch_database_url},
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert "verdict of a 200-test run: 12 new failures, 4 fixed, 2 flaky" in out
    assert "baseline  (10 runs of history):" in out and "passline  (12 runs of history):" in out
    assert "ratio long/baseline:" in out and "machine: calibration loop" in out
