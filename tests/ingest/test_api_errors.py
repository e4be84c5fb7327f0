"""Every API error renders as {"error": code, "detail": sentence}."""

import pytest
from django.http import Http404
from rest_framework import exceptions

from ingest.api_errors import (
    UNAUTHORIZED_DETAIL,
    Conflict,
    ServiceUnavailable,
    exception_handler,
)


@pytest.mark.parametrize(
    ("exc", "status", "code", "detail"),
    [
        (exceptions.NotAuthenticated(), 401, "unauthorized", UNAUTHORIZED_DETAIL),
        (
            exceptions.AuthenticationFailed("token revoked"),
            401,
            "unauthorized",
            UNAUTHORIZED_DETAIL,
        ),
        (exceptions.PermissionDenied("nope"), 403, "forbidden", "nope"),
        (Http404("No Upload matches the given query."), 404, "not_found", "Not found."),
        (
            exceptions.NotFound("No run 'abc' in this project."),
            404,
            "not_found",
            "No run 'abc' in this project.",
        ),
        (
            exceptions.ValidationError({"branch": ["too long."], "since": ["bad date."]}),
            400,
            "bad_request",
            "branch: too long. since: bad date.",
        ),
        (exceptions.ValidationError(["one", "two"]), 400, "bad_request", "one two"),
        (
            exceptions.MethodNotAllowed("PUT"),
            405,
            "method_not_allowed",
            'Method "PUT" not allowed.',
        ),
        (Conflict(), 409, "idempotency_conflict", "The request conflicts with an earlier one."),
    ],
)
def test_errors_have_one_shape(exc, status, code, detail):
    response = exception_handler(exc, {})
    assert response.status_code == status
    assert response.data == {"error": code, "detail": detail}


def test_retry_after_headers():
    assert exception_handler(ServiceUnavailable(retry_after=7), {})["Retry-After"] == "7"
    assert exception_handler(exceptions.Throttled(wait=12), {})["Retry-After"] == "12"


def test_non_api_exceptions_are_left_to_django():
    assert exception_handler(ValueError("boom"), {}) is None
