"""upload_process: parse stored uploads and write their results in one transaction."""

import contextlib
import datetime as dt
import gc
import gzip
import hashlib
import time

import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections
from django.utils import timezone

from ingest import processing, signals
from ingest.models import Category, Project, Result, Run, Upload, UploadFile
from ingest.models import Test as TestModel
from ingest.processing import upload_process
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


# -- helpers shared by the other test_processing_* modules -----------------------------


def report(*cases: str, suite: str = "suite", timestamp: str | None = None) -> bytes:
    """Return a JUnit report whose <testsuite> holds the given <testcase> snippets."""
    stamp = f' timestamp="{timestamp}"' if timestamp else ""
    body = "".join(cases)
    return f'<?xml version="1.0"?><testsuite name="{suite}"{stamp}>{body}</testsuite>'.encode()


def case(name: str, outcome: str = "passed", *, classname: str = "pkg.C", extra: str = "") -> str:
    """Return one <testcase> element with the given outcome."""
    inner = {
        "passed": "",
        "failed": '<failure message="boom">trace</failure>',
        "error": '<error message="crash">trace</error>',
        "skipped": '<skipped message="later"/>',
        "flaky": '<flakyFailure message="first try">trace</flakyFailure>',
    }[outcome]
    return f'<testcase classname="{classname}" name="{name}" time="0.5"{extra}>{inner}</testcase>'


def stored_upload(
    project: Project,
    files: dict[str, bytes],
    *,
    run_key: str = "build-1",
    final: bool = False,
    category: str = "",
    gzip_files: bool = False,
    timestamp_explicit: bool = False,
) -> Upload:
    """Create a queued Upload with its raw files in storage, as the API stores it."""
    run, _ = Run.objects.get_or_create(
        project=project,
        key=run_key,
        defaults={"started_at": timezone.now(), "timestamp_explicit": timestamp_explicit},
    )
    upload = Upload.objects.create(project=project, run=run, is_final=final, category=category)
    for filename, data in files.items():
        raw = gzip.compress(data) if gzip_files else data
        upload_file = UploadFile(
            upload=upload,
            filename=filename,
            content_type="application/gzip" if gzip_files else "application/xml",
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
        )
        upload_file.raw.save(filename, ContentFile(raw), save=False)
        upload_file.save()
    return upload


def outcomes(run: Run) -> dict[str, tuple[str, bool, int]]:
    """Return {test name: (outcome label, flaky, attempts)} of a run's results."""
    return {
        r.test.name: (r.get_outcome_display(), r.flaky, r.attempts)
        for r in Result.objects.filter(run=run).select_related("test")
    }


def counts(upload: Upload) -> tuple[int, ...]:
    upload.refresh_from_db()
    return (upload.tests, upload.passed, upload.failed, upload.errors, upload.skipped, upload.flaky)


@pytest.fixture
def project():
    return ProjectFactory(slug="shop")


# -- behaviour -------------------------------------------------------------------------


def test_report_without_testcases_is_processed_with_zero_counts(project):
    upload = stored_upload(project, {"r.xml": report()})
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSED
    assert counts(upload) == (0, 0, 0, 0, 0, 0)
    assert not Result.objects.exists()


def test_processes_a_report_into_tests_results_and_counts(project):
    xml = report(case("a"), case("b", "failed"), case("c", "error"), case("d", "skipped"))
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    assert counts(upload) == (4, 1, 1, 1, 1, 0)
    assert upload.status == Upload.Status.PROCESSED
    assert upload.processed_at is not None
    assert upload.attempts == 1
    assert outcomes(upload.run) == {
        "a": ("passed", False, 1),
        "b": ("failed", False, 1),
        "c": ("error", False, 1),
        "d": ("skipped", False, 1),
    }
    failed = Result.objects.get(test__name="b")
    assert "boom" in failed.message
    assert failed.duration == pytest.approx(0.5)
    assert failed.category.name == Category.UNCATEGORIZED
    assert not failed.category_forced


def test_gzip_report_is_processed(project):
    upload = stored_upload(project, {"r.xml.gz": report(case("a"))}, gzip_files=True)
    upload_process(upload_id=upload.pk)
    assert counts(upload)[:2] == (1, 1)


