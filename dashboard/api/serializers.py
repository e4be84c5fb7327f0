"""Serializers of the analytics API: query-parameter checks and response shapes.

Responses are built by selectors as plain dicts; the response serializers here
describe them for the OpenAPI document (and render the runs list).
"""

from rest_framework import serializers

from dashboard.analytics.targets import pass_rate
from dashboard.analytics.trends import iso


class SummaryQuerySerializer(serializers.Serializer):
    branch = serializers.CharField(required=False, max_length=255)


class RunsQuerySerializer(serializers.Serializer):
    branch = serializers.CharField(required=False, max_length=255)
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601; runs started at or after."
    )
    until = serializers.DateTimeField(
        required=False, help_text="ISO 8601; runs started at or before."
    )

    def validate(self, attrs):
        if "since" in attrs and "until" in attrs and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError("since must not be after until.")
        return attrs


class CompareQuerySerializer(serializers.Serializer):
    base = serializers.CharField(
        required=False, max_length=255, help_text="Run key; default: the project's baseline."
    )
    head = serializers.CharField(
        required=False,
        max_length=255,
        help_text="Run key; default: the latest complete run on the default branch.",
    )


class ResultCountsSerializer(serializers.Serializer):
    tests = serializers.IntegerField(help_text="The total (skipped included unless excluded).")
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.IntegerField()
    skipped = serializers.IntegerField()
    flaky = serializers.IntegerField()


class RunFlagsSerializer(serializers.Serializer):
    incomplete = serializers.BooleanField()
    denominator = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class BaselineSerializer(serializers.Serializer):
    run = serializers.CharField()
    pass_rate = serializers.FloatField(allow_null=True)
    passed = serializers.IntegerField()
    total = serializers.IntegerField()


class FiguresSerializer(serializers.Serializer):
    pass_rate = serializers.FloatField(allow_null=True, help_text="Fraction 0..1.")
    passed = serializers.IntegerField()
    total = serializers.IntegerField()
    counts = ResultCountsSerializer()
    target = serializers.FloatField(help_text="Fraction 0..1.")
    target_due = serializers.DateField(allow_null=True)
    target_reached = serializers.BooleanField()
    tests_needed = serializers.IntegerField(help_text="max(0, ceil(target x total) - passed).")
    baseline = BaselineSerializer(allow_null=True)
    progress = serializers.FloatField(
        allow_null=True, help_text="(rate - baseline rate) / (target - baseline rate), 0..1."
    )
    progress_note = serializers.CharField(help_text="Why progress is capped or null.")
    not_passing = serializers.IntegerField(help_text="total - passed.")
    change = serializers.FloatField(
        allow_null=True, help_text="Pass rate minus the baseline's pass rate (fraction)."
    )
    trend_per_week = serializers.FloatField(
        allow_null=True, help_text="Theil-Sen slope, pass-rate fraction per week."
    )
    eta = serializers.DateTimeField(allow_null=True)
    on_track = serializers.BooleanField()
    needed_per_week = serializers.FloatField(
        allow_null=True, help_text="Tests per week that must start passing to meet the due date."
    )


class CategoryFiguresSerializer(FiguresSerializer):
    name = serializers.CharField()
    category_id = serializers.IntegerField()
    quarantined = serializers.IntegerField(
        help_text="Quarantined tests of the category now (still counted as not passing)."
    )


class RunRefSerializer(serializers.Serializer):
    key = serializers.CharField()
    started_at = serializers.DateTimeField()
    commit = serializers.CharField()
    build_url = serializers.CharField()


class SummarySerializer(FiguresSerializer):
    project = serializers.CharField()
    branch = serializers.CharField()
    quarantined = serializers.IntegerField(
        help_text="Quarantined tests of the project now (still counted as not passing)."
    )
    run = RunRefSerializer(allow_null=True)
    flags = RunFlagsSerializer()
    categories = CategoryFiguresSerializer(many=True)


class RunItemSerializer(serializers.Serializer):
    """One run of the runs list, from its rollup (a ``RunStats`` with its run)."""

    def to_representation(self, stats) -> dict:
        run = stats.run
        return {
            "run": run.key,
            "branch": run.branch,
            "commit": run.commit,
            "build_url": run.build_url,
            "pr": run.pr,
            "started_at": iso(run.started_at),
            "is_complete": run.is_complete,
            "pass_rate": pass_rate(passed=stats.passed, total=stats.total),
            "counts": {
                "tests": stats.total,
                "passed": stats.passed,
                "failed": stats.failed,
                "error": stats.error,
                "skipped": stats.skipped,
                "flaky": stats.flaky,
            },
            "duration": stats.duration,
            "flags": {
                "incomplete": stats.flag_incomplete,
                "denominator": stats.flag_denominator,
                "reasons": list(stats.flag_reasons),
            },
        }


