"""Create an API token and print it once: ``manage.py createtoken shop --scope upload``.

The token is printed alone on the last line of standard output so that scripts can
capture it with ``| tail -n 1``; only its hash is stored.
"""

import re
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ingest.models import ApiToken, Project
from ingest.services.tokens import token_create

_RELATIVE = re.compile(r"^(\d{1,5})([dhw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(value: str, *, now: datetime) -> datetime:
    """Return the expiry of ``--expires``.

    Accept a date (``2027-01-01``, midnight UTC), an ISO 8601 datetime (UTC unless it
    has an offset) or a duration from `now`: ``30d``, ``12h``, ``4w``.
    """
    value = value.strip()
    match = _RELATIVE.match(value)
    if match:
        amount, unit = match.groups()
        return now + timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--expires must be a date (2027-01-01), a datetime or a duration such as 30d, "
            f"12h or 4w; not {value!r}"
        ) from None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Create an API token for a project; the token is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("--scope", required=True, help="upload (for CI) or read.")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'GitLab CI'.")
        parser.add_argument(
            "--expires", help="Expiry: a date (2027-01-01, UTC), or 30d / 12h / 4w from now."
        )

    def handle(self, *args, slug, scope, name, expires, **options):
        if scope not in ApiToken.Scope.values:
            raise CommandError(f"--scope must be 'upload' or 'read', not {scope!r}")
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(
                f"No project with slug {slug!r}; create it with: "
                f"python manage.py createproject {slug} --name ..."
            )
        expires_at = parse_expiry(expires, now=timezone.now()) if expires else None
        try:
            token, plaintext = token_create(
                project=project, scope=scope, name=name, expires_at=expires_at
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        until = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
        self.stdout.write(
            f"Created {scope} token {token.prefix}… for project {project.slug}{until}.\n"
            "Copy it now: it is shown only once (only its hash is stored). "
            f"Revoke it with: python manage.py revoketoken {token.prefix}"
        )
        self.stdout.write(plaintext)
