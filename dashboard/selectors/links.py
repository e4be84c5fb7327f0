"""Links to passline's pages for messages that leave it (verdicts, webhooks, chat).

Absolute when ``PASSLINE_BASE_URL`` is set (e.g. ``https://passline.example.com``),
else the path alone.
"""

from django.conf import settings
from django.urls import reverse


def absolute_url(path: str) -> str:
    """Return ``path`` prefixed with ``PASSLINE_BASE_URL`` (without its trailing slash)."""
    return settings.PASSLINE_BASE_URL.rstrip("/") + path


def run_url(*, slug: str, key: str) -> str:
    """Return the URL of a run's page."""
    return absolute_url(reverse("dashboard:run", args=[slug, key]))


def test_url(*, slug: str, test_id: int) -> str:
    """Return the URL of a test's page (its state and history)."""
    return absolute_url(reverse("dashboard:test", args=[slug, test_id]))


def flaky_url(*, slug: str) -> str:
    """Return the URL of a project's flaky page."""
    return absolute_url(reverse("dashboard:flaky", args=[slug]))


test_url.__test__ = False  # not a pytest test, despite its name
