"""loaddemo: the demo project reproduces DESIGN.md's example through the ingest path."""

import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from dashboard import demo
from dashboard.management.commands.loaddemo import demo_project_delete
from dashboard.models import RunStats
from dashboard.selectors.compare import runs_compare
from dashboard.selectors.summary import project_summary_get
from ingest.models import Project, Result, Run, Upload
from tests.dashboard.analytics_data import EXAMPLE_FLAT


def _passed_by_category(run: Run) -> dict[str, tuple[int, int]]:
    """Count passed/total per category from the run's stored results (not rollups)."""
    counts: dict[str, list[int]] = {}
    for name, outcome in Result.objects.filter(run=run).values_list("category__name", "outcome"):
        row = counts.setdefault(name, [0, 0])
        row[0] += outcome == Result.Outcome.PASSED
        row[1] += 1
    return {name: (p, n) for name, (p, n) in counts.items()}


def test_history_is_deterministic_and_exact_at_both_ends():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    runs = demo.demo_history(now=now)
    again = demo.demo_history(now=now)
    assert [p.reports for r in runs for p in r.parts] == [p.reports for r in again for p in r.parts]
    main = [r for r in runs if r.branch == "main"]
    assert main[0].expected == {k: (b, n) for k, (b, _a, n) in EXAMPLE_FLAT.items()}
    assert main[-1].expected == {k: (a, n) for k, (_b, a, n) in EXAMPLE_FLAT.items()}
    assert all(r.started_at < now for r in runs)
    assert {r.branch for r in runs} == {"main", demo.FEATURE_BRANCH}


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    # Loaded once for the module, outside any test transaction: on_commit callbacks
    # fire, so the ingest and dashboard tasks run exactly as in `make run`.
    with django_db_blocker.unblock():
        call_command("loaddemo")
        yield
        for project in Project.objects.filter(slug="demo"):
            demo_project_delete(project=project)


@pytest.fixture
def loaded(_demo_loaded, db):
    return Project.objects.get(slug="demo")


def test_loaddemo_reproduces_the_design_example(loaded, client):
    project = loaded
    assert project.is_public and project.target_bp == 9000
    assert project.default_branch == "main"
    # Public project: the summary API answers without a token.
    response = client.get("/api/v1/projects/demo/summary")
    assert response.status_code == 200
    summary = response.json()
    assert summary == json.loads(json.dumps(project_summary_get(project=project)))
    assert (summary["passed"], summary["total"]) == (621, 738)
    assert summary["pass_rate"] == pytest.approx(621 / 738)
    assert summary["tests_needed"] == 44
    assert summary["progress"] == pytest.approx(0.69, abs=0.005)
    assert summary["target_reached"] is False
    assert (summary["baseline"]["passed"], summary["baseline"]["total"]) == (523, 738)
    assert summary["flags"]["incomplete"] is False
    categories = {c["name"]: c for c in summary["categories"]}
    assert set(categories) == set(EXAMPLE_FLAT)
    for name, (before, after, total) in EXAMPLE_FLAT.items():
        item = categories[name]
        assert (item["passed"], item["total"]) == (after, total), name
        assert (item["baseline"]["passed"], item["baseline"]["total"]) == (before, total), name
    six = [c for c in categories.values() if c["name"] != "Other"]
    assert sum(c["total"] for c in six) == 205
    assert sum(c["passed"] for c in six) - sum(c["baseline"]["passed"] for c in six) == 36

    # The same figures from the stored results of the first and the latest main run.
    main = Run.objects.filter(project=project, branch="main", is_complete=True)
    first, latest = main.order_by("started_at").first(), main.order_by("-started_at").first()
    assert _passed_by_category(first) == {k: (b, n) for k, (b, _a, n) in EXAMPLE_FLAT.items()}
    assert _passed_by_category(latest) == {k: (a, n) for k, (_b, a, n) in EXAMPLE_FLAT.items()}
    compare = runs_compare(project=project, base_run=first, head_run=latest)
    assert compare["overall"]["delta_passed"] == 98
    assert compare["identity_holds"]


