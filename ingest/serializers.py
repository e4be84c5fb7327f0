"""Validate upload metadata and describe API bodies for the OpenAPI schema."""

from django.core.validators import URLValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ingest.models import Run, Upload

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanField(serializers.Field):
    """Accept true/false/1/0/yes/no (any case); refuse anything else instead of guessing."""

    default_error_messages = {"invalid": "must be one of true, false, 1, 0, yes, no."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        text = str(data).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail("invalid")

    def to_representation(self, value):
        return bool(value)


@extend_schema_field(OpenApiTypes.INT)
class PullRequestField(serializers.Field):
    """Accept a pull/merge request number: digits only, 1 to 2**31 - 1 (no "7.0", "1e3")."""

    default_error_messages = {"invalid": "must be a positive integer (the PR/MR number)."}
    MAX = 2**31 - 1

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        text = str(data).strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= self.MAX:
            self.fail("invalid")
        return int(text)

    def to_representation(self, value):
        return value


def _max(model, field: str) -> int:
    return model._meta.get_field(field).max_length


class UploadMetadataSerializer(serializers.Serializer):
    """Metadata of an upload, from form fields or query parameters."""

    run = serializers.CharField(
        required=False, allow_blank=True, max_length=_max(Run, "key"), trim_whitespace=True
    )
    branch = serializers.CharField(required=False, allow_blank=True, max_length=_max(Run, "branch"))
    commit = serializers.CharField(required=False, allow_blank=True, max_length=_max(Run, "commit"))
    build_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=_max(Run, "build_url"),
        validators=[URLValidator(schemes=["http", "https"], message="must be an http(s) URL.")],
    )
    category = serializers.CharField(
        required=False, allow_blank=True, max_length=_max(Upload, "category")
    )
    final = StrictBooleanField(required=False, default=False)
    pr = PullRequestField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Number of the pull/merge request the run belongs to.",
    )
    base_commit = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=_max(Run, "base_commit"),
        help_text="Commit the pull request is based on: the verdict compares with its run.",
    )
    timestamp = serializers.DateTimeField(
        required=False, allow_null=True, default=None, input_formats=["iso-8601"]
    )

    def validate_run(self, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise serializers.ValidationError("must not contain control characters.")
        return value


class UploadFormSerializer(UploadMetadataSerializer):
    """The multipart form of POST /api/v1/uploads (schema only)."""

    file = serializers.ListField(child=serializers.FileField(), min_length=1)


class UploadAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Upload.Status.choices)
    url = serializers.CharField()
    run = serializers.CharField()


class CountsSerializer(serializers.Serializer):
    tests = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.IntegerField()
    skipped = serializers.IntegerField()
    flaky = serializers.IntegerField()


class UploadFileSerializer(serializers.Serializer):
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes as received (compressed if gzip).")
    sha256 = serializers.CharField()


class UploadStatusSerializer(UploadAcceptedSerializer):
    error = serializers.CharField(allow_null=True)
    error_line = serializers.IntegerField(allow_null=True)
    error_column = serializers.IntegerField(allow_null=True)
    counts = CountsSerializer()
    project = serializers.CharField(help_text="Slug of the upload's project.")
    final = serializers.BooleanField()
    category = serializers.CharField(allow_null=True)
    warnings = serializers.ListField(child=serializers.JSONField())
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    files = UploadFileSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="Machine-readable code, e.g. unauthorized.")
    detail = serializers.CharField(help_text="A human sentence saying what and why.")
