"""Upload endpoints of HTTP API v1: POST /api/v1/uploads and GET /api/v1/uploads/<id>."""

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.api import intake
from ingest.api.schema import METADATA_PARAMETERS, error_examples, error_responses
from ingest.api.throttles import UploadRateThrottle
from ingest.api_errors import (
    BadRequest,
    Conflict,
    RunClosedConflict,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from ingest.auth import BearerTokenAuthentication, HasToken, HasUploadScope, request_token
from ingest.models import Upload
from ingest.runs import RunClosed
from ingest.serializers import (
    UploadAcceptedSerializer,
    UploadFormSerializer,
    UploadMetadataSerializer,
    UploadStatusSerializer,
)
from ingest.services.uploads import upload_create, upload_fingerprint, upload_status

MAX_IDEMPOTENCY_KEY = 255
STORAGE_RETRY_SECONDS = 30


class UploadCreateView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasUploadScope]
    throttle_classes = [UploadRateThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="upload_create",
        summary="Upload one or more test reports",
        description=(
            "Send `multipart/form-data` with one or more `file` fields, or a raw body "
            "with `Content-Type: application/xml`, `text/xml`, `application/json`, "
            "`application/x-ndjson` or `application/gzip`. Each report is JUnit XML, "
            "NUnit 2 or 3, xUnit.net v1 or v2, VSTest TRX, CTRF JSON or `go test -json` "
            "(recognised from its content, not its name), plain or gzipped. Metadata "
            "come from form fields or, for a raw body, "
            "query parameters. Uploads with the same `run` are parts of one run; "
            "`final=true` completes it. The project is always the token's own. More "
            "files than PASSLINE_MAX_FILES_PER_UPLOAD get 413. A part for the project's "
            "baseline run, or for a run completed more than PASSLINE_RUN_REOPEN_MINUTES "
            "ago, and a `timestamp` before the baseline run get 409 `run_closed`. 202 "
            "means the upload is committed; processing is queued after that, whatever "
            "the broker does. 503 (with Retry-After) only when the database or the "
            "raw-upload storage is down: nothing was stored."
        ),
        request={
            "multipart/form-data": UploadFormSerializer,
            "application/xml": OpenApiTypes.BINARY,
            "application/json": OpenApiTypes.BINARY,
            "application/x-ndjson": OpenApiTypes.BINARY,
            "application/gzip": OpenApiTypes.BINARY,
        },
        parameters=[
            *METADATA_PARAMETERS,
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Repeat with the same key and body: the original response, "
                "200. Same key, other body: 409.",
            ),
        ],
        responses={
            202: OpenApiResponse(UploadAcceptedSerializer, "Stored durably and queued."),
            200: OpenApiResponse(
                UploadAcceptedSerializer, "A repeat of an Idempotency-Key: the original body."
            ),
            **error_responses(400, 401, 403, 409, 411, 413, 415, 422, 429, 503),
        },
        examples=[
            OpenApiExample(
                "Accepted",
                value={"id": 42, "status": "queued", "url": "/api/v1/uploads/42", "run": "1234"},
                response_only=True,
                status_codes=["202", "200"],
            ),
            *error_examples(400, 401, 403, 409, 411, 413, 415, 422, 429, 503),
        ],
    )
    def post(self, request):
        token = request_token(request)
        intake.check_declared_length(request.META)
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type == "multipart/form-data":
            files = intake.multipart_files(request)
            if not files:
                raise BadRequest("Send at least one report in a 'file' form field.")
            reports = [intake.report_from_upload(f) for f in files]
            source = request.data if request.data else request.query_params
        elif media_type in intake.RAW_TYPES:
            reports = [intake.read_raw_body(request._request, media_type)]
            source = request.query_params
        else:
            raise UnsupportedMediaType(
                f"Unsupported Content-Type {media_type or '(none)'!r}: use multipart/form-data "
                f"or a raw body of type {', '.join(sorted(intake.RAW_TYPES))}."
            )
        metadata = _metadata(source, request.query_params)
        key = _idempotency_key(request)
        fingerprint = upload_fingerprint(metadata=metadata, reports=reports)
        if key is not None:
            replay = _replay(token, key, fingerprint)
            if replay is not None:
                return replay
        for report in reports:
            intake.check_report(report)
        try:
            upload = upload_create(
                project=token.project,
                reports=reports,
                run_key=metadata["run"] or None,
                branch=metadata["branch"],
                commit=metadata["commit"],
                build_url=metadata["build_url"],
                pr=metadata["pr"],
                base_commit=metadata["base_commit"],
                category=metadata["category"],
                final=metadata["final"],
                timestamp=metadata["timestamp"],
                token=token,
                idempotency_key=key,
                fingerprint=fingerprint,
            )
        except IntegrityError:
            # A concurrent request with the same key won the race; answer like a repeat.
            replay = _replay(token, key, fingerprint) if key is not None else None
            if replay is None:
                raise
            return replay
        except RunClosed as exc:
            raise RunClosedConflict(exc.detail) from None
        except OSError:
            raise ServiceUnavailable(
                "Storage for raw uploads is unavailable; nothing was stored. Retry later.",
                retry_after=STORAGE_RETRY_SECONDS,
            ) from None
        response = Response(upload.response, status=status.HTTP_202_ACCEPTED)
        response["Location"] = upload.response["url"]
        return response


