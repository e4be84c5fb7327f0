"""Shared helpers of notify's commands: find the project, read a credential safely."""

import os
from pathlib import Path

from django.core.management.base import CommandError

from ingest.models import Project


def project_get(slug: str) -> Project:
    """Return the project ``slug`` or raise a CommandError that says how to create it."""
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise CommandError(
            f"No project with slug {slug!r}; create it with: "
            f"python manage.py createproject {slug} --name ..."
        )
    return project


def credential_read(*, file: str | None, env: str | None, what: str) -> str:
    """Return a credential from a file or an environment variable (never the command line)."""
    if file:
        try:
            value = Path(file).read_text().strip()
        except OSError as exc:
            raise CommandError(f"cannot read the {what} from {file}: {exc.strerror}") from None
    elif env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise CommandError(f"the environment variable {env} (the {what}) is empty or unset")
    else:
        return ""
    if not value:
        raise CommandError(f"the {what} in {file} is empty")
    return value
