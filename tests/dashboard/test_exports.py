"""Exports for managers: Markdown, CSV, XLSX, JSON and the report page, with access rules."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from dashboard.exports.text import cell
from ingest.models import Membership
from tests.dashboard.analytics_data import EXAMPLE_FLAT, F, P, example_runs, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

BASE_AT = datetime(2026, 1, 5, 8, tzinfo=UTC)
HEAD_AT = datetime(2026, 2, 2, 8, tzinfo=UTC)
FORMATS = ("md", "csv", "xlsx", "json")


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", name="Shop", is_public=True)
    example_runs(project, BASE_AT, HEAD_AT)
    return project


def _get(client, slug: str, fmt: str, query: str = ""):
    return client.get(f"/p/{slug}/export/summary.{fmt}{query}")


def test_markdown_states_the_design_example(client, shop):
    response = _get(client, "shop", "md")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert 'filename="shop-status.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert "70.9% (523/738) → 84.1% (621/738), +13.3 points" in text
    assert "**Tests needed for 90.0%:** 44" in text
    assert "**Progress from baseline to target:** 69%" in text
    assert "**Target reached:** **no**" in text
    assert "**Not passing now:** 117 of 738" in text
    assert "+98 = 98 fixed - 0 regressed + 0 added passing - 0 removed passing" in text
    assert "| 6 listed categories | 205 | 150 | 186 | +36 |" in text
    assert "| in no listed category | 533 | 373 | 435 | +62 |" in text
    assert "| Plex | 18/32 (56.2%) | 28/32 (87.5%) | +31.2 | 10 | 0 | 1 | no |" in text
    # No trend is cached for this project: the summary says so instead of inventing one.
    assert "no trend yet" in text


def _csv_tables(text: str) -> tuple[list[dict], list[dict]]:
    return _csv_blocks(text)[:2]


def _csv_blocks(text: str) -> list[list[dict]]:
    """Return the CSV's tables (separated by blank rows) as lists of dicts."""
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return [[dict(zip(b[0], r, strict=True)) for r in b[1:]] for b in blocks]


