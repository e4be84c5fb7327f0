"""Read API of a project's analytics: summary, runs and compare (thin views).

Access: a read or upload token of the project, a signed-in member, or anybody for a
public project (``ingest.auth.project_for_read``: 401 without credentials, 404 for
another project's token).
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.api.serializers import (
    CompareQuerySerializer,
    CompareSerializer,
    RunItemSchemaSerializer,
    RunItemSerializer,
    RunsQuerySerializer,
    SummaryQuerySerializer,
    SummarySerializer,
    VerdictSerializer,
)
from dashboard.selectors.compare import runs_compare
from dashboard.selectors.runs import compare_default_runs, run_get, run_list
from dashboard.selectors.summary import project_summary_get
from dashboard.selectors.verdict import run_verdict_get
from ingest.api_errors import BadRequest
from ingest.auth import BearerTokenAuthentication, project_for_read
from ingest.models import Run

ERRORS = {
    401: OpenApiResponse(description="No, or an invalid, token for a private project."),
    404: OpenApiResponse(description="Unknown project, or a token of another project."),
}
EXAMPLE_CATEGORY = {
    "name": "Auth",
    "pass_rate": 0.95,
    "passed": 19,
    "total": 20,
    "counts": {"tests": 20, "passed": 19, "failed": 1, "error": 0, "skipped": 0, "flaky": 0},
    "target": 0.9,
    "target_due": None,
    "target_reached": True,
    "tests_needed": 0,
    "baseline": {"run": "1001", "pass_rate": 0.75, "passed": 15, "total": 20},
    "progress": 1.0,
    "progress_note": "target reached; progress capped at 100%",
    "not_passing": 1,
    "change": 0.2,
    "category_id": 3,
    "quarantined": 0,
    "trend_per_week": 0.021,
    "eta": None,
    "on_track": True,
    "needed_per_week": None,
}
EXAMPLE_SUMMARY = {
    "project": "demo",
    "branch": "main",
    "run": {
        "key": "1042",
        "started_at": "2026-03-20T09:00:00Z",
        "commit": "9f2c1e7",
        "build_url": "https://ci.example.com/1042",
    },
    "pass_rate": 0.8415,
    "passed": 621,
    "total": 738,
    "counts": {"tests": 738, "passed": 621, "failed": 101, "error": 6, "skipped": 10, "flaky": 4},
    "target": 0.9,
    "target_due": "2026-06-30",
    "target_reached": False,
    "tests_needed": 44,
    "baseline": {"run": "1001", "pass_rate": 0.7087, "passed": 523, "total": 738},
    "progress": 0.694,
    "progress_note": "",
    "not_passing": 117,
    "quarantined": 3,
    "change": 0.1328,
    "trend_per_week": 0.046,
    "eta": "2026-04-02T10:00:00Z",
    "on_track": True,
    "needed_per_week": 3.2,
    "flags": {"incomplete": False, "denominator": False, "reasons": []},
    "categories": [EXAMPLE_CATEGORY],
}


class ProjectReadView(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes: list = []


def _query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise BadRequest(
            " ".join(
                f"{field}: {' '.join(str(e) for e in errors)}"
                if field != "non_field_errors"
                else " ".join(str(e) for e in errors)
                for field, errors in serializer.errors.items()
            )
        )
    return serializer.validated_data


class ProjectSummaryView(ProjectReadView):
    @extend_schema(
        operation_id="project_summary",
        summary="Pass rate, target, progress, trend and ETA of the latest complete run",
        parameters=[SummaryQuerySerializer],
        responses={200: SummarySerializer, **ERRORS},
        examples=[OpenApiExample("demo", value=EXAMPLE_SUMMARY, response_only=True)],
    )
    def get(self, request, slug: str):
        project = project_for_read(request, slug)
        query = _query(SummaryQuerySerializer, request)
        return Response(project_summary_get(project=project, branch=query.get("branch")))


class RunsPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500
    # Databases refuse offsets beyond 64-bit integers; no project has this many runs.
    max_offset = 10**12

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), self.max_offset)


class ProjectRunsView(ProjectReadView):
    @extend_schema(
        operation_id="project_runs",
        summary="Runs, newest first, with counts and flags",
        parameters=[RunsQuerySerializer],
        responses={200: RunItemSchemaSerializer(many=True), **ERRORS},
    )
    def get(self, request, slug: str):
        project = project_for_read(request, slug)
        query = _query(RunsQuerySerializer, request)
        runs = run_list(project=project, **query)
        paginator = RunsPagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(RunItemSerializer(page, many=True).data)


def _run_or_400(project, key: str, name: str) -> Run:
    run = run_get(project=project, key=key)
    if run is None:
        raise BadRequest(f"{name}: this project has no run with that key.")
    return run


class ProjectCompareView(ProjectReadView):
    @extend_schema(
        operation_id="project_compare",
        summary="What changed between two runs, overall and per category",
        description=(
            "Default base: the project's baseline run; default head: the latest complete "
            "run on the default branch. delta_passed = fixed - regressed + added_passing "
            "- removed_passing holds overall and per category (a test that changed "
            "category counts as removed from one and added to the other)."
        ),
        parameters=[CompareQuerySerializer],
        responses={
            200: CompareSerializer,
            400: OpenApiResponse(description="Unknown run."),
            **ERRORS,
        },
    )
    def get(self, request, slug: str):
        project = project_for_read(request, slug)
        query = _query(CompareQuerySerializer, request)
        default_base, default_head = compare_default_runs(project=project)
        base = _run_or_400(project, query["base"], "base") if "base" in query else default_base
        head = _run_or_400(project, query["head"], "head") if "head" in query else default_head
        if base is None or head is None:
            raise BadRequest("base and head are required: this project has no complete run yet.")
        body = runs_compare(project=project, base_run=base, head_run=head)
        body["identity"] = "delta_passed = fixed - regressed + added_passing - removed_passing"
        return Response(body)


class RunVerdictView(ProjectReadView):
    @extend_schema(
        operation_id="run_verdict",
        summary="The run judged against its base: new failures, fixed, flaky and gates",
        description=(
            "Base: the run of the upload's `base_commit` when given and known, else the "
            "latest complete default-branch run that started before this run and is not "
            "flagged incomplete (null when none: then nothing is new or fixed). New "
            "failures: not passing now and passed in the base, or added since the base. "
            "Lists hold at most 200 tests each, with their totals in `*_total`. Gates: "
            "`new-failures`, `below-target`, `flagged`; quarantined tests never fail one."
        ),
        responses={200: VerdictSerializer, **ERRORS},
    )
    def get(self, request, slug: str, key: str):
        project = project_for_read(request, slug)
        run = run_get(project=project, key=key)
        if run is None:
            raise NotFound("This project has no run with that key.")
        return Response(run_verdict_get(run=run))
