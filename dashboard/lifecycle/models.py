"""Models of the flaky-test lifecycle (see docs/flaky.md).

- ``FlakyPolicy``: a project's detector settings and what a detection does.
- ``TestSignal``: per test, its outcomes in the last default-branch runs as a short
  string (one letter per run, oldest first), folded in per completed run.
- ``TestState``: per test, active / flaky / quarantined (reason, by whom, since,
  expires); a test without a row is active.
- ``TestStateChange``: the history of state changes (who or what, and why).

Timestamps are UTC.
"""

from django.db import models

from ingest.models import Project, Run, Test

# Letters of TestSignal.history: one per complete default-branch run with a result.
PASS, FAIL, RETRY, SKIP = "p", "f", "r", "s"


class FlakyPolicy(models.Model):
    """A project's flaky-test detectors (defaults in ``dashboard.analytics.flaky_rules``)."""

    class Action(models.TextChoices):
        NOTHING = "nothing", "Nothing (mark as flaky only)"
        SUGGEST = "suggest", "Suggest quarantine to an admin"
        QUARANTINE = "quarantine", "Quarantine automatically"

    project = models.OneToOneField(
        Project, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.SUGGEST)
    # Pass on retry in at least retry_k of the last retry_n runs.
    retry_enabled = models.BooleanField(default=True)
    retry_k = models.PositiveSmallIntegerField(default=2)
    retry_n = models.PositiveSmallIntegerField(default=20)
    # Failure rate in [rate_low, rate_high] with at least rate_flips flips in rate_n runs.
    rate_enabled = models.BooleanField(default=True)
    rate_low = models.FloatField(default=0.1)
    rate_high = models.FloatField(default=0.9)
    rate_flips = models.PositiveSmallIntegerField(default=4)
    rate_n = models.PositiveSmallIntegerField(default=30)
    # A flaky or quarantined test that passed in the last lift_after runs in a row is active.
    lift_after = models.PositiveSmallIntegerField(default=10)

    def __str__(self) -> str:
        return f"flaky policy of {self.project_id}"


class TestSignal(models.Model):
    """The outcome letters of a test's last runs on the default branch (oldest first).

    Every completed run rewrites the row of each of its tests, so no index covers a
    column that changes (updates stay in place, HOT, in the space the table's
    fillfactor leaves); the run's tests are found through the run's results.
    """

    __test__ = False

    test = models.OneToOneField(
        Test, primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    history = models.CharField(max_length=255, blank=True, default="")
    last_run = models.ForeignKey(
        Run,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    last_started_at = models.DateTimeField(null=True)
    # Last run in which the test went from passing to not passing, or back.
    last_flip_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signal of test {self.test_id}: {self.history}"


class TestState(models.Model):
    """The lifecycle state of one test; a test without a row is active."""

    __test__ = False

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        FLAKY = "flaky", "Flaky"
        QUARANTINED = "quarantined", "Quarantined"

    test = models.OneToOneField(
        Test, primary_key=True, on_delete=models.CASCADE, related_name="state"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # Which detector found it ("pass_on_retry", "failure_rate"), and why, in words.
    detected_by = models.CharField(max_length=32, blank=True, default="")
    # An admin is asked to accept a quarantine (action "suggest").
    suggested = models.BooleanField(default=False)
    reason = models.TextField(blank=True, default="")
    changed_by = models.CharField(max_length=200, blank=True, default="")
    since = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "state"], name="teststate_project_state")]

    def __str__(self) -> str:
        return f"test {self.test_id}: {self.state}"


class TestStateChange(models.Model):
    """One change of a test's state: from, to, by whom or what, why, when."""

    __test__ = False

    test = models.ForeignKey(Test, on_delete=models.CASCADE, related_name="state_changes")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    # "user:alice", "command", "detector:pass_on_retry", "expiry", "auto-lift", "api".
    actor = models.CharField(max_length=200)
    reason = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["test", "at"], name="statechange_test_at"),
            models.Index(fields=["project", "at"], name="statechange_project_at"),
        ]

    def __str__(self) -> str:
        return f"test {self.test_id}: {self.from_state} -> {self.to_state} by {self.actor}"
