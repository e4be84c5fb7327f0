"""Benchmark the whole pipeline in the production shape: from the POST to fresh figures.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passline_bench \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/bench \\
        .venv/bin/python benchmarks/pipeline.py [--quick] [--keep]

It starts the checkout it lives in (or ``--code``) as production runs it: a fresh
PostgreSQL database ``<DATABASE_URL's name>_pipeline`` (created, migrated, dropped at
the end unless ``--keep``), gunicorn with ``--web-workers`` workers on a free
127.0.0.1 port, Celery worker(s) consuming ``ingest,derive,maintenance,celery`` and
beat. The broker (RabbitMQ ``amqp://`` or Redis ``redis://``) must be a namespace of
its own: its four queues are purged before and after. Projects and tokens come from
the management commands, category rules from the settings pages over HTTP.

1. Big runs: ``--big-runs`` (3) reports of ``--big-cases`` (100,000) testcases, the
   same tests with a different 5% failing in each, POSTed gzipped (multipart,
   ``final=true``, as passline-upload sends them) one after the other, each as soon as
   the previous one is processed. Per run: POST latency, POST -> processed (the
   upload's ``processed_at``, watched in the database every 20 ms while a client polls
   the upload's status as ``passline-upload --wait`` does: after 1 s, 2 s, 4 s…),
   POST -> fresh (the summary API, read with a read token, names the run as latest:
   its ``run.key``; polled every ``--big-poll`` once the upload is processed) and
   the floor: a streaming parse (lxml iterparse of the same gzip) plus COPY into a temp
   table, the best of three readings in the same run before the servers start. Ratios
   are testcases/s end to end over the floor's. The CPU seconds each process group used
   meanwhile show what the polling itself cost.
2. Small runs: ``--small-per-minute`` (1,000) reports of 20-50 tests in four
   categories per minute for ``--small-minutes`` (5), sent on a fixed schedule
   whatever the answers (open loop). A run is fresh once the runs API lists it,
   complete, with its counts, and the summary names it or a later run as latest.
   Prints POST latency, errors, POST -> processed, processed -> fresh (p50/p95/max)
   and the broker's queue lengths over time.

Times are wall clock on this host (the server's ``processed_at`` and this process's
clock are the same clock); a fresh figure is seen at the next poll (``--big-poll``,
``--poll``), which bounds the resolution. Nothing here imports passline: it measures
whatever code the checkout holds. Every loop is bounded; the processes are stopped
and the database dropped however the benchmark ends.
"""

import argparse
import gzip
import io
import json
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import autovacuum_note, calibration_ms  # noqa: E402
from benchmarks.production_shape import (  # noqa: E402
    QUEUES,
    Http,
    QueueProbe,
    Shape,
    broker_reachable,
    database_url,
    gzip_report,
    recreate_database,
    upload_post,
)

CATEGORIES = {"Auth": "auth", "Cache": "cache", "Database": "db", "Api": "api"}
PREFIXES = list(CATEGORIES.values())
ADMIN = ("bench-admin", "bench-admin-password-1")
FLOOR_READINGS = 3
# An upload in one of these states is done with: processing will not change it any more.
FINISHED = ("processed", "failed", "quarantined")


# --- reports ----------------------------------------------------------------------------


def big_report(cases: int, run: int, *, per_suite: int = 1000) -> bytes:
    """Return a report of `cases` tests; 5% fail, a different 5% for each `run` (0-19).

    The same tests every run, in four categories (by classname), 1% skipped.
    """
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n']
    for start in range(0, cases, per_suite):
        suite = start // per_suite
        prefix = PREFIXES[suite % len(PREFIXES)]
        out.append(f'<testsuite name="suite{suite}" file="tests/{prefix}/test_mod{suite}.py">\n')
        for i in range(start, min(cases, start + per_suite)):
            head = (
                f'<testcase classname="bench.{prefix}.mod{suite}.TestClass{i % 50}" '
                f'name="test_case_{i}" time="0.004"'
            )
            if i % 20 == run % 20:
                out.append(
                    f'{head}><failure message="assert {i} == 0">Traceback\nAssertionError'
                    "</failure></testcase>\n"
                )
            elif i % 100 == 99:
                out.append(f'{head}><skipped message="not today"/></testcase>\n')
            else:
                out.append(f"{head}/>\n")
        out.append("</testsuite>\n")
    out.append("</testsuites>\n")
    return "".join(out).encode()


