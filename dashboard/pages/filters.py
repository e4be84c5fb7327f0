"""Read the pages' filters from the query string: ``?branch=&since=&until=``, ``?owner=``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta


def _date(value: str | None):
    """Return a date from YYYY-MM-DD, or None for empty or malformed input."""
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


def filters_get(request, project) -> dict:
    """Read ?branch=&since=&until= (dates inclusive, UTC); ignore malformed values.

    The branch defaults to the project's default branch.
    """
    branch = (request.GET.get("branch") or "").strip()[:255] or project.default_branch
    since, until = _date(request.GET.get("since")), _date(request.GET.get("until"))
    return {
        "branch": branch,
        "since": since,
        "until": until,
        "since_at": datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        "until_at": (
            datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None
        ),
    }


def owner_param(request) -> str:
    """Return ``?owner=`` (a handle like ``@org/team``, ``none`` for unowned), or ""."""
    return (request.GET.get("owner") or "").strip()[:200]
