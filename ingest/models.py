"""Stored data of passline: projects, tokens, runs, uploads, tests and results.

Pass-rate targets are stored in basis points (9000 = 90.00 %) so that "tests needed"
is exact integer arithmetic. Timestamps are UTC.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q


class Project(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    default_branch = models.CharField(max_length=255, default="main")
    target_bp = models.PositiveIntegerField(
        "target (basis points)", default=9000, validators=[MaxValueValidator(10000)]
    )
    target_due = models.DateField(null=True, blank=True)
    skipped_in_total = models.BooleanField(
        default=True, help_text="Count skipped tests in the total (they never count as passed)."
    )
    flaky_counts_as_pass = models.BooleanField(
        default=True, help_text="A test that passed on a retry counts as passed."
    )
    is_public = models.BooleanField(default=False)
    baseline_run = models.ForeignKey(
        "Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        ADMIN = "admin", "Admin"

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Category(models.Model):
    UNCATEGORIZED = "Uncategorized"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=200)
    target_bp = models.PositiveIntegerField(
        "target (basis points)", null=True, blank=True, validators=[MaxValueValidator(10000)]
    )
    target_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="category_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CategoryRule(models.Model):
    """Map tests to a category; the project's rules are tried in `position` order."""

    class Field(models.TextChoices):
        FILE = "file", "Test file path"
        CLASSNAME = "classname", "Class name"
        SUITE = "suite", "Suite name"
        NAME = "name", "Test name"

    class Kind(models.TextChoices):
        GLOB = "glob", "Glob"
        REGEX = "regex", "Regular expression"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rules")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    field = models.CharField(max_length=16, choices=Field.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.GLOB)
    pattern = models.CharField(max_length=500)

    class Meta:
        ordering = ["project", "position", "id"]

    def __str__(self) -> str:
        return f"{self.field} {self.kind} {self.pattern!r} -> {self.category}"


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        UPLOAD = "upload", "Upload (CI)"
        READ = "read", "Read"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=200, blank=True)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    # The public, non-secret part of the token, used to find the row.
    prefix = models.CharField(max_length=32, unique=True)
    # sha256 hex of the whole token; the token itself is never stored.
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope}, {self.project})"


class Run(models.Model):
    """One CI execution on one commit; its uploads are its parts (shards)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    key = models.CharField(max_length=255)
    branch = models.CharField(max_length=255, blank=True, default="")
    commit = models.CharField(max_length=255, blank=True, default="")
    build_url = models.URLField(max_length=2000, blank=True, default="")
    # The pull/merge request the run belongs to (the upload's ``pr``), and the commit
    # the PR is based on when the uploader knows it (``base_commit``): the verdict then
    # judges the run against that commit's run instead of the default branch's latest.
    pr = models.PositiveIntegerField(null=True, blank=True)
    base_commit = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField(db_index=True)
    # False while started_at is only the time the first part arrived; processing then
    # replaces it with the report's own timestamp.
    timestamp_explicit = models.BooleanField(default=False)
    is_complete = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Time of the last part received; a run goes complete after a quiet period.
    last_upload_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="run_unique_key"),
        ]
        indexes = [
            models.Index(
                fields=["project", "branch", "is_complete", "started_at"],
                name="run_branch_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.slug}#{self.key}"


def raw_upload_path(instance: "UploadFile", filename: str) -> str:
    return f"raw/{instance.upload.project_id}/{instance.upload_id}/{instance.sha256[:16]}.bin"


class Upload(models.Model):
    """One accepted POST: the raw reports are durably stored before the 202."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        QUARANTINED = "quarantined", "Quarantined"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="uploads")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="uploads")
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL)
    category = models.CharField(
        max_length=200, blank=True, default="", help_text="Category forced by the uploader."
    )
    is_final = models.BooleanField(default=False)
    # NULL (not "") when absent, so the unique constraint ignores keyless uploads.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    response = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    error = models.TextField(blank=True, default="")
    error_line = models.PositiveIntegerField(null=True, blank=True)
    error_column = models.PositiveIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    tests = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    flaky = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the processing task was last published to the broker (NULL: not yet, or
    # to be published again); the dispatcher publishes what was not.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Written by processing every PASSLINE_HEARTBEAT_SECONDS while it runs; a processing
    # upload whose heartbeat is older than PASSLINE_HEARTBEAT_TIMEOUT_SECONDS is stuck.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    raw_pruned_at = models.DateTimeField(null=True, blank=True)
    # Why the dispatcher gave up on the upload; `error` keeps the last processing error.
    quarantine_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="upload_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="upload_status_time")]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.status})"


class UploadFile(models.Model):
    """One report file of an upload, kept as received (possibly gzip)."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=500, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    raw = models.FileField(upload_to=raw_upload_path, max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename or self.sha256[:12]


class Test(models.Model):
    """A test's identity within a project: (classname, name), normalised."""

    __test__ = False  # a model, not a pytest test class

    # No index of its own: the unique (project, identity) index starts with it. No
    # database FK constraint: its deferred check ran once per new test at commit (a
    # fifth of a big first upload); only ingest writes tests, for the project it holds.
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="tests",
        db_index=False,
        db_constraint=False,
    )
    # sha1 hex of "classname\0name" after normalisation: a short key for lookups and
    # uniqueness that does not depend on how long the names are.
    identity = models.CharField(max_length=40)
    classname = models.TextField(blank=True, default="")
    name = models.TextField()
    file = models.TextField(blank=True, default="")
    suite = models.TextField(blank=True, default="")
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "identity"], name="test_unique_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.classname}::{self.name}" if self.classname else self.name


