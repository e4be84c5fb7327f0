"""Benchmark how many small uploads per second POST /api/v1/uploads accepts.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_api_bench \\
        .venv/bin/python benchmarks/upload_api.py [-n 500]

Creates the database of DATABASE_URL if missing and migrates it. Raw files go to a
temporary MEDIA_ROOT. Processing is not enqueued (it has its own benchmark): this is
the acceptance path only — authentication, rate limit, body spooling, the JUnit head
check, storing the raw file and the Upload/Run rows in one transaction.

It times `-n` raw-XML uploads and `-n` multipart uploads of a 20-testcase report
through Django's test Client, each with a fresh Idempotency-Key, and prints uploads/s.
The baseline, measured in the same run, calls the `upload_create` service directly
(no HTTP, no checks) for the same reports; the ratio is the cost of the HTTP layer.
Budget (DESIGN.md): 1,000 small uploads per minute, i.e. >= 16.7 uploads/s.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
# A throwaway process with DEBUG off (as in production): the settings need a key.
os.environ.setdefault("SECRET_KEY", "passline-benchmark-only-key-not-for-any-deployment")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_api_bench")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="pl-api-bench-"))
os.environ.setdefault("PASSLINE_UPLOAD_RATE_PER_MINUTE", "1000000")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

CASES = "\n".join(
    f'<testcase classname="bench.Suite{i % 4}" name="test_{i}" time="0.01"/>' for i in range(20)
)
REPORT = f'<?xml version="1.0"?>\n<testsuites><testsuite name="bench">\n{CASES}\n</testsuite></testsuites>\n'.encode()  # noqa: E501


def timed(label: str, count: int, send) -> float:
    started = time.perf_counter()
    for i in range(count):
        send(i)
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"{label:<34} {count:>6} uploads  {elapsed:7.2f} s  {rate:8.1f} uploads/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="uploads per measurement")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from ingest.models import Project
    from ingest.services.tokens import token_create
    from ingest.services.uploads import IncomingReport, upload_create

    Project.objects.filter(slug="api-bench").delete()
    project = Project.objects.create(slug="api-bench", name="API bench")
    _, token = token_create(project=project, scope="upload")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    stamp = time.time_ns()

    def raw(i):
        response = client.post(
            f"/api/v1/uploads?run=raw-{stamp}-{i}&branch=main",
            REPORT,
            content_type="application/xml",
            headers={"Idempotency-Key": f"raw-{stamp}-{i}"},
        )
        assert response.status_code == 202, response.content

    def multipart(i):
        upload = io.BytesIO(REPORT)
        upload.name = "junit.xml"
        response = client.post(
            "/api/v1/uploads",
            {"file": upload, "run": f"mp-{stamp}-{i}", "branch": "main"},
            headers={"Idempotency-Key": f"mp-{stamp}-{i}"},
        )
        assert response.status_code == 202, response.content

    def service(i):
        report = IncomingReport("junit.xml", "application/xml", io.BytesIO(REPORT), len(REPORT))
        upload_create(project=project, reports=[report], run_key=f"svc-{stamp}-{i}")

    print(f"database: {django.db.connection.vendor}; report: {len(REPORT)} bytes, 20 testcases")
    with mock.patch("ingest.services.uploads._enqueue"):
        raw(-1)  # warm-up: URL resolution, imports
        base = timed("baseline: upload_create service", args.n, service)
        raw_rate = timed("POST raw application/xml", args.n, raw)
        mp_rate = timed("POST multipart/form-data", args.n, multipart)
    print(f"ratio raw/baseline: {raw_rate / base:.2f}  multipart/baseline: {mp_rate / base:.2f}")
    budget = 1000 / 60
    verdict = "OK" if min(raw_rate, mp_rate) >= budget else "OVER BUDGET"
    print(f"budget >= {budget:.1f} uploads/s (1,000/minute): {verdict}")
    Project.objects.filter(slug="api-bench").delete()


if __name__ == "__main__":
    main()
