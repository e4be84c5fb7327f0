"""Rollups and cached analytics read by the dashboard, the API and the exports.

Every figure a page shows is read from these tables, never by aggregating
``ingest.Result`` per request. Celery tasks (``dashboard.tasks``) fill them:

- ``RunStats``: one row per run, counts over all its results.
- ``RunCategoryStats``: one row per run x category.
- ``Trend``: cached Theil-Sen slope, ETA and needed rate per project/branch/category.
- ``TestStats``: per test, its latest outcome, failing streak and flake rate.

- ``TrendClaim``: one row per project that coalesces trend refreshes.
- ``DeriveBacklog`` / ``DeriveClaim`` / ``FoldClaim``: the completed runs waiting for
  derive, and per project the rows that coalesce the two passes that drain them.

``dashboard.derive`` writes them all. Counting rules (see ``dashboard.derive.rollups``):
``total`` = passed + failed + error (+ skipped unless the project excludes skipped
tests); when the project does not count a flaky pass as a pass, that result is counted
in ``failed`` and still in ``flaky``.
``branch``, ``started_at`` and ``is_complete`` are copied from the run so chart
queries use one index and no join. Timestamps are UTC; rates are fractions 0..1.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ingest.models import Category, Project, Run, Test


class Counts(models.Model):
    """Counts of results; ``pass_rate`` is derived, never stored."""

    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    flaky = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    duration = models.FloatField(default=0.0, help_text="Sum of result durations, seconds.")

    class Meta:
        abstract = True

    @property
    def pass_rate(self) -> float | None:
        """Return passed / total as a fraction, or None when total is 0."""
        return self.passed / self.total if self.total else None


class RunStats(Counts):
    """Counts of one run over all categories, with denominator-watch flags."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="stats")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    branch = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField()
    is_complete = models.BooleanField(default=False)
    # Denominator watch (dashboard.derive.flags): a run whose total fell, whose skips rose,
    # or whose not-passing tests vanished while its rate rose, and a run that looks
    # incomplete. Reasons are sentences.
    flag_denominator = models.BooleanField(default=False)
    flag_incomplete = models.BooleanField(default=False)
    flag_reasons = models.JSONField(default=list, blank=True)
    # The run the denominator watch compared this one with: the latest earlier complete
    # run on the branch not flagged incomplete (None for the first run).
    compared_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "run stats"
        indexes = [
            # run_id last: "latest" and "first" runs order by (started_at, run_id), and
            # without it PostgreSQL sorts every run of the branch to break ties.
            models.Index(
                fields=["project", "branch", "is_complete", "started_at", "run"],
                name="runstats_branch_time_run",
            ),
            models.Index(fields=["project", "started_at"], name="runstats_project_time"),
        ]

    def __str__(self) -> str:
        return f"stats of run {self.run_id}: {self.passed}/{self.total}"


class RunCategoryStats(Counts):
    """Counts of one run within one category."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="category_stats")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    branch = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField()
    is_complete = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "run category stats"
        constraints = [
            models.UniqueConstraint(fields=["run", "category"], name="runcatstats_unique"),
        ]
        indexes = [
            models.Index(
                fields=["project", "branch", "is_complete", "started_at"],
                name="runcatstats_branch_time",
            ),
            models.Index(
                fields=["category", "branch", "is_complete", "started_at"],
                name="runcatstats_cat_time",
            ),
        ]

    def __str__(self) -> str:
        return f"stats of run {self.run_id} in {self.category_id}: {self.passed}/{self.total}"


class Trend(models.Model):
    """Cached trend of one project (category NULL) or one category on one branch.

    ``slope_per_day`` is in pass-rate fraction per day; the fitted line is
    ``rate(t) = intercept + slope_per_day * days(t - anchor_at)``.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    branch = models.CharField(max_length=255)
    window_days = models.PositiveIntegerField()
    n_points = models.PositiveIntegerField(default=0)
    slope_per_day = models.FloatField(null=True, blank=True)
    intercept = models.FloatField(null=True, blank=True)
    anchor_at = models.DateTimeField(null=True, blank=True)
    target_bp = models.PositiveIntegerField(default=0)
    target_reached = models.BooleanField(default=False)
    eta = models.DateTimeField(null=True, blank=True)
    on_track = models.BooleanField(default=False)
    # Tests per week that must start passing to meet the due date (None: no due date,
    # or already reached); rate_needed_per_week is the same as a fraction per week.
    needed_per_week = models.FloatField(null=True, blank=True)
    rate_needed_per_week = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "branch", "category"],
                condition=Q(category__isnull=False),
                name="trend_unique_category",
            ),
            models.UniqueConstraint(
                fields=["project", "branch"],
                condition=Q(category__isnull=True),
                name="trend_unique_overall",
            ),
        ]

    def __str__(self) -> str:
        return f"trend {self.project_id}/{self.branch}/{self.category_id}: {self.slope_per_day}"

    @property
    def slope_per_week(self) -> float | None:
        """Return the slope in pass-rate fraction per week."""
        return None if self.slope_per_day is None else self.slope_per_day * 7