def test_loaddemo_history_has_shards_flaky_skipped_and_a_flagged_incomplete_run(loaded):
    project = loaded
    uploads = Upload.objects.filter(project=project)
    assert not uploads.exclude(status=Upload.Status.PROCESSED).exists()
    main_runs = Run.objects.filter(project=project, branch="main")
    assert main_runs.count() >= 20
    assert not Run.objects.filter(project=project, is_complete=False).exists()
    span = (
        main_runs.order_by("-started_at")[0].started_at
        - main_runs.order_by("started_at")[0].started_at
    )
    assert span.days >= 28
    # Sharded runs: two parts, only the last one final.
    sharded = [r for r in main_runs if r.uploads.count() == 2]
    assert len(sharded) >= 3
    for run in sharded:
        assert [u.is_final for u in run.uploads.order_by("id")] == [False, True]
    assert Run.objects.filter(project=project, branch=demo.FEATURE_BRANCH).count() == 2
    assert Result.objects.filter(run__project=project, flaky=True, attempts__gte=2).exists()
    latest = RunStats.objects.filter(project=project, branch="main").order_by("-started_at")[0]
    assert latest.skipped > 0 and latest.flaky > 0
    # Exactly one run is flagged incomplete; it is older than the latest complete run.
    flagged = RunStats.objects.filter(project=project, flag_incomplete=True)
    assert flagged.count() == 1
    assert flagged[0].total < 738 / 2
    assert flagged[0].started_at < latest.started_at
    assert any("Other" in reason for reason in flagged[0].flag_reasons)


def test_demo_exports_state_the_design_figures(loaded, client):
    text = client.get("/p/demo/export/summary.md").content.decode()
    assert "**Tests needed for 90.0%:** 44" in text
    assert "**Progress from baseline to target:** 69%" in text
    assert "**Target reached:** **no**" in text
    assert "70.9% (523/738) → 84.1% (621/738), +13.3 points" in text
    assert "| 6 listed categories | 205 | 150 | 186 | +36 |" in text
    assert "| in no listed category | 533 | 373 | 435 | +62 |" in text
    data = client.get("/p/demo/export/summary.json").json()
    assert data["base"]["run"] == "1001" and data["head"]["run"] == "1024"
    assert data["trend"]["per_week"] > 0


def test_loaddemo_again_changes_nothing(loaded):
    project = loaded
    runs = Run.objects.filter(project=project).count()
    results = Result.objects.filter(run__project=project).count()
    call_command("loaddemo")
    assert Project.objects.filter(slug="demo").count() == 1
    assert Run.objects.filter(project=project).count() == runs
    assert Result.objects.filter(run__project=project).count() == results


def test_loaddemo_reset_reloads_inside_a_transaction(loaded, monkeypatch):
    # Inside the test's transaction no on_commit callback fires: the command then
    # processes the queued uploads itself and rebuilds the rollups. A short history
    # (baseline run + next run) keeps this fast.
    full = demo.demo_history

    def short_history(*, now):
        return [r for r in full(now=now) if r.key in ("1001", "1002")]

    monkeypatch.setattr(demo, "demo_history", short_history)
    call_command("loaddemo", "--reset")
    reloaded = Project.objects.get(slug="demo")
    assert reloaded.pk != loaded.pk
    assert not Run.objects.filter(project=loaded).exists()
    assert sorted(Run.objects.filter(project=reloaded).values_list("key", flat=True)) == [
        "1001",
        "1002",
    ]
    assert not Upload.objects.filter(project=reloaded).exclude(status="processed").exists()
    summary = project_summary_get(project=reloaded)
    assert (summary["baseline"]["passed"], summary["baseline"]["total"]) == (523, 738)
    assert summary["total"] == 738


def test_demo_flaky_tests_show_on_the_flaky_page_and_their_category_pages(loaded, client):
    """loaddemo folds the detectors' windows too, so the demo's flaky tests are listed."""
    from dashboard.selectors.flaky_page import category_flaky_list, flaky_page_list
    from dashboard.selectors.owners import codeowners_get
    from ingest.models import Category

    codeowners = codeowners_get(project=loaded)
    everywhere = flaky_page_list(project=loaded, codeowners=codeowners, limit=1000)
    retried = [row for row in everywhere if row["retried"]]
    assert len(retried) >= 5
    for category in Category.objects.filter(project=loaded):
        listed = category_flaky_list(
            project=loaded, category=category, codeowners=codeowners, limit=1000
        )
        mine = {r["test_id"]: r["flake_rate"] for r in retried if r["category"] == category.name}
        assert {r["test_id"]: r["flake_rate"] for r in listed if r["retried"]} == mine
    html = client.get(f"/p/{loaded.slug}/flaky/").content.decode()
    assert html.count("<tr data-test=") >= 5
