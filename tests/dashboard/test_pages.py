"""Dashboard pages: status, content, filters, escaping and exact query counts."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.derive.trends import trend_refresh
from ingest.models import Test as TestCase
from tests.dashboard.analytics_data import F, P, make_run
from tests.dashboard.figures_html import page_figures
from tests.dashboard.test_pages_data import XSS, XSS_CATEGORY, build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def figure_json(html: str, chart_id: str) -> dict:
    match = re.search(
        rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no figure {chart_id}"
    return json.loads(match.group(1))


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", name="Shop", is_public=True)
    build_history(project, n_runs=5)
    return project


def test_project_list_shows_rate_change_and_status(client, shop):
    # A second project whose pass rate falls: its trend is not on track.
    falling = ProjectFactory(slug="falling", name="Falling", is_public=True)
    start = timezone.now() - timedelta(hours=6)
    for i, passing in enumerate((3, 2, 1, 1)):
        results = [(f"t{j}", P if j < passing else F, "Auth") for j in range(4)]
        make_run(falling, f"f{i}", start + timedelta(hours=i), results)
    trend_refresh(project_id=falling.pk)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shop" in html
    assert "75.0%" in html  # latest run: 3 of 4 pass in both categories
    assert "+50.0 pts since baseline" in html  # 25% -> 75%
    shown = page_figures(html)
    assert shown["shop"]["on_track"] is True and shown["shop"]["target_reached"] is False
    assert shown["falling"]["on_track"] is False and shown["falling"]["target_reached"] is False
    # Each card says its own status, in words: one "on track", one "not on track".
    assert html.count('<span aria-hidden="true">↗</span> on track') == 1
    assert html.count('<span aria-hidden="true">✘</span> not on track') == 1
    assert html.count('<svg class="spark"') == 2


def test_project_list_hides_private_projects_from_anonymous(client, shop):
    ProjectFactory(slug="secret", name="Secret Project", is_public=False)
    html = client.get("/").content.decode()
    assert "Secret Project" not in html


def test_overview_shows_headline_chart_and_categories(client, shop):
    response = client.get("/p/shop/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "6/8 passed" in html
    assert "Tests needed" in html
    assert "from 25.0% (2/8)" in html
    fig = figure_json(html, "pass-rate-figure")
    names = [t["name"] for t in fig["data"]]
    assert names[:3] == ["Overall", "Auth", "Cache"]
    assert fig["data"][0]["customdata"][-1] == [6, 8, "r4"]
    assert fig["layout"]["shapes"][0]["y0"] == 0.9
    assert 'id="category-table"' in html
    # The chart's figures as a table, newest first, linking to each run.
    assert '<td><a href="/p/shop/runs/r4/"><code>r4</code></a></td>' in html
    assert '<td class="num">6/8</td><td class="num">75.0%</td>' in html
    assert reverse("dashboard:category", args=["shop", "Auth"]) in html
    for fmt in ("md", "csv", "xlsx", "json"):
        assert f"/p/shop/export/summary.{fmt}" in html
    assert "/p/shop/report/" in html
    assert "/p/shop/compare/" in html


def test_overview_branch_filter_reads_that_branch(client, shop):
    make_run(shop, "dev-1", shop.runs.first().started_at, [("Auth.t0", F, "Auth")], branch="dev")
    html = client.get("/p/shop/?branch=dev").content.decode()
    fig = figure_json(html, "pass-rate-figure")
    assert [p[2] for p in fig["data"][0]["customdata"]] == ["dev-1"]
    assert "0/1 passed" in html
    assert '<option value="dev" selected>' in html


def test_overview_date_filter_limits_the_chart(client, shop):
    latest = shop.runs.order_by("-started_at").first()
    day = latest.started_at.date().isoformat()
    html = client.get(f"/p/shop/?since={day}&until={day}").content.decode()
    keys = [p[2] for p in figure_json(html, "pass-rate-figure")["data"][0]["customdata"]]
    assert "r4" in keys
    html = client.get("/p/shop/?until=2001-01-01").content.decode()
    assert "No complete runs in this range." in html


def test_overview_lists_flagged_runs(client, shop):
    from dashboard.models import RunStats

    RunStats.objects.filter(run__key="r2").update(
        flag_incomplete=True, flag_reasons=["category Cache has no results"]
    )
    html = client.get("/p/shop/").content.decode()
    assert "Flagged runs" in html
    assert "⚠ incomplete" in html and "category Cache has no results" in html


def test_overview_ignores_malformed_dates(client, shop):
    response = client.get("/p/shop/?since=yesterday&until=2024-13-45")
    assert response.status_code == 200
    assert "pass-rate-figure" in response.content.decode()


def test_overview_of_empty_project_says_so(client):
    ProjectFactory(slug="empty", is_public=True)
    html = client.get("/p/empty/").content.decode()
    assert "No complete run on branch" in html


def test_category_page_by_name_and_id(client, shop):
    html = client.get("/p/shop/c/Auth/").content.decode()
    assert "Failing now" in html and "Auth.t3" in html
    assert "Slowest tests" in html
    figure_json(html, "category-figure")
    category = shop.categories.get(name="Auth")
    assert client.get(f"/p/shop/c/{category.pk}/").status_code == 200
    assert client.get("/p/shop/c/Nope/").status_code == 404


def test_run_page_shows_counts_changes_and_uploads(client, shop):
    html = client.get("/p/shop/runs/r4/").content.decode()
    assert "6/8 passed" in html
    assert "Changes since the previous run" in html
    assert "2 fixed" in html  # r3 -> r4: t2 of each category starts passing
    assert "processed" in html
    assert client.get("/p/shop/runs/nope/").status_code == 404


def test_run_page_accepts_keys_with_slashes(client, shop):
    make_run(shop, "pipeline/42", shop.runs.first().started_at, [("Auth.t0", P, "Auth")])
    assert client.get("/p/shop/runs/pipeline/42/").status_code == 200


def test_test_page_shows_history_and_last_failure(client, shop):
    test = TestCase.objects.get(project=shop, name="Auth.t2")
    html = client.get(f"/p/shop/tests/{test.pk}/").content.decode()
    assert 'class="history-strip"' in html
    assert "failed" in html and "passed" in html  # words, not only colours
    figure_json(html, "duration-figure")
    other = ProjectFactory(slug="other", is_public=True)
    assert client.get(f"/p/{other.slug}/tests/{test.pk}/").status_code == 404


def test_compare_defaults_to_baseline_vs_latest(client, shop):
    html = client.get("/p/shop/compare/").content.decode()
    assert 'value="r0"' in html and 'value="r4"' in html
    fig = figure_json(html, "waterfall-figure")
    assert fig["data"][0]["y"] == [2, 4, 0, 0, 0, 6]
    assert "2 passing at <code>r0</code> + 4 fixed" in html
    assert "✔ adds up" in html


def test_compare_explicit_runs_and_unknown_run(client, shop):
    html = client.get("/p/shop/compare/?base=r2&head=r4").content.decode()
    assert figure_json(html, "waterfall-figure")["data"][0]["y"][0] == 4
    assert client.get("/p/shop/compare/?base=nope&head=r4").status_code == 404


def test_names_are_escaped_everywhere(client):
    project = ProjectFactory(slug="xss", is_public=True)
    make_run(project, "a", shop_time(), [(XSS, P, XSS_CATEGORY)])
    make_run(project, "b", shop_time(1), [(XSS, F, XSS_CATEGORY)])
    from dashboard.derive.teststats import test_stats_refresh

    test_stats_refresh(project_id=project.pk)
    test = TestCase.objects.get(project=project, name=XSS)
    category = project.categories.get(name=XSS_CATEGORY)
    pages = [
        "/",
        "/p/xss/",
        f"/p/xss/c/{category.pk}/",
        "/p/xss/runs/b/",
        f"/p/xss/tests/{test.pk}/",
        "/p/xss/compare/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert(1)" not in html, url
        assert "<img src=x" not in html, url
    html = client.get("/p/xss/").content.decode()
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    # Inside the chart JSON: json_script escapes <, and names are HTML-escaped for plotly.
    fig = figure_json(html, "pass-rate-figure")
    assert fig["data"][1]["name"] == "&lt;img src=x onerror=alert(2)&gt;"
    html = client.get(f"/p/xss/tests/{test.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def shop_time(hours: int = 0):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(hours=10 - hours)
