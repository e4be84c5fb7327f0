"""Quarantine a test: ``manage.py quarantine SLUG --classname C --name N --reason "…" [--days D]``.

Quarantining a test that already is renews its quarantine (a new expiry).
"""

from django.core.management.base import BaseCommand, CommandError

from dashboard.services.quarantine import QuarantineError, test_find, test_quarantine
from ingest.models import Project


class Command(BaseCommand):
    help = "Quarantine a test (or renew its quarantine) with a reason."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("--classname", default="", help="The test's classname.")
        parser.add_argument("--name", required=True, help="The test's name.")
        parser.add_argument("--reason", required=True, help="Why, for the people who read it.")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Days until it expires (PASSLINE_QUARANTINE_DAYS).",
        )
        parser.add_argument("--by", default="", help="Who asks (default: command).")

    def handle(self, *args, slug, classname, name, reason, days, by, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        try:
            test = test_find(project=project, classname=classname, name=name)
            state = test_quarantine(
                project=project,
                test=test,
                reason=reason,
                days=days,
                actor=f"command:{by}" if by else "command",
            )
        except QuarantineError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Quarantined {test} in {project.slug} until {state.expires_at:%Y-%m-%d %H:%M} UTC."
        )