class Result(models.Model):
    """The outcome of one test in one run, merged over all its attempts and parts."""

    class Outcome(models.IntegerChoices):
        PASSED = 1, "passed"
        FAILED = 2, "failed"
        ERROR = 3, "error"
        SKIPPED = 4, "skipped"

    # No database-level FK constraints on this hot table: PostgreSQL checks them one row
    # at a time, which cost more than the whole COPY-based bulk insert (ingest writes
    # ids it just read in the same transaction). Django still cascades and protects.
    # Every index slows the bulk insert, so there are two besides the primary key:
    # (run, test) for a run's results and (test, run) for a test's history. A category's
    # results are read within one run, through (run, test): an index on (category, run)
    # cost about a third of the server's work per result (its keys repeat 25,000 times
    # in a 100k run) and sped up nothing that runs often. Without it a category cannot
    # be protected by Django's collector, which would scan the table: see
    # services.categories.category_has_results, which the admin asks before deleting one.
    run = models.ForeignKey(
        Run,
        on_delete=models.CASCADE,
        related_name="results",
        db_constraint=False,
        db_index=False,
    )
    test = models.ForeignKey(
        Test,
        on_delete=models.CASCADE,
        related_name="results",
        db_constraint=False,
        db_index=False,
    )
    # The part that first wrote the row. A result is merged over all parts of its run
    # and goes with the run: deleting one upload leaves it (and needs no index here).
    upload = models.ForeignKey(
        Upload,
        on_delete=models.DO_NOTHING,
        related_name="results",
        db_constraint=False,
        db_index=False,
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.DO_NOTHING,
        related_name="results",
        db_constraint=False,
        db_index=False,
    )
    # True when the uploader chose the category; re-categorising leaves it alone.
    category_forced = models.BooleanField(default=False)
    outcome = models.PositiveSmallIntegerField(choices=Outcome.choices)
    # Passed on one attempt and failed (or errored) on another within this run.
    flaky = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    duration = models.FloatField(default=0.0, help_text="Seconds, finite and >= 0.")
    message = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "test"], name="result_unique_run_test"),
        ]
        indexes = [
            models.Index(fields=["test", "run"], name="result_test_run"),
        ]

    def __str__(self) -> str:
        return f"{self.test} in {self.run}: {self.get_outcome_display()}"


class RecategorizeJob(models.Model):
    """One request to re-apply a project's category rules, with its progress.

    The settings page creates it (queued); Celery's task signals for
    ``ingest.tasks.project_recategorize`` move it to running and then done or failed.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # Results whose category changed; NULL until done.
    changed = models.PositiveIntegerField(null=True, blank=True)
    # Results of the project when the job finished (the rows the rules were applied to).
    results = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When its task was last handed to the broker; NULL until then (ingest.dispatcher).
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="recatjob_project_status")]

    def __str__(self) -> str:
        return f"recategorize {self.project_id} ({self.status})"
