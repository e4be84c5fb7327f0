"""Benchmark flaky detection per completed run (``dashboard.derive.detect.run_detect``).

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passline_flaky_bench \\
        .venv/bin/python benchmarks/flaky.py [--tests 100000] [--history 1000] [--runs 5]

Builds a project of ``--tests`` tests, then ``--history`` earlier complete runs on the
default branch (results of 1,000 tests each, written set-based, so the window holds
``--history`` runs), and gives every test a full-window outcome history (the state the
signals reach after that many runs of all tests: 1% of the tests flipping, 0.5%
passing on retry, 5% failing throughout). Then ``--runs`` complete runs of every test,
and for each one times:

- ``detect``: ``run_detect`` (fold the run into the signals, the detectors over the
  candidates, state changes, auto-lift);
- ``teststats``: ``run_test_stats_update`` of the same run, the existing per-run fold
  of the derive step, as the baseline measured in the same run (ratio detect/teststats).

Then the same on a fresh project (no history, no signals) to show detection does not
grow with the window (ratio history/fresh). Budget: detect < 2 s per run at 100,000
tests and 1,000 runs in the window.
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import calibration_ms, ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_flaky_bench")


def history_fill(project, runs: int, now: datetime) -> None:
    """Add ``runs`` earlier complete runs (1,000 tests each) and full-window signals."""
    from django.db import connection

    from benchmarks.derive import run_create
    from dashboard.lifecycle.models import TestSignal
    from dashboard.lifecycle.policy import policy_of, policy_row_get

    start = now - timedelta(days=29)
    step = timedelta(days=28) / max(runs, 1)
    last = None
    for i in range(runs):
        last = run_create(project, f"h{i}", start + step * i, seed=100 + i, limit=1000)
    window = policy_of(policy_row_get(project_id=project.pk)).window
    with connection.cursor() as cursor:
        # Per test a window of letters: 1% flip p/f every other run, 0.5% pass on a
        # retry every 15th run, 5% always fail, the rest always pass.
        cursor.execute(
            f"""
            INSERT INTO {TestSignal._meta.db_table}
                (test_id, project_id, history, last_run_id, last_started_at, last_flip_at)
            SELECT t.id, %s,
                   (SELECT string_agg(CASE
                        WHEN t.id %% 100 = 0 THEN CASE WHEN g %% 2 = 0 THEN 'f' ELSE 'p' END
                        WHEN t.id %% 200 = 1 AND g %% 15 = 0 THEN 'r'
                        WHEN t.id %% 20 = 7 THEN 'f' ELSE 'p' END, '' ORDER BY g)
                    FROM generate_series(1, %s) g),
                   %s, %s, NULL
            FROM ingest_test t WHERE t.project_id = %s
            """,
            [project.pk, window, last.pk if last else None, last.started_at, project.pk],
        )


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def measure(project, runs: int, now: datetime, label: str) -> list[float]:
    """Complete ``runs`` runs of every test; print and return detect times (s)."""
    from benchmarks.derive import run_create
    from dashboard.derive.detect import run_detect
    from dashboard.derive.teststats import run_test_stats_update

    times = []
    for i in range(runs):
        run = run_create(project, f"{label}{i}", now + timedelta(minutes=i), seed=i)
        baseline, _ = timed(lambda run=run: run_test_stats_update(run_id=run.pk))
        seconds, done = timed(lambda run=run: run_detect(run_id=run.pk))
        times.append(seconds)
        print(
            f"  {label} run {i + 1}: detect {seconds:6.3f} s  teststats {baseline:6.3f} s  "
            f"ratio {seconds / baseline:5.2f}  folded {done['folded']:,} "
            f"detected {done['detected']} lifted {done['lifted']}"
        )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from benchmarks.derive import project_create

    now = datetime.now(UTC).replace(microsecond=0)
    print(f"flaky detection benchmark: {args.tests:,} tests per run, PostgreSQL")
    print(f"machine: calibration loop {calibration_ms():.0f} ms")
    project = project_create("flaky-history", args.tests)
    seconds, _ = timed(lambda: history_fill(project, args.history, now))
    print(f"history: {args.history:,} runs in the window and full signals ({seconds:.1f} s)")
    history = measure(project, args.runs, now, "history")
    fresh_project = project_create("flaky-fresh", args.tests)
    fresh = measure(fresh_project, args.runs, now, "fresh")
    steady_h = sorted(history[1:])[len(history[1:]) // 2] if len(history) > 1 else history[0]
    steady_f = sorted(fresh[1:])[len(fresh[1:]) // 2] if len(fresh) > 1 else fresh[0]
    print(
        f"median detect per run after the first: history {steady_h:.3f} s, fresh "
        f"{steady_f:.3f} s (ratio history/fresh {steady_h / steady_f:.2f}); "
        f"worst {max(history + fresh):.3f} s; budget 2 s"
    )
    print(f"calibration loop now {calibration_ms():.0f} ms")


if __name__ == "__main__":
    main()
