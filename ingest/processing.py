"""Process one stored upload: parse its reports and write its results atomically.

The flow per upload: claim it with a conditional UPDATE (so a redelivered or duplicate
task is a no-op), stream each stored report through the JUnit reader, and write tests,
merged results, counts and run changes in ONE transaction whose last UPDATE is
conditional on the claim (status and attempt), so that a claim that was taken over
writes nothing. A report that is not JUnit marks the upload failed (raw kept, nothing
else written). Any other exception rolls back, puts the upload back in the queue and
propagates so the task retries.

Liveness, so that a dead worker's upload is taken over quickly and a live one never:
- While it processes, a thread writes ``heartbeat_at`` every PASSLINE_HEARTBEAT_SECONDS
  (PostgreSQL; on its own connection). A processing upload whose heartbeat is older
  than PASSLINE_HEARTBEAT_TIMEOUT_SECONDS is stuck: processing may claim it again and
  the dispatcher (``ingest.dispatcher.uploads_dispatch``) publishes it again.
- On PostgreSQL the claimant also holds a session advisory lock on the upload from its
  claim to its end. The server drops it the moment the worker's connection dies, so a
  message redelivered after a SIGKILL claims the orphan at once instead of waiting for
  the heartbeat to go stale.
"""

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ingest import signals
from ingest.categorize import CategoryMatcher, category_get_or_create
from ingest.decompress import open_report
from ingest.gc_pause import gc_paused
from ingest.identity import identity_hasher
from ingest.junit import JUnitError, ReportLimits
from ingest.models import Result, Run, Upload
from ingest.reports import open_reader
from ingest.result_store import ERROR, FAILED, PASSED, SKIPPED, Counts, ResultWriter
from ingest.runs import baseline_start

logger = logging.getLogger("passline.ingest")

OUTCOMES = {"passed": PASSED, "failed": FAILED, "error": ERROR, "skipped": SKIPPED}
MAX_WARNINGS = 200
# Per-run advisory lock key: "pl" in the top bits, plus the run id.
RUN_LOCK_KEY = 0x706C << 48
# Per-upload advisory lock key (held by the claimant): "pu" in the top bits, plus the id.
UPLOAD_LOCK_KEY = 0x7075 << 48
# Report timestamps outside this window are placeholders (epoch, year 0001), not times.
_EARLIEST_TIMESTAMP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
Status = Upload.Status


class _Superseded(Exception):
    """Another claim of the same upload took over (the first worker looked dead)."""


class _FileError(Exception):
    def __init__(self, filename: str, error: JUnitError):
        super().__init__(error.detail)
        self.filename = filename
        self.error = error


def upload_process(*, upload_id: int) -> bool:
    """Parse and store upload `upload_id` if it is queued or its claimant is gone.

    Return True when it was left alone because a live worker is processing it (the
    caller may look again later), else False (processed, failed, or nothing to do).
    """
    upload, busy = _claim(upload_id)
    if upload is None:
        return busy
    started = time.monotonic()
    log = {"upload_id": upload.pk, "run_id": upload.run_id, "project": upload.project.slug}
    try:
        with _heartbeat(upload), transaction.atomic(), gc_paused():
            counts, completed = _ingest(upload)
    except _FileError as exc:
        _fail(upload, exc, log)
        return False
    except _Superseded:
        logger.warning("upload superseded by another claim", extra=log)
        return False
    except Exception:
        logger.exception("upload processing error, will retry", extra=log)
        _release(upload)
        raise
    finally:
        _unlock(upload.pk)
    extra = {**log, **vars(counts), "seconds": round(time.monotonic() - started, 3)}
    logger.info("upload processed", extra={**extra, "run_completed": completed})
    return False


def _claim(upload_id: int) -> tuple[Upload | None, bool]:
    """Claim the upload; return (it, False), or (None, whether a live worker has it)."""
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | stale_processing(now=now)
    if connection.vendor == "postgresql":
        if not _try_lock(upload_id):
            logger.info("upload is being processed elsewhere", extra={"upload_id": upload_id})
            return None, True
        # Nobody alive holds the upload's lock: "processing" is an orphan's leftover.
        claimable = Q(status__in=[Status.QUEUED, Status.PROCESSING])
    try:
        claimed = (
            # Out of attempts: left for the dispatcher (ingest.dispatcher) to quarantine.
            Upload.objects.filter(pk=upload_id, attempts__lt=settings.PASSLINE_MAX_UPLOAD_ATTEMPTS)
            .filter(claimable)
            .update(
                status=Status.PROCESSING,
                attempts=F("attempts") + 1,
                started_at=now,
                heartbeat_at=now,
            )
        )
        if claimed:
            return Upload.objects.select_related("project", "run").get(pk=upload_id), False
    except BaseException:
        _unlock(upload_id)  # a kept connection must not keep the lock
        raise
    _unlock(upload_id)
    logger.info("upload not claimable (handled or in progress)", extra={"upload_id": upload_id})
    return None, False


