"""Per-owner sections of a run (exports): tests not passing, new failures, flaky.

Reads the head run's results that did not pass or were flaky (one query, with each
test's file, classname, name and category) and the CODEOWNERS; new failures are the
comparison's ``regressed`` and ``added_not_passing`` changes against the base run.
Grouping is ``dashboard.analytics.owners.owner_sections``.

Quarantined tests: each item's ``quarantined`` flag comes from ``quarantined_ids``
(the caller passes the ids of the project's quarantined tests); a quarantined test
that passed in the head run is read too (one query per 5,000 of them), so an owner's
``quarantined`` counts every quarantined test of theirs in the run, passing or not.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.analytics.outcomes import NAMES, PASSED, SKIPPED
from dashboard.analytics.owners import CodeOwners as ParsedCodeOwners
from dashboard.analytics.owners import owner_sections, owners_map
from dashboard.selectors.owners import codeowners_get
from ingest.models import Project, Result, Run

CHUNK = 5000  # ids per IN (...) query: SQLite allows 32,766 variables
FIELDS = (
    "test_id",
    "outcome",
    "flaky",
    "test__file",
    "test__classname",
    "test__name",
    "category__name",
)
NEW_FAILURE = frozenset({"regressed", "added_not_passing"})


def owner_sections_get(
    *,
    project: Project,
    head_run: Run,
    changes: list[dict],
    quarantined_ids: Iterable[int] = (),
    list_limit: int = 50,
    codeowners: ParsedCodeOwners | None = None,
) -> list[dict]:
    """Return ``analytics.owners.owner_sections`` for ``head_run``; [] without CODEOWNERS.

    Queries: 1 (the CODEOWNERS, none when ``codeowners`` is given), then, when the
    project has rules, 1 (the head run's results not passing or flaky) and 1 per 5,000
    ``quarantined_ids`` (their results in the head run that passed).
    """
    if codeowners is None:
        codeowners = codeowners_get(project=project)
    if not codeowners.rules:
        return []
    new_failures = {c["test_id"] for c in changes if c["change"] in NEW_FAILURE}
    quarantined = sorted(set(quarantined_ids))
    rows = list(
        Result.objects.filter(run=head_run)
        .exclude(outcome=PASSED, flaky=False)
        .values_list(*FIELDS)
    )
    for start in range(0, len(quarantined), CHUNK):
        rows += Result.objects.filter(
            run=head_run,
            outcome=PASSED,
            flaky=False,
            test_id__in=quarantined[start : start + CHUNK],
        ).values_list(*FIELDS)
    quarantined = set(quarantined)
    items = []
    for test_id, outcome, flaky, file, classname, name, category in rows:
        not_passing = outcome != PASSED or (flaky and not project.flaky_counts_as_pass)
        if outcome == SKIPPED and not project.skipped_in_total:
            not_passing = False
        items.append(
            {
                "test_id": test_id,
                "file": file,
                "classname": classname,
                "name": name,
                "category": category,
                "outcome": NAMES.get(outcome),
                "not_passing": not_passing,
                "new_failure": test_id in new_failures,
                "flaky": flaky,
                "quarantined": test_id in quarantined,
            }
        )
    owners = owners_map(codeowners, {i["test_id"]: (i["file"], i["classname"]) for i in items})
    for item in items:
        item["owners"] = list(owners.get(item["test_id"], ()))
    return owner_sections(items, list_limit=list_limit)
