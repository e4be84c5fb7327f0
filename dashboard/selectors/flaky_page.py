"""The flaky page of a project: tests ranked by flake rate or by runs they broke.

Figures come from each test's outcome letters on the default branch
(``TestSignal.history``, the detectors' window; see ``analytics.flaky_rules``):
flake rate = runs passed on a retry / runs with a verdict, broke = runs not passed
even on a retry, flips = changes between passing and not passing.
"""

from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from dashboard.analytics.flaky_rules import history_counts, message_groups
from dashboard.analytics.owners import CodeOwners
from dashboard.lifecycle.models import TestSignal, TestState
from dashboard.models import TestStats
from dashboard.selectors.owners import owner_filter, owners_for_paths
from ingest.models import Category, Project, Result

SORTS = ("flake", "broke")
_MARKED = [TestState.State.FLAKY, TestState.State.QUARANTINED]
# Tests with at least one retry pass or flip, or with a state, before ranking.
_CANDIDATE_LIMIT = 20_000


def _rank(item: dict, sort: str) -> tuple:
    if sort == "broke":
        return (-item["broke"], -item["flake_rate"], item["test_id"])
    return (-item["flake_rate"], -item["flips"], -item["broke"], item["test_id"])


def flaky_page_list(
    *,
    project: Project,
    codeowners: CodeOwners,
    owner: str | None = None,
    sort: str = "flake",
    limit: int = 100,
    messages_n: int = 10,
) -> list[dict]:
    """Return the project's flaky tests, ranked; 2 queries.

    Each item: test_id, classname, name, category, state, reason, expires_at,
    suggested, runs, broke, retried, flake_rate, failure_rate, flips, last_flip_at,
    owners (from ``codeowners``, matched on the paths already read) and ``messages``:
    the distinct failure messages of its last ``messages_n`` failures (failed, error,
    or passed on a retry) grouped by shape, most frequent first. With ``owner``
    (a handle, or "none"), only that owner's tests, filtered before the cut to ``limit``.
    """
    signals = TestSignal.objects.filter(project=project).filter(
        Q(history__contains="r")
        | (Q(history__contains="f") & Q(history__contains="p"))
        | Q(test__state__state__in=_MARKED)
    )
    items = _ranked(signals, codeowners=codeowners, owner=owner, sort=sort)[:limit]
    messages = _failure_messages(
        project=project, test_ids=[i["test_id"] for i in items], n=messages_n
    )
    for item in items:
        item["messages"] = message_groups(messages.get(item["test_id"], []))
    return items


def category_flaky_list(
    *,
    project: Project,
    category: Category,
    codeowners: CodeOwners,
    owner: str | None = None,
    limit: int = 50,
) -> list[dict]:
    """Return the flaky tests of one category, ranked as on the flaky page; 2 queries
    (1 when none is flaky).

    Rows and figures are the flaky page's (``history_counts`` of the detectors'
    window), so a test marked fixed leaves both at once. The candidates come from
    indexes instead of every signal of the project: the category's tests that passed
    on a retry in the per-test stats' window, and those the detectors marked flaky or
    quarantined. A test that only flips and is not marked yet is on the flaky page alone.
    """
    # flake_rate > 0 is flaky_runs > 0 (a row has runs), and a range of the
    # (project, category, flake_rate) index; marked tests are few.
    retried = TestStats.objects.filter(project=project, category=category, flake_rate__gt=0)
    marked = TestState.objects.filter(
        project=project, state__in=_MARKED, test__stats__category=category
    )
    ids = set(
        retried.values_list("test_id", flat=True).union(marked.values_list("test_id", flat=True))
    )
    if not ids:
        return []
    signals = TestSignal.objects.filter(project=project, test_id__in=ids)
    return _ranked(signals, codeowners=codeowners, owner=owner, sort="flake")[:limit]


def _ranked(signals, *, codeowners: CodeOwners, owner: str | None, sort: str) -> list[dict]:
    """Return the flaky page's rows of `signals`, with owners, ranked and filtered."""
    signals = signals.select_related("test__stats__category", "test__state").order_by("test_id")[
        :_CANDIDATE_LIMIT
    ]
    items, paths = [], {}
    for signal in signals:
        counts = history_counts(signal.history)
        state = getattr(signal.test, "state", None)
        state_name = state.state if state else TestState.State.ACTIVE
        if not counts["retried"] and not counts["flips"] and state_name == "active":
            continue
        stats = getattr(signal.test, "stats", None)
        category = stats.category if stats is not None else None
        items.append(
            {
                "test_id": signal.test_id,
                "classname": signal.test.classname,
                "name": signal.test.name,
                "category": category.name if category else None,
                "state": state_name,
                "reason": state.reason if state else "",
                "expires_at": state.expires_at if state else None,
                "suggested": bool(state and state.suggested),
                "last_flip_at": signal.last_flip_at,
                **counts,
            }
        )
        paths[signal.test_id] = (signal.test.file, signal.test.classname)
    owners = owners_for_paths(codeowners=codeowners, tests=paths) if codeowners.rules else {}
    for item in items:
        item["owners"] = owners.get(item["test_id"], [])
    items.sort(key=lambda item: _rank(item, sort if sort in SORTS else "flake"))
    return owner_filter(items, owner)


def test_flake_get(*, test) -> dict | None:
    """Return ``history_counts`` of one test's detector window, or None (1 query).

    The flake rate the test page shows: the one its row on the flaky page shows.
    """
    history = TestSignal.objects.filter(test=test).values_list("history", flat=True).first()
    return history_counts(history) if history is not None else None


test_flake_get.__test__ = False  # not a pytest test, despite its name


def _failure_messages(*, project: Project, test_ids: list[int], n: int) -> dict:
    """Return {test id: messages of its last ``n`` failures, newest first} (1 query)."""
    if not test_ids:
        return {}
    rows = (
        Result.objects.filter(
            test_id__in=test_ids,
            run__project=project,
            run__branch=project.default_branch,
            run__is_complete=True,
        )
        .filter(
            Q(outcome__in=[Result.Outcome.FAILED, Result.Outcome.ERROR])
            | Q(outcome=Result.Outcome.PASSED, flaky=True)
        )
        .annotate(
            rn=Window(
                RowNumber(),
                partition_by=[F("test_id")],
                order_by=[F("run__started_at").desc(), F("run_id").desc()],
            )
        )
        .filter(rn__lte=n)
        .values_list("test_id", "message")
    )
    found: dict[int, list[str]] = {}
    for test_id, message in rows:
        found.setdefault(test_id, []).append(message)
    return found
