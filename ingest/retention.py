"""Delete what passline no longer needs: old raw uploads and old per-test results.

Two windows, both in days and counted back from ``now`` (UTC):

- ``PASSLINE_RAW_RETENTION_DAYS``: the raw report files of uploads created before the
  cutoff are deleted from file storage; their ``UploadFile.raw`` is cleared and the
  upload gets ``raw_pruned_at``. Only uploads that reached a final state (processed,
  failed, quarantined) lose their files: a queued upload still needs them.
- ``PASSLINE_RESULT_RETENTION_DAYS``: ``Result`` rows of runs that started before the
  cutoff are deleted.

Runs, uploads, tests and every rollup or summary table (the dashboard's) are kept
forever, so old history stays on the charts. Work is done in batches of primary keys,
each in its own short transaction, so no lock is held for long.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ingest.models import Result, Run, Upload, UploadFile

logger = logging.getLogger("passline.ingest")

_FINAL_STATES = (Upload.Status.PROCESSED, Upload.Status.FAILED, Upload.Status.QUARANTINED)
# Old runs are handled this many at a time when looking for their results.
_RUN_CHUNK = 500


@dataclass
class PruneReport:
    """What a prune removed (or, with ``dry_run``, would remove)."""

    raw_cutoff: dt.datetime
    result_cutoff: dt.datetime
    dry_run: bool = False
    uploads: int = 0
    raw_files: int = 0
    raw_bytes: int = 0
    results: int = 0
    batches: int = 0

    def summary(self) -> str:
        """Return a one-line human summary."""
        verb = "would remove" if self.dry_run else "removed"
        return (
            f"{verb} {self.raw_files} raw file(s) ({self.raw_bytes} bytes) of "
            f"{self.uploads} upload(s) created before {self.raw_cutoff:%Y-%m-%d %H:%M} UTC "
            f"and {self.results} result row(s) of runs started before "
            f"{self.result_cutoff:%Y-%m-%d %H:%M} UTC in {self.batches} batch(es)"
        )


def retention_prune(
    *, now: dt.datetime | None = None, batch_size: int = 5000, dry_run: bool = False
) -> PruneReport:
    """Delete raw files and results older than the retention windows; return the counts.

    ``batch_size`` bounds the rows touched per transaction (uploads for raw files,
    results for results). With ``dry_run`` nothing is changed and the report counts
    what would go.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    report = PruneReport(
        raw_cutoff=now - dt.timedelta(days=settings.PASSLINE_RAW_RETENTION_DAYS),
        result_cutoff=now - dt.timedelta(days=settings.PASSLINE_RESULT_RETENTION_DAYS),
        dry_run=dry_run,
    )
    _prune_raw(report, batch_size=batch_size)
    _prune_results(report, batch_size=batch_size)
    logger.info(
        "retention prune dry_run=%s uploads=%s raw_files=%s raw_bytes=%s results=%s",
        dry_run,
        report.uploads,
        report.raw_files,
        report.raw_bytes,
        report.results,
    )
    return report


def _prune_raw(report: PruneReport, *, batch_size: int) -> None:
    old = Upload.objects.filter(
        created_at__lt=report.raw_cutoff, raw_pruned_at__isnull=True, status__in=_FINAL_STATES
    ).order_by("pk")
    last_pk = 0
    while True:
        upload_ids = list(old.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch_size])
        if not upload_ids:
            return
        last_pk = upload_ids[-1]
        files = list(
            UploadFile.objects.filter(upload_id__in=upload_ids)
            .exclude(raw="")
            .values_list("pk", "raw", "size")
        )
        report.uploads += len(upload_ids)
        report.raw_files += len(files)
        report.raw_bytes += sum(size for _, _, size in files)
        report.batches += 1
        if report.dry_run:
            continue
        # Files go first: if the database update then fails, the next prune finds the
        # rows again and deleting an already missing file is a no-op.
        for _, name, _ in files:
            default_storage.delete(name)
        with transaction.atomic():
            UploadFile.objects.filter(pk__in=[pk for pk, _, _ in files]).update(raw="")
            Upload.objects.filter(pk__in=upload_ids).update(raw_pruned_at=timezone.now())


def _prune_results(report: PruneReport, *, batch_size: int) -> None:
    old_runs = Run.objects.filter(started_at__lt=report.result_cutoff).order_by("pk")
    last_run = 0
    while True:
        run_ids = list(old_runs.filter(pk__gt=last_run).values_list("pk", flat=True)[:_RUN_CHUNK])
        if not run_ids:
            return
        last_run = run_ids[-1]
        results = Result.objects.filter(run_id__in=run_ids)
        if report.dry_run:
            count = results.count()
            report.results += count
            report.batches += -(-count // batch_size)
            continue
        while True:
            # One DELETE ... WHERE id IN (SELECT id ... LIMIT n) per batch: the subquery
            # walks the (run, test) index, with no sort, and each batch commits.
            with transaction.atomic():
                _, per_model = Result.objects.filter(
                    pk__in=results.values("pk")[:batch_size]
                ).delete()
            deleted = per_model.get(Result._meta.label, 0)
            report.batches += 1 if deleted else 0
            report.results += deleted
            if deleted < batch_size:
                break
