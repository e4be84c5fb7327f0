"""Fixtures shared by the fault tests (tests/ingest/test_faults_*.py)."""

import shutil
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from ingest.models import Result, Upload
from tests.conftest import skip_unless_service
from tests.ingest.fault_services import RabbitNode, Stack, passline_env

FAULT_SECRETS_KEY = "fault-tests-secrets-key"


def test_database_url() -> str:
    """Return a URL of the test database that other processes can use."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False


@pytest.fixture
def rabbit():
    """A RabbitMQ node of this test's own, started; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="passline-fault-mq-"))
    node = RabbitNode(root)
    try:
        skip_unless_service(node.available, "rabbitmq-server and epmd are not installed")
        node.start()
        yield node
    finally:
        node.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def stack(rabbit, settings, tmp_path):
    """passline (gunicorn, worker, beat) on the test database and the test's own broker."""
    if connection.vendor != "postgresql":
        pytest.skip("the fault tests need DATABASE_URL=postgres://… (CI runs them)")
    env = passline_env(
        database_url=test_database_url(),
        broker_url=rabbit.url,
        media_root=Path(settings.MEDIA_ROOT),
        # Webhooks of the tests go to receivers of their own on 127.0.0.1, stored
        # encrypted by the test process with the key the stack reads them with.
        PASSLINE_WEBHOOK_ALLOW_PRIVATE="1",
        PASSLINE_SECRETS_KEY=FAULT_SECRETS_KEY,
        # What an outage left undone (a run's feedback request the broker refused) waits
        # for the next sweep: every 5 s here instead of every minute, so that the test
        # waits for the rule (requests unpublished for 30 s), not for the clock.
        PASSLINE_SWEEP_INTERVAL_SECONDS="5",
    )
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    settings.PASSLINE_SECRETS_KEY = FAULT_SECRETS_KEY
    running = Stack(env=env, root=tmp_path)
    try:
        yield running
    finally:
        running.close()


def assert_nothing_lost(expected: dict[int, int]) -> None:
    """Every accepted upload (id -> testcases) processed once, with exact counts."""
    uploads = {u.pk: u for u in Upload.objects.filter(pk__in=expected)}
    assert set(uploads) == set(expected)
    for pk, cases in expected.items():
        upload = uploads[pk]
        assert upload.status == Upload.Status.PROCESSED, (pk, upload.status, upload.error)
        assert upload.tests == cases
        assert Result.objects.filter(run_id=upload.run_id).count() == cases
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT run_id, test_id FROM ingest_result GROUP BY run_id, test_id "
            "HAVING COUNT(*) > 1 LIMIT 5"
        )
        assert cursor.fetchall() == []
