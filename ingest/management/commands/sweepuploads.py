"""Re-enqueue stuck uploads and quarantine those that failed too often."""

from django.core.management.base import BaseCommand

from ingest.sweeper import uploads_sweep


class Command(BaseCommand):
    help = (
        "Re-enqueue uploads queued or processing for longer than "
        "PASSLINE_STUCK_UPLOAD_MINUTES; quarantine those with PASSLINE_MAX_UPLOAD_ATTEMPTS "
        "attempts."
    )

    def handle(self, *args, **options) -> None:
        report = uploads_sweep()
        self.stdout.write(report.summary())
        for pk in report.requeued:
            self.stdout.write(f"re-enqueued upload {pk}")
        for pk in report.quarantined:
            self.stdout.write(f"quarantined upload {pk}")
