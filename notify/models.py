"""Integrations of a project and the record of what was sent to them.

- ``ForgeIntegration``: at most one per project, GitHub or GitLab; a sticky PR/MR comment
  and a commit status for each completed run with a ``pr``.
- ``Webhook``: generic (signed JSON), Slack or Teams, subscribed to some events.
- ``Delivery``: one message for one (target, event, run), or for one (webhook, lifecycle
  event): the idempotency record. However many parts, task retries or duplicate signals
  a run has, the unique constraints leave one row, and it is sent until it succeeds or
  gives up. Redelivery reuses the row (and its ``uuid``, sent as ``X-Passline-Delivery``).
  Lifecycle events (``test.quarantined``, ``quarantine.expired``, ``digest.weekly``)
  have no run: their ``key`` (a hash of the event and its payload) identifies them.
- ``DeliveryAttempt``: each try of a delivery (time, HTTP status, duration, error): the
  per-webhook log of the settings page.
- ``FeedbackRequest``: the outbox of completed runs' feedback (``run_notify``):
  written before the task is published, marked done once the run's deliveries are
  recorded, so a broker outage at completion delays the feedback and never loses it
  (``feedback_sweep``).
- ``TargetWatch``: whether the project (or a category) was at its target after its latest
  default-branch run, so ``target.reached`` fires the first time and again only after the
  rate dropped below.

Credentials (forge tokens, webhook secrets, webhook URLs, which carry their own secret
for Slack and Teams) are stored encrypted (``notify.secrets``) and never shown again.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from dashboard.lifecycle.events import EVENTS as LIFECYCLE_EVENTS
from ingest.models import Category, Project, Run

RUN_EVENTS = ("regression", "target.reached", "run.flagged", "run.completed")
EVENTS = RUN_EVENTS + LIFECYCLE_EVENTS
FORGE_EVENT = "pr.feedback"
GATES = ("new-failures", "below-target", "flagged")


class ForgeIntegration(models.Model):
    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub"
        GITLAB = "gitlab", "GitLab"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="forge")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    api_url = models.URLField(max_length=500)
    # GitHub: "owner/name"; GitLab: the numeric id or the URL-encoded path.
    repo = models.CharField(max_length=300)
    token_encrypted = models.TextField()
    # The gates whose failure makes the commit status "failure" (GATES).
    gates = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.repo}"


class Webhook(models.Model):
    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic (signed JSON)"
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams (Workflows)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    url_encrypted = models.TextField()
    # Scheme and host only, for display: the full URL may carry a secret (Slack, Teams).
    url_display = models.CharField(max_length=300)
    secret_encrypted = models.TextField(blank=True, default="")
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Circuit breaker: after a few failures in a row, deliveries wait until then instead
    # of each spending a timeout on a receiver that is down.
    paused_until = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} webhook {self.pk} → {self.url_display}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"
        REFUSED = "refused", "Refused (address not allowed)"
        SKIPPED = "skipped", "Skipped (integration disabled or removed)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    forge = models.ForeignKey(
        ForgeIntegration,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.CharField(max_length=32)
    # None for lifecycle events, which ``key`` identifies instead.
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, blank=True, default="")
    # The verdict as it was when the run completed: every retry and redelivery sends the
    # same message. ``detail`` names what reached its target (target.reached), or the
    # subject of a lifecycle event (the test, the digest's week).
    verdict = models.JSONField(default=dict)
    # A lifecycle event's payload as it was raised (docs/flaky.md); {} for run events.
    payload = models.JSONField(default=dict)
    detail = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event", "run"],
                condition=Q(webhook__isnull=False),
                name="delivery_once_per_webhook_event_run",
            ),
            models.UniqueConstraint(
                fields=["forge", "event", "run"],
                condition=Q(forge__isnull=False),
                name="delivery_once_per_forge_event_run",
            ),
            models.UniqueConstraint(
                fields=["webhook", "event", "key"],
                condition=Q(webhook__isnull=False, run__isnull=True),
                name="delivery_once_per_webhook_lifecycle_event",
            ),
            models.CheckConstraint(
                condition=Q(run__isnull=False) | (Q(webhook__isnull=False) & ~Q(key="")),
                name="delivery_has_run_or_key",
            ),
            models.CheckConstraint(
                condition=Q(webhook__isnull=True) ^ Q(forge__isnull=True),
                name="delivery_has_one_target",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        about = f"run {self.run_id}" if self.run_id else self.detail
        return f"delivery {self.uuid} {self.event} {about}: {self.status}"


class FeedbackRequest(models.Model):
    """A completed run's feedback: asked for, published, done (deliveries recorded).

    Kept a day after it was asked for, so that ``feedback_sweep`` can tell a run whose
    feedback was done from one whose receiver never ran.
    """

    run = models.OneToOneField(Run, primary_key=True, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    # When its task was last handed to the broker; None: never (left to the sweep).
    published_at = models.DateTimeField(null=True, blank=True)
    # When run_notify recorded the run's deliveries; None: still to do.
    done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"feedback of run {self.run_id}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(db_index=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"attempt of {self.delivery_id} at {self.at}: {self.status_code or self.error}"


class TargetWatch(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reached = models.BooleanField(default=False)
    # The state before ``run``: a retried task judges the same run the same way.
    previous_reached = models.BooleanField(null=True, blank=True)
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(category__isnull=True),
                name="targetwatch_one_per_project",
            ),
            models.UniqueConstraint(
                fields=["project", "category"],
                condition=Q(category__isnull=False),
                name="targetwatch_one_per_category",
            ),
        ]

    def __str__(self) -> str:
        return f"target of {self.project_id}/{self.category_id}: {self.reached}"
