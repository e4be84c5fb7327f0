"""A database outage answers 503 (JSON for the API, a plain page otherwise), never 500."""

from unittest import mock

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.test import RequestFactory

from passline.unavailable import server_error
from tests.ingest.upload_api_helpers import REPORT

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.raise_request_exception = False  # answer like production: handler500 runs
    return client


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_gets_json_503_with_retry_after(client, error):
    with mock.patch(
        "ingest.auth.BearerTokenAuthentication.authenticate",
        side_effect=error("connection refused"),
    ):
        response = client.post(
            "/api/v1/uploads",
            REPORT,
            content_type="application/xml",
            headers={"Authorization": "Bearer x"},
        )
    assert response.status_code == 503
    assert response.json() == {
        "error": "unavailable",
        "detail": "The database is unavailable; nothing was stored. Retry later.",
    }
    assert response["Retry-After"] == "30"


def test_database_lost_while_storing_an_upload_is_503(client):
    from ingest.services.tokens import token_create
    from tests.factories import ProjectFactory

    _, secret = token_create(project=ProjectFactory(), scope="upload", name="ci")
    with mock.patch(
        "ingest.api.views.upload_create", side_effect=OperationalError("server closed")
    ):
        response = client.post(
            "/api/v1/uploads",
            REPORT,
            content_type="application/xml",
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def test_pages_get_a_plain_503_page(client):
    with mock.patch(
        "django.contrib.auth.get_user", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert b"briefly unavailable" in response.content
    assert b"Server Error (500)" not in response.content


def test_outage_outside_a_view_is_a_503_too():
    request = RequestFactory().get("/p/shop/")
    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert b"briefly unavailable" in response.content


def test_other_database_errors_stay_500():
    request = RequestFactory().get("/")
    try:
        raise IntegrityError("duplicate key")
    except IntegrityError:
        response = server_error(request)
    assert response.status_code == 500
