"""Write a project's CODEOWNERS (the one service for the API, the command and settings)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.utils import timezone

from dashboard.analytics.owners import parse
from dashboard.models import CodeOwners
from ingest.models import Project


class CodeOwnersRefused(ValueError):
    """The file cannot be stored (too large, or not UTF-8 text); the message says why."""


def codeowners_decode(data: bytes) -> str:
    """Return ``data`` as text, or raise CodeOwnersRefused (size, encoding)."""
    limit = settings.PASSLINE_CODEOWNERS_MAX_BYTES
    if len(data) > limit:
        raise CodeOwnersRefused(
            f"CODEOWNERS is {len(data)} bytes; the limit is {limit} "
            "(PASSLINE_CODEOWNERS_MAX_BYTES)."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodeOwnersRefused(
            f"CODEOWNERS is not UTF-8 text (byte {exc.start} cannot be decoded)."
        ) from exc


def codeowners_set(
    *, project: Project, text: str, source: str, user=None
) -> tuple[CodeOwners, list[dict]]:
    """Store ``text`` as the project's CODEOWNERS; return the row and its problems.

    Lines GitHub would reject are kept in the text but skipped when matching; each
    problem is ``{"line", "text", "reason"}``. An empty text removes all ownership.
    """
    if "\x00" in text:
        raise CodeOwnersRefused("CODEOWNERS contains a NUL character; send the text file.")
    limit = settings.PASSLINE_CODEOWNERS_MAX_BYTES
    if len(text.encode("utf-8")) > limit:
        raise CodeOwnersRefused(f"CODEOWNERS is larger than {limit} bytes.")
    text = text.replace("\r\n", "\n")
    parsed = parse(text)
    problems = [{"line": p.line, "text": p.text, "reason": p.reason} for p in parsed.problems]
    row, _ = CodeOwners.objects.update_or_create(
        project=project,
        defaults={
            "text": text,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "rules": len(parsed.rules),
            "problems": problems,
            "source": source,
            "updated_by": user,
            "updated_at": timezone.now(),
        },
    )
    return row, problems
