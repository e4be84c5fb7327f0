"""Accept uploads: store the raw reports durably, then queue their processing."""

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ingest.dispatcher import upload_enqueue
from ingest.models import ApiToken, Project, Run, Upload, UploadFile
from ingest.runs import run_part_check

logger = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


@dataclass
class IncomingReport:
    """One received report file; `stream` is seekable and holds `size` bytes as sent."""

    filename: str
    content_type: str
    stream: BinaryIO
    size: int
    # sha256 hex of the bytes as sent; computed by upload_create when empty.
    sha256: str = ""


def report_sha256(stream: BinaryIO) -> str:
    """Return the sha256 hex of a seekable stream and rewind it."""
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def upload_fingerprint(*, metadata: dict, reports: Sequence[IncomingReport]) -> str:
    """Return a sha256 hex over the metadata and each report's name and bytes.

    Two requests with the same Idempotency-Key are "the same" exactly when their
    fingerprints match.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(metadata, sort_keys=True, default=str).encode())
    for report in reports:
        sha256 = report.sha256 or report_sha256(report.stream)
        digest.update(f"\0{report.filename}\0{report.size}\0{sha256}".encode())
    return digest.hexdigest()


def upload_create(
    *,
    project: Project,
    reports: Sequence[IncomingReport],
    run_key: str | None = None,
    branch: str = "",
    commit: str = "",
    build_url: str = "",
    pr: int | None = None,
    base_commit: str = "",
    category: str = "",
    final: bool = False,
    timestamp: datetime | None = None,
    token: ApiToken | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> Upload:
    """Store `reports` as one upload (a part of run `run_key`) and queue its processing.

    Everything is written in one transaction; raw files go to the default storage and
    are removed again if the transaction fails. The processing task is enqueued only
    after commit (``ingest.dispatcher.upload_enqueue``: best effort; the dispatcher
    publishes what was not). Without `run_key` the upload is a run of its own. A part
    that arrives for a run that is already complete is accepted: the run stays
    complete and processing merges the new results into it. With an upload `token`
    (the API), a part that would rewrite history is refused (``ingest.runs``).

    Raise OSError when storage fails, IntegrityError when `idempotency_key` is already
    used in the project (a concurrent identical request), and RunClosed when `token`
    may not add this part.
    """
    if not reports:
        raise ValueError("an upload needs at least one report")
    for report in reports:
        if not report.sha256:
            report.sha256 = report_sha256(report.stream)
    saved: list[str] = []
    try:
        with transaction.atomic():
            run = _run_for_part(
                project=project,
                key=run_key or uuid.uuid4().hex,
                branch=branch,
                commit=commit,
                build_url=build_url,
                pr=pr,
                base_commit=base_commit,
                timestamp=timestamp,
                check=token is not None,
            )
            upload = Upload.objects.create(
                project=project,
                run=run,
                token=token,
                category=category,
                is_final=final,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
            for report in reports:
                _store_file(upload, report, saved)
            upload.response = upload_accepted_body(upload)
            upload.save(update_fields=["response"])
            upload_enqueue(upload_id=upload.pk)
    except BaseException:
        _delete_files(saved)
        raise
    return upload


def _run_for_part(
    *,
    project: Project,
    key: str,
    branch: str,
    commit: str,
    build_url: str,
    pr: int | None = None,
    base_commit: str = "",
    timestamp,
    check: bool,
) -> Run:
    now = timezone.now()
    run, created = Run.objects.get_or_create(
        project=project,
        key=key,
        defaults={
            "branch": branch,
            "commit": commit,
            "build_url": build_url,
            "pr": pr,
            "base_commit": base_commit,
            "started_at": timestamp or now,
            "timestamp_explicit": timestamp is not None,
        },
    )
    if check:
        run_part_check(project=project, run=run, created=created, timestamp=timestamp)
    if created:
        return run
    # Later parts fill what earlier parts left blank but never overwrite it; the
    # filters make each UPDATE a no-op instead of a race with a concurrent part.
    runs = Run.objects.filter(pk=run.pk)
    runs.update(last_upload_at=now)
    filled = (("branch", branch), ("commit", commit), ("build_url", build_url))
    for field, value in (*filled, ("base_commit", base_commit)):
        if value:
            runs.filter(**{field: ""}).update(**{field: value})
    if pr is not None:
        runs.filter(pr__isnull=True).update(pr=pr)
    if timestamp is not None:
        runs.filter(Q(timestamp_explicit=False) | ~Q(started_at=timestamp)).update(
            started_at=timestamp, timestamp_explicit=True
        )
    run.refresh_from_db()
    return run


def _store_file(upload: Upload, report: IncomingReport, saved: list[str]) -> None:
    row = UploadFile(
        upload=upload,
        filename=report.filename[:500],
        content_type=report.content_type[:100],
        size=report.size,
        sha256=report.sha256,
    )
    report.stream.seek(0)
    row.raw.save("report.bin", File(report.stream), save=False)
    saved.append(row.raw.name)
    row.save()


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete orphaned raw upload %s", name)


def upload_url(upload: Upload) -> str:
    """Return the status URL path of an upload."""
    return reverse("upload-detail", kwargs={"upload_id": upload.pk})


def upload_accepted_body(upload: Upload) -> dict:
    """Return the 202 body of a newly stored upload."""
    return {
        "id": upload.pk,
        "status": upload.status,
        "url": upload_url(upload),
        "run": upload.run.key,
    }


def upload_status(upload: Upload) -> dict:
    """Return the GET body of an upload: status, error, counts, run and files."""
    return {
        "id": upload.pk,
        "status": upload.status,
        "error": upload.error or None,
        "error_line": upload.error_line,
        "error_column": upload.error_column,
        "counts": {
            "tests": upload.tests,
            "passed": upload.passed,
            "failed": upload.failed,
            "error": upload.errors,
            "skipped": upload.skipped,
            "flaky": upload.flaky,
        },
        "run": upload.run.key,
        "project": upload.project.slug,
        "final": upload.is_final,
        "category": upload.category or None,
        "url": upload_url(upload),
        "warnings": upload.warnings or [],
        "attempts": upload.attempts,
        "created_at": upload.created_at,
        "processed_at": upload.processed_at,
        "files": [
            {
                "filename": f.filename,
                "content_type": f.content_type,
                "size": f.size,
                "sha256": f.sha256,
            }
            for f in upload.files.all()
        ],
    }
