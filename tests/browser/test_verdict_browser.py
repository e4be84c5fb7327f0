"""The run page's verdict in a real Chromium: the line, the gates, links to tests."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboard.analytics_data import F, P, S, make_run
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", name="Shop", is_public=True)
    common = [(f"ok{i}", P, "Other") for i in range(10)]
    make_run(project, "m1", T0, [*common, ("login", P, "Auth"), ("cart", F, "Cache")])
    make_run(
        project,
        "pr-7",
        T0 + timedelta(hours=1),
        [*common, ("login", F, "Auth"), ("cart", P, "Cache", True), ("new", S, "Auth")],
        branch="feature",
    )
    return project


def test_run_page_shows_the_verdict_and_a_failure_links_to_its_test(
    live_server, shop, new_page, page_errors, artifacts_dir
):
    page = new_page()
    page.goto(f"{live_server.url}/p/shop/runs/pr-7/")
    verdict = page.locator("section.verdict")
    assert "Against main (m1): 2 new failures, 1 fixed, 0 still failing, 1 flaky" in (
        verdict.locator(".verdict-line").inner_text()
    )
    assert verdict.locator("[data-gate='new-failures']").inner_text().strip().endswith("fail")
    page.locator("details summary", has_text="Fixed (1)").click()
    assert page.locator("[data-fixed='cart']").is_visible()
    page.screenshot(path=artifacts_dir / "run-verdict.png", full_page=True)
    page.locator("tr[data-new-failure='login'] td.name a").click()
    page.wait_for_url("**/p/shop/tests/*/?branch=feature")
    assert page.locator("h1").inner_text()
    assert page_errors == []
