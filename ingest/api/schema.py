"""OpenAPI pieces shared by the ingest views: error bodies, examples, parameters."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from ingest.api_errors import UNAUTHORIZED_DETAIL
from ingest.serializers import ErrorSerializer

_ERRORS = {
    400: ("bad_request", "final: must be one of true, false, 1, 0, yes, no."),
    401: ("unauthorized", UNAUTHORIZED_DETAIL),
    403: ("forbidden", "A read token cannot upload; create a token with --scope upload."),
    404: ("not_found", "Not found."),
    409: (
        "idempotency_conflict",
        "This Idempotency-Key was already used with a different request body or metadata; "
        "use a new key for a new upload.",
    ),
    411: (
        "length_required",
        "Send a Content-Length header; chunked request bodies are not supported.",
    ),
    413: (
        "too_large",
        "The upload is larger than the limit of 52428800 bytes (PASSLINE_MAX_UPLOAD_BYTES).",
    ),
    415: (
        "unsupported_media_type",
        "Unsupported Content-Type 'text/plain': use multipart/form-data, application/xml, "
        "text/xml or application/gzip.",
    ),
    422: (
        "not_junit",
        "report.xml was refused: line 3, column 7: Opening and ending tag "
        "mismatch: testcase line 2 and testsuite",
    ),
    429: ("rate_limited", "Request was throttled. Expected available in 12 seconds."),
    503: ("unavailable", "Storage for raw uploads is unavailable; nothing was stored."),
}
_HEADERS_NOTE = {
    401: " Sent with `WWW-Authenticate: Bearer`.",
    429: " Sent with `Retry-After` (seconds).",
    503: " Sent with `Retry-After` (seconds).",
}


def error_examples(*codes: int) -> list[OpenApiExample]:
    """Return one example error body for each of these HTTP status codes."""
    return [
        OpenApiExample(
            f"Error {code}",
            value={"error": _ERRORS[code][0], "detail": _ERRORS[code][1]},
            response_only=True,
            status_codes=[str(code)],
        )
        for code in codes
    ]


def error_responses(*codes: int) -> dict:
    """Return drf-spectacular responses for these HTTP error codes."""
    return {
        code: OpenApiResponse(
            ErrorSerializer, f"`{_ERRORS[code][0]}`.{_HEADERS_NOTE.get(code, '')}"
        )
        for code in codes
    }


METADATA_PARAMETERS = [
    OpenApiParameter(name, type_, OpenApiParameter.QUERY, description=text)
    for name, type_, text in [
        ("run", str, "Run key (e.g. the pipeline id); default: a new run per upload."),
        ("branch", str, "Branch name."),
        ("commit", str, "Commit SHA."),
        ("build_url", str, "Link to the CI build (http or https)."),
        ("category", str, "Put every result of this upload in this category."),
        ("final", bool, "true/false/1/0/yes/no: this part completes the run."),
        ("pr", int, "Pull/merge request number (a positive integer)."),
        ("base_commit", str, "The PR's base commit: its run is the verdict's base."),
        ("timestamp", str, "ISO 8601 start time; default: the report's own, else now."),
    ]
]
