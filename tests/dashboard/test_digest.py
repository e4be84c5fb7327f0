"""Weekly flaky-test digest: Markdown export and the digest.weekly event."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from dashboard.lifecycle.events import lifecycle_event
from dashboard.lifecycle.models import TestSignal, TestState
from dashboard.selectors.digest import weekly_digest_get
from dashboard.services.digest import digests_weekly_send
from dashboard.services.quarantine import quarantines_expire, test_quarantine
from dashboard.tasks import digests_weekly_send as digests_weekly_send_task
from tests.factories import ProjectFactory, TestFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)


@pytest.fixture
def project():
    project = ProjectFactory(slug="dg", name="Digest shop", is_public=True)
    flaky = TestFactory(project=project, classname="pkg.A", name="retries")
    TestState.objects.create(
        test=flaky,
        project=project,
        state="flaky",
        suggested=True,
        reason="passed on retry",
        changed_by="detector:pass_on_retry",
        since=NOW - timedelta(days=2),
    )
    TestSignal.objects.create(test=flaky, project=project, history="prprpppp")
    soon = TestFactory(project=project, classname="pkg.B", name="soon")
    later = TestFactory(project=project, classname="pkg.B", name="later")
    old = TestFactory(project=project, classname="pkg.B", name="old")
    start = NOW - timedelta(days=20)
    test_quarantine(project=project, test=soon, reason="DNS", actor="user:ann", days=23, now=start)
    test_quarantine(project=project, test=later, reason="port", actor="command", days=30, now=NOW)
    test_quarantine(project=project, test=old, reason="x", actor="a", days=14, now=start)
    quarantines_expire(now=NOW - timedelta(days=1))
    ProjectFactory(slug="quiet")
    return project


def test_digest_counts_flaky_quarantined_expiring_and_the_week(project):
    digest = weekly_digest_get(project=project, now=NOW)
    assert digest["counts"] == {"flaky": 1, "quarantined": 2, "expiring": 1, "suggested": 1}
    assert [q["test"] for q in digest["expiring"]] == ["pkg.B::soon"]
    assert digest["flaky"][0]["flake_rate"] == 0.25
    assert digest["week"] == {"quarantined_by_people": 1, "expired": 1}


def test_digest_markdown_export(client, project):
    response = Client().get("/p/dg/export/digest.md")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dg-flaky-digest.md"'
    text = response.content.decode()
    assert text.startswith("# Flaky tests this week: Digest shop")
    assert "- **Quarantined:** 2 (still counted as not passing)" in text
    assert (
        "| pkg.A::retries | — | 25.0% | 0/8 | passed on retry | detector:pass\\_on\\_retry |"
        in text
    )
    assert "## Quarantines expiring within a week" in text


def test_digest_export_is_private_like_the_pages(project):
    project.is_public = False
    project.save()
    assert Client().get("/p/dg/export/digest.md").status_code == 404


def test_weekly_event_per_project_with_flaky_tests(project, django_capture_on_commit_callbacks):
    sent = []

    def receiver(**kwargs):
        sent.append((kwargs["event"], kwargs["payload"]["project"]["slug"], kwargs["payload"]))

    lifecycle_event.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert digests_weekly_send(now=NOW) == 1
            digests_weekly_send_task.delay()
    finally:
        lifecycle_event.disconnect(receiver)
    assert [(e, slug) for e, slug, _ in sent[:1]] == [("digest.weekly", "dg")]
    assert sent[0][2]["counts"]["quarantined"] == 2
    assert sent[0][2]["markdown"].startswith("# Flaky tests this week")
