"""Read test states: the quarantine list, counts, a test's state and history, suggestions."""

from django.db.models import Count

from dashboard.lifecycle.models import TestState, TestStateChange
from dashboard.lifecycle.policy import policy_row_get
from dashboard.models import FlakyPolicy
from dashboard.selectors.owners import codeowners_get, owners_for_paths
from ingest.models import Project, Test

State = TestState.State


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def quarantine_list(*, project: Project, owners: bool = True) -> list[dict]:
    """Return the project's quarantined tests as the API shows them (2 queries).

    Each item: classname, name, file, category (name or None), owners (from the
    project's CODEOWNERS; [] with ``owners=False``, which saves its query), state,
    reason, by, since and expires (ISO 8601 UTC).
    """
    states = list(
        TestState.objects.filter(project=project, state=State.QUARANTINED)
        .select_related("test__stats__category")
        .order_by("test__classname", "test__name", "test_id")
    )
    codeowners = codeowners_get(project=project) if owners and states else None
    found = (
        owners_for_paths(
            codeowners=codeowners,
            tests={s.test_id: (s.test.file, s.test.classname) for s in states},
        )
        if codeowners is not None and codeowners.rules
        else {}
    )
    items = []
    for s in states:
        stats = getattr(s.test, "stats", None)
        category = stats.category if stats is not None else None
        items.append(
            {
                "classname": s.test.classname,
                "name": s.test.name,
                "file": s.test.file,
                "category": category.name if category else None,
                "owners": found.get(s.test_id, []),
                "state": s.state,
                "reason": s.reason,
                "by": s.changed_by,
                "since": _iso(s.since),
                "expires": _iso(s.expires_at),
            }
        )
    return items


def quarantine_text(*, items: list[dict]) -> str:
    """Return one ``classname::name`` a line (the name alone without a classname)."""
    lines = [f"{t['classname']}::{t['name']}" if t["classname"] else t["name"] for t in items]
    return "".join(line + "\n" for line in lines)


def state_counts_get(*, project: Project) -> dict:
    """Return how many tests are flaky, quarantined and suggested (1 query)."""
    rows = (
        TestState.objects.filter(project=project)
        .exclude(state=State.ACTIVE)
        .values("state", "suggested")
        .annotate(n=Count("pk"))
    )
    counts = {"flaky": 0, "quarantined": 0, "suggested": 0}
    for row in rows:
        counts[row["state"]] += row["n"]
        if row["suggested"]:
            counts["suggested"] += row["n"]
    return counts


def quarantined_count(*, project: Project) -> int:
    """Return how many of the project's tests are quarantined (1 query)."""
    return TestState.objects.filter(project=project, state=State.QUARANTINED).count()


def quarantined_by_project(*, projects: list[Project]) -> dict[int, int]:
    """Return {project id: quarantined tests} for ``projects`` (1 query; 0 when none)."""
    rows = (
        TestState.objects.filter(project__in=projects, state=State.QUARANTINED)
        .values_list("project_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {project.pk: 0 for project in projects} | dict(rows)


def quarantined_by_category(*, project: Project) -> dict:
    """Return {category id (None: no stats yet): quarantined tests} (1 query)."""
    rows = (
        TestState.objects.filter(project=project, state=State.QUARANTINED)
        .values_list("test__stats__category_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return dict(rows)


def quarantined_test_ids(*, project: Project) -> set[int]:
    """Return the ids of the project's quarantined tests (1 query; for verdicts)."""
    return set(
        TestState.objects.filter(project=project, state=State.QUARANTINED).values_list(
            "test_id", flat=True
        )
    )


def test_state_get(*, test: Test, history_limit: int = 50) -> dict:
    """Return a test's state (``state`` None when it never had one) and its changes (2 queries)."""
    state = TestState.objects.filter(test=test).first()
    changes = list(TestStateChange.objects.filter(test=test).order_by("-at", "-id")[:history_limit])
    return {"state": state, "state_changes": changes}


def suggestions_list(*, project: Project, limit: int = 100) -> list[TestState]:
    """Return the flaky tests a detector suggests quarantining, oldest first (1 query)."""
    return list(
        TestState.objects.filter(project=project, state=State.FLAKY, suggested=True)
        .select_related("test")
        .order_by("since", "test_id")[:limit]
    )


def policy_get(*, project: Project) -> FlakyPolicy:
    """Return the project's detector settings (the defaults when never saved; 1 query)."""
    return policy_row_get(project_id=project.pk)


def expiring_list(*, project: Project, before) -> list[TestState]:
    """Return quarantines that expire before ``before`` (UTC), soonest first (1 query)."""
    return list(
        TestState.objects.filter(project=project, state=State.QUARANTINED, expires_at__lt=before)
        .select_related("test")
        .order_by("expires_at", "test_id")
    )


test_state_get.__test__ = False  # not a pytest test, despite its name
