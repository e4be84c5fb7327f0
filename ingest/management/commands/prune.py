"""Delete raw uploads and per-test results older than the retention windows."""

from django.core.management.base import BaseCommand, CommandParser

from ingest.retention import retention_prune


class Command(BaseCommand):
    help = (
        "Delete raw upload files older than PASSLINE_RAW_RETENTION_DAYS and result rows "
        "older than PASSLINE_RESULT_RETENTION_DAYS; runs, uploads and rollups are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Rows per transaction (default 5000)."
        )

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        report = retention_prune(dry_run=dry_run, batch_size=max(1, batch_size))
        self.stdout.write(report.summary())
