"""Run the upload dispatcher once: publish what needs it, quarantine the hopeless."""

from django.core.management.base import BaseCommand

from ingest.dispatcher import recategorize_jobs_dispatch, uploads_dispatch


class Command(BaseCommand):
    help = (
        "Publish queued uploads that were never published (or whose message was lost) and "
        "processing uploads whose heartbeat is stale; quarantine uploads with "
        "PASSLINE_MAX_UPLOAD_ATTEMPTS attempts; publish re-categorisation jobs the same "
        "way. Beat runs the same every "
        "PASSLINE_DISPATCH_SECONDS."
    )

    def handle(self, *args, **options) -> None:
        report = uploads_dispatch()
        self.stdout.write(report.summary())
        for pk in report.published:
            self.stdout.write(f"published upload {pk}")
        for pk in report.quarantined:
            self.stdout.write(f"quarantined upload {pk}")
        for pk in recategorize_jobs_dispatch():
            self.stdout.write(f"published re-categorisation job {pk}")
