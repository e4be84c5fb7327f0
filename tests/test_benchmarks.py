"""The ingest benchmark still runs end to end (tiny sizes), so its figures stay real."""

import json
import os
import re
import subprocess
import sys
import time
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


def test_autovacuum_note_warns_only_when_the_server_has_autovacuum_off():
    import psycopg

    from benchmarks.common import autovacuum_note

    url = _postgres_url()
    with psycopg.connect(url) as conn:
        setting = conn.execute("SHOW autovacuum").fetchone()[0]
    note = autovacuum_note(url)
    if setting == "on":
        assert note is None
    else:
        assert note and "autovacuum off" in note
    assert autovacuum_note("postgres://postgres@127.0.0.1:1/none") is None  # unreachable


def _run(script: str, *args: str, url: str) -> str:
    """Run a benchmark script against `url` with tiny sizes; return its stdout."""
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The script's own error, not only its exit status, belongs in a failure.
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


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


def test_ingest_split_prints_each_phase_beside_the_floor():
    url = _postgres_url()
    out = _run("ingest_split.py", "--cases", "600", "--runs", "2", url=url)
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines()[1:] if line.strip()}
    for phase in ("floor", "writer: COPY results", "main: parse loop (excl. waits)", "total"):
        assert phase in lines, out
        # Two timed runs, each "seconds (share of the floor)"; the floor is 1.00 of itself.
        assert len(re.findall(r" \d+\.\d{3} \(\d+\.\d\d\)", lines[phase])) == 2, lines[phase]
    assert lines["floor"].count("(1.00)") == 2
    assert "CPU: python (both threads)" in lines
    assert "writer alone (parsed beforehand)" in lines


def test_ingest_split_times_first_runs_with_new_tests():
    url = _postgres_url()
    out = _run("ingest_split.py", "--cases", "600", "--runs", "1", "--new-tests", url=url)
    assert out.startswith("600 testcases, all tests new;"), out
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines()[1:] if line.strip()}
    # Every run creates its 600 tests: the COPY of new tests is timed, not skipped.
    assert float(re.search(r" (\d+\.\d{3}) \(", lines["writer: COPY new tests"])[1]) > 0


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


def test_derive_benchmark_measures_new_and_replaced_code(scratch_database_url):
    url = scratch_database_url
    if not (ROOT / ".git").exists():
        pytest.skip("derive.py exports the replaced code with git; this is not a checkout")
    out = _run("derive.py", "--tests", "300", "--history", "2", "--runs", "3", url=url)
    assert out.count("run 2 (same tests)") == 3  # fresh, history, baseline
    assert "hourly rebuild of 300 TestStats" in out
    assert "ratios old/new (total derive time per run, fresh project):" in out
    assert "steady state (runs 2-3, same tests)" in out


def test_derive_batch_benchmark_compares_batches_with_the_replaced_code(scratch_database_url):
    url = scratch_database_url
    if not (ROOT / ".git").exists():
        pytest.skip("derive_batch.py exports the replaced code with git; this is not a checkout")
    out = _run("derive_batch.py", "--runs", "12", "--history", "5", "--batches", "1,4", url=url)
    assert "one by one (before)" in out
    assert "batch 4" in out and "fresh:" in out
    assert "ratios to one by one (before), same run:" in out
    assert "calibration loop:" in out


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


