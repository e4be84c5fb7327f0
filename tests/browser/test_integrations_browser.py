"""The Integrations settings page in a real Chromium: connect, add, see the log, redeliver."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from ingest.models import Membership
from notify import services
from notify.models import Delivery
from tests.notify.conftest import head_run, make_project
from tests.notify.servers import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_page(new_page, live_server, user):
    client = Client()
    client.force_login(user)
    page = new_page()
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return page


def test_admin_connects_a_forge_adds_a_webhook_and_redelivers(
    live_server, new_page, page_errors, artifacts_dir, settings
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    settings.SESSION_COOKIE_SECURE = False
    project = make_project()
    user = get_user_model().objects.create_user("admin")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    page = signed_in_page(new_page, live_server, user)
    page.goto(f"{live_server.url}/p/shop/settings/integrations/")
    assert page.locator(".settings-tabs [aria-current=page]").inner_text() == "Integrations"

    form = page.locator("#forge-form")
    form.get_by_label("Repository or project").fill("acme/shop")
    form.get_by_label("Token").fill("ghp_from_the_browser")
    form.get_by_role("button", name="Connect forge").click()
    page.wait_for_selector("text=Forge integration saved.")
    assert "token set (hidden)" in page.locator(".forge-current").inner_text()
    assert page.locator("#id_forge-token").input_value() == ""  # write-only

    with Receiver() as receiver:
        hooks = page.locator("#webhook-form")
        hooks.get_by_label("Kind").select_option("generic")
        hooks.get_by_label("URL").fill(f"{receiver.url}/hook")
        hooks.get_by_label("run.completed: every completed run").check()
        hooks.get_by_role("button", name="Add webhook").click()
        page.wait_for_selector("text=Webhook added.")
        assert page.locator("table.webhooks tbody tr").count() == 1
        assert receiver.url not in page.content()
        page.screenshot(path=artifacts_dir / "integrations.png", full_page=True)

        receiver.fail_next(500)
        run = head_run(project)
        for delivery_id in services.run_notify(run_id=run.pk):
            services.delivery_send(delivery_id=delivery_id)
        page.get_by_role("link", name="Log").click()
        row = page.locator("table.delivery-log tbody tr").first
        assert "HTTP 500" in row.inner_text()
        row.get_by_role("button", name="Redeliver").click()
        page.wait_for_selector("text=queued again")
        page.wait_for_function("document.querySelectorAll('table.delivery-log tbody tr').length")
        assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED
        page.reload()
        assert "✓ 200" in page.locator("table.delivery-log tbody tr").first.inner_text()
        assert len(receiver.requests) == 2
    page.screenshot(path=artifacts_dir / "integrations-log.png", full_page=True)
    assert page_errors == []


def test_a_disabled_webhook_shows_its_notice(live_server, new_page, page_errors, settings):
    settings.SESSION_COOKIE_SECURE = False
    project = make_project()
    user = get_user_model().objects.create_user("admin")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    hook = services.webhook_create(
        project=project, kind="slack", url="https://hooks.slack.com/x", events=["regression"]
    )
    type(hook).objects.filter(pk=hook.pk).update(
        is_active=False, disabled_reason="Disabled after 20 failed deliveries in a row; last: 404"
    )
    page = signed_in_page(new_page, live_server, user)
    page.goto(f"{live_server.url}/p/shop/settings/integrations/")
    notice = page.get_by_role("alert")
    assert "Disabled after 20 failed deliveries in a row" in notice.inner_text()
    page.get_by_role("button", name="Enable").click()
    page.wait_for_selector("text=Webhook enabled again.")
    assert page.get_by_role("alert").count() == 0
    assert page_errors == []
