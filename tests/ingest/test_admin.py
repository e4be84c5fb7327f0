"""The ingest admin: pages load, tokens are read-only and can be revoked."""

import pytest
from django.urls import reverse

from ingest.models import ApiToken
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory, UploadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["project", "categoryrule", "apitoken", "run", "upload", "test", "result"]
)
def test_changelists_load(admin_client, model):
    UploadFactory()
    assert admin_client.get(reverse(f"admin:ingest_{model}_changelist")).status_code == 200


def test_token_page_shows_digest_read_only_and_no_plaintext(admin_client):
    row, plaintext = token_create(project=ProjectFactory(), scope="upload")
    page = admin_client.get(reverse("admin:ingest_apitoken_change", args=[row.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert row.digest in html
    assert 'name="digest"' not in html  # read-only, not an input
    assert plaintext not in html
    assert admin_client.get(reverse("admin:ingest_apitoken_add")).status_code == 403


def test_token_status_filter_and_revoke_action(admin_client):
    row, _ = token_create(project=ProjectFactory(), scope="read")
    url = reverse("admin:ingest_apitoken_changelist")
    assert row.prefix in admin_client.get(url, {"status": "active"}).content.decode()
    admin_client.post(url, {"action": "revoke", "_selected_action": [row.pk]})
    assert ApiToken.objects.get().revoked_at is not None
    assert row.prefix not in admin_client.get(url, {"status": "active"}).content.decode()
