"""Integrations settings page: forge and webhooks (write-only credentials), log, redeliver."""

import pytest
from django.contrib.auth import get_user_model

from ingest.models import Membership
from notify import services
from notify.models import Delivery, DeliveryAttempt, ForgeIntegration, Webhook
from notify.secrets import secret_decrypt
from tests.notify.conftest import head_run, make_project

pytestmark = pytest.mark.django_db
URL = "/p/shop/settings/integrations/"


@pytest.fixture
def project():
    return make_project()


@pytest.fixture
def admin(project):
    user = get_user_model().objects.create_user("admin")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def test_only_admins_see_the_page(client, project):
    assert client.get(URL).status_code == 302  # to the login page
    viewer = get_user_model().objects.create_user("viewer")
    Membership.objects.create(project=project, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    stranger = get_user_model().objects.create_user("stranger")
    client.force_login(stranger)
    assert client.get(URL).status_code == 404


def test_forge_token_is_write_only(signed_in, project):
    response = signed_in.post(
        URL + "forge/",
        {
            "forge-kind": "github",
            "forge-repo": "acme/shop",
            "forge-api_url": "",
            "forge-token": "ghp_topsecret",
            "forge-gates": ["new-failures", "flagged"],
        },
    )
    assert response.status_code == 302
    forge = ForgeIntegration.objects.get(project=project)
    assert secret_decrypt(forge.token_encrypted) == "ghp_topsecret"
    assert forge.gates == ["new-failures", "flagged"]
    page = signed_in.get(URL).content.decode()
    assert "ghp_topsecret" not in page and "token set (hidden)" in page
    # Saving again without a token keeps it.
    signed_in.post(
        URL + "forge/", {"forge-kind": "github", "forge-repo": "acme/other", "forge-token": ""}
    )
    forge.refresh_from_db()
    assert forge.repo == "acme/other" and secret_decrypt(forge.token_encrypted) == "ghp_topsecret"


def test_forge_needs_a_token_the_first_time(signed_in, project):
    response = signed_in.post(URL + "forge/", {"forge-kind": "github", "forge-repo": "acme/shop"})
    assert response.status_code == 200 and "A token is needed." in response.content.decode()
    assert not ForgeIntegration.objects.exists()


def test_add_webhook_url_and_secret_are_never_shown(signed_in, project):
    response = signed_in.post(
        URL + "webhooks/",
        {
            "hook-kind": "slack",
            "hook-url": "https://hooks.slack.com/services/T1/B2/SECRETPATH",
            "hook-events": ["regression", "target.reached"],
            "hook-secret": "",
        },
    )
    assert response.status_code == 302
    hook = Webhook.objects.get(project=project)
    assert hook.events == ["regression", "target.reached"]
    page = signed_in.get(URL).content.decode()
    assert "SECRETPATH" not in page and "https://hooks.slack.com" in page


def test_webhook_subscribes_to_lifecycle_events_from_the_form(signed_in, project):
    page = signed_in.get(URL).content.decode()
    for event in ("test.quarantined", "quarantine.expired", "digest.weekly"):
        assert f'value="{event}"' in page
    signed_in.post(
        URL + "webhooks/",
        {
            "hook-kind": "generic",
            "hook-url": "https://ci.example.com/hook",
            "hook-events": ["digest.weekly", "test.quarantined"],
        },
    )
    hook = Webhook.objects.get(project=project)
    assert hook.events == ["test.quarantined", "digest.weekly"]  # in EVENTS order
    signed_in.post(f"{URL}webhooks/{hook.pk}/", {"events": ["quarantine.expired"]})
    hook.refresh_from_db()
    assert hook.events == ["quarantine.expired"]


def test_delivery_log_names_a_lifecycle_events_test(signed_in, project, settings, receiver):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    hook = services.webhook_create(
        project=project, kind="generic", url=f"{receiver.url}/x", events=["test.quarantined"]
    )
    payload = {"project": "shop", "classname": "pkg.A", "name": "test_one", "url": ""}
    [delivery_id] = services.lifecycle_notify(
        event="test.quarantined", project_id=project.pk, payload=payload
    )
    services.delivery_send(delivery_id=delivery_id)
    detail = signed_in.get(f"{URL}webhooks/{hook.pk}/").content.decode()
    assert "<code>test.quarantined</code>" in detail
    assert '<td data-label="Run" class="name">pkg.A::test_one</td>' in detail
    assert "✓ 200" in detail


def test_disabled_webhook_shows_a_notice_and_can_be_enabled(signed_in, project):
    hook = services.webhook_create(
        project=project, kind="generic", url="https://h.example.com/x", events=["run.completed"]
    )
    Webhook.objects.filter(pk=hook.pk).update(
        is_active=False, disabled_reason="Disabled after 20 failed deliveries in a row; last: x"
    )
    page = signed_in.get(URL).content.decode()
    assert "disabled" in page and "Disabled after 20 failed deliveries in a row" in page
    detail = signed_in.get(f"{URL}webhooks/{hook.pk}/").content.decode()
    assert "This webhook is disabled" in detail
    signed_in.post(f"{URL}webhooks/{hook.pk}/enable/")
    hook.refresh_from_db()
    assert hook.is_active


def test_delivery_log_lists_attempts_and_redeliver_queues_again(
    signed_in, project, settings, receiver, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    hook = services.webhook_create(
        project=project, kind="generic", url=f"{receiver.url}/x", events=["run.completed"]
    )
    receiver.fail_next(410)
    [delivery_id] = services.run_notify(run_id=head_run(project).pk)
    services.delivery_send(delivery_id=delivery_id)
    detail = signed_in.get(f"{URL}webhooks/{hook.pk}/").content.decode()
    assert "HTTP 410" in detail and "run.completed" in detail and "Redeliver" in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"{URL}deliveries/{delivery_id}/redeliver/")
    assert response.status_code == 302
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.SUCCEEDED
    assert DeliveryAttempt.objects.filter(delivery_id=delivery_id).count() == 2
    assert len({r.headers["x-passline-delivery"] for r in receiver.requests}) == 1


def test_webhook_of_another_project_is_404(signed_in, project):
    from tests.factories import ProjectFactory

    other = ProjectFactory(slug="other")
    hook = services.webhook_create(
        project=other, kind="generic", url="https://h.example.com/x", events=["run.completed"]
    )
    assert signed_in.get(f"{URL}webhooks/{hook.pk}/").status_code == 404
    assert signed_in.post(f"{URL}webhooks/{hook.pk}/delete/").status_code == 404
    assert Webhook.objects.filter(pk=hook.pk).exists()


@pytest.mark.parametrize("hooks", [1, 4])
def test_integrations_page_query_count_does_not_grow_with_webhooks(
    signed_in, project, hooks, django_assert_num_queries
):
    services.forge_set(project=project, kind="github", repo="acme/shop", token="t")
    for i in range(hooks):
        services.webhook_create(
            project=project,
            kind="generic",
            url=f"https://h{i}.example.com/",
            events=["run.completed"],
        )
    for key in ("m2", "m3"):
        services.run_notify(run_id=head_run(project, key, hours=int(key[1])).pk)
    for delivery in Delivery.objects.all():
        DeliveryAttempt.objects.create(delivery=delivery, at=delivery.created_at, status_code=500)
    # session, user, the user's and their groups' permissions (may they administer every
    # project?), project (visible), admin membership, forge, webhooks, latest delivery
    # per webhook (subquery), those deliveries + runs, forge log + deliveries + runs, nav
    with django_assert_num_queries(12):
        assert signed_in.get(URL).status_code == 200


def test_redeliver_never_waits_for_the_broker(
    signed_in, project, settings, receiver, deliveries_handed, django_capture_on_commit_callbacks
):
    """With a broker, the request only hands the delivery to the background publisher."""
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    services.webhook_create(
        project=project, kind="generic", url=f"{receiver.url}/x", events=["run.completed"]
    )
    [delivery_id] = services.run_notify(run_id=head_run(project).pk)
    services.delivery_send(delivery_id=delivery_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"{URL}deliveries/{delivery_id}/redeliver/")
    assert response.status_code == 302
    assert deliveries_handed == [delivery_id]
