"""Chromium enforces the Content-Security-Policy: charts draw, nothing is refused.

Each page is opened with a listener for ``securitypolicyviolation`` events (installed
by Playwright before any page script, outside the page's CSP); every console error is
collected too, which is where Chromium reports a refused script.
"""

import pytest
from django.contrib.auth import get_user_model

from ingest.models import Membership
from tests.dashboard.test_pages_data import XSS, build_history
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", name="Shop", is_public=True)
    build_history(project, n_runs=6, categories=("Auth", "Cache", XSS))
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    return project


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_pages_draw_under_the_policy_with_no_violation(live_server, shop, new_page, page_errors):
    page = new_page()
    page.add_init_script(LISTEN)
    sign_in(page, live_server.url)
    pages = [
        "/p/shop/",
        "/p/shop/c/Auth/",
        "/p/shop/compare/",
        "/p/shop/report/",
        "/p/shop/settings/rules/",
        "/admin/",
        "/admin/django_celery_beat/periodictask/add/",
        "/api/docs/",
    ]
    charts = 0
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("load")
        if page.locator("[data-figure]").count():
            page.wait_for_selector("[data-drawn='true'] .main-svg")
            charts += page.locator("[data-drawn='true']").count()
        assert page.evaluate("() => window.__csp") == [], path
    assert charts >= 3
    # The rules page's script (a static file now) still previews as one types.
    page.goto(f"{live_server.url}/p/shop/settings/rules/")
    page.select_option("#id_category", label="Auth")
    page.fill("#id_pattern", "Auth*")
    page.wait_for_selector("#rule-preview .preview-count")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info")
    assert page.evaluate("() => window.__csp") == []
    # Admin and Swagger UI pages name no icon, so Chromium's /favicon.ico may 404.
    assert [e for e in page_errors if "Failed to load resource" not in e] == []


def test_an_injected_inline_script_is_refused(live_server, shop, new_page, page_errors):
    page = new_page()
    page.add_init_script(LISTEN)
    page.goto(f"{live_server.url}/p/shop/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.__ran === undefined")
    assert page.evaluate("() => window.__csp") == ["script-src-elem inline"]
    assert any("Content Security Policy" in error for error in page_errors)
