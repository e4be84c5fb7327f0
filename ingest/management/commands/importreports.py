"""Import report files from disk through the same path as an HTTP upload."""

import datetime as dt
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from ingest.models import Project, Upload
from ingest.services.uploads import IncomingReport, upload_create

GZIP_MAGIC = b"\x1f\x8b"


def _timestamp(value: str) -> dt.datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--timestamp {value!r} is not an ISO 8601 date and time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _content_type(path: Path) -> str:
    """Return a label for the stored file; processing sniffs the format from the bytes."""
    return "application/json" if path.suffix in (".json", ".jsonl") else "application/xml"


class Command(BaseCommand):
    help = (
        "Upload report files (JUnit XML, NUnit 2/3, xUnit.net, TRX, CTRF JSON or "
        "go test -json, or gzip of them; the format is read from the content) as one "
        "part of a run, exactly like POST /api/v1/uploads, and print the upload id and counts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="project slug")
        parser.add_argument("files", nargs="+", type=Path, help="report files")
        parser.add_argument("--run", default=None, help="run key; default: a new run")
        parser.add_argument("--branch", default="")
        parser.add_argument("--commit", default="")
        parser.add_argument("--build-url", default="")
        parser.add_argument("--category", default="", help="force this category")
        parser.add_argument("--final", action="store_true", help="this part completes the run")
        parser.add_argument("--timestamp", type=_timestamp, default=None, help="ISO 8601")

    def handle(self, *args, **options) -> None:
        try:
            project = Project.objects.get(slug=options["slug"])
        except Project.DoesNotExist:
            raise CommandError(f"no project with slug {options['slug']!r}") from None
        for path in options["files"]:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
        with ExitStack() as stack:
            reports = []
            for path in options["files"]:
                stream = stack.enter_context(path.open("rb"))
                gzipped = stream.read(2) == GZIP_MAGIC
                stream.seek(0)
                reports.append(
                    IncomingReport(
                        filename=path.name,
                        content_type="application/gzip" if gzipped else _content_type(path),
                        stream=stream,
                        size=path.stat().st_size,
                    )
                )
            upload = upload_create(
                project=project,
                reports=reports,
                run_key=options["run"],
                branch=options["branch"],
                commit=options["commit"],
                build_url=options["build_url"],
                category=options["category"],
                final=options["final"],
                timestamp=options["timestamp"],
            )
        # With eager Celery (no broker) the upload was processed on commit.
        upload.refresh_from_db()
        summary = f"upload {upload.pk} run {upload.run.key}: {upload.status}"
        if upload.status == Upload.Status.PROCESSED:
            summary += (
                f" tests={upload.tests} passed={upload.passed} failed={upload.failed}"
                f" errors={upload.errors} skipped={upload.skipped} flaky={upload.flaky}"
            )
        self.stdout.write(summary)
        if upload.status == Upload.Status.FAILED:
            where = f" (line {upload.error_line}, column {upload.error_column})"
            raise CommandError(upload.error + (where if upload.error_line else ""))