class TestStats(models.Model):
    """Per-test summary on a project's default branch, refreshed by Celery.

    ``failing_since_run`` is the first run of the current streak of complete runs in
    which the test did not pass; ``flake_rate`` = flaky runs / runs with a result
    within the trend window.

    Every completed run updates the row of each of its tests (``dashboard.derive.
    teststats``), so the row is kept cheap to update: no database FK constraints
    (their deferred checks ran once per row at commit; only the derive layer writes
    these ids, read in the same statement, and Django still cascades) and no index on
    a column that changes with every run, so that PostgreSQL updates a passing test's
    row in place (a HOT update, with the free space the table's fillfactor leaves).
    """

    test = models.OneToOneField(
        Test, on_delete=models.CASCADE, related_name="stats", db_constraint=False
    )
    # Indexed by the first column of teststats_flaky and teststats_failing.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    last_run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # Copied from last_run, so folding a run in compares times without a join.
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.PositiveSmallIntegerField(null=True, blank=True)
    failing_since_run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    failing_runs = models.PositiveIntegerField(default=0)
    window_runs = models.PositiveIntegerField(default=0)
    flaky_runs = models.PositiveIntegerField(default=0)
    flake_rate = models.FloatField(default=0.0)
    computed_at = models.DateTimeField()

    # Not a pytest test class, despite its name.
    __test__ = False

    class Meta:
        verbose_name_plural = "test stats"
        indexes = [
            models.Index(fields=["project", "category", "flake_rate"], name="teststats_flaky"),
            models.Index(fields=["project", "failing_since_run"], name="teststats_failing"),
        ]

    def __str__(self) -> str:
        return f"stats of test {self.test_id}"


class ProjectClaim(models.Model):
    """Coalesce a project's work of one kind: at most one queued and one running.

    ``dashboard.derive.coalesce`` flips these fields with conditional UPDATEs only, so
    many requests cause one run of the work, and a request during a run causes
    exactly one more. ``running_since`` is the claim time (UTC) of the run in
    progress; a claim older than the kind's stale limit is taken over.
    """

    kind = "claim"

    project = models.OneToOneField(
        Project, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    queued = models.BooleanField(default=False)
    # The queued request's message was used up while a run was in progress: that run
    # sends the task again on its way out.
    resend = models.BooleanField(default=False)
    running_since = models.DateTimeField(null=True, blank=True)
    requested = models.PositiveBigIntegerField(default=0, help_text="Requests, ever.")
    refreshed = models.PositiveBigIntegerField(default=0, help_text="Refreshes run, ever.")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.kind} of {self.project_id}"


class TrendClaim(ProjectClaim):
    """Coalesce a project's trend refreshes (stale after PASSLINE_TREND_CLAIM_STALE_SECONDS)."""

    kind = "trend claim"


class DeriveClaim(ProjectClaim):
    """Coalesce a project's figures passes over its ``DeriveBacklog`` (rollups, flags).

    Stale after PASSLINE_DERIVE_CLAIM_STALE_SECONDS; ``refreshed`` counts passes.
    """

    kind = "derive claim"


class FoldClaim(ProjectClaim):
    """Coalesce a project's fold passes over its ``DeriveBacklog`` (test stats, flaky).

    Stale after PASSLINE_DERIVE_CLAIM_STALE_SECONDS; ``refreshed`` counts passes.
    """

    kind = "fold claim"


class DeriveBacklog(models.Model):
    """A completed run whose derived figures a derive pass has not computed yet.

    Written when the run completes (``dashboard.receivers``) at stage ``figures``;
    the figures pass (rollups, flags) moves it to ``fold``; the fold pass (per-test
    stats, flaky signals) deletes it (``dashboard.derive.backlog``). ``queued_at``
    moves when the run is asked for again, so a pass touches only the requests it
    served.
    """

    class Stage(models.IntegerChoices):
        FIGURES = 0, "figures"
        FOLD = 1, "fold"

    run = models.OneToOneField(Run, primary_key=True, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.FIGURES)
    queued_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["project", "stage", "queued_at"], name="derivebacklog_project")
        ]

    def __str__(self) -> str:
        return f"derive backlog: run {self.run_id} ({self.get_stage_display()})"


class CodeOwners(models.Model):
    """A project's CODEOWNERS file (GitHub syntax), as last sent or pasted.

    Owners are resolved when read (``dashboard.selectors.owners``): the text is parsed
    and compiled once per process and version (``sha256``), then matched against the
    paths of the tests a page, verdict or export shows. Nothing per test is stored, so
    a new CODEOWNERS applies at once to every test, old and new.
    """

    class Source(models.TextChoices):
        API = "api", "API (PUT /api/v1/projects/<slug>/codeowners)"
        COMMAND = "command", "manage.py setcodeowners"
        SETTINGS = "settings", "Settings page"

    project = models.OneToOneField(
        Project, primary_key=True, on_delete=models.CASCADE, related_name="codeowners"
    )
    text = models.TextField(blank=True, default="")
    sha256 = models.CharField(max_length=64)
    rules = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "code owners"

    def __str__(self) -> str:
        return f"CODEOWNERS of {self.project_id} ({self.rules} rules)"


# The flaky-test lifecycle's models (states, history, detector policy, signals).
from dashboard.lifecycle.models import (  # noqa: E402
    FlakyPolicy,
    TestSignal,
    TestState,
    TestStateChange,
)

__all__ = [
    "CodeOwners",
    "Counts",
    "FlakyPolicy",
    "RunCategoryStats",
    "RunStats",
    "TestSignal",
    "TestState",
    "TestStateChange",
    "TestStats",
    "Trend",
    "TrendClaim",
]
