"""Outcomes of a test in a run and what counts as passing.

The values are those of ``ingest.models.Result.Outcome`` (checked by a test), repeated
here so this package stays free of Django.
"""

PASSED, FAILED, ERROR, SKIPPED = 1, 2, 3, 4
NAMES = {PASSED: "passed", FAILED: "failed", ERROR: "error", SKIPPED: "skipped"}


def is_passing(*, outcome: int, flaky: bool, flaky_counts_as_pass: bool) -> bool:
    """Return True when a result counts as passed under the project's flaky setting."""
    return outcome == PASSED and (flaky_counts_as_pass or not flaky)


def is_counted(*, outcome: int, skipped_in_total: bool) -> bool:
    """Return True when a result counts in the total (skipped ones only if the project says)."""
    return skipped_in_total or outcome != SKIPPED
