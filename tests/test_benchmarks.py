"""The ingest benchmark still runs end to end (tiny sizes), so its figures stay real."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_calibration_loop_takes_measurable_time():
    from benchmarks.common import calibration_ms

    assert calibration_ms(repeat=1) > 0


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the ingest benchmarks measure PostgreSQL; DATABASE_URL is not PostgreSQL")
    return url


def _run(script: str, *args: str, url: str) -> str:
    """Run a benchmark script against `url` with tiny sizes; return its stdout."""
    return subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout


def test_ingest_benchmark_prints_rates_cpu_and_calibration():
    url = _postgres_url()
    out = _run("ingest.py", "--cases", "400", "--repeat", "1", "--big", "0", url=url)
    assert "passline  new tests  :" in out
    assert "passline  known tests:" in out
    assert out.count("processing CPU: python") == 2
    if urlsplit(url).hostname in ("127.0.0.1", "localhost"):
        assert "postgres backend" in out  # read from /proc when the server is local
    assert "ratio passline/baseline (new tests):" in out
    assert "machine: calibration loop" in out


def test_compare_revisions_pairs_two_checkouts():
    url = _postgres_url()
    if not (ROOT / ".git").exists():
        pytest.skip("compare_revisions.py exports revisions with git; this is not a checkout")
    args = ("HEAD", "--pairs", "1", "--repeat", "1", "--cases", "300")
    out = _run("compare_revisions.py", *args, url=url)
    assert "pair 1           HEAD: new" in out
    assert "pair 1   working-tree: new" in out
    assert "  new tests: working-tree / HEAD = " in out
    assert "known tests: working-tree / HEAD = " in out


def test_ingest_benchmark_measures_the_checkout_it_is_given(tmp_path):
    """Run from this checkout, --code must still import the other one's apps.

    Celery's Django fixup once put the working directory first on sys.path, so both
    sides of compare_revisions.py measured this checkout and every ratio was ~1.0.
    """
    url = _postgres_url()
    if not (ROOT / ".git").exists():
        pytest.skip("the other checkout is exported with git; this is not a checkout")
    from benchmarks.compare_revisions import export

    other = export("HEAD", tmp_path)
    args = ("--cases", "300", "--repeat", "1", "--big", "0", "--no-baseline", "--json")
    out = _run("ingest.py", *args, "--code", str(other), url=url)
    assert json.loads(out.strip().splitlines()[-1])["code"] == str(other.resolve())


def test_derive_benchmark_measures_new_and_replaced_code():
    url = _postgres_url()
    if not (ROOT / ".git").exists():
        pytest.skip("derive.py exports the replaced code with git; this is not a checkout")
    out = _run("derive.py", "--tests", "300", "--history", "2", "--runs", "3", url=url)
    assert out.count("run 2 (same tests)") == 3  # fresh, history, baseline
    assert "hourly rebuild of 300 TestStats" in out
    assert "ratios old/new (total derive time per run, fresh project):" in out
    assert "steady state (runs 2-3, same tests)" in out


def test_formats_benchmark_prints_a_rate_and_peak_rss_per_format():
    out = subprocess.run(
        [sys.executable, "benchmarks/formats.py", "--cases", "300", "--big", "500", "--no-abuse"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    for name in ("junit", "nunit3", "nunit2", "xunit", "trx", "ctrf", "gotest"):
        assert f"  {name:7} " in out
    assert out.count("ratio to JUnit") == 7
    assert out.count("reading 500 tests") == 7


def test_flaky_benchmark_times_detection_against_the_teststats_fold():
    url = _postgres_url()
    out = _run("flaky.py", "--tests", "300", "--history", "3", "--runs", "2", url=url)
    assert out.count("history run") == 2 and out.count("fresh run") == 2
    assert "ratio history/fresh" in out and "budget 2 s" in out