def test_parts_of_one_run_merge_per_test(project):
    part1 = stored_upload(project, {"1.xml": report(case("a", "failed"), case("b"))})
    part2 = stored_upload(project, {"2.xml": report(case("a"), case("c", "skipped"))})
    upload_process(upload_id=part1.pk)
    upload_process(upload_id=part2.pk)
    assert part1.run_id == part2.run_id
    # Upload counts describe the part; the run's results merge the parts.
    assert counts(part1) == (2, 1, 1, 0, 0, 0)
    assert counts(part2) == (2, 1, 0, 0, 1, 0)
    assert outcomes(part1.run) == {
        "a": ("passed", True, 2),
        "b": ("passed", False, 1),
        "c": ("skipped", False, 1),
    }
    assert TestModel.objects.filter(project=project).count() == 3


def test_repeated_testcase_and_rerun_elements_make_a_test_flaky(project):
    xml = report(
        case("rerun", "failed"),
        case("rerun"),
        case("still_failing", "failed"),
        case("still_failing", "error"),
        case("surefire", "flaky"),
    )
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    assert counts(upload) == (3, 2, 0, 1, 0, 2)
    assert outcomes(upload.run) == {
        "rerun": ("passed", True, 2),
        "still_failing": ("error", False, 2),
        "surefire": ("passed", True, 2),
    }


def test_names_are_normalised_into_one_identity(project):
    xml = report(case("test  one", classname="pkg.C"), case("test one\n", classname=" pkg.C"))
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    assert counts(upload)[0] == 1
    assert TestModel.objects.get(project=project).name == "test one"


def test_several_files_in_one_upload(project):
    upload = stored_upload(
        project, {"a.xml": report(case("a")), "b.xml": report(case("b", "failed"))}
    )
    upload_process(upload_id=upload.pk)
    assert counts(upload) == (2, 1, 1, 0, 0, 0)


def test_final_part_completes_the_run_and_signals_after_commit(
    project, django_capture_on_commit_callbacks
):
    received = []

    def on_processed(**kwargs):
        received.append(("processed", kwargs["upload_id"], kwargs["run_id"]))

    def on_completed(**kwargs):
        received.append(("completed", kwargs["run_id"], kwargs["project_id"]))

    signals.upload_processed.connect(on_processed)
    signals.run_completed.connect(on_completed)
    try:
        part1 = stored_upload(project, {"1.xml": report(case("a"))})
        with django_capture_on_commit_callbacks(execute=True):
            upload_process(upload_id=part1.pk)
        run = Run.objects.get(pk=part1.run_id)
        assert not run.is_complete
        assert received == [("processed", part1.pk, run.pk)]
        part2 = stored_upload(project, {"2.xml": report(case("b"))}, final=True)
        with django_capture_on_commit_callbacks(execute=True):
            upload_process(upload_id=part2.pk)
    finally:
        signals.upload_processed.disconnect(on_processed)
        signals.run_completed.disconnect(on_completed)
    run.refresh_from_db()
    assert run.is_complete
    assert run.completed_at is not None
    assert received[1:] == [("processed", part2.pk, run.pk), ("completed", run.pk, project.pk)]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'<?xml version="1.0"?>\n<testsuite name="s">\n<testcase name="a">', 3),
        (b"bacon", 1),
    ],
)
def test_failed_parse_keeps_raw_and_records_error_with_position(project, data, line):
    upload = stored_upload(project, {"bad.xml": data})
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.error
    assert upload.error_line == line
    assert upload.error_column is not None
    assert upload.files.get().raw.read() == data
    assert not Result.objects.exists()
    assert not TestModel.objects.exists()
    assert not Run.objects.get(pk=upload.run_id).is_complete


def test_unknown_root_fails_with_clear_error(project):
    upload = stored_upload(project, {"robot.xml": b'<?xml version="1.0"?><robot/>'})
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert "<robot>" in upload.error and "NUnit 3" in upload.error


def test_error_in_second_file_writes_nothing_and_names_the_file(project):
    upload = stored_upload(project, {"good.xml": report(case("a")), "bad.xml": b"<testsuite>"})
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.error.startswith("bad.xml: ")
    assert not Result.objects.exists()
    assert upload.tests == 0


def test_processing_twice_leaves_the_same_rows(project):
    upload = stored_upload(project, {"r.xml": report(case("a", "failed"), case("a"))})
    upload_process(upload_id=upload.pk)
    before = list(Result.objects.values_list("test_id", "outcome", "flaky", "attempts"))
    upload_process(upload_id=upload.pk)
    assert list(Result.objects.values_list("test_id", "outcome", "flaky", "attempts")) == before
    upload.refresh_from_db()
    assert upload.attempts == 1


