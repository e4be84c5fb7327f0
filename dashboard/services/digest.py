"""Send the weekly flaky-test digest of every project as the ``digest.weekly`` event."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from dashboard.exports.digest import digest_markdown
from dashboard.lifecycle.events import DIGEST_WEEKLY, event_send
from dashboard.lifecycle.models import TestState, TestStateChange
from dashboard.selectors.digest import WEEK, weekly_digest_get
from ingest.models import Project


def digests_weekly_send(*, now: datetime | None = None) -> int:
    """Send ``digest.weekly`` for each project with flaky tests, quarantines or changes.

    The payload is the digest (``dashboard.selectors.digest``) plus ``markdown``.
    Return the number of projects sent.
    """
    now = now or timezone.now()
    with_states = TestState.objects.exclude(state=TestState.State.ACTIVE).values("project_id")
    changed = TestStateChange.objects.filter(at__gt=now - WEEK).values("project_id")
    projects = Project.objects.filter(Q(pk__in=with_states) | Q(pk__in=changed)).order_by("pk")
    sent = 0
    for project in projects:
        digest = weekly_digest_get(project=project, now=now)
        event_send(
            event=DIGEST_WEEKLY,
            project_id=project.pk,
            payload={**digest, "markdown": digest_markdown(digest)},
        )
        sent += 1
    return sent