def _metadata(source, query) -> dict:
    """Return validated metadata; form fields win over query parameters."""
    fields = UploadMetadataSerializer._declared_fields
    data = {}
    for name in fields:
        value = source.get(name) if name in source else query.get(name)
        # An empty `pr` (a CI variable that is set but blank) means none.
        if value is not None and not (name == "pr" and value == ""):
            data[name] = value
    serializer = UploadMetadataSerializer(data=data)
    if not serializer.is_valid():
        raise BadRequest(_first_errors(serializer.errors))
    values = dict(serializer.validated_data)
    for name in ("run", "branch", "commit", "build_url", "category", "base_commit"):
        values[name] = values.get(name, "").strip()
    return values


def _first_errors(errors: dict) -> str:
    return " ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in errors.items())


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(
            f"The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters."
        )
    return key


def _replay(token, key: str, fingerprint: str) -> Response | None:
    """Answer a repeated Idempotency-Key: the stored response, or 409 for another body."""
    original = Upload.objects.filter(project=token.project, idempotency_key=key).first()
    if original is None:
        return None
    if original.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body or "
            "metadata; use a new key for a new upload."
        )
    return Response(original.response, status=status.HTTP_200_OK)


class UploadDetailView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasToken]

    @extend_schema(
        operation_id="upload_detail",
        summary="Status and counts of one upload",
        description="Any token (upload or read) of the upload's project. Uploads of other "
        "projects answer 404.",
        responses={200: UploadStatusSerializer, **error_responses(401, 404)},
        examples=[
            OpenApiExample(
                "Processed",
                value={
                    "id": 42,
                    "status": "processed",
                    "error": None,
                    "error_line": None,
                    "error_column": None,
                    "counts": {
                        "tests": 738,
                        "passed": 621,
                        "failed": 90,
                        "error": 3,
                        "skipped": 24,
                        "flaky": 5,
                    },
                    "run": "1234",
                    "project": "shop",
                    "final": True,
                    "category": None,
                    "url": "/api/v1/uploads/42",
                    "warnings": [],
                    "attempts": 1,
                    "created_at": "2026-11-24T10:00:00Z",
                    "processed_at": "2026-11-24T10:00:02Z",
                    "files": [
                        {
                            "filename": "report.xml",
                            "content_type": "application/xml",
                            "size": 120431,
                            "sha256": "9f86d081" * 8,
                        }
                    ],
                },
                response_only=True,
                status_codes=["200"],
            ),
            *error_examples(401, 404),
        ],
    )
    def get(self, request, upload_id: int):
        token = request_token(request)
        upload = (
            Upload.objects.select_related("run", "project")
            .prefetch_related("files")
            .filter(pk=upload_id, project_id=token.project_id)
            .first()
        )
        if upload is None:
            raise NotFound()
        return Response(upload_status(upload))
