"""Process one stored upload: parse its reports and write its results atomically.

The flow per upload: claim it with a conditional UPDATE (so a redelivered or duplicate
task is a no-op), stream each stored report through the JUnit reader, and write tests,
merged results, counts and run changes in ONE transaction. A report that is not JUnit
marks the upload failed (raw kept, nothing else written). Any other exception rolls
back, puts the upload back in the queue and propagates so the task retries; the
sweeper (``ingest.sweeper.uploads_sweep``) re-enqueues uploads whose worker died and
quarantines those out of attempts.
"""

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ingest import signals
from ingest.categorize import CategoryMatcher, category_get_or_create
from ingest.decompress import open_report
from ingest.gc_pause import gc_paused
from ingest.identity import test_identity
from ingest.junit import JUnitError, ReportLimits
from ingest.models import Result, Run, Upload
from ingest.reports import open_reader
from ingest.result_store import ERROR, FAILED, PASSED, SKIPPED, Counts, ResultWriter

logger = logging.getLogger("passline.ingest")

OUTCOMES = {"passed": PASSED, "failed": FAILED, "error": ERROR, "skipped": SKIPPED}
MAX_WARNINGS = 200
# Per-run advisory lock key: "pl" in the top bits, plus the run id.
RUN_LOCK_KEY = 0x706C << 48
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


def upload_process(*, upload_id: int) -> None:
    """Parse and store upload `upload_id`; a no-op unless it is queued or stale."""
    upload = _claim(upload_id)
    if upload is None:
        return
    started = time.monotonic()
    log = {"upload_id": upload.pk, "run_id": upload.run_id, "project": upload.project.slug}
    try:
        with transaction.atomic():
            locked = Upload.objects.select_for_update().get(pk=upload.pk)
            if locked.status != Status.PROCESSING or locked.attempts != upload.attempts:
                raise _Superseded
            with gc_paused():
                counts, completed = _ingest(upload)
    except _FileError as exc:
        _fail(upload, exc, log)
        return
    except _Superseded:
        logger.warning("upload superseded by another claim", extra=log)
        return
    except Exception:
        logger.exception("upload processing error, will retry", extra=log)
        _release(upload)
        raise
    extra = {**log, **vars(counts), "seconds": round(time.monotonic() - started, 3)}
    logger.info("upload processed", extra={**extra, "run_completed": completed})


def _claim(upload_id: int) -> Upload | None:
    now = timezone.now()
    stale = now - dt.timedelta(minutes=settings.PASSLINE_STUCK_UPLOAD_MINUTES)
    claimed = (
        # Out of attempts: left for the sweeper (ingest.sweeper) to quarantine.
        Upload.objects.filter(pk=upload_id, attempts__lt=settings.PASSLINE_MAX_UPLOAD_ATTEMPTS)
        .filter(
            Q(status=Status.QUEUED)
            | Q(status=Status.PROCESSING, started_at__lt=stale)
            | Q(status=Status.PROCESSING, started_at__isnull=True)
        )
        .update(status=Status.PROCESSING, attempts=F("attempts") + 1, started_at=now)
    )
    if not claimed:
        logger.info("upload not claimable (handled or in progress)", extra={"upload_id": upload_id})
        return None
    return Upload.objects.select_related("project", "run").get(pk=upload_id)


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
    Upload.objects.filter(pk=upload.pk).update(
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
    )
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
    transaction.on_commit(lambda: signals.upload_processed.send(sender=Upload, **ids))
    if completed:
        run_ids = {"run_id": upload.run_id, "project_id": upload.project_id}
        transaction.on_commit(lambda: signals.run_completed.send(sender=Run, **run_ids))
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
    # The hot loop of ingest: plain locals, and no rule matching when there are none.
    add = writer.add
    category_for = matcher.category_for if matcher.has_rules else None
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
                    test_identity(classname, name),
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
                    if category_for is None
                    else category_for(file=file, classname=classname, suite=suite, name=name),
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
    )
    extra = {"code": error.code, "line": error.line, "column": error.column}
    logger.warning("upload failed", extra={**log, **extra, "detail": detail})


def _release(upload: Upload) -> None:
    """Put a claimed upload back in the queue after an unexpected error, if possible."""
    try:
        Upload.objects.filter(
            pk=upload.pk, status=Status.PROCESSING, attempts=upload.attempts
        ).update(status=Status.QUEUED, started_at=None)
    except DatabaseError:
        # The database is down: the upload stays "processing" and the sweeper
        # re-enqueues it once it is stale.
        logger.exception("could not release upload", extra={"upload_id": upload.pk})
