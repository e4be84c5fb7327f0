"""Render every API error as ``{"error": "<code>", "detail": "<sentence>"}``.

The exceptions below carry passline's error codes; DRF's own exceptions are mapped
to the same vocabulary so that clients only ever see one shape.
"""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

# One body for every bad credential, so that a caller cannot tell a revoked token
# from an unknown or a malformed one.
UNAUTHORIZED_DETAIL = (
    "Authentication required: send a valid API token as 'Authorization: Bearer <token>'."
)


class Unauthorized(exceptions.AuthenticationFailed):
    default_detail = UNAUTHORIZED_DETAIL
    default_code = "unauthorized"


class Forbidden(exceptions.PermissionDenied):
    default_detail = "This token may not do that."
    default_code = "forbidden"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is invalid."
    default_code = "bad_request"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with an earlier one."
    default_code = "idempotency_conflict"


class RunClosedConflict(Conflict):
    default_detail = "The run cannot take this part: it would change history."
    default_code = "run_closed"


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Send a Content-Length header; chunked request bodies are not supported."
    default_code = "length_required"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class UnsupportedMediaType(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "Unsupported content type."
    default_code = "unsupported_media_type"


class NotJUnit(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The file is not a JUnit XML report."
    default_code = "not_junit"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Storage is unavailable; retry later."
    default_code = "unavailable"

    def __init__(self, detail=None, *, retry_after: int = 30):
        super().__init__(detail)
        self.retry_after = retry_after


# DRF's built-in exceptions, renamed into passline's vocabulary.
_CODES = [
    ((exceptions.NotAuthenticated, exceptions.AuthenticationFailed), "unauthorized"),
    ((exceptions.PermissionDenied,), "forbidden"),
    ((exceptions.NotFound, Http404), "not_found"),
    ((exceptions.Throttled,), "rate_limited"),
    ((exceptions.ValidationError, exceptions.ParseError), "bad_request"),
    ((exceptions.MethodNotAllowed,), "method_not_allowed"),
    ((exceptions.UnsupportedMediaType,), "unsupported_media_type"),
    ((exceptions.NotAcceptable,), "not_acceptable"),
]
_PASSLINE = (
    Unauthorized,
    Forbidden,
    BadRequest,
    Conflict,
    LengthRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    NotJUnit,
    ServiceUnavailable,
)


def _code(exc) -> str:
    if isinstance(exc, _PASSLINE):
        return exc.default_code
    for classes, code in _CODES:
        if isinstance(exc, classes):
            return code
    return str(getattr(exc, "default_code", "error"))


def _sentence(data) -> str:
    """Flatten DRF's error data (str, list or field dict) into one sentence."""
    if isinstance(data, dict):
        if "detail" in data and len(data) == 1:
            return _sentence(data["detail"])
        return " ".join(
            f"{field}: {_sentence(value)}" if field != "non_field_errors" else _sentence(value)
            for field, value in data.items()
        )
    if isinstance(data, list | tuple):
        return " ".join(_sentence(item) for item in data)
    return str(data)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = _code(exc)
    if code == "unauthorized":
        detail = UNAUTHORIZED_DETAIL
    elif isinstance(exc, Http404):
        # Django's message names the model ("No Upload matches the given query.").
        detail = "Not found."
    else:
        detail = _sentence(response.data)
    response.data = {"error": code, "detail": detail}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(int(retry_after))
    return response