def test_csv_parses_back_to_the_figures(client, shop):
    response = _get(client, "shop", "csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    scopes, changes = _csv_tables(response.content.decode())
    overall = scopes[0]
    assert overall["scope"] == "overall"
    assert (overall["passed_before"], overall["total_before"]) == ("523", "738")
    assert (overall["passed_now"], overall["total_now"]) == ("621", "738")
    assert overall["tests_needed"] == "44"
    assert overall["fixed"] == "98" and overall["regressed"] == "0"
    assert float(overall["progress"]) == pytest.approx(0.694, abs=0.001)
    assert float(overall["change_points"]) == pytest.approx(13.28, abs=0.01)
    assert overall["target_reached"] == "False"
    by_name = {row["name"]: row for row in scopes[1:]}
    for name, (before, after, total) in EXAMPLE_FLAT.items():
        row = by_name[name]
        assert (int(row["passed_before"]), int(row["passed_now"])) == (before, after)
        assert int(row["total_now"]) == total
    assert by_name["Other"]["scope"] == "category (no listed)"
    assert len(changes) == 98
    assert {c["change"] for c in changes} == {"fixed"}


def test_xlsx_has_overall_category_and_changes_sheets(client, shop):
    response = _get(client, "shop", "xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Overall", *sorted(EXAMPLE_FLAT, key=str.casefold), "Changed tests"]
    figures = {row[0]: row[1] for row in wb["Overall"].iter_rows(values_only=True) if row}
    assert figures["tests needed"] == 44
    assert figures["passed before"] == 523 and figures["passed now"] == 621
    assert figures["progress"] == pytest.approx(0.694, abs=0.001)
    assert figures["target reached"] is False
    assert figures["change from listed categories"] == 36
    assert figures["change from tests in no listed category"] == 62
    plex = {row[0]: row[1] for row in wb["Plex"].iter_rows(values_only=True)}
    assert (plex["base_passed"], plex["head_passed"], plex["head_total"]) == (18, 28, 32)
    assert plex["tests_needed"] == 1
    changed = list(wb["Changed tests"].iter_rows(values_only=True))
    assert changed[0][:2] == ("change", "category")
    assert len(changed) == 1 + 98


def test_json_has_the_figures_and_sources(client, shop):
    response = _get(client, "shop", "json")
    assert response.status_code == 200
    data = json.loads(response.content)
    overall = data["overall"]
    assert (overall["head_passed"], overall["head_total"], overall["tests_needed"]) == (
        621,
        738,
        44,
    )
    assert overall["target_reached"] is False
    assert data["sources"]["listed"]["tests"] == 205
    assert data["sources"]["listed"]["delta_passed"] == 36
    assert data["sources"]["rest"]["delta_passed"] == 62
    assert data["identity_holds"] is True
    assert (data["base"]["run"], data["head"]["run"]) == ("base", "head")


def test_base_and_head_choose_the_runs(client, shop):
    data = json.loads(_get(client, "shop", "json", "?base=head&head=base").content)
    assert data["overall"]["regressed"] == 98
    assert data["overall"]["delta_passed"] == -98
    assert data["overall"]["tests_needed"] == 142
    assert _get(client, "shop", "md", "?base=nope").status_code == 404


def test_report_page_shows_figures_charts_and_print_stylesheet(client, shop):
    response = client.get("/p/shop/report/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "css/print.css" in html
    assert "vendor/plotly.min.js" in html and "js/report.js" in html
    assert "onclick" not in html
    assert 'id="report-waterfall"' in html and 'id="report-trend"' in html
    assert "✘ not reached" in html
    assert ">44<" in html
    assert "69%" in html
    assert "/p/shop/export/summary.xlsx?base=base&amp;head=head" in html


def test_no_complete_run_is_a_404(client):
    ProjectFactory(slug="empty", is_public=True)
    assert _get(client, "empty", "md").status_code == 404
    assert client.get("/p/empty/report/").status_code == 404


def test_private_project_is_visible_to_members_and_superusers_only(client):
    project = ProjectFactory(slug="secret", is_public=False)
    example_runs(project, BASE_AT, HEAD_AT)
    users = get_user_model().objects
    member = users.create_user("member", password="pw")
    stranger = users.create_user("stranger", password="pw")
    staff = users.create_user("staff", password="pw", is_staff=True)
    superuser = users.create_superuser("root", password="pw")
    Membership.objects.create(project=project, user=member)
    urls = [f"/p/secret/export/summary.{fmt}" for fmt in FORMATS] + ["/p/secret/report/"]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for user in (stranger, staff):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
    for user in (member, superuser):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 200, url


EVIL = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "<script>alert(1)</script>",
]


@pytest.fixture
def evil():
    project = ProjectFactory(slug="evil", is_public=True)
    base = [("ok", P, "=cmd|' /C calc'!A0")]
    make_run(project, "b", BASE_AT, base)
    head = base + [(name, F, "<b>Cat</b>") for name in EVIL]
    make_run(project, "h", HEAD_AT, head)
    return project


def test_csv_neutralises_formula_prefixes(client, evil):
    _scopes, changes = _csv_tables(_get(client, "evil", "csv").content.decode())
    names = {c["name"] for c in changes}
    assert "'" + EVIL[0] in names
    for row in changes:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    scopes, _ = _csv_tables(_get(client, "evil", "csv").content.decode())
    assert "'=cmd|' /C calc'!A0" in {s["name"] for s in scopes}


def test_xlsx_cells_are_inert_text(client, evil):
    wb = load_workbook(io.BytesIO(_get(client, "evil", "xlsx").content))
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert not c.value.startswith(("=", "+", "-", "@", "\t", "\r"))
    names = [row[3] for row in wb["Changed tests"].iter_rows(values_only=True)]
    assert "'" + EVIL[0] in names
    # Sheet titles cannot hold [ ] : * ? / \ or quotes; the category still gets its sheet.
    assert any(title.startswith("_=cmd") or "cmd" in title for title in wb.sheetnames)


def test_markdown_and_report_escape_names(client, evil):
    text = _get(client, "evil", "md").content.decode()
    assert "<script>" not in text and "<b>" not in text
    assert "pkg::&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'pkg::=HYPERLINK("http://evil.example","click")' in text
    assert "&lt;b&gt;Cat&lt;/b&gt;" in text
    html = client.get("/p/evil/report/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("bell\x07", "bell"),
        (-3, -3),
        (0.5, 0.5),
        (True, True),
        (None, None),
    ],
)
def test_cell_neutralises_text_only(value, expected):
    assert cell(value) == expected