def test_regex_rules_benchmark_prints_each_pattern_against_re():
    out = subprocess.run(
        [sys.executable, "benchmarks/regex_rules.py", "--length", "40", "--cap", "0.02"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert "(a|a)*c" in out
    assert "passline: refused when saved" in out  # (?>(a+)+c)
    assert out.count("| re:") == 8
    assert "worst passline match:" in out


def _broker_url() -> str:
    """Return CELERY_BROKER_URL when it names a reachable RabbitMQ or Redis, else skip."""
    from benchmarks.production_shape import broker_reachable
    from tests.conftest import skip_unless_service

    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith(("amqp://", "pyamqp://", "redis://", "rediss://")):
        skip_unless_service(False, f"the pipeline benchmark needs a broker; got {url!r}")
    problem = broker_reachable(url)
    skip_unless_service(problem is None, f"broker {url} unreachable: {problem}")
    return url


def test_pipeline_benchmark_runs_the_production_shape_and_cleans_up():
    """--quick starts gunicorn, a worker and beat, measures, then leaves nothing behind.

    The broker's queues ingest, derive, maintenance and celery are purged: CELERY_BROKER_URL
    must be a namespace of this test run (a vhost or Redis database of its own).
    """
    import psycopg

    url = _postgres_url()
    broker = _broker_url()
    name = f"{urlsplit(url).path.lstrip('/')}_pipeline_smoke"
    out = subprocess.run(
        [sys.executable, "benchmarks/pipeline.py", "--quick", "--json", "--database", name],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": broker},
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert "categories: Auth, Cache, Database, Api by classname rules" in out
    assert "the summary of 'small' lists the categories: Api, Auth, Cache, Database" in out
    assert "== 3 big runs of 2,000 testcases, back to back" in out
    assert "servers start, best of 3): " in out
    cpu = re.search(r"CPU seconds during the big runs .*: web ([0-9.]+), .*postgres ([0-9.]+)", out)
    assert cpu and float(cpu[1]) > 0 and float(cpu[2]) > 0, out
    assert "processed -> fresh: p50 " in out
    assert "  t (s)        ingest      derive maintenance      celery" in out
    figures = json.loads(out.strip().splitlines()[-1])
    for run in figures["big"]:
        assert run["status"] == "processed", run
        assert "fresh_s" in run or "superseded_by" in run, run
        assert run["floor_s"] > 0 and run["post_s"] > 0 and run["processed_s"] > 0, run
    assert figures["small"]["sent"] == 40
    assert figures["small"]["errors"] == 0
    assert figures["small"]["fresh"] > 0
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    assert found is None, f"the benchmark left its database {name} behind"


def test_pipeline_big_runs_poll_the_status_as_the_uploader_does():
    """Twice as long between polls each time, and no poll once the upload is processed."""
    import threading

    from benchmarks.pipeline import client_polls

    answers = iter(["queued", "processing", "processed", "processed"])
    polled_at: list[float] = []

    class Client:
        def upload(self, upload_id):
            assert upload_id == 7
            polled_at.append(time.monotonic())
            return {"status": next(answers)}

    out: dict = {}
    started = time.monotonic()
    client_polls(Client(), 7, threading.Event(), out, first=0.05)
    assert out["status_polls"] == 3
    gaps = [b - a for a, b in zip([started, *polled_at], polled_at, strict=False)]
    assert [round(gap, 2) >= wanted for gap, wanted in zip(gaps, [0.05, 0.1, 0.2])] == [True] * 3


def test_pipeline_big_run_status_polls_stop_when_told():
    import threading

    from benchmarks.pipeline import client_polls

    class Client:
        def upload(self, upload_id):
            raise AssertionError("polled after being stopped")

    stop = threading.Event()
    stop.set()
    out: dict = {}
    client_polls(Client(), 1, stop, out, first=0.01)
    assert out == {}


def test_pipeline_big_reports_share_tests_and_fail_a_different_five_percent():
    from lxml import etree

    from benchmarks.pipeline import big_report

    def outcomes(run: int) -> dict[tuple[str, str], bool]:
        root = etree.fromstring(big_report(2000, run))
        return {
            (case.get("classname"), case.get("name")): case.find("failure") is not None
            for case in root.iter("testcase")
        }

    runs = [outcomes(run) for run in range(3)]
    assert len(runs[0]) == 2000
    assert runs[0].keys() == runs[1].keys() == runs[2].keys()
    failing = [{test for test, failed in run.items() if failed} for run in runs]
    assert [len(f) for f in failing] == [100, 100, 100]
    assert not (failing[0] & failing[1]) and not (failing[1] & failing[2])


def test_pipeline_small_reports_have_20_to_50_tests_in_four_categories():
    from lxml import etree

    from benchmarks.pipeline import small_report

    sizes = set()
    for n in range(40):
        xml, tests = small_report(n)
        cases = list(etree.fromstring(xml).iter("testcase"))
        assert len(cases) == tests
        assert {c.get("classname").split(".")[1] for c in cases} == {"auth", "cache", "db", "api"}
        sizes.add(tests)
    assert min(sizes) == 20 and max(sizes) == 50


def test_pipeline_percentile_is_nearest_rank():
    from benchmarks.pipeline import pct

    values = [float(v) for v in range(1, 101)]
    assert (pct(values, 50), pct(values, 95), pct(values, 100)) == (50.0, 95.0, 100.0)
    assert pct([3.0], 95) == 3.0


def test_flaky_benchmark_times_detection_against_the_teststats_fold(scratch_database_url):
    url = scratch_database_url
    out = _run("flaky.py", "--tests", "300", "--history", "3", "--runs", "2", url=url)
    assert out.count("history run") == 2 and out.count("fresh run") == 2
    assert "ratio history/fresh" in out and "budget 2 s" in out