def stale_processing(*, now: dt.datetime) -> Q:
    """Return the filter for processing uploads whose heartbeat is stale at `now`.

    Rows without a heartbeat (claimed before heartbeats existed) go by ``started_at``.
    """
    stale = now - dt.timedelta(seconds=settings.PASSLINE_HEARTBEAT_TIMEOUT_SECONDS)
    return Q(
        Q(heartbeat_at__lt=stale)
        | Q(heartbeat_at__isnull=True, started_at__lt=stale)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True),
        status=Status.PROCESSING,
    )


def _try_lock(upload_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s::bigint)", [UPLOAD_LOCK_KEY + upload_id])
        return bool(cursor.fetchone()[0])


def _unlock(upload_id: int) -> None:
    """Release the claimant's lock; a lost connection has released it already."""
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s::bigint)", [UPLOAD_LOCK_KEY + upload_id])
    except DatabaseError:
        logger.warning("could not release the upload lock", extra={"upload_id": upload_id})


@contextmanager
def _heartbeat(upload: Upload) -> Iterator[None]:
    """Write the upload's heartbeat from a thread (own connection) while the block runs.

    PostgreSQL only: SQLite serialises writers, so a second writer would wait for the
    processing transaction; the embedded default processes in-process anyway.
    """
    if connection.vendor != "postgresql":
        yield
        return
    stop = threading.Event()
    mine = Upload.objects.filter(pk=upload.pk, status=Status.PROCESSING, attempts=upload.attempts)

    def beat() -> None:
        from django.db import connection as own  # this thread's own connection

        try:
            while not stop.wait(settings.PASSLINE_HEARTBEAT_SECONDS):
                try:
                    mine.update(heartbeat_at=timezone.now())
                except DatabaseError:
                    logger.warning("heartbeat not written", extra={"upload_id": upload.pk})
                    own.close()
        finally:
            own.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{upload.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _ingest(upload: Upload) -> tuple[Counts, bool]:
    """Write the upload's results; return its counts and whether the run completed."""
    forced = bool(upload.category)
    if forced:
        category_id = category_get_or_create(project_id=upload.project_id, name=upload.category)
        matcher = CategoryMatcher.forced(category_id=category_id)
    else:
        matcher = CategoryMatcher.for_project(upload.project_id)
    with ResultWriter(
        project_id=upload.project_id,
        run_id=upload.run_id,
        upload_id=upload.pk,
        category_forced=forced,
        run_has_results=_lock_run_results(upload.run_id),
    ) as writer:
        files = list(upload.files.all())
        warnings: list[str] = []
        timestamps: list[dt.datetime] = []
        seen = 0
        for upload_file in files:
            prefix = f"{upload_file.filename}: " if len(files) > 1 else ""
            limits = ReportLimits(
                max_testcases=max(1, settings.PASSLINE_MAX_TESTCASES - seen),
                max_name_length=settings.PASSLINE_MAX_NAME_LENGTH,
                max_message_length=settings.PASSLINE_MAX_MESSAGE_LENGTH,
                max_depth=settings.PASSLINE_MAX_DEPTH,
                max_decompressed_bytes=settings.PASSLINE_MAX_DECOMPRESSED_BYTES,
                max_elements=settings.PASSLINE_MAX_ELEMENTS,
                max_text_bytes=settings.PASSLINE_MAX_TEXT_BYTES,
            )
            try:
                reader = _read_file(upload_file, limits, matcher, writer)
            except JUnitError as exc:
                raise _FileError(upload_file.filename, exc) from exc
            seen += reader.testcases
            warnings.extend(prefix + w for w in reader.warnings)
            if reader.timestamp is not None:
                timestamps.append(reader.timestamp)
        counts = writer.finish()
    now = timezone.now()
    run_timestamp = _report_timestamp(timestamps, now, warnings)
    run_timestamp = _not_before_baseline(upload, run_timestamp, warnings)
    # Conditional on this claim: a claim that was taken over writes nothing.
    if not Upload.objects.filter(
        pk=upload.pk, status=Status.PROCESSING, attempts=upload.attempts
    ).update(
        status=Status.PROCESSED,
        processed_at=now,
        warnings=warnings[:MAX_WARNINGS],
        error="",
        error_line=None,
        error_column=None,
        tests=counts.tests,
        passed=counts.passed,
        failed=counts.failed,
        errors=counts.errors,
        skipped=counts.skipped,
        flaky=counts.flaky,
        heartbeat_at=None,
    ):
        raise _Superseded
    run = Run.objects.filter(pk=upload.run_id)
    if run_timestamp is not None:
        # Earliest report timestamp over all parts, unless the uploader gave one.
        run.filter(timestamp_explicit=False, started_at__gt=run_timestamp).update(
            started_at=run_timestamp
        )
    completed = bool(
        upload.is_final and run.filter(is_complete=False).update(is_complete=True, completed_at=now)
    )
    ids = {"upload_id": upload.pk, "run_id": upload.run_id, "project_id": upload.project_id}
    signals.send_after_commit(signals.upload_processed, run_completed=completed, **ids)
    if completed:
        signals.send_after_commit(
            signals.run_completed, run_id=upload.run_id, project_id=upload.project_id
        )
    return counts, completed


def _lock_run_results(run_id: int) -> bool:
    """Serialise writers of one run until commit; return whether it has results yet.

    PostgreSQL: a transaction-scoped advisory lock, so that the API can still update
    the run row while a part is processed. SQLite serialises writers by itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s::bigint)", [RUN_LOCK_KEY + run_id])
    return Result.objects.filter(run_id=run_id).exists()


def _read_file(upload_file, limits: ReportLimits, matcher: CategoryMatcher, writer: ResultWriter):
    """Stream one stored report into `writer`; return the exhausted reader."""
    # The hot loop of ingest: plain locals, one memo lookup per test for its category
    # (rules run once per distinct classname or file), and no rule matching at all
    # when there are none.
    add = writer.add
    identity_of = identity_hasher()
    category_of = matcher.categorizer() if matcher.has_rules else None
    default_category = matcher.default_id
    outcomes = OUTCOMES
    with upload_file.raw.open("rb") as raw:
        stream = open_report(raw, max_decompressed_bytes=limits.max_decompressed_bytes)
        try:
            reader = open_reader(stream, limits)  # sniffs the format
            # The reader already normalises names (ingest.identity.normalise_name).
            for record in reader:
                classname = record.classname
                name = record.name
                file = record.file
                suite = record.suite
                add(
                    identity_of(classname, name),
                    classname,
                    name,
                    file,
                    suite,
                    outcomes[record.outcome],
                    record.flaky,
                    record.attempts,
                    record.duration,
                    record.message,
                    default_category
                    if category_of is None
                    else category_of(file, classname, suite, name),
                )
        finally:
            stream.close()
    return reader


def _report_timestamp(
    timestamps: list[dt.datetime], now: dt.datetime, warnings: list[str]
) -> dt.datetime | None:
    """Return the earliest plausible report timestamp (aware, UTC), or None."""
    plausible = []
    for value in timestamps:
        aware = value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)
        if _EARLIEST_TIMESTAMP <= aware <= now + dt.timedelta(days=1):
            plausible.append(aware)
        else:
            warnings.append(f"report timestamp {value.isoformat()} ignored: not a plausible time")
    return min(plausible, default=None)


def _not_before_baseline(
    upload: Upload, timestamp: dt.datetime | None, warnings: list[str]
) -> dt.datetime | None:
    """Return `timestamp`, or None when it would date the run before the baseline."""
    if timestamp is None:
        return None
    earliest = baseline_start(project=upload.project, excluding_run_id=upload.run_id)
    if earliest is not None and timestamp < earliest:
        warnings.append(
            f"report timestamp {timestamp.isoformat()} ignored: it is before the "
            "project's baseline run"
        )
        return None
    return timestamp


def _fail(upload: Upload, exc: _FileError, log: dict) -> None:
    error = exc.error
    detail = error.detail
    if upload.files.count() > 1:
        detail = f"{exc.filename}: {detail}"
    Upload.objects.filter(pk=upload.pk, status=Status.PROCESSING, attempts=upload.attempts).update(
        status=Status.FAILED,
        error=detail,
        error_line=error.line,
        error_column=error.column,
        processed_at=timezone.now(),
        heartbeat_at=None,
    )
    extra = {"code": error.code, "line": error.line, "column": error.column}
    logger.warning("upload failed", extra={**log, **extra, "detail": detail})


def _release(upload: Upload) -> None:
    """Put a claimed upload back in the queue after an unexpected error, if possible."""
    try:
        Upload.objects.filter(
            pk=upload.pk, status=Status.PROCESSING, attempts=upload.attempts
        ).update(status=Status.QUEUED, started_at=None, heartbeat_at=None, dispatched_at=None)
    except DatabaseError:
        # The database is down: the upload stays "processing"; its heartbeat goes stale
        # and the dispatcher publishes it again once the database is back.
        logger.exception("could not release upload", extra={"upload_id": upload.pk})
