"""Create a project: ``manage.py createproject shop --name "Shop" --target 90``."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ingest.services.projects import project_create


def _percent(value: str) -> Decimal:
    try:
        return Decimal(value.rstrip("%"))
    except InvalidOperation:
        raise CommandError(
            f"--target must be a percentage such as 90 or 92.5, not {value!r}"
        ) from None


class Command(BaseCommand):
    help = "Create a project that CI can upload JUnit reports to."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short URL name, e.g. shop (letters, digits, - and _).")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument("--target", help="Pass-rate target in percent, 0 to 100 (default 90).")
        parser.add_argument("--default-branch", default="main", help="Default: main.")
        parser.add_argument(
            "--public", action="store_true", help="Let anybody read the dashboard and API."
        )

    def handle(self, *args, slug, name, target, default_branch, public, **options):
        try:
            project = project_create(
                slug=slug,
                name=name,
                target_percent=_percent(target) if target is not None else None,
                default_branch=default_branch,
                is_public=public,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Created project {project.slug} ({project.name}), target "
            f"{project.target_bp / 100:g} %, default branch {project.default_branch}"
            f"{', public' if project.is_public else ''}."
        )
        self.stdout.write(f"Next: python manage.py createtoken {project.slug} --scope upload")
