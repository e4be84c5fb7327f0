"""Exports: a section per owner (tests not passing, new failures, flaky, quarantined)."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from dashboard.analytics.owners import owner_sections
from dashboard.codeowners.services import codeowners_set
from dashboard.services.quarantine import test_quarantine
from ingest.models import Run, Test
from tests.dashboard.analytics_data import F, P, make_run
from tests.dashboard.test_pages_data import build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CODEOWNERS = "* @org/core\n/src/auth/ @org/auth\n"


@pytest.fixture
def project():
    project = ProjectFactory(slug="acme", is_public=True)
    build_history(project)
    for test in Test.objects.filter(project=project, name__startswith="Auth."):
        test.file = f"src/auth/{test.name}.py"
        test.save()
    last = Run.objects.get(project=project, key="r4")
    # r5: Auth.t0 regresses, Cache.t1 passes on a retry (flaky), the t3s keep failing.
    make_run(
        project,
        "r5",
        last.started_at + timedelta(minutes=30),
        [
            ("Auth.t0", F, "Auth"),
            ("Auth.t1", P, "Auth"),
            ("Auth.t2", P, "Auth"),
            ("Auth.t3", F, "Auth"),
            ("Cache.t0", P, "Cache"),
            ("Cache.t1", P, "Cache", True),
            ("Cache.t2", P, "Cache"),
            ("Cache.t3", F, "Cache"),
        ],
    )
    return project


def _get(client, fmt):
    response = client.get(f"/p/acme/export/summary.{fmt}?base=r4&head=r5")
    assert response.status_code == 200
    return response


def test_no_owner_section_without_codeowners(client, project):
    assert _get(client, "json").json()["owners"] == []
    assert "## By owner" not in _get(client, "md").content.decode()


def test_json_has_a_section_per_owner(client, project):
    codeowners_set(project=project, text=CODEOWNERS, source="api")
    sections = {s["owner"]: s for s in _get(client, "json").json()["owners"]}
    assert list(sections) == ["@org/auth", "@org/core"]  # new failures first
    auth, core = sections["@org/auth"], sections["@org/core"]
    assert (auth["not_passing"], auth["new_failures"], auth["flaky"]) == (2, 1, 0)
    assert [t["name"] for t in auth["new_failure_tests"]] == ["Auth.t0"]
    assert [t["name"] for t in auth["not_passing_tests"]] == ["Auth.t0", "Auth.t3"]
    assert (core["not_passing"], core["new_failures"], core["flaky"]) == (1, 0, 1)
    assert [t["name"] for t in core["flaky_tests"]] == ["Cache.t1"]
    assert auth["quarantined"] == core["quarantined"] == 0


def test_markdown_and_csv_have_the_owner_section(client, project):
    codeowners_set(project=project, text=CODEOWNERS, source="api")
    text = _get(client, "md").content.decode()
    assert "## By owner" in text
    assert "| @org/auth | 2 | 1 | 0 | 0 |" in text
    assert "| @org/core | 1 | 0 | 1 | 0 |" in text
    assert "### @org/auth\n\nNew failures: 1\n\n- pkg::Auth.t0 (Auth)" in text
    rows = list(csv.reader(io.StringIO(_get(client, "csv").content.decode())))
    start = rows.index(
        ["owner", "not_passing", "new_failures", "flaky", "quarantined", "new_failure_tests"]
    )
    # "@" starts a formula in spreadsheets: the export neutralises it with a quote.
    assert rows[start + 1] == ["'@org/auth", "2", "1", "0", "0", "pkg::Auth.t0"]
    xlsx = _get(client, "xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content))["Owners"]
    assert [c.value for c in sheet[2]][:3] == ["'@org/auth", 2, 1]


def test_every_export_counts_each_owners_quarantined_tests(client, project):
    """Auth.t3 (failing) and Auth.t1 (passing) quarantined: @org/auth has 2; Cache none."""
    codeowners_set(project=project, text=CODEOWNERS, source="api")
    for name in ("Auth.t3", "Auth.t1"):
        test = Test.objects.get(project=project, name=name)
        test_quarantine(project=project, test=test, reason="races", actor="user:ann")
    sections = {s["owner"]: s for s in _get(client, "json").json()["owners"]}
    auth, core = sections["@org/auth"], sections["@org/core"]
    assert (auth["not_passing"], auth["new_failures"], auth["quarantined"]) == (2, 1, 2)
    assert [t["name"] for t in auth["quarantined_tests"]] == ["Auth.t1", "Auth.t3"]
    assert core["quarantined"] == 0
    text = _get(client, "md").content.decode()
    assert "| @org/auth | 2 | 1 | 0 | 2 |" in text
    assert "Quarantined: 2\n\n- pkg::Auth.t1 (Auth)\n- pkg::Auth.t3 (Auth)" in text
    rows = list(csv.reader(io.StringIO(_get(client, "csv").content.decode())))
    start = rows.index(
        ["owner", "not_passing", "new_failures", "flaky", "quarantined", "new_failure_tests"]
    )
    assert rows[start + 1][:5] == ["'@org/auth", "2", "1", "0", "2"]
    sheet = load_workbook(io.BytesIO(_get(client, "xlsx").content))["Owners"]
    header = [c.value for c in sheet[1]]
    assert sheet[2][header.index("quarantined")].value == 2
    report = client.get("/p/acme/report/?base=r4&head=r5").content.decode()
    assert '<tr data-owner="@org/auth">' in report
    assert 'data-quarantined="2">2</td>' in report


def test_owner_sections_count_a_test_for_each_owner_and_unowned_last():
    item = {"classname": "c", "category": "A", "outcome": "failed", "not_passing": True}
    sections = owner_sections(
        [
            {**item, "name": "x", "owners": ["@a", "@b"], "new_failure": True},
            {**item, "name": "y", "owners": [], "flaky": True},
            {**item, "name": "z", "owners": ["@b"], "quarantined": True},
            {**item, "name": "ok", "owners": ["@c"], "not_passing": False},
        ]
    )
    assert [(s["owner"], s["not_passing"], s["new_failures"]) for s in sections] == [
        ("@b", 2, 1),
        ("@a", 1, 1),
        ("(no owner)", 1, 0),
    ]
    assert sections[0]["quarantined"] == 1 and sections[2]["flaky"] == 1