def small_report(n: int) -> tuple[bytes, int]:
    """Return (report, tests) for small run `n`: 20-50 tests, about 10% failing."""
    tests = 20 + n % 31
    failing = set(random.Random(n).sample(range(tests), max(1, tests // 10)))
    rows = []
    for j in range(tests):
        head = f'<testcase classname="bench.{PREFIXES[j % 4]}.Small" name="test_{j}" time="0.01"'
        if j in failing:
            rows.append(f'{head}><failure message="no">x</failure></testcase>')
        else:
            rows.append(f"{head}/>")
    xml = '<?xml version="1.0"?><testsuite name="small">' + "".join(rows) + "</testsuite>"
    return xml.encode(), tests


# --- the floor --------------------------------------------------------------------------


def floor(db_url: str, gz: bytes) -> float:
    """Return the seconds a streaming parse + COPY into a temp table takes for `gz`.

    What any ingest of this report pays at least: decompress, iterparse each testcase
    (freeing it), and COPY one row per testcase into PostgreSQL, committed.
    """
    import psycopg
    from lxml import etree

    with psycopg.connect(db_url) as conn:
        conn.execute(
            "CREATE TEMP TABLE floor_result (classname text, name text, file text, "
            "outcome text, duration float8, message text) ON COMMIT DROP"
        )
        started = time.perf_counter()
        stream = gzip.GzipFile(fileobj=io.BytesIO(gz))
        parser = etree.iterparse(
            stream, events=("end",), tag="testcase", resolve_entities=False, no_network=True
        )
        with conn.cursor() as cursor, cursor.copy("COPY floor_result FROM STDIN") as copy:
            for _, case in parser:
                outcome, message = "passed", None
                for child in case:
                    if child.tag in ("failure", "error", "skipped"):
                        outcome, message = child.tag, child.get("message")
                        break
                copy.write_row(
                    (
                        case.get("classname"),
                        case.get("name"),
                        case.get("file"),
                        outcome,
                        float(case.get("time") or 0),
                        message,
                    )
                )
                case.clear()
                while case.getprevious() is not None:
                    del case.getparent()[0]
        conn.commit()
        return time.perf_counter() - started


def rollup_lags(db_url: str, slug: str) -> list[float] | None:
    """Seconds from each run's upload processed to its complete rollups written.

    Read from the database after the measurement (both are server clock times), so it
    does not depend on the freshness poll's resolution, which a backlog of unprocessed
    runs coarsens. Reads passline's tables by name: None when this checkout's schema
    has no such columns.
    """
    import psycopg

    sql = """
        SELECT EXTRACT(EPOCH FROM (s.updated_at - MAX(u.processed_at)))
        FROM dashboard_runstats s
        JOIN ingest_run r ON r.id = s.run_id
        JOIN ingest_project p ON p.id = r.project_id
        JOIN ingest_upload u ON u.run_id = r.id
        WHERE p.slug = %s AND s.is_complete AND u.processed_at IS NOT NULL
        GROUP BY s.run_id, s.updated_at
    """
    try:
        with psycopg.connect(db_url) as conn:
            return [float(row[0]) for row in conn.execute(sql, [slug])]
    except psycopg.Error:
        return None


# --- helpers ----------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def parse_time(value: str) -> float:
    """Return the POSIX time of an ISO 8601 string."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def pct(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def spread(values: list[float], unit: str = "s") -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {pct(values, 50):.2f} {unit}, p95 {pct(values, 95):.2f} {unit}, "
        f"max {max(values):.2f} {unit} (n={len(values)})"
    )


class Stop(Exception):
    """Raised by SIGTERM so that the cleanup in `main` runs."""


def _on_sigterm(signum, frame):
    raise Stop


class Client:
    """The benchmark's view of one project: its tokens and the HTTP API."""

    def __init__(self, http: Http, slug: str, upload_token: str, read_token: str) -> None:
        self.http, self.slug = http, slug
        self.upload_token, self.read_token = upload_token, read_token
        self.summary_has_run = True

    def post(self, *, gz: bytes, run: str, timestamp: str):
        fields = {"run": run, "branch": "main", "final": "true", "timestamp": timestamp}
        return upload_post(self.http, token=self.upload_token, gz=gz, fields=fields)

    def upload(self, upload_id: int) -> dict:
        return self.http.get_json(f"/api/v1/uploads/{upload_id}", token=self.read_token)

    def latest(self) -> tuple[str | None, str | None, int | None]:
        """Return (key, started_at, tests) of the run the summary names as latest."""
        summary = self.http.get_json(
            f"/api/v1/projects/{self.slug}/summary", token=self.read_token, timeout=30
        )
        if "run" not in summary:
            self.summary_has_run = False
            return None, None, None
        run = summary["run"] or {}
        tests = (summary.get("counts") or {}).get("tests", summary.get("total"))
        return run.get("key"), run.get("started_at"), tests

    def runs_page(self, since: str, *, page: int, size: int = 500) -> dict[str, dict]:
        """Return {key: item} of one page of the runs API (newest first) since `since`."""
        params = urlencode({"since": since, "limit": size, "offset": page * size})
        body = self.http.get_json(
            f"/api/v1/projects/{self.slug}/runs?{params}", token=self.read_token, timeout=30
        )
        items = body["results"] if isinstance(body, dict) else body
        return {item["run"]: item for item in items}

    def wait_processed(self, upload_id: int, *, timeout: float, poll: float) -> dict:
        """Poll the upload until it is processed or failed; return its last JSON.

        A failed poll (a timeout, a 502 from a busy gunicorn) is retried until the end.
        """
        deadline = time.monotonic() + timeout
        detail = {"status": "unknown", "error": "no answer from GET /api/v1/uploads/<id>"}
        while True:
            try:
                detail = self.upload(upload_id)
            except (OSError, RuntimeError) as exc:
                detail = {"status": "unknown", "error": f"{type(exc).__name__}: {exc}"}
            if detail["status"] in FINISHED:
                return detail
            if time.monotonic() > deadline:
                return detail
            time.sleep(poll)


# --- setup ------------------------------------------------------------------------------


def setup(shape: Shape, slugs: list[str]) -> dict[str, tuple[str, str]]:
    """Migrate, then create the projects, their tokens and a superuser.

    Only management commands; independent ones run side by side. Return
    {slug: (upload token, read token)}.
    """

    def parallel(*commands: tuple) -> list[str]:
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            return list(pool.map(lambda c: shape.manage(*c[0], extra_env=c[1]), commands))

    shape.manage("migrate", "--noinput")
    admin = ("createsuperuser", "--noinput", "--username", ADMIN[0], "--email", "b@x.invalid")
    parallel(
        (admin, {"DJANGO_SUPERUSER_PASSWORD": ADMIN[1]}),
        *(
            (("createproject", slug, "--name", f"Bench {slug}", "--target", "90"), None)
            for slug in slugs
        ),
    )
    outputs = parallel(
        *(
            (("createtoken", slug, "--scope", scope), None)
            for slug in slugs
            for scope in ("upload", "read")
        )
    )
    tokens = [out.strip().splitlines()[-1] for out in outputs]
    return {slug: (tokens[2 * i], tokens[2 * i + 1]) for i, slug in enumerate(slugs)}


def add_category_rules(http: Http, slugs: list[str]) -> str:
    """Add one classname rule per category to each project through the settings pages.

    Signs in as the superuser made by `createsuperuser`; returns "" on success, else
    what went wrong (the benchmark then runs with every result "Uncategorized").
    """
    cookies: dict[str, str] = {}

    def send(method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": cookies.get("csrftoken", "")}
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = http.request(method, path, body=body, headers=headers, timeout=30)
        cookies.update(response.cookies)
        return response

    page = send("GET", "/admin/login/")
    if page.status != 200 or "csrftoken" not in cookies:
        return f"the sign-in page answered {page.status}"
    login = send("POST", "/admin/login/?next=/admin/", {"username": ADMIN[0], "password": ADMIN[1]})
    if login.status != 302 or "sessionid" not in cookies:
        return f"sign-in answered {login.status}"
    for slug in slugs:
        path = f"/p/{slug}/settings/rules/"
        send("GET", path)
        for name, prefix in CATEGORIES.items():
            form = {"field": "classname", "kind": "glob", "pattern": f"bench.{prefix}.*"}
            response = send("POST", path, form | {"category": "", "new_category": name})
            if response.status not in (200, 302):
                return f"POST {path} answered {response.status}"
    return ""


def warm_up(client: Client, *, timeout: float) -> float:
    """Send one small run dated a day back and wait until processed; return seconds."""
    started = time.perf_counter()
    xml, _ = small_report(0)
    when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = client.post(gz=gzip_report(xml), run="warm-up", timestamp=when)
    if response.status != 202:
        raise RuntimeError(f"warm-up POST answered {response.status}: {response.body[:300]!r}")
    detail = client.wait_processed(response.json()["id"], timeout=timeout, poll=0.2)
    if detail["status"] != "processed":
        raise RuntimeError(f"warm-up upload not processed within {timeout} s: {detail}")
    return time.perf_counter() - started


def summary_categories(client: Client, *, timeout: float) -> list[str]:
    """Return the category names the summary lists, once it names a run (or at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        summary = client.http.get_json(
            f"/api/v1/projects/{client.slug}/summary", token=client.read_token
        )
        if summary.get("run") or time.monotonic() > deadline:
            return sorted(c.get("name", "?") for c in summary.get("categories", []))
        time.sleep(0.2)


# --- sampling ---------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every `every` seconds, record the broker's queue lengths and processes' RSS."""

    def __init__(self, probe: QueueProbe, shape: Shape, every: float) -> None:
        super().__init__(daemon=True)
        self.probe, self.shape, self.every = probe, shape, every
        self.samples: list[tuple[float, str, dict]] = []
        self.rss_max: dict[str, float] = {}
        self.phase = "setup"
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                lengths = self.probe.lengths()
            except Exception as exc:  # a broker hiccup is itself worth a row
                lengths = {q: f"error: {type(exc).__name__}" for q in QUEUES}
                self.probe.close()
            self.samples.append((time.monotonic() - self.started_at, self.phase, lengths))
            for name, mb in self.shape.rss_mb().items():
                self.rss_max[name] = max(self.rss_max.get(name, 0.0), mb)
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)

    def table(self, phase: str, *, rows: int = 24) -> list[str]:
        """Return a table of the samples of `phase` (at most `rows` lines, max per slice)."""
        samples = [s for s in self.samples if s[1] == phase]
        if not samples:
            return ["  (no samples)"]
        step = max(1, -(-len(samples) // rows))
        t0 = samples[0][0]
        lines = ["  t (s)  " + "".join(f"{q:>12}" for q in QUEUES)]
        for i in range(0, len(samples), step):
            chunk = samples[i : i + step]
            cells = []
            for queue in QUEUES:
                values = [s[2].get(queue) for s in chunk]
                numbers = [v for v in values if isinstance(v, int)]
                if numbers:
                    cells.append(f"{max(numbers):>12}")
                else:
                    cells.append(f"{str(values[-1]) if values[-1] is not None else '-':>12}")
            lines.append(f"  {chunk[0][0] - t0:5.0f}  " + "".join(cells))
        if step > 1:
            lines.append(f"  (each row: the largest of {step} samples {self.every:g} s apart)")
        return lines

    def growth(self, phase: str, until: float | None = None) -> list[str]:
        """Compare each queue's mean length over the first and last fifth of `phase`."""
        samples = [s for s in self.samples if s[1] == phase and (until is None or s[0] <= until)]
        if len(samples) < 5:
            return []
        fifth = max(1, len(samples) // 5)
        out = []
        for queue in QUEUES:
            first = [s[2].get(queue) for s in samples[:fifth]]
            last = [s[2].get(queue) for s in samples[-fifth:]]
            first = [v for v in first if isinstance(v, int)]
            last = [v for v in last if isinstance(v, int)]
            if not first or not last:
                continue
            a, b = statistics.mean(first), statistics.mean(last)
            peak = max(v for s in samples if isinstance(v := s[2].get(queue), int))
            verdict = "grew" if b > a + 5 and b > 1.5 * a else "did not grow"
            out.append(
                f"  {queue:<12} mean {a:7.1f} in the first fifth, {b:7.1f} in the last, "
                f"max {peak}: {verdict}"
            )
        return out


# --- phase 1: big runs ------------------------------------------------------------------


def watch_fresh(client: Client, key: str, posted: float, poll: float, timeout: float, out: dict):
    """Poll the summary until it names `key` as latest; store seconds since the POST."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "fresh_s" not in out:
        try:
            latest, _, tests = client.latest()
        except Exception as exc:
            out.setdefault("fresh_errors", []).append(str(exc)[:200])
            latest = None
        if latest == key:
            out["fresh_s"] = time.time() - posted
            out["summary_tests"] = tests
            return
        if latest and latest.startswith("big-") and _number(latest) > _number(key):
            out["superseded_by"] = latest
            return
        time.sleep(poll)


def _number(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


class UploadRow:
    """Watch one upload's row in the database until it is processed (the server's clock).

    The big runs learn here when an upload is processed, with a query of well under a
    millisecond every 20 ms: the web workers then serve what a CI client asks for (see
    `client_polls`), not a benchmark's tenfold polling, on the machine being measured.
    Reads passline's table by name, as `rollup_lags` does.
    """

    SQL = "SELECT status, processed_at, error FROM ingest_upload WHERE id = %s"

    def __init__(self, db_url: str) -> None:
        import psycopg

        self._connection = psycopg.connect(db_url, autocommit=True)

    def wait(self, upload_id: int, *, timeout: float, poll: float = 0.02) -> dict:
        """Return {status, processed_at (POSIX time or None), error} once the upload is
        processed or failed, or when `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            row = self._connection.execute(self.SQL, [upload_id]).fetchone()
            status, processed_at, error = row if row else ("unknown", None, "no such upload")
            if status in FINISHED or time.monotonic() > deadline:
                return {
                    "status": status,
                    "processed_at": processed_at.timestamp() if processed_at else None,
                    "error": error,
                }
            time.sleep(poll)

    def close(self) -> None:
        self._connection.close()


def client_polls(
    client: Client, upload_id: int, stop: threading.Event, out: dict, *, first: float = 1.0
) -> None:
    """Poll the upload's status as ``passline-upload --wait`` does: after `first` (1 s),
    then twice as long each time (at most 10 s), until it is processed or `stop` is set.
    Counts the polls in ``out["status_polls"]``."""
    interval = first
    while not stop.wait(interval):
        try:
            status = client.upload(upload_id)["status"]
        except (OSError, RuntimeError):
            status = "unknown"
        out["status_polls"] = out.get("status_polls", 0) + 1
        if status in FINISHED:
            return
        interval = min(interval * 2, 10.0)


def big_runs(
    args, client: Client, reports: list[bytes], floors: list[float], db_url: str
) -> list[dict]:
    results = []
    watchers = []
    rows = UploadRow(db_url)
    try:
        for index, gz in enumerate(reports):
            key = f"big-{index + 1}"
            record: dict = {"key": key, "cases": args.big_cases, "floor_s": floors[index]}
            results.append(record)
            if not _big_run(args, client, rows, gz, key, record, watchers):
                break
    finally:
        rows.close()
    for watcher in watchers:
        watcher.join(timeout=args.timeout + 30)
    return results


def _big_run(args, client, rows: UploadRow, gz: bytes, key: str, record: dict, watchers) -> bool:
    """POST one big run and wait until it is processed; return whether it was."""
    posted = record["posted"] = time.time()
    started = time.perf_counter()
    try:
        response = client.post(gz=gz, run=key, timestamp=now_iso())
    except OSError as exc:
        record["error"] = f"POST failed after {time.perf_counter() - started:.1f} s: {exc}"
        return False
    record["post_s"] = time.perf_counter() - started
    if response.status != 202:
        record["error"] = f"POST answered {response.status}: {response.body[:200]!r}"
        return False
    upload_id = response.json()["id"]
    stop = threading.Event()
    poller = threading.Thread(
        target=client_polls, args=(client, upload_id, stop, record), daemon=True
    )
    poller.start()
    try:
        detail = rows.wait(upload_id, timeout=args.timeout)
    finally:
        stop.set()
        poller.join(timeout=30)
    # Figures are derived from the processed results, so the summary cannot name the
    # run before it is processed: watch it from then on, beside the next run.
    watcher = threading.Thread(
        target=watch_fresh,
        args=(client, key, posted, args.big_poll, args.timeout, record),
        daemon=True,
    )
    watcher.start()
    watchers.append(watcher)
    record["status"] = detail["status"]
    if detail["status"] != "processed":
        record["error"] = f"upload {detail['status']} after {args.timeout} s: {detail['error']}"
        return False
    record["processed_s"] = detail["processed_at"] - posted
    record["processed_seen_s"] = time.time() - posted
    return True


def _cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per process group between two `Shape.cpu_seconds` readings."""
    return {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}


def _queues_empty(probe: QueueProbe) -> bool:
    try:
        return not any(probe.lengths().values())
    except Exception:  # a broker hiccup: ask again at the next turn
        probe.close()
        return False


def settle(client: Client, results: list[dict], probe: QueueProbe, *, timeout: float) -> str:
    """Wait until the summary names the last big run and the queues are empty.

    So that the small runs do not start while the worker still derives the big runs'
    figures (an empty queue alone does not say the worker is idle). Return what was
    seen, with the last run's freshness when it came after the watch gave up.
    """
    last = next((r for r in reversed(results) if "processed_s" in r), None)
    started = time.monotonic()
    named = last is None or "fresh_s" in last
    while time.monotonic() - started < timeout:
        if not named:
            try:
                named = client.latest()[0] == last["key"]
            except (OSError, RuntimeError):
                named = False
            if named:
                last["fresh_late_s"] = time.time() - last["posted"]
        if named and _queues_empty(probe):
            break
        time.sleep(0.5)
    waited = time.monotonic() - started
    text = f"settled {waited:.1f} s after the big runs"
    if last is not None and "fresh_late_s" in last:
        text += f"; the summary named {last['key']} {last['fresh_late_s']:.1f} s after its POST"
    elif not named:
        text += f"; gave up: the summary still does not name {last['key']}"
    return text


def print_big(results: list[dict], args) -> None:
    print(
        f"\n== {len(results)} big runs of {args.big_cases:,} testcases, back to back "
        f"(summary polled every {args.big_poll:g} s once processed) =="
    )
    print(
        "  run     POST    POST->processed    POST->fresh    floor   processed/floor  fresh/floor"
    )
    for r in results:
        floor_rate = r["cases"] / r["floor_s"]
        cells = [f"  {r['key']:<6}"]
        cells.append(f"{r['post_s']:6.2f} s" if "post_s" in r else "     -  ")
        if "processed_s" in r:
            rate = r["cases"] / r["processed_s"]
            cells.append(f"{r['processed_s']:7.2f} s {rate / 1000:5.0f}k/s")
        else:
            cells.append(f"{'-':>17}")
        if "fresh_s" in r:
            rate = r["cases"] / r["fresh_s"]
            cells.append(f"{r['fresh_s']:6.2f} s {rate / 1000:4.0f}k/s")
        elif "fresh_late_s" in r:
            cells.append(f"{r['fresh_late_s']:6.1f} s (late)")
        elif "superseded_by" in r:
            cells.append(f"{'not seen':>15}")
        else:
            cells.append(f"{'> ' + format(args.timeout, 'g') + ' s':>15}")
        cells.append(f"{r['floor_s']:5.2f} s {floor_rate / 1000:4.0f}k/s")
        cells.append(
            f"{(r['cases'] / r['processed_s']) / floor_rate:9.2f}x"
            if "processed_s" in r
            else "    -"
        )
        cells.append(f"{(r['cases'] / r['fresh_s']) / floor_rate:12.2f}x" if "fresh_s" in r else "")
        print("  ".join(cells))
        if "superseded_by" in r:
            print(f"    {r['key']}: the summary named {r['superseded_by']} before naming it")
        if r.get("summary_tests") not in (None, r["cases"]):
            print(
                f"    {r['key']}: the summary counted {r['summary_tests']} tests, not {r['cases']}"
            )
        if "error" in r:
            print(f"    {r['key']}: {r['error']}")
        for message in r.get("fresh_errors", [])[:3]:
            print(f"    {r['key']}: summary error: {message}")
    done = [r for r in results if "post_s" in r]
    over = [r["key"] for r in done if r["post_s"] > 1.0]
    print(
        f"  budget: every POST within 1 s: {'yes' if not over else 'NO (' + ', '.join(over) + ')'}"
    )
    slow = [
        r["key"]
        for r in results
        if "fresh_s" not in r
        or r["fresh_s"] > 1.5
        or r["cases"] / r["fresh_s"] < r["cases"] / r["floor_s"] / 3
    ]
    print(
        "  budget: fresh within 1.5 s and at least a third of the floor: "
        + ("yes" if not slow else "NO (" + ", ".join(slow) + ")")
    )


# --- phase 2: small runs ----------------------------------------------------------------


class SmallRuns:
    """Send small runs on a fixed schedule and watch each one become fresh."""

    def __init__(self, client: Client, args) -> None:
        self.client, self.args = client, args
        self.sent: dict[str, dict] = {}  # key -> record
        self.lock = threading.Lock()
        self.polls = self.polls_failed = 0
        self.skipped = 0
        self.poll_errors: list[str] = []

    def send(self, n: int, scheduled: float) -> None:
        key = f"s-{n}"
        xml, tests = small_report(n)
        gz = gzip_report(xml)
        record = {"key": key, "tests": tests, "lateness": time.monotonic() - scheduled}
        if record["lateness"] > self.args.max_lateness:
            # Every sender is stuck in a slow POST: stop queueing behind them.
            record.update(status=None, error="not sent: the senders were busy", post_s=0.0)
            with self.lock:
                self.skipped += 1
                self.sent[key] = record
            return
        record["timestamp"] = now_iso()
        record["posted"] = time.time()
        started = time.perf_counter()
        try:
            response = self.client.post(gz=gz, run=key, timestamp=record["timestamp"])
            record["status"] = response.status
            if response.status == 202:
                record["upload_id"] = response.json()["id"]
            else:
                record["error"] = f"{response.status} {response.body[:120]!r}"
        except OSError as exc:
            record["status"] = None
            record["error"] = f"{type(exc).__name__}: {exc}"
        record["post_s"] = time.perf_counter() - started
        with self.lock:
            self.sent[key] = record

    def pending(self) -> list[dict]:
        """Accepted runs not seen fresh yet, posted within the last `--drain` seconds."""
        oldest = time.time() - self.args.drain
        with self.lock:
            return [
                r
                for r in self.sent.values()
                if "upload_id" in r and "fresh" not in r and r["posted"] >= oldest
            ]

    def poll_once(self) -> None:
        pending = self.pending()
        if not pending:
            return
        since = min(r["timestamp"] for r in pending)
        # One page of 500 per poll, cycling through the window when more runs lag, so
        # that watching a backlog does not add a backlog's worth of reads every second.
        with self.lock:
            window = sum(r.get("timestamp", "") >= since for r in self.sent.values())
        page = self.polls % max(1, -(-window // 500))
        self.polls += 1
        listed = self.client.runs_page(since, page=page)
        latest_key, latest_started, _ = self.client.latest()
        now = time.time()
        latest_ts = None
        if latest_key in self.sent:
            latest_ts = parse_time(self.sent[latest_key]["timestamp"])
        elif latest_started:
            latest_ts = parse_time(latest_started)
        for record in pending:
            item = listed.get(record["key"])
            if item and item.get("is_complete") and item["counts"]["tests"] == record["tests"]:
                record.setdefault("listed", now)
            ts = parse_time(record["timestamp"])
            if "listed" in record and latest_ts is not None and latest_ts >= ts:
                record["fresh"] = now

    def poll(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                self.polls_failed += 1
                if len(self.poll_errors) < 5:
                    self.poll_errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            stop.wait(self.args.poll)

    def run(self, sampler: Sampler) -> dict:
        args = self.args
        total = int(args.small_minutes * args.small_per_minute)
        interval = 60 / args.small_per_minute
        stop = threading.Event()
        poller = threading.Thread(target=self.poll, args=(stop,), daemon=True)
        poller.start()
        sampler.phase = "small"
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.senders) as pool:
            for n in range(total):
                scheduled = started + n * interval
                delay = scheduled - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.send, n, scheduled)
        sending_s = time.monotonic() - started
        sampler.phase = "drain"
        drain_started = time.monotonic()
        while self.pending() and time.monotonic() - drain_started < args.drain:
            time.sleep(0.5)
        drain_s = time.monotonic() - drain_started
        stop.set()
        poller.join(timeout=60)
        sampler.phase = "after"
        self.fetch_uploads()
        return {"total": total, "sending_s": sending_s, "drain_s": drain_s}

    def fetch_uploads(self) -> None:
        """Read each accepted upload's status and processed_at (after the measurement)."""

        def fetch(record: dict) -> None:
            try:
                detail = self.client.upload(record["upload_id"])
            except Exception as exc:
                record["upload_error"] = str(exc)[:200]
                return
            record["upload_status"] = detail["status"]
            if detail.get("processed_at"):
                record["processed"] = parse_time(detail["processed_at"])

        accepted = [r for r in self.sent.values() if "upload_id" in r]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(fetch, accepted))


def print_small(
    small: SmallRuns, outcome: dict, sampler: Sampler, args, lags: list[float] | None
) -> None:
    records = list(small.sent.values())
    accepted = [r for r in records if "upload_id" in r]
    errors = [r for r in records if "upload_id" not in r]
    processed = [r for r in accepted if r.get("upload_status") == "processed"]
    fresh = [r for r in processed if "fresh" in r]
    print(
        f"\n== small runs: {args.small_per_minute:g}/minute for {args.small_minutes:.3g} minutes "
        f"({outcome['total']} runs of 20-50 tests, 4 categories; poll every {args.poll:g} s) =="
    )
    print(
        f"  sent {len(records)} in {outcome['sending_s']:.1f} s "
        f"(sender lateness max {max((r['lateness'] for r in records), default=0):.2f} s), "
        f"accepted {len(accepted)}, POST errors {len(errors)}"
    )
    if small.skipped:
        print(f"    not sent (every sender busy for over {args.max_lateness:g} s): {small.skipped}")
    for r in [r for r in errors if r["status"] is not None or "not sent" not in r["error"]][:5]:
        print(f"    {r['key']}: {r['error']}")
    print(f"  POST latency: {spread([r['post_s'] for r in records])}")
    over = sum(r["post_s"] > 1.0 for r in records)
    print(f"  POSTs over 1 s: {over}")
    not_processed = [r for r in accepted if r.get("upload_status") != "processed"]
    print(
        f"  processed {len(processed)}; not processed: {len(not_processed)} "
        f"({', '.join(sorted({str(r.get('upload_status')) for r in not_processed})) or '-'})"
    )
    print(f"  POST -> processed: {spread([r['processed'] - r['posted'] for r in processed])}")
    lag = [r["fresh"] - r["processed"] for r in fresh]
    print(f"  processed -> fresh: {spread(lag)}")
    late = sum(v > 10 for v in lag)
    never = len(processed) - len(fresh)
    print(
        f"  fresh within 10 s of processing: {len(lag) - late} of {len(processed)}; "
        f"later: {late}; not seen fresh (each run watched for {args.drain:g} s after its POST): "
        f"{never} "
        f"(drain took {outcome['drain_s']:.1f} s)"
    )
    print(f"  POST -> fresh: {spread([r['fresh'] - r['posted'] for r in fresh])}")
    if lags is not None:
        within = sum(v <= 10 for v in lags)
        print(
            f"  processed -> complete rollups written (server clock, every run): "
            f"{spread(lags)}; within 10 s: {within} of {len(lags)}"
        )
    if small.polls_failed:
        print(f"  freshness polls that failed: {small.polls_failed}: {small.poll_errors}")
    print(f"  queue lengths (ready messages) while sending, broker {sampler.probe.kind}:")
    print("\n".join(sampler.table("small")))
    print("  queue lengths during the drain:")
    print("\n".join(sampler.table("drain")))
    growth = sampler.growth("small")
    if growth:
        print("  while sending:")
        print("\n".join(growth))


# --- main -------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-cases", type=int, default=100_000)
    parser.add_argument("--big-runs", type=int, default=3, help="0 skips the big runs")
    parser.add_argument("--small-minutes", type=float, default=5, help="0 skips the small runs")
    parser.add_argument("--small-per-minute", type=float, default=1000)
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: tiny sizes, about a minute in all"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument(
        "--database", help="scratch database name (default: DATABASE_URL's name + _pipeline)"
    )
    parser.add_argument("--broker", help="broker URL (default: CELERY_BROKER_URL)")
    parser.add_argument("--cache-url", default=os.environ.get("CACHE_URL"))
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument(
        "--worker",
        action="append",
        metavar="QUEUES[:CONCURRENCY]",
        help=f"a worker process (repeatable); default: {','.join(QUEUES)}:2",
    )
    parser.add_argument("--no-beat", action="store_true", help="do not start celery beat")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait per big run")
    parser.add_argument(
        "--drain",
        type=float,
        default=120,
        help="seconds to watch each small run after its POST (and to wait after the last)",
    )
    parser.add_argument("--big-poll", type=float, default=0.1)
    parser.add_argument("--poll", type=float, default=1.0, help="small runs' freshness poll")
    parser.add_argument("--sample-every", type=float, default=5.0, help="queue sampling (s)")
    parser.add_argument("--senders", type=int, default=32, help="concurrent small-run POSTs")
    parser.add_argument(
        "--max-lateness",
        type=float,
        default=60,
        help="skip a small run whose POST could not start within this many seconds",
    )
    parser.add_argument("--json", action="store_true", help="end with one line of JSON figures")
    args = parser.parse_args(argv)
    if args.quick:
        args.big_cases = min(args.big_cases, 2000)
        args.small_minutes = min(args.small_minutes, 1 / 6)
        args.small_per_minute = min(args.small_per_minute, 240)
        args.timeout, args.drain = min(args.timeout, 60), min(args.drain, 30)
        args.sample_every, args.poll = min(args.sample_every, 2), min(args.poll, 0.5)
    workers = []
    for spec in args.worker or [f"{','.join(QUEUES)}:2"]:
        queues, _, concurrency = spec.partition(":")
        workers.append((queues, int(concurrency or 1)))
    args.workers = workers
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1/x")
    broker = args.broker or os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith(("amqp://", "pyamqp://", "redis://", "rediss://")):
        sys.exit("set CELERY_BROKER_URL (or --broker) to amqp://… or redis://…")
    problem = broker_reachable(broker)
    if problem:
        sys.exit(f"broker {broker} unreachable: {problem}")
    name = args.database or urlsplit(server).path.lstrip("/") + "_pipeline"
    db_url = database_url(server, name)
    signal.signal(signal.SIGTERM, _on_sigterm)

    tmp = Path(tempfile.mkdtemp(prefix="passline-pipeline-"))
    shape = Shape(
        code=args.code.resolve(),
        db_url=db_url,
        broker_url=broker,
        tmp=tmp,
        web_workers=args.web_workers,
        workers=args.workers,
        beat=not args.no_beat,
        cache_url=args.cache_url,
    )
    probe = QueueProbe(broker)
    sampler = Sampler(QueueProbe(broker), shape, args.sample_every)
    figures: dict = {}
    try:
        print(
            f"code: {shape.code}; database {name}; broker {probe.kind} "
            f"{urlsplit(broker).hostname}:{urlsplit(broker).port}{urlsplit(broker).path}"
        )
        load = os.getloadavg()
        print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in load)}")
        note = autovacuum_note(server)
        if note:
            print(note)
        calibration = calibration_ms()
        started = time.perf_counter()
        recreate_database(db_url)
        tokens = setup(shape, ["big", "small"])
        print(
            f"setup: database created and migrated, projects and "
            f"tokens created in {time.perf_counter() - started:.1f} s"
        )
        probe.purge()

        reports = [gzip_report(big_report(args.big_cases, run)) for run in range(args.big_runs)]
        # The best of three: a floor is what any ingest pays at least, and one reading on
        # a shared machine can be a third slower than the next (seen here), which would
        # flatter every ratio measured against it.
        floors = [min(floor(db_url, gz) for _ in range(FLOOR_READINGS)) for gz in reports]
        if reports:
            print(
                f"floor (lxml iterparse of the gzip + COPY into a temp table, before the "
                f"servers start, best of {FLOOR_READINGS}): "
                f"{', '.join(f'{args.big_cases / s:,.0f}/s' for s in floors)}; "
                f"gzip {len(reports[0]) / 1e6:.1f} MB"
            )

        http = shape.start()
        print(
            f"started: gunicorn ({args.web_workers} workers) on 127.0.0.1:{shape.port}, "
            + ", ".join(f"worker -Q {q} -c {c}" for q, c in args.workers)
            + ("" if args.no_beat else ", beat")
        )
        big, small = (Client(http, slug, *tokens[slug]) for slug in ("big", "small"))
        problem = add_category_rules(http, ["big", "small"])
        print(
            "categories: "
            + (
                ", ".join(CATEGORIES) + " by classname rules"
                if not problem
                else f"not set up ({problem}); every result is Uncategorized"
            )
        )
        sampler.start()
        warm = [warm_up(c, timeout=args.timeout) for c in (big, small)]
        warm_text = ", ".join(f"{s:.1f} s" for s in warm)
        print(f"warm-up: one small run per project processed in {warm_text}")
        names = summary_categories(small, timeout=args.timeout)
        print(f"  the summary of 'small' lists the categories: {', '.join(names) or 'none'}")
        shape.check_alive()

        if reports:
            sampler.phase = "big"
            cpu_before, started = shape.cpu_seconds(), time.monotonic()
            results = big_runs(args, big, reports, floors, db_url)
            cpu_used = _cpu_used(cpu_before, shape.cpu_seconds())
            cpu_wall = time.monotonic() - started
            sampler.phase = "between"
            settled = settle(big, results, probe, timeout=args.timeout)
            print_big(results, args)
            print("  queue lengths during the big runs:")
            print("\n".join(sampler.table("big")))
            print(f"  {settled}")
            print(
                f"  CPU seconds during the big runs ({cpu_wall:.1f} s of wall time, "
                f"{os.cpu_count()} CPUs): "
                + ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu_used.items())
                + " (web: status polls as passline-upload --wait makes them, then the "
                + f"summary every {args.big_poll:g} s until it names the run)"
            )
            figures["big"] = results
            if not big.summary_has_run:
                print("  NOTE: the summary JSON has no 'run' field; freshness cannot be seen")
        if args.small_minutes > 0 and args.small_per_minute > 0:
            runner = SmallRuns(small, args)
            outcome = runner.run(sampler)
            lags = rollup_lags(db_url, "small")
            print_small(runner, outcome, sampler, args, lags)
            lag = [
                r["fresh"] - r["processed"]
                for r in runner.sent.values()
                if "fresh" in r and "processed" in r
            ]
            figures["small"] = {
                "sent": len(runner.sent),
                "errors": sum("upload_id" not in r for r in runner.sent.values()),
                "post_p95_s": pct([r["post_s"] for r in runner.sent.values()], 95),
                "fresh_lag_p95_s": pct(lag, 95) if lag else None,
                "fresh": len(lag),
                "rollups_lag_p95_s": pct(lags, 95) if lags else None,
            }
        shape.check_alive()
        rss = ", ".join(f"{k} {v:.0f} MB" for k, v in sampler.rss_max.items())
        print(f"\npeak RSS (process group, sampled every {args.sample_every:g} s): {rss}")
        after = calibration_ms()
        load = os.getloadavg()
        print(
            f"machine: calibration loop {calibration:.0f} ms before, {after:.0f} ms after; "
            f"load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        if args.json:
            print(json.dumps(figures, default=str))
        return 0
    except (KeyboardInterrupt, Stop):
        print("interrupted: stopping", file=sys.stderr)
        return 130
    except Exception:
        for log in sorted(tmp.glob("*.log")):
            tail = log.read_text(errors="replace")[-1500:]
            print(f"--- last lines of {log.name} ---\n{tail}", file=sys.stderr)
        raise
    finally:
        sampler.stop()
        shape.stop()
        try:
            probe.purge()
        except Exception as exc:
            print(f"could not purge the broker's queues: {exc}", file=sys.stderr)
        probe.close()
        if args.keep:
            print(f"kept database {name} and logs in {tmp}")
        else:
            recreate_database(db_url, drop_only=True)
            for path in sorted(tmp.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            tmp.rmdir()


if __name__ == "__main__":
    sys.exit(main())
