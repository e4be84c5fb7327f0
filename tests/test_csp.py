"""Every page carries the Content-Security-Policy and runs no inline script.

A page may embed data in ``<script type="application/json">`` (never executed); any
other ``<script>`` must load a file (``src``), and no element may carry an inline event
handler (``onclick=``…) or a ``javascript:`` URL. The browser test in tests/browser
checks that Chromium enforces the header and draws the charts under it.
"""

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from lxml import html

from ingest.models import Membership, Test
from tests.dashboard.test_pages_data import XSS, build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

DATA_TYPES = {"application/json", "application/ld+json"}


def inline_script_problems(body: bytes) -> list[str]:
    """Return what in the HTML `body` would run inline (empty when none)."""
    tree = html.fromstring(body)
    problems = []
    for script in tree.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if kind in DATA_TYPES:
            continue
        if not script.get("src") or (script.text or "").strip():
            problems.append(f"inline <script>: {(script.text or '')[:60]!r}")
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                problems.append(f"<{element.tag} {name}=…>")
            if value.strip().lower().startswith("javascript:"):
                problems.append(f"<{element.tag} {name}={value[:40]!r}>")
    return problems


def test_checker_finds_inline_scripts_and_handlers():
    # Guards the check itself: without this a broken parser would pass every page.
    page = (
        b'<html><body><script>alert(1)</script><script src="/a.js"></script>'
        b'<script type="application/json">{"a": 1}</script>'
        b'<a href="javascript:x()">x</a><button onclick="x()">b</button></body></html>'
    )
    assert len(inline_script_problems(page)) == 3


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", name="Shop", is_public=False)
    build_history(project, n_runs=4, categories=("Auth", XSS))
    return project


@pytest.fixture
def superuser(shop):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    Membership.objects.create(project=shop, user=user, role=Membership.Role.ADMIN)
    return user


def app_pages(shop) -> list[str]:
    test = Test.objects.filter(project=shop).first()
    pages = [
        "/",
        "/p/shop/",
        "/p/shop/c/Auth/",
        "/p/shop/runs/r3/",
        f"/p/shop/tests/{test.pk}/",
        "/p/shop/compare/",
        "/p/shop/report/",
        "/api/docs/",
    ]
    settings_pages = ["", "categories/", "rules/", "tokens/", "uploads/", "members/"]
    return pages + [f"/p/shop/settings/{page}" for page in settings_pages]


def admin_pages(shop) -> list[str]:
    pages = [reverse("admin:index")]
    for model, _ in admin.site._registry.items():
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            )
    return pages


def assert_page_is_clean(response, path: str) -> None:
    assert response.status_code == 200, path
    assert response["Content-Security-Policy"] == settings.PASSLINE_CSP, path
    if response["Content-Type"].startswith("text/html"):
        assert inline_script_problems(response.content) == [], path


def test_signed_out_pages_and_sign_in_forms(client, shop):
    shop.is_public = True
    shop.save()
    for path in ["/", "/p/shop/", "/accounts/login/", "/admin/login/", "/api/docs/"]:
        assert_page_is_clean(client.get(path), path)


def test_every_app_and_admin_page_of_a_superuser(client, shop, superuser):
    client.force_login(superuser)
    for path in app_pages(shop):
        assert_page_is_clean(client.get(path), path)
    checked = 0
    for path in admin_pages(shop):
        response = client.get(path)
        if response.status_code == 403:  # e.g. tokens are added with createtoken only
            continue
        assert_page_is_clean(response, path)
        checked += 1
    assert checked > 25


def test_swagger_ui_start_up_code_is_a_script_file(client):
    page = client.get("/api/docs/")
    (src,) = [s.get("src") for s in html.fromstring(page.content).iter("script")][-1:]
    script = client.get(src)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_api_responses_carry_the_policy_too(client):
    response = client.get("/api/v1/uploads/1")
    assert response["Content-Security-Policy"] == settings.PASSLINE_CSP


def test_policy_allows_no_inline_or_eval_script():
    policy = dict(
        part.strip().split(" ", 1) for part in settings.PASSLINE_CSP.split(";") if part.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "default-src" in policy
