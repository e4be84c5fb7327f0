"""Derive work never holds a lock an upload needs (PostgreSQL, real threads).

Each test holds a derive transaction of a project open at its advisory lock (after
earlier batches committed their rows), POSTs an upload to the same project from
another thread, and requires the 202 before the derive work is released.
"""

import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from dashboard.derive import teststats, trends
from dashboard.derive.teststats import run_test_stats_update, test_stats_refresh
from dashboard.derive.trends import trend_refresh
from ingest.models import Run, Upload
from ingest.services.tokens import token_create
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory
from tests.ingest.upload_api_helpers import REPORT

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 20  # seconds; only reached when the behaviour is broken


@pytest.fixture
def project():
    if connection.vendor != "postgresql":
        pytest.skip("row and advisory locks are PostgreSQL's; SQLite serialises all writers")
    project = ProjectFactory()
    now = datetime.now(UTC)
    for i in range(3):
        results = [(f"t{n}", P if (n + i) % 4 else F, "A") for n in range(40)]
        make_run(project, f"r{i}", now - timedelta(days=3 - i), results)
    return project


def _hold_at_lock(module, *, call: int):
    """Patch ``module.project_xact_lock``: on call number ``call``, take it, then wait."""
    real = module.project_xact_lock
    held, release, let_go = threading.Event(), threading.Event(), threading.Event()
    calls = []

    def lock(**kwargs):
        real(**kwargs)
        calls.append(kwargs)
        if len(calls) == call:
            held.set()
            try:
                assert release.wait(3 * WAIT), "the test never released the derive work"
            finally:
                let_go.set()

    return mock.patch.object(module, "project_xact_lock", lock), held, release, let_go


def _in_thread(target, errors: list):
    def run():
        try:
            target()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _post_upload(project) -> tuple[threading.Thread, list, list]:
    _, secret = token_create(project=project, scope="upload", name="ci")
    answers, errors = [], []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        answers.append(
            client.generic("POST", "/api/v1/uploads?run=next&final=true", REPORT, "application/xml")
        )

    return _in_thread(post, errors), answers, errors


@pytest.mark.parametrize(
    ("module", "call", "work"),
    [
        # The hourly rebuild, held in its second batch (the first already committed).
        (teststats, 2, lambda p: test_stats_refresh(project_id=p.pk)),
        # Folding a completed run into the per-test stats.
        (teststats, 1, lambda p: run_test_stats_update(run_id=p.runs.get(key="r2").pk)),
        # Replacing the project's cached trends.
        (trends, 1, lambda p: trend_refresh(project_id=p.pk)),
    ],
    ids=["test-stats-rebuild", "test-stats-fold", "trend-refresh"],
)
def test_upload_post_is_answered_while_derive_work_of_the_project_runs(
    project, settings, module, call, work
):
    settings.PASSLINE_TEST_STATS_BATCH = 10
    patch, held, release, let_go = _hold_at_lock(module, call=call)
    derive_errors = []
    with (
        patch,
        # The POST only enqueues processing; no worker runs here.
        mock.patch("ingest.services.uploads.upload_enqueue") as enqueue,
    ):
        derive = _in_thread(lambda: work(project), derive_errors)
        try:
            assert held.wait(WAIT), "the derive work never reached its lock"
            poster, answers, post_errors = _post_upload(project)
            poster.join(WAIT)
            answered_while_held = not poster.is_alive() and not let_go.is_set()
        finally:
            release.set()
            derive.join(WAIT)
            poster.join(WAIT)
    assert answered_while_held, "the upload POST waited for the derive transaction"
    assert post_errors == [] and derive_errors == []
    assert answers[0].status_code == 202, answers[0].content
    upload = Upload.objects.get(pk=answers[0].json()["id"])
    assert upload.run == Run.objects.get(project=project, key="next")
    enqueue.assert_called_once_with(upload_id=upload.pk)
