"""What changed between two runs: reads the two runs' results, figures from analytics.

``runs_compare(project=, base_run=, head_run=, limit=200)`` reads the results of the
two runs only (never a project's whole history), computes the figures with
``dashboard.analytics.compare.results_compare`` and returns::

    {
      "base": {"run": key, "started_at": iso, "passed": int, "total": int, "pass_rate": f},
      "head": {... same ...},
      "overall": Figures, "categories": [Figures + {"name": str}, ...] (by name),
      "identity_holds": bool,
      "changes": [{"test_id", "classname", "name", "category", "change",
                   "base_outcome", "head_outcome", "owners"}, ...]  (at most ``limit``),
      "changes_total": int, "changes_truncated": bool,
    }

Figures and the identity are described in ``dashboard.analytics.compare``. ``owners``
come from the project's CODEOWNERS (``dashboard.selectors.owners``); with ``owner=``
only the changes of tests that owner owns are listed (``"none"``: unowned tests), and
``changes_total`` counts those; the figures stay the whole runs'.
"""

from dashboard.analytics.compare import CHANGE_ORDER, identity_holds, results_compare
from dashboard.analytics.outcomes import NAMES
from dashboard.analytics.owners import CodeOwners as ParsedCodeOwners
from dashboard.analytics.owners import owner_matches
from dashboard.analytics.targets import pass_rate
from dashboard.analytics.trends import iso
from dashboard.selectors.owners import codeowners_get, owners_for_paths, owners_for_tests
from ingest.models import Category, Project, Result, Run, Test


def _results(run: Run) -> dict[int, tuple[int, bool, int]]:
    return {
        test_id: (outcome, flaky, category_id)
        for test_id, outcome, flaky, category_id in Result.objects.filter(run=run).values_list(
            "test_id", "outcome", "flaky", "category_id"
        )
    }


def _run_figures(run: Run, passed: int, total: int) -> dict:
    return {
        "run": run.key,
        "started_at": iso(run.started_at),
        "passed": passed,
        "total": total,
        "pass_rate": pass_rate(passed=passed, total=total),
    }


def runs_compare(
    *,
    project: Project,
    base_run: Run,
    head_run: Run,
    limit: int = 200,
    owner: str | None = None,
    codeowners: ParsedCodeOwners | None = None,
) -> dict:
    """Return what changed from ``base_run`` to ``head_run`` (see the module docstring).

    ``codeowners``: the project's parsed CODEOWNERS when the caller has it (one query
    fewer).
    """
    result = results_compare(
        base=_results(base_run),
        head=_results(head_run),
        flaky_counts_as_pass=project.flaky_counts_as_pass,
        skipped_in_total=project.skipped_in_total,
    )
    per, overall, changes = result["categories"], result["overall"], result["changes"]
    names = dict(Category.objects.filter(pk__in=per.keys()).values_list("pk", "name"))
    changes.sort(key=lambda c: (CHANGE_ORDER[c[0]], names.get(c[4], ""), c[1]))
    if codeowners is None:
        codeowners = codeowners_get(project=project)
    if owner:
        owned = owners_for_tests(
            project=project, test_ids=[c[1] for c in changes], codeowners=codeowners
        )
        changes = [c for c in changes if owner_matches(owned.get(c[1], ()), owner)]
    shown = changes[:limit]
    tests = {
        t.pk: t
        # Through the related manager, Django would assign `project` to each instance
        # and load the deferred project_id once per test: one query per change.
        for t in Test.objects.filter(project=project, pk__in=[c[1] for c in shown]).only(
            "classname", "name", "file"
        )
    }
    owners = owners_for_paths(
        codeowners=codeowners, tests={pk: (t.file, t.classname) for pk, t in tests.items()}
    )
    categories = sorted(
        ({"name": names.get(category_id, str(category_id)), **f} for category_id, f in per.items()),
        key=lambda c: c["name"].casefold(),
    )
    return {
        "base": _run_figures(base_run, overall["base_passed"], overall["base_total"]),
        "head": _run_figures(head_run, overall["head_passed"], overall["head_total"]),
        "overall": overall,
        "categories": categories,
        "identity_holds": all(identity_holds(f) for f in (overall, *per.values())),
        "changes": [
            {
                "test_id": test_id,
                "classname": tests[test_id].classname if test_id in tests else "",
                "name": tests[test_id].name if test_id in tests else "",
                "category": names.get(category_id, ""),
                "change": kind,
                "base_outcome": NAMES.get(b_out),
                "head_outcome": NAMES.get(h_out),
                "owners": owners.get(test_id, []),
            }
            for kind, test_id, b_out, h_out, category_id in shown
        ],
        "changes_total": len(changes),
        "changes_truncated": len(changes) > len(shown),
    }
