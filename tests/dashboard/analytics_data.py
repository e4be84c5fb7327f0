"""Build runs with results directly (bypassing XML) for analytics tests."""

from datetime import datetime

from dashboard.derive.runs import run_stats_update
from ingest.identity import test_identity
from ingest.models import Category, Project, Result, Run, Test, Upload

P, F, E, S = (
    Result.Outcome.PASSED,
    Result.Outcome.FAILED,
    Result.Outcome.ERROR,
    Result.Outcome.SKIPPED,
)

# The DESIGN example: category -> ((passed before, passed after), total).
EXAMPLE = {
    "Plex": ((18, 28), 32),
    "Cache": ((12, 16), 18),
    "Auth": ((15, 19), 20),
    "Database": ((25, 28), 30),
    "Controllers": ((45, 52), 55),
    "Integration": ((35, 43), 50),
    "Other": ((373, 435), 533),
}
# The same figures flat: category -> (passed before, passed after, total).
EXAMPLE_FLAT = {name: (before, after, total) for name, ((before, after), total) in EXAMPLE.items()}


def make_run(
    project: Project,
    key: str,
    started_at: datetime,
    results: list[tuple],
    *,
    branch: str | None = None,
    is_complete: bool = True,
    update: bool = True,
) -> Run:
    """Create a run whose results are (test name, outcome, category name[, flaky]).

    Tests are keyed by name within the project (classname "pkg"); rollups and flags
    are computed unless ``update`` is False.
    """
    run = Run.objects.create(
        project=project,
        key=key,
        branch=project.default_branch if branch is None else branch,
        started_at=started_at,
        is_complete=is_complete,
    )
    upload = Upload.objects.create(project=project, run=run, status=Upload.Status.PROCESSED)
    categories = {c.name: c for c in Category.objects.filter(project=project)}
    tests = {t.name: t for t in Test.objects.filter(project=project)}
    missing = {item[0] for item in results} - tests.keys()
    Test.objects.bulk_create(
        Test(project=project, identity=test_identity("pkg", n), classname="pkg", name=n)
        for n in sorted(missing)
    )
    if missing:
        tests = {t.name: t for t in Test.objects.filter(project=project)}
    rows = []
    for item in results:
        name, outcome, category_name = item[:3]
        flaky = item[3] if len(item) > 3 else False
        if category_name not in categories:
            categories[category_name] = Category.objects.create(project=project, name=category_name)
        rows.append(
            Result(
                run=run,
                test=tests[name],
                upload=upload,
                category=categories[category_name],
                outcome=outcome,
                flaky=flaky,
                duration=0.5,
            )
        )
    Result.objects.bulk_create(rows)
    if update:
        run_stats_update(run_id=run.pk)
    return run


def category_results(spec: dict[str, tuple[int, int]]) -> list[tuple]:
    """Return results for {category: (passed, total)}: the first `passed` tests pass."""
    results = []
    for name, (passed, total) in spec.items():
        for i in range(total):
            results.append((f"{name}.t{i}", P if i < passed else F, name))
    return results


def example_runs(project: Project, base_at: datetime, head_at: datetime) -> tuple[Run, Run]:
    """Create the DESIGN example's baseline (523/738) and latest (621/738) runs."""
    before = {name: (pair[0], total) for name, (pair, total) in EXAMPLE.items()}
    after = {name: (pair[1], total) for name, (pair, total) in EXAMPLE.items()}
    base = make_run(project, "base", base_at, category_results(before))
    head = make_run(project, "head", head_at, category_results(after))
    return base, head
