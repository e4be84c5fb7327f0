"""Every output shows the same figures: pages, JSON API, exports and the report.

For the demo (loaded through the real ingest path) and for a generated project with
categories, per-category targets (one of them 0 %), skips, flaky tests and a flagged
latest run, this renders the overview, every category page, the latest run's page,
the summary and runs APIs, the JSON/Markdown/CSV/XLSX exports and the report page,
reads each shared figure from each (HTML through its ``data-figures`` attributes,
files by parsing them) and asserts it equals the summary API's, at the precision the
output shows.
"""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from dashboard.derive.teststats import test_stats_refresh
from dashboard.derive.trends import trend_refresh
from dashboard.management.commands.loaddemo import demo_project_delete
from dashboard.models import RunStats
from ingest.models import Category, Project
from tests.dashboard.analytics_data import F, P, S, make_run
from tests.dashboard.figures_html import page_figures
from tests.factories import ProjectFactory

OVERALL = "overall"


def pct(rate, digits=1):
    return "n/a" if rate is None else f"{100 * rate:.{digits}f}%"


# -- the project with everything ------------------------------------------------------


def generated_project() -> Project:
    """Build 6 runs of 4 categories with targets, skips, flaky tests, a flagged last run."""
    project = ProjectFactory(slug="gen", name="Generated", is_public=True, target_bp=9000)
    start = timezone.now() - timedelta(days=12)
    for i in range(6):
        results = []
        for j in range(10):  # Auth: climbs, two flaky passes
            results.append((f"auth{j}", P if j < 4 + i else F, "Auth", j in (0, 1) and i % 2 == 1))
        for j in range(8):  # Cache: two skipped tests, the rest climbs
            outcome = S if j >= 6 else (P if j < 2 + i else F)
            results.append((f"cache{j}", outcome, "Cache"))
        for j in range(12):  # Plex: climbs slowly
            results.append((f"plex{j}", P if j < 5 + i // 2 else F, "Plex"))
        if i < 5:
            # Other: in the last run its 4 failing tests vanish while its rate rises,
            # which the denominator watch flags.
            results += [(f"other{j}", P if j < 2 else F, "Other") for j in range(6)]
        else:
            results += [(f"other{j}", P, "Other") for j in range(2)]
        make_run(project, f"g{i}", start + timedelta(days=2 * i), results)
    Category.objects.filter(project=project, name="Auth").update(target_bp=0)
    Category.objects.filter(project=project, name="Cache").update(target_bp=9500)
    trend_refresh(project_id=project.pk)
    test_stats_refresh(project_id=project.pk)
    return project


@pytest.fixture
def gen(db):
    project = generated_project()
    latest = RunStats.objects.get(run__project=project, run__key="g5")
    assert latest.flag_denominator, latest.flag_reasons  # the fixture is what it claims
    assert latest.skipped == 2 and latest.flaky > 0
    return project


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    # Outside any test transaction: on_commit callbacks fire as in `make run`.
    with django_db_blocker.unblock():
        call_command("loaddemo")
        yield
        for project in Project.objects.filter(slug="demo"):
            demo_project_delete(project=project)


@pytest.fixture
def demo(_demo_loaded, db):
    return Project.objects.get(slug="demo")


# -- reading each output ----------------------------------------------------------------


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def shown_markdown(text: str) -> str:
    """Return the text a reader sees of inline Markdown: escapes and entities undone."""
    return html.unescape(re.sub(r"\\(.)", r"\1", text))


def read_markdown(text: str, *, head: str) -> dict:
    """Return {scope: figures} from the Markdown export's lines."""

    def line(label: str) -> str:
        match = re.search(rf"^- \*\*{re.escape(label)}:?\*\*:? (.*)$", text, re.M)
        assert match, label
        return match.group(1)

    rate = re.fullmatch(r"\S+ \(\d+/\d+\) → (\S+) \((\d+)/(\d+)\), .* points", line("Pass rate"))
    needed = re.search(r"^- \*\*Tests needed for (\S+):\*\* (\d+)$", text, re.M)
    progress = re.match(r"(n/a|\d+%)", line("Progress from baseline to target")).group(1)
    overall = {
        "pass_rate": rate.group(1),
        "passed": int(rate.group(2)),
        "total": int(rate.group(3)),
        "target": needed.group(1),
        "tests_needed": int(needed.group(2)),
        "progress": progress,
        "target_reached": line("Target reached") == "yes",
        "flag_reasons": [
            shown_markdown(reason)
            for reason in re.findall(rf"^  - run {re.escape(head)} \([^)]*\): (.*)$", text, re.M)
        ],
    }
    trend = re.search(r"^- \*\*Trend \([^)]*\):\*\* (.*)$", text, re.M).group(1)
    per_week = re.match(r"([+-]?\d+\.\d|0\.0) points/week", trend)
    if per_week:  # "+0.8 points/week; ETA 2026-04-02" or "...; not on track"
        overall["trend_per_week"] = per_week.group(1)
        eta = re.search(r"ETA (\d{4}-\d\d-\d\d)", trend)
        overall["eta"] = eta.group(1) if eta else None
    scopes = {OVERALL: overall}
    table = text.split("## Categories", 1)[1].split("\n## ", 1)[0]
    for row in re.findall(r"^\| (.+) \|$", table, re.M)[1:]:  # after the header
        cells = [c.strip() for c in row.split(" | ")]
        now = re.fullmatch(r"(\d+)/(\d+) \((\S+)\)", cells[2])
        scopes[cells[0]] = {
            "passed": int(now.group(1)),
            "total": int(now.group(2)),
            "pass_rate": now.group(3),
            "tests_needed": int(cells[6]),
            "target_reached": cells[7] == "yes",
        }
    return scopes


def read_table(rows: list[list]) -> dict:
    """Return {scope: figures} from the CSV/XLSX scope table (header row first)."""
    header = rows[0]
    scopes = {}
    for row in rows[1:]:
        values = dict(zip(header, row, strict=True))
        scope = OVERALL if values["scope"] == "overall" else values["name"]
        scopes[scope] = {
            "passed": int(values["passed_now"]),
            "total": int(values["total_now"]),
            "pass_rate": None if values["rate_now"] in ("", None) else float(values["rate_now"]),
            "target": float(values["target"]),
            "tests_needed": int(values["tests_needed"]),
            "progress": None if values["progress"] in ("", None) else float(values["progress"]),
            "target_reached": values["target_reached"] in (True, "True"),
        }
    return scopes


def read_csv(text: str) -> dict:
    rows = list(csv.reader(io.StringIO(text)))
    return read_table(rows[: rows.index([])])


def read_xlsx(data: bytes) -> dict:
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(r) for r in book["Overall"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r and r[0] == "scope")
    headline = {r[0]: r[1] for r in rows[1:start] if r and r[0] is not None}
    scopes = read_table([r[: len(rows[start])] for r in rows[start:]])
    eta = headline["ETA"]
    scopes[OVERALL].update(
        eta=None if eta in ("", None, "not on track") else eta,
        on_track=headline["on track"],
        trend_points_per_week=headline["trend (points per week)"],
    )
    # One sheet per category repeats that category's figures.
    for name in (s for s in scopes if s != OVERALL):
        title = next(t for t in book.sheetnames if t.casefold() == name.casefold()[:31])
        sheet = {r[0]: r[1] for r in book[title].iter_rows(values_only=True)}
        assert sheet["category"] == name
        assert (sheet["head_passed"], sheet["head_total"]) == (
            scopes[name]["passed"],
            scopes[name]["total"],
        )
        assert sheet["tests_needed"] == scopes[name]["tests_needed"]
        assert sheet["progress"] == scopes[name]["progress"] or (
            round(sheet["progress"], 4) == scopes[name]["progress"]
        )
    return scopes


def read_json_export(data: dict) -> dict:
    def scope(c: dict) -> dict:
        return {
            "passed": c["head_passed"],
            "total": c["head_total"],
            "pass_rate": c["rate_after"],
            "target": c["target"],
            "tests_needed": c["tests_needed"],
            "progress": c["progress"],
            "target_reached": c["target_reached"],
        }

    scopes = {OVERALL: scope(data["overall"])}
    scopes[OVERALL].update(
        trend_per_week=data["trend"]["per_week"],
        eta=data["trend"]["eta"],
        on_track=data["trend"]["on_track"],
        flag_reasons=data["head"]["flags"],
        flags={
            "incomplete": data["head"]["incomplete"],
            "denominator": data["head"]["denominator"],
        },
    )
    scopes.update({c["name"]: scope(c) for c in data["categories"]})
    return scopes


# -- the test ---------------------------------------------------------------------------

SUMMARY_KEYS = (
    "pass_rate",
    "passed",
    "total",
    "not_passing",
    "change",
    "target",
    "target_reached",
    "tests_needed",
    "progress",
    "trend_per_week",
    "eta",
    "on_track",
)


def expected_from_api(summary: dict) -> dict:
    scopes = {OVERALL: {k: summary[k] for k in SUMMARY_KEYS}}
    scopes[OVERALL]["flag_reasons"] = summary["flags"]["reasons"]
    scopes[OVERALL]["flags"] = {
        "incomplete": summary["flags"]["incomplete"],
        "denominator": summary["flags"]["denominator"],
    }
    for c in summary["categories"]:
        scopes[c["name"]] = {k: c[k] for k in SUMMARY_KEYS}
    return scopes


def assert_same(source: str, shown: dict, expected: dict, *, text: bool = False, digits=None):
    """Assert every figure ``shown`` by ``source`` equals the API's (formatted alike)."""
    assert shown, f"{source} shows no figures"
    for scope, figures in shown.items():
        assert figures, f"{source}: no figures in {scope}"
        want = expected[scope]
        for name, value in figures.items():
            target = want[name]
            if text and name == "trend_per_week":
                text_value = f"{100 * target:+.1f}"
                target = "0.0" if text_value in ("+0.0", "-0.0") else text_value
            elif text and name == "eta":
                target = target[:10] if target else None
            elif text and name in ("pass_rate", "target"):
                target = pct(target)
            elif text and name == "progress":
                target = "n/a" if target is None else f"{100 * target:.0f}%"
            elif digits and isinstance(target, float) and name != "trend_per_week":
                target = round(target, digits)
            assert value == target, f"{source}, {scope}, {name}: {value!r} != {target!r}"


def check_project(client, project: Project) -> dict:
    slug = project.slug
    summary = _get(client, f"/api/v1/projects/{slug}/summary").json()
    expected = expected_from_api(summary)
    categories = [c["name"] for c in summary["categories"]]
    assert len(categories) >= 4

    # Pages: the overview (headline and category table), each category page, the report.
    overview = page_figures(_get(client, f"/p/{slug}/").content.decode())
    assert set(overview) == {OVERALL, *categories}
    flags = {
        "incomplete": overview[OVERALL].pop("flag_incomplete", False),
        "denominator": overview[OVERALL].pop("flag_denominator", False),
    }
    assert flags == expected[OVERALL]["flags"]
    overview[OVERALL].setdefault("flag_reasons", [])
    assert_same("overview", overview, expected)
    assert {"pass_rate", "tests_needed", "progress", "eta", "target"} <= set(overview[OVERALL])
    for name in categories:
        page = page_figures(_get(client, f"/p/{slug}/c/{name}/").content.decode())
        assert set(page) == {name}
        assert {"tests_needed", "progress", "target", "eta", "trend_per_week"} <= set(page[name])
        assert_same(f"category page {name}", page, expected)
    report = page_figures(_get(client, f"/p/{slug}/report/").content.decode())
    report[OVERALL].setdefault("flag_reasons", [])
    assert set(report) == {OVERALL, *categories}
    assert_same("report", report, expected)

    # The latest run's page: its counts, per-category counts and flags.
    run_page = page_figures(
        _get(client, f"/p/{slug}/runs/{summary['run']['key']}/").content.decode()
    )
    assert set(run_page) == {OVERALL, *categories}
    run_flags = {
        "incomplete": run_page[OVERALL].pop("flag_incomplete", False),
        "denominator": run_page[OVERALL].pop("flag_denominator", False),
    }
    assert run_flags == expected[OVERALL]["flags"]
    run_page[OVERALL].setdefault("flag_reasons", [])
    assert_same("run page", run_page, expected)

    # The runs API: the latest complete default-branch run, with its flags.
    runs = _get(client, f"/api/v1/projects/{slug}/runs?branch={summary['branch']}").json()
    latest = next(r for r in runs["results"] if r["is_complete"])
    assert latest["run"] == summary["run"]["key"]
    shown = {
        OVERALL: {
            "pass_rate": latest["pass_rate"],
            "passed": latest["counts"]["passed"],
            "total": latest["counts"]["tests"],
            "flags": {k: latest["flags"][k] for k in ("incomplete", "denominator")},
            "flag_reasons": latest["flags"]["reasons"],
        }
    }
    assert_same("runs API", shown, expected)

    # Exports.
    data = _get(client, f"/p/{slug}/export/summary.json").json()
    assert data["head"]["run"] == summary["run"]["key"]
    assert data["base"]["run"] == summary["baseline"]["run"]
    assert_same("JSON export", read_json_export(data), expected)
    markdown = read_markdown(
        _get(client, f"/p/{slug}/export/summary.md").content.decode(), head=summary["run"]["key"]
    )
    assert set(markdown) == {OVERALL, *categories}
    assert "trend_per_week" in markdown[OVERALL]  # neither project has reached its target
    assert_same("Markdown export", markdown, expected, text=True)
    table = read_csv(_get(client, f"/p/{slug}/export/summary.csv").content.decode())
    assert set(table) == {OVERALL, *categories}
    assert_same("CSV export", table, expected, digits=4)
    book = read_xlsx(_get(client, f"/p/{slug}/export/summary.xlsx").content)
    points = book[OVERALL].pop("trend_points_per_week")
    trend = expected[OVERALL]["trend_per_week"]
    assert points == (None if trend is None else pytest.approx(100 * trend))
    assert_same("XLSX export", book, expected, digits=4)
    return summary


@pytest.mark.django_db
def test_every_output_shows_the_same_figures_for_a_generated_project(client, gen):
    summary = check_project(client, gen)
    # The figures themselves: the rules the outputs agree on.
    categories = {c["name"]: c for c in summary["categories"]}
    auth, cache, plex = categories["Auth"], categories["Cache"], categories["Plex"]
    assert auth["target"] == 0.0 and auth["tests_needed"] == 0 and auth["target_reached"]
    assert cache["target"] == 0.95 and plex["target"] == 0.9
    # Cache: 6 of 8 pass; the 2 skipped tests stay in the total.
    assert (cache["passed"], cache["total"]) == (6, 8)
    assert cache["tests_needed"] == 2  # ceil(0.95 * 8) - 6
    assert summary["flags"]["denominator"] is True
    assert summary["flags"]["reasons"]


def test_every_output_shows_the_same_figures_for_the_demo(client, demo):
    summary = check_project(client, demo)
    assert (summary["passed"], summary["total"], summary["tests_needed"]) == (621, 738, 44)
