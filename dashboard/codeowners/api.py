"""PUT/GET /api/v1/projects/<slug>/codeowners: CI sends the repository's CODEOWNERS.

PUT needs an upload token of the project (the file as the raw body, any text content
type); GET reads it back with a read or upload token, a member's session, or anybody
for a public project.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.analytics.owners import parse
from dashboard.codeowners.services import CodeOwnersRefused, codeowners_decode, codeowners_set
from dashboard.models import CodeOwners
from dashboard.selectors.owners import codeowners_row_get
from ingest.api_errors import BadRequest, PayloadTooLarge
from ingest.auth import BearerTokenAuthentication, HasUploadScope, project_for_read, request_token


def _body(row: CodeOwners | None, slug: str) -> dict:
    parsed = parse(row.text if row else "")
    return {
        "project": slug,
        "rules": len(parsed.rules),
        "owners": parsed.owners,
        "problems": [{"line": p.line, "text": p.text, "reason": p.reason} for p in parsed.problems],
        "sha256": row.sha256 if row else None,
        "source": row.source if row else None,
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z") if row else None,
    }


class CodeOwnersView(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes: list = []
    parser_classes: list = []

    def get_permissions(self):
        return [HasUploadScope()] if self.request.method == "PUT" else []

    @extend_schema(
        operation_id="project_codeowners_get",
        summary="The project's CODEOWNERS: rules, owners and skipped lines",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, slug: str):
        project = project_for_read(request, slug)
        return Response(_body(codeowners_row_get(project=project), project.slug))

    @extend_schema(
        operation_id="project_codeowners_set",
        summary="Replace the project's CODEOWNERS (the file as the raw body)",
        description=(
            "GitHub syntax: patterns, last match wins, `#` comments, @user, @org/team or "
            "e-mail owners. Lines GitHub would reject are skipped and listed in "
            "`problems`. An empty body removes all ownership. Larger than "
            "PASSLINE_CODEOWNERS_MAX_BYTES (3 MB): 413; not UTF-8: 400."
        ),
        request={"text/plain": OpenApiTypes.STR},
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(description="Not UTF-8 text."),
            403: OpenApiResponse(description="A read token."),
            413: OpenApiResponse(description="Too large."),
        },
    )
    def put(self, request, slug: str):
        token = request_token(request)
        if token.project.slug != slug:
            raise NotFound()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.PASSLINE_CODEOWNERS_MAX_BYTES:
            raise PayloadTooLarge(
                f"CODEOWNERS is {declared} bytes; the limit is "
                f"{settings.PASSLINE_CODEOWNERS_MAX_BYTES} (PASSLINE_CODEOWNERS_MAX_BYTES)."
            )
        try:
            text = codeowners_decode(request.body)
            row, _ = codeowners_set(project=token.project, text=text, source="api")
        except CodeOwnersRefused as exc:
            if "limit" in str(exc) or "larger" in str(exc):
                raise PayloadTooLarge(str(exc)) from exc
            raise BadRequest(str(exc)) from exc
        return Response(_body(row, slug))