@contextlib.contextmanager
def claimant_alive(upload_id: int):
    """Hold the upload's claim lock from another session, as a live worker does (PG)."""
    if connection.vendor != "postgresql":
        yield
        return
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s::bigint)", [processing.UPLOAD_LOCK_KEY + upload_id]
            )
        yield
    finally:
        other.close()
        # The server ends the session (and drops its locks) a moment after the close.
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                )
                if not cursor.fetchone()[0]:
                    break
                time.sleep(0.02)


def test_live_claim_is_not_taken_but_a_stale_heartbeat_is(project, settings):
    upload = stored_upload(project, {"r.xml": report(case("a"))})
    now = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.PROCESSING, started_at=now, heartbeat_at=now, attempts=1
    )
    with claimant_alive(upload.pk):
        busy = upload_process(upload_id=upload.pk)
        assert not Result.objects.exists()
        # On PostgreSQL the live claimant's lock says "busy": the task looks once more.
        assert busy is (connection.vendor == "postgresql")
    stale = now - dt.timedelta(seconds=settings.PASSLINE_HEARTBEAT_TIMEOUT_SECONDS + 1)
    Upload.objects.filter(pk=upload.pk).update(started_at=stale, heartbeat_at=stale)
    assert upload_process(upload_id=upload.pk) is False
    upload.refresh_from_db()
    assert (upload.status, upload.attempts, upload.tests) == (Upload.Status.PROCESSED, 2, 1)
    assert upload.heartbeat_at is None


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_dead_claimant_is_taken_over_at_once_on_postgresql(project):
    """A worker killed mid-upload drops its lock with its connection: no waiting."""
    upload = stored_upload(project, {"r.xml": report(case("a"))})
    now = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.PROCESSING, started_at=now, heartbeat_at=now, attempts=1
    )
    with claimant_alive(upload.pk):
        pass  # the claimant's session ends here
    assert upload_process(upload_id=upload.pk) is False
    upload.refresh_from_db()
    assert (upload.status, upload.attempts, upload.tests) == (Upload.Status.PROCESSED, 2, 1)


def test_superseded_claim_writes_nothing(project, monkeypatch):
    """A claim taken over meanwhile (attempt changed) rolls back all it wrote."""
    upload = stored_upload(project, {"r.xml": report(case("a"), case("b"))})
    real_finish = processing.ResultWriter.finish

    def taken_over(self):
        counts = real_finish(self)
        Upload.objects.filter(pk=upload.pk).update(attempts=7)
        return counts

    monkeypatch.setattr(processing.ResultWriter, "finish", taken_over)
    assert upload_process(upload_id=upload.pk) is False
    assert not Result.objects.exists()
    assert not TestModel.objects.exists()
    upload.refresh_from_db()
    assert (upload.status, upload.tests) == (Upload.Status.PROCESSING, 0)


def test_upload_out_of_attempts_is_left_for_the_dispatcher(project, settings):
    upload = stored_upload(project, {"r.xml": report(case("a"))})
    Upload.objects.filter(pk=upload.pk).update(attempts=settings.PASSLINE_MAX_UPLOAD_ATTEMPTS)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.QUEUED
    assert not Result.objects.exists()


def test_unexpected_error_rolls_back_and_requeues(project, monkeypatch):
    upload = stored_upload(project, {"r.xml": report(case("a"), case("b"))})

    def explode(self):
        raise OSError("disk on fire")

    monkeypatch.setattr(processing.ResultWriter, "finish", explode)
    with pytest.raises(OSError):
        upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.QUEUED
    assert not Result.objects.exists()
    assert not TestModel.objects.exists()
    monkeypatch.undo()
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.attempts, upload.tests) == (Upload.Status.PROCESSED, 2, 2)


