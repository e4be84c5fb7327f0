"""Upload dispatcher: publish what was never published or is stuck; quarantine the hopeless."""

import datetime as dt
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ingest import dispatcher
from ingest.dispatcher import uploads_dispatch
from ingest.models import Upload
from tests.factories import UploadFactory

pytestmark = pytest.mark.django_db

S = Upload.Status


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.PASSLINE_STUCK_UPLOAD_MINUTES = 15
    settings.PASSLINE_MAX_UPLOAD_ATTEMPTS = 3
    settings.PASSLINE_HEARTBEAT_TIMEOUT_SECONDS = 45
    settings.PASSLINE_DISPATCH_GRACE_SECONDS = 10


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr("ingest.tasks.upload_process.delay", calls.append)
    return calls


def upload(
    status, *, age_seconds=0, dispatched=None, heartbeat=None, started=None, attempts=0, error=""
):
    """Create an upload; times are given as seconds ago (None: NULL)."""
    now = timezone.now()

    def ago(seconds):
        return None if seconds is None else now - dt.timedelta(seconds=seconds)

    row = UploadFactory(status=status, attempts=attempts, error=error)
    Upload.objects.filter(pk=row.pk).update(
        created_at=ago(age_seconds),
        dispatched_at=ago(dispatched),
        heartbeat_at=ago(heartbeat),
        started_at=ago(started),
    )
    return row


def test_publishes_unpublished_lost_and_stale_uploads(sent):
    never_published = upload(S.QUEUED, age_seconds=30)
    just_accepted = upload(S.QUEUED, age_seconds=2)  # the web's publisher has it
    published = upload(S.QUEUED, age_seconds=120, dispatched=110)
    lost = upload(S.QUEUED, age_seconds=3600, dispatched=16 * 60)
    dead_worker = upload(S.PROCESSING, age_seconds=300, started=200, heartbeat=60, attempts=1)
    alive = upload(S.PROCESSING, age_seconds=300, started=200, heartbeat=5, attempts=1)
    legacy_stale = upload(S.PROCESSING, age_seconds=3600, started=3000, attempts=1)
    done = upload(S.PROCESSED, age_seconds=600, dispatched=590, attempts=1)

    report = uploads_dispatch()

    expected = sorted([never_published.pk, lost.pk, dead_worker.pk, legacy_stale.pk])
    assert sorted(report.published) == expected
    assert sorted(sent) == expected
    assert sorted(report.requeued) == sorted([dead_worker.pk, legacy_stale.pk])
    for row in (dead_worker, legacy_stale, never_published):
        row.refresh_from_db()
        assert row.status == S.QUEUED
        assert row.dispatched_at is not None
    for row, status in ((just_accepted, S.QUEUED), (published, S.QUEUED), (alive, S.PROCESSING)):
        row.refresh_from_db()
        assert row.status == status
    just_accepted.refresh_from_db()
    assert just_accepted.dispatched_at is None
    done.refresh_from_db()
    assert done.status == S.PROCESSED
    assert report.quarantined == []


def test_a_second_run_publishes_nothing_new(sent):
    upload(S.QUEUED, age_seconds=30)
    uploads_dispatch()
    assert uploads_dispatch().published == []
    assert len(sent) == 1


def test_broker_down_leaves_uploads_for_the_next_run(monkeypatch):
    first = upload(S.QUEUED, age_seconds=30)
    second = upload(S.QUEUED, age_seconds=30)
    calls = []

    def flaky_broker(upload_id):
        calls.append(upload_id)
        if len(calls) == 2:
            raise ConnectionRefusedError("broker down")

    monkeypatch.setattr("ingest.tasks.upload_process.delay", flaky_broker)
    with pytest.raises(ConnectionRefusedError):
        uploads_dispatch()
    first.refresh_from_db()
    second.refresh_from_db()
    # The first was published and marked; the second waits for the next run.
    assert first.dispatched_at is not None
    assert second.dispatched_at is None
    assert uploads_dispatch().published == [second.pk]


def test_quarantines_uploads_out_of_attempts_keeping_their_error(sent):
    failed = upload(S.FAILED, attempts=3, error="database went away")
    released = upload(S.QUEUED, attempts=3, error="")
    stale = upload(S.PROCESSING, age_seconds=3600, started=1800, heartbeat=60, attempts=3)
    last_try = upload(S.PROCESSING, age_seconds=3600, started=120, heartbeat=5, attempts=3)
    bad_xml = upload(S.FAILED, attempts=1, error="not JUnit")
    report = uploads_dispatch()
    assert sorted(report.quarantined) == sorted([failed.pk, released.pk, stale.pk])
    assert sent == []
    failed.refresh_from_db()
    assert failed.status == S.QUARANTINED
    assert failed.error == "database went away"
    assert "Gave up after 3 attempt(s) (limit 3)" in failed.quarantine_reason
    for row, status in ((last_try, S.PROCESSING), (bad_xml, S.FAILED)):
        row.refresh_from_db()
        assert row.status == status


def test_dispatch_end_to_end_processes_a_never_published_upload():
    """With the real task (eager), an upload the web never published gets processed."""
    from django.core.files.base import ContentFile

    from ingest.models import UploadFile

    row = upload(S.QUEUED, age_seconds=60)
    body = b'<testsuite name="s"><testcase classname="a.B" name="t"/></testsuite>'
    upload_file = UploadFile(upload=row, filename="r.xml", size=len(body), sha256="cd" * 32)
    upload_file.raw.save("r.xml", ContentFile(body), save=True)
    uploads_dispatch()
    row.refresh_from_db()
    assert row.status == S.PROCESSED
    assert row.tests == 1


