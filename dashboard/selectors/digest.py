"""The weekly digest of a project's flaky tests: flaky, quarantined, expiring, changes.

All times UTC. The week is the 7 days before ``now``.
"""

from datetime import datetime, timedelta

from django.db.models import Count

from dashboard.analytics.flaky_rules import history_counts
from dashboard.lifecycle.models import TestSignal, TestState, TestStateChange
from dashboard.selectors.links import flaky_url, test_url
from dashboard.selectors.owners import codeowners_get, owners_for_paths
from ingest.models import Project

WEEK = timedelta(days=7)
State = TestState.State


def _name(test) -> str:
    return f"{test.classname}::{test.name}" if test.classname else test.name


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _week_key(*, to_state: str, actor: str) -> str | None:
    """Return which count of the week a state change adds to."""
    if actor == "expiry":
        return "expired"
    if actor == "auto-lift":
        return "lifted_automatically"
    if actor.startswith("detector:"):
        return "quarantined_automatically" if to_state == State.QUARANTINED else "detected"
    if to_state == State.QUARANTINED:
        return "quarantined_by_people"
    return "active_by_people" if to_state == State.ACTIVE else None


def weekly_digest_get(*, project: Project, now: datetime, limit: int = 50) -> dict:
    """Return the project's weekly digest as plain values (5 queries).

    Each listed test has its ``owners`` (CODEOWNERS) and ``url`` (its page); ``url`` is
    the flaky page. ``flaky``: tests in state flaky (flake rate from their signals), most
    flaky first;
    ``quarantined``: quarantined tests, soonest expiry first, with ``expiring`` True
    when the quarantine ends within the coming week; ``changes``: state changes of the
    week counted by (to state, actor kind).
    """
    states = list(
        TestState.objects.filter(project=project)
        .exclude(state=State.ACTIVE)
        .select_related("test")
        .order_by("expires_at", "test_id")
    )
    histories = dict(
        TestSignal.objects.filter(test_id__in=[s.test_id for s in states]).values_list(
            "test_id", "history"
        )
    )
    codeowners = codeowners_get(project=project)
    owners = (
        owners_for_paths(
            codeowners=codeowners,
            tests={s.test_id: (s.test.file, s.test.classname) for s in states},
        )
        if codeowners.rules
        else {}
    )
    flaky, quarantined = [], []
    for s in states:
        counts = history_counts(histories.get(s.test_id, ""))
        item = {
            "test": _name(s.test),
            "test_id": s.test_id,
            "owners": owners.get(s.test_id, []),
            "url": test_url(slug=project.slug, test_id=s.test_id),
            "reason": s.reason,
            "by": s.changed_by,
            "since": _iso(s.since),
            "flake_rate": counts["flake_rate"],
            "broke": counts["broke"],
            "runs": counts["runs"],
        }
        if s.state == State.QUARANTINED:
            item["expires"] = _iso(s.expires_at)
            item["expiring"] = bool(s.expires_at and s.expires_at <= now + WEEK)
            quarantined.append(item)
        else:
            item["suggested"] = s.suggested
            flaky.append(item)
    flaky.sort(key=lambda i: (-i["flake_rate"], -i["broke"], i["test_id"]))
    changes = (
        TestStateChange.objects.filter(project=project, at__gt=now - WEEK, at__lte=now)
        .values("to_state", "actor")
        .annotate(n=Count("pk"))
        .order_by("to_state", "actor")
    )
    week: dict[str, int] = {}
    for row in changes:
        key = _week_key(to_state=row["to_state"], actor=row["actor"])
        if key:
            week[key] = week.get(key, 0) + row["n"]
    expiring = [q for q in quarantined if q["expiring"]]
    return {
        "project": {"slug": project.slug, "name": project.name},
        "week_start": _iso(now - WEEK),
        "week_end": _iso(now),
        "url": flaky_url(slug=project.slug),
        "counts": {
            "flaky": len(flaky),
            "quarantined": len(quarantined),
            "expiring": len(expiring),
            "suggested": sum(1 for f in flaky if f["suggested"]),
        },
        "week": week,
        "flaky": flaky[:limit],
        "quarantined": quarantined[:limit],
        "expiring": expiring[:limit],
    }