def test_report_timestamp_becomes_run_start_unless_explicit(project):
    xml = report(case("a"), timestamp="2026-03-01T10:00:00Z")
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    run = Run.objects.get(pk=upload.run_id)
    assert run.started_at == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    # A later part with an earlier report timestamp moves the start back; never forward.
    earlier = stored_upload(project, {"r.xml": report(case("b"), timestamp="2026-03-01T09:00:00")})
    later = stored_upload(project, {"r.xml": report(case("c"), timestamp="2026-03-01T11:00:00")})
    upload_process(upload_id=earlier.pk)
    upload_process(upload_id=later.pk)
    run.refresh_from_db()
    assert run.started_at == dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)

    explicit = stored_upload(project, {"r.xml": xml}, run_key="explicit", timestamp_explicit=True)
    before = explicit.run.started_at
    upload_process(upload_id=explicit.pk)
    explicit.run.refresh_from_db()
    assert explicit.run.started_at == before


@pytest.mark.parametrize("stamp", ["1999-05-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_implausible_report_timestamp_is_ignored_with_a_warning(project, stamp):
    upload = stored_upload(project, {"r.xml": report(case("a"), timestamp=stamp)})
    before = upload.run.started_at
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    upload.run.refresh_from_db()
    assert upload.run.started_at == before
    assert any(stamp[:4] in w for w in upload.warnings)


def test_parser_warnings_are_stored(project):
    xml = report('<testcase classname="c" name="a" time="nonsense"/>')
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSED
    assert upload.warnings
    assert Result.objects.get().duration == 0.0


def test_chunked_writes_merge_duplicates_across_chunks(project, monkeypatch):
    monkeypatch.setitem(processing.ResultWriter.__init__.__kwdefaults__, "chunk_size", 2)
    xml = report(*(case(f"t{i % 3}", "failed" if i < 3 else "passed") for i in range(7)))
    upload = stored_upload(project, {"r.xml": xml})
    upload_process(upload_id=upload.pk)
    assert counts(upload) == (3, 3, 0, 0, 0, 3)
    assert {a for _, _, a in outcomes(upload.run).values()} == {2, 3}


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_creating_the_same_tests_both_land(project):
    """Real threads: two runs' first reports race to create the same new tests.

    One upload's COPY of the new tests waits for the other to commit, then violates
    the unique identity and is merged by the set-based path instead: both runs get
    every result, and every test exists once.
    """
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    # With the category in place the two transactions do not queue on creating it.
    Category.objects.create(project=project, name=Category.UNCATEGORIZED)
    xml = report(*(case(f"t{i}", "failed" if i % 7 == 0 else "passed") for i in range(3000)))
    uploads = [stored_upload(project, {"r.xml": xml}, run_key=f"race-{n}") for n in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def process(upload_id):
        try:
            barrier.wait()
            upload_process(upload_id=upload_id)
        except Exception as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=process, args=(u.pk,)) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert TestModel.objects.filter(project=project).count() == 3000
    for upload in uploads:
        assert counts(upload) == (3000, 2571, 429, 0, 0, 0)
        assert Result.objects.filter(run_id=upload.run_id).count() == 3000


def test_collector_is_paused_while_an_upload_is_written(project, monkeypatch):
    """The cyclic GC would stop parser and writer for full passes over the worker."""
    upload = stored_upload(project, {"r.xml": report(case("a"))})
    seen = []
    real_finish = processing.ResultWriter.finish

    def finish(self):
        seen.append(gc.isenabled())
        return real_finish(self)

    monkeypatch.setattr(processing.ResultWriter, "finish", finish)
    gc.enable()
    upload_process(upload_id=upload.pk)
    assert seen == [False]
    assert gc.isenabled()
    assert counts(upload) == (1, 1, 0, 0, 0, 0)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_processing_writes_a_heartbeat_while_it_works(settings, monkeypatch):
    """The heartbeat thread keeps a long upload from looking stuck."""
    project = ProjectFactory()
    upload = stored_upload(project, {"r.xml": report(case("a"))})
    settings.PASSLINE_HEARTBEAT_SECONDS = 0.05
    real_finish = processing.ResultWriter.finish
    seen = []

    def slow_finish(self):
        claimed = Upload.objects.values_list("heartbeat_at", flat=True).get(pk=upload.pk)
        time.sleep(0.5)
        beats = Upload.objects.values_list("heartbeat_at", flat=True).get(pk=upload.pk)
        seen.append((claimed, beats))
        return real_finish(self)

    monkeypatch.setattr(processing.ResultWriter, "finish", slow_finish)
    assert upload_process(upload_id=upload.pk) is False
    ((claimed, beats),) = seen
    assert beats > claimed  # written by the thread while processing ran
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSED
    assert upload.heartbeat_at is None