ROUTED = ("ingest.maintenance_tasks.uploads_dispatch", "ingest.tasks.upload_process")


def test_command_and_beat_entry(sent, settings):
    stuck = upload(S.QUEUED, age_seconds=60)
    hopeless = upload(S.FAILED, attempts=5)
    out = StringIO()
    call_command("dispatchuploads", stdout=out)
    assert "published 1 upload(s) (0 stuck processing), quarantined 1" in out.getvalue()
    assert f"quarantined upload {hopeless.pk}" in out.getvalue()
    assert sent == [stuck.pk]
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "ingest.maintenance_tasks.uploads_dispatch"
    ]
    assert len(entries) == 1
    assert 15 <= entries[0]["schedule"] <= 30
    from passline.celery import app

    router = app.amqp.Router()
    queue = {name: router.route({}, name)["queue"].name for name in ROUTED}
    assert queue == {
        "ingest.maintenance_tasks.uploads_dispatch": "maintenance",
        "ingest.tasks.upload_process": "ingest",
    }


def test_enqueue_never_waits_for_the_broker(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    """With a broker, the request thread only hands the id to the background publisher."""
    from passline.celery import app

    handed = []
    app.conf.task_always_eager = False  # restored by the autouse _eager_celery fixture
    monkeypatch.setattr(dispatcher._publisher, "submit", handed.append)
    monkeypatch.setattr(
        "ingest.tasks.upload_process.delay", lambda pk: pytest.fail("published in the request")
    )
    with django_capture_on_commit_callbacks(execute=True):
        dispatcher.upload_enqueue(upload_id=42)
    assert handed == [42]


def test_background_publisher_publishes_and_marks(sent):
    row = upload(S.QUEUED)
    publisher = dispatcher._Publisher()
    publisher.submit(row.pk)
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sent == [row.pk]


# Re-categorisation jobs: the same outbox.


def job(*, status="queued", age_seconds=0, published=None):
    """Create a re-categorisation job; times are seconds ago (None: NULL)."""
    from ingest.models import RecategorizeJob
    from tests.factories import ProjectFactory

    now = timezone.now()
    row = RecategorizeJob.objects.create(project=ProjectFactory(), status=status)
    RecategorizeJob.objects.filter(pk=row.pk).update(
        created_at=now - dt.timedelta(seconds=age_seconds),
        published_at=None if published is None else now - dt.timedelta(seconds=published),
    )
    return row


@pytest.fixture
def recategorize_sent(monkeypatch):
    calls = []
    monkeypatch.setattr("ingest.tasks.project_recategorize.delay", calls.append)
    return calls


def test_dispatcher_publishes_recategorize_jobs_that_are_due(recategorize_sent):
    from ingest.models import RecategorizeJob

    never = job(age_seconds=60)  # the web's publish failed: the broker was down
    lost = job(age_seconds=3600, published=20 * 60)  # published, never picked up
    job(age_seconds=1)  # fresh: the web's publisher is on it
    job(age_seconds=60, published=30)  # published recently, waiting its turn
    job(status="done", age_seconds=3600)
    job(status="running", age_seconds=3600, published=3600)

    assert dispatcher.recategorize_jobs_dispatch() == [never.pk, lost.pk]
    assert recategorize_sent == [never.project_id, lost.project_id]
    published = RecategorizeJob.objects.filter(pk__in=[never.pk, lost.pk])
    assert all(j.published_at > timezone.now() - dt.timedelta(seconds=5) for j in published)
    # Published now: the next run leaves them alone.
    assert dispatcher.recategorize_jobs_dispatch() == []


def test_dispatch_task_and_command_publish_recategorize_jobs(recategorize_sent, sent):
    from ingest.maintenance_tasks import uploads_dispatch_task

    first = job(age_seconds=60)
    assert uploads_dispatch_task()["recategorize_jobs"] == [first.pk]
    second = job(age_seconds=60)
    out = StringIO()
    call_command("dispatchuploads", stdout=out)
    assert out.getvalue().splitlines()[-1] == f"published re-categorisation job {second.pk}"
    assert recategorize_sent == [first.project_id, second.project_id]


# The publisher's thread has its own connection: the job must be committed.
@pytest.mark.django_db(transaction=True)
def test_background_publisher_leaves_recategorize_jobs_to_the_dispatcher_when_down(
    monkeypatch,
):
    """The broker refuses: the job stays unpublished, then the dispatcher publishes it."""
    from ingest.models import RecategorizeJob
    from passline.publisher import BackgroundPublisher

    attempts = []

    def broker_down(project_id):
        attempts.append(project_id)
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr("ingest.tasks.project_recategorize.delay", broker_down)
    row = job(age_seconds=60)
    publisher = BackgroundPublisher(what="test", publish=dispatcher._recategorize_publish)
    publisher.submit(row.pk)
    publisher.drain(timeout=10)
    assert attempts == [row.project_id]
    row.refresh_from_db()
    assert (row.status, row.published_at) == ("queued", None)

    delivered = []
    monkeypatch.setattr("ingest.tasks.project_recategorize.delay", delivered.append)
    assert dispatcher.recategorize_jobs_dispatch() == [row.pk]
    assert delivered == [row.project_id]
    assert RecategorizeJob.objects.get(pk=row.pk).published_at is not None
