"""Lift a test's quarantine: ``manage.py unquarantine SLUG --classname C --name N``."""

from django.core.management.base import BaseCommand, CommandError

from dashboard.services.quarantine import QuarantineError, test_find, test_unquarantine
from ingest.models import Project


class Command(BaseCommand):
    help = "Lift a test's quarantine (the test is active again)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("--classname", default="", help="The test's classname.")
        parser.add_argument("--name", required=True, help="The test's name.")
        parser.add_argument("--reason", default="", help="Why (optional).")
        parser.add_argument("--by", default="", help="Who asks (default: command).")

    def handle(self, *args, slug, classname, name, reason, by, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        try:
            test = test_find(project=project, classname=classname, name=name)
            test_unquarantine(
                project=project,
                test=test,
                reason=reason,
                actor=f"command:{by}" if by else "command",
            )
        except QuarantineError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Lifted the quarantine of {test} in {project.slug}.")