class RunItemSchemaSerializer(serializers.Serializer):
    run = serializers.CharField()
    branch = serializers.CharField()
    commit = serializers.CharField()
    build_url = serializers.CharField()
    pr = serializers.IntegerField(allow_null=True, help_text="Pull/merge request number.")
    started_at = serializers.DateTimeField()
    is_complete = serializers.BooleanField()
    pass_rate = serializers.FloatField(allow_null=True)
    counts = ResultCountsSerializer()
    duration = serializers.FloatField(help_text="Seconds, summed over results.")
    flags = RunFlagsSerializer()


class CompareFiguresSerializer(serializers.Serializer):
    fixed = serializers.IntegerField()
    regressed = serializers.IntegerField()
    added_passing = serializers.IntegerField()
    added_not_passing = serializers.IntegerField()
    removed_passing = serializers.IntegerField()
    removed_not_passing = serializers.IntegerField()
    newly_skipped = serializers.IntegerField()
    flaky = serializers.IntegerField(help_text="Tests flaky in the head run.")
    moved_in = serializers.IntegerField()
    moved_out = serializers.IntegerField()
    base_passed = serializers.IntegerField()
    head_passed = serializers.IntegerField()
    delta_passed = serializers.IntegerField()
    base_total = serializers.IntegerField()
    head_total = serializers.IntegerField()


class CompareCategorySerializer(CompareFiguresSerializer):
    name = serializers.CharField()


class CompareRunSerializer(serializers.Serializer):
    run = serializers.CharField()
    started_at = serializers.DateTimeField()
    passed = serializers.IntegerField()
    total = serializers.IntegerField()
    pass_rate = serializers.FloatField(allow_null=True)


class ChangeSerializer(serializers.Serializer):
    test_id = serializers.IntegerField()
    classname = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    change = serializers.CharField()
    base_outcome = serializers.CharField(allow_null=True)
    head_outcome = serializers.CharField(allow_null=True)


class CompareSerializer(serializers.Serializer):
    base = CompareRunSerializer()
    head = CompareRunSerializer()
    overall = CompareFiguresSerializer()
    categories = CompareCategorySerializer(many=True)
    identity = serializers.CharField()
    identity_holds = serializers.BooleanField()
    changes = ChangeSerializer(many=True)
    changes_total = serializers.IntegerField()
    changes_truncated = serializers.BooleanField()


class VerdictRunSerializer(serializers.Serializer):
    run = serializers.CharField()
    branch = serializers.CharField()
    commit = serializers.CharField()


class VerdictTestSerializer(serializers.Serializer):
    test_id = serializers.IntegerField()
    classname = serializers.CharField()
    name = serializers.CharField()
    file = serializers.CharField()
    category = serializers.CharField()
    owners = serializers.ListField(child=serializers.CharField(), help_text="Empty until owners.")
    outcome = serializers.CharField(help_text="passed, failed, error or skipped (in this run).")
    message = serializers.CharField(help_text="First line of the failure message (200 chars).")
    failing_since = serializers.CharField(
        allow_null=True,
        help_text="New failures: key of the first run of the failing streak on the run's branch.",
    )
    quarantined = serializers.BooleanField()


class VerdictGatesSerializer(serializers.Serializer):
    new_failures = serializers.CharField(help_text='"pass" or "fail".')
    below_target = serializers.CharField(help_text='"pass" or "fail".')
    flagged = serializers.CharField(help_text='"pass" or "fail".')

    def get_fields(self):
        # The JSON keys have dashes ("new-failures"), which are not Python names.
        fields = super().get_fields()
        return {name.replace("_", "-"): field for name, field in fields.items()}


class VerdictSerializer(serializers.Serializer):
    run = serializers.CharField()
    ready = serializers.BooleanField(
        help_text="The run is complete, its uploads processed and its figures derived."
    )
    branch = serializers.CharField()
    commit = serializers.CharField()
    pr = serializers.IntegerField(allow_null=True)
    complete = serializers.BooleanField()
    base = VerdictRunSerializer(allow_null=True, help_text="null when there is no base run.")
    pass_rate = serializers.FloatField(allow_null=True, help_text="Fraction 0..1.")
    base_pass_rate = serializers.FloatField(allow_null=True)
    delta_points = serializers.FloatField(allow_null=True, help_text="Percentage points.")
    counts = ResultCountsSerializer()
    new_failures = VerdictTestSerializer(many=True, help_text="At most 200.")
    new_failures_total = serializers.IntegerField()
    fixed = VerdictTestSerializer(many=True, help_text="At most 200.")
    fixed_total = serializers.IntegerField()
    still_failing = serializers.IntegerField()
    flaky = VerdictTestSerializer(many=True, help_text="At most 200.")
    flaky_total = serializers.IntegerField()
    quarantined = serializers.IntegerField(
        help_text="Tests of this run that are quarantined (still counted as not passing)."
    )
    quarantined_new_failures = serializers.IntegerField(
        help_text="New failures of quarantined tests: in new_failures_total, never a failed gate."
    )
    target = serializers.FloatField(help_text="Fraction 0..1.")
    tests_needed = serializers.IntegerField()
    flags = serializers.ListField(child=serializers.CharField())
    gates = VerdictGatesSerializer()
    url = serializers.CharField(help_text="The run's page.")
