# ruff: noqa: F811 (pytest fixtures imported from fault_fixtures)
"""Fault: the database goes down under load and comes back.

passline runs on a PostgreSQL cluster of the test's own (initdb + pg_ctl on a free
port), with its own RabbitMQ node. While the cluster is stopped: upload POSTs get 503
with Retry-After and the JSON error body, pages a plain 503 page; an upload being
processed is rolled back. Once it is back every accepted upload is processed exactly
once and the service answers again.
"""

import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import skip_unless_service
from tests.ingest.fault_fixtures import rabbit  # noqa: F401
from tests.ingest.fault_services import (
    PostgresCluster,
    Stack,
    Uploader,
    latency_summary,
    passline_env,
    post_report,
    record,
    report,
    request,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.fault]

IN_FLIGHT_CASES = 100_000
SMALL_CASES = 200
DURING_OUTAGE = 20
OUTAGE_SECONDS = 10
HEALTHY = 10


@pytest.fixture
def cluster():
    pg = PostgresCluster()
    skip_unless_service(pg.available, "initdb and pg_ctl are not installed")
    try:
        pg.init()
        pg.start()
        pg.create_database("passline")
        yield pg
    finally:
        pg.close()


def uploads(url: str) -> dict[int, tuple[str, int, int]]:
    """Return {upload id: (status, tests, results of its run)} read straight from SQL."""
    with psycopg.connect(url, connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT u.id, u.status, u.tests, "
            "(SELECT COUNT(*) FROM ingest_result r WHERE r.run_id = u.run_id) "
            "FROM ingest_upload u"
        ).fetchall()
    return {pk: (status, tests, results) for pk, status, tests, results in rows}


def all_processed(url: str, expected: dict[int, int]) -> bool:
    try:
        seen = uploads(url)
    except psycopg.OperationalError:
        return False
    return all(seen.get(pk, ("",))[0] == "processed" for pk in expected)


def test_database_outage_answers_503_and_loses_nothing(cluster, rabbit, tmp_path):
    url = cluster.url("passline")
    media = tmp_path / "media"
    stack = Stack(
        env=passline_env(database_url=url, broker_url=rabbit.url, media_root=media),
        root=tmp_path,
    )
    try:
        _run(stack, cluster, url)
    finally:
        stack.close()


def _run(stack: Stack, cluster: PostgresCluster, url: str) -> None:
    stack.manage("migrate", "--noinput")
    stack.manage("createproject", "faults", "--name", "Faults")
    token = stack.manage("createtoken", "faults", "--scope", "upload").strip().splitlines()[-1]
    stack.start_web()
    worker = stack.start_worker()
    stack.start_beat()
    ci = Uploader(stack.url, token)
    expected, post = ci.expected, ci.post
    healthy = ci.baseline(cases=SMALL_CASES, count=HEALTHY)
    wait_until(lambda: all_processed(url, expected), timeout=90, what="warm-up", logs=stack.logs)

    big = post(IN_FLIGHT_CASES).json()["id"]
    wait_until(
        lambda: uploads(url)[big][0] == "processing",
        timeout=60,
        what="the worker to claim the big upload",
        logs=stack.logs,
    )
    stopped = time.monotonic()
    cluster.stop()

    during = []
    for _ in range(DURING_OUTAGE):
        answer = post_report(stack.url, token, report(SMALL_CASES), run=uuid.uuid4().hex[:12])
        during.append(answer)
        assert answer.status == 503, (answer.status, answer.body[:300])
        assert answer.headers.get("Retry-After") == "30"
        assert answer.json() == {
            "error": "unavailable",
            "detail": "The database is unavailable; nothing was stored. Retry later.",
        }
    record(
        "database",
        f"POST latency with the database down: {latency_summary(during, baseline=healthy)}",
    )
    page = request(stack.url + "/")
    assert page.status == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"briefly unavailable" in page.body
    assert request(stack.url + "/healthz").status == 503
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))

    cluster.start()
    back = time.monotonic()
    for _ in range(5):
        post(SMALL_CASES)
    wait_until(
        lambda: all_processed(url, expected),
        timeout=120,
        what="every accepted upload to be processed after the database came back",
        logs=[*stack.logs, cluster.log],
    )
    record(
        "database",
        f"database back -> all accepted uploads (incl. the in-flight one) processed: "
        f"{time.monotonic() - back:.1f} s",
    )

    seen = uploads(url)
    # Only the accepted uploads exist (a 503 stored nothing), each processed once.
    assert set(seen) == set(expected)
    for pk, cases in expected.items():
        assert seen[pk] == ("processed", cases, cases), (pk, seen[pk])
    with psycopg.connect(url) as conn:
        duplicates = conn.execute(
            "SELECT run_id, test_id FROM ingest_result GROUP BY run_id, test_id "
            "HAVING COUNT(*) > 1 LIMIT 5"
        ).fetchall()
        files = conn.execute("SELECT COUNT(*) FROM ingest_uploadfile").fetchone()[0]
    assert duplicates == []
    assert files == len(expected)
    stored = [p for p in Path(stack.env["MEDIA_ROOT"]).rglob("*") if p.is_file()]
    assert len(stored) == len(expected), "a refused upload left a raw file behind"
    assert worker.alive()
    record("database", f"beat process survived the outage: {stack.beat.alive()}")
    assert request(stack.url + "/healthz").status == 200
    assert request(stack.url + "/").status == 200
