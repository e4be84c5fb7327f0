"""manage.py setcodeowners <slug> FILE: store a project's CODEOWNERS (``-`` reads stdin)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from dashboard.codeowners.services import CodeOwnersRefused, codeowners_decode, codeowners_set
from ingest.models import Project


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "Set a project's CODEOWNERS (GitHub syntax) from a file; '-' reads standard input."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")

    def handle(self, *args, slug, file, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        try:
            if file == "-":
                stream = options.get("stdin")
                data = stream.read() if stream is not None else sys.stdin.buffer.read()
                data = data.encode() if isinstance(data, str) else data
            else:
                with open(file, "rb") as fh:
                    data = fh.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        try:
            row, problems = codeowners_set(
                project=project, text=codeowners_decode(data), source="command"
            )
        except CodeOwnersRefused as exc:
            raise CommandError(str(exc)) from exc
        for p in problems:
            self.stderr.write(f"line {p['line']} skipped: {p['reason']}: {p['text']}")
        self.stdout.write(
            f"CODEOWNERS of {slug}: {row.rules} rules, {len(problems)} skipped lines."
        )
