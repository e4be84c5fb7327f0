"""``GET /api/v1/projects/<slug>/quarantine``: the project's quarantined tests.

JSON by default, ``{"tests": [...]}``; ``?format=text`` gives one ``classname::name``
a line for CI scripts. Access: an upload or read token of the project, a member, or
anybody for a public project (``ingest.auth.project_for_read``).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from dashboard.api.views import ERRORS, ProjectReadView
from dashboard.selectors.quarantine import quarantine_list, quarantine_text
from ingest.auth import project_for_read


class PlainTextRenderer(BaseRenderer):
    """Render a str as UTF-8 text (``?format=text``); errors as their detail line."""

    media_type = "text/plain"
    format = "text"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):
            data = f"{data.get('detail', data)}\n"
        return str(data).encode(self.charset)


class QuarantinedTestSerializer(serializers.Serializer):
    classname = serializers.CharField()
    name = serializers.CharField()
    file = serializers.CharField()
    category = serializers.CharField(allow_null=True)
    owners = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField()
    reason = serializers.CharField()
    by = serializers.CharField()
    since = serializers.DateTimeField()
    expires = serializers.DateTimeField(allow_null=True)


class QuarantineSerializer(serializers.Serializer):
    tests = QuarantinedTestSerializer(many=True)


class ProjectQuarantineView(ProjectReadView):
    renderer_classes = [JSONRenderer, PlainTextRenderer]

    def perform_content_negotiation(self, request, force=False):
        # ?format=text wins over any Accept header: CI scripts rarely set one right.
        if request.query_params.get("format") == "text":
            return PlainTextRenderer(), PlainTextRenderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="project_quarantine",
        summary="Quarantined tests of the project (JSON, or text with ?format=text)",
        parameters=[
            OpenApiParameter("format", str, enum=["json", "text"], description="text: lines")
        ],
        responses={
            200: OpenApiResponse(QuarantineSerializer, description="Quarantined tests."),
            **ERRORS,
        },
    )
    def get(self, request, slug: str):
        project = project_for_read(request, slug)
        text = request.accepted_renderer.format == "text"
        items = quarantine_list(project=project, owners=not text)
        if text:
            return Response(quarantine_text(items=items), content_type="text/plain; charset=utf-8")
        return Response({"tests": items})
