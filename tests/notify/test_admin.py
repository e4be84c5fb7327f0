"""The admin lists integrations and deliveries without showing any credential."""

import pytest
from django.contrib.auth import get_user_model

from notify import services
from tests.notify.conftest import head_run

pytestmark = pytest.mark.django_db


def test_admin_pages_never_show_credentials(client, project):
    hook = services.webhook_create(
        project=project,
        kind="slack",
        url="https://hooks.slack.com/services/T/B/SECRETPATH",
        events=["run.completed"],
        secret="shh-secret",
    )
    services.forge_set(project=project, kind="github", repo="acme/shop", token="ghp_admin_secret")
    services.run_notify(run_id=head_run(project).pk)
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "x"))
    pages = [
        "/admin/notify/webhook/",
        f"/admin/notify/webhook/{hook.pk}/change/",
        "/admin/notify/forgeintegration/",
        "/admin/notify/delivery/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for secret in ("SECRETPATH", "shh-secret", "ghp_admin_secret"):
            assert secret not in body, (url, secret)
