"""Staged rows of one upload: their layout, the merge rule and their counts.

A staged row is a list (so merging can update it in place) in ``COLUMNS`` order.

Merge rule (the same as ``ingest.junit.merge_attempts``): a test passed if any attempt
passed, and is then flaky when another attempt failed or errored; otherwise the outcome
is error over failed over skipped. Attempts and durations (seconds) add up; the first
non-empty message, file and suite are kept.
"""

from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

from ingest.models import Result

PASSED, FAILED, ERROR, SKIPPED = (
    Result.Outcome.PASSED.value,
    Result.Outcome.FAILED.value,
    Result.Outcome.ERROR.value,
    Result.Outcome.SKIPPED.value,
)
# Higher wins when attempts are merged.
RANK = {PASSED: 4, ERROR: 3, FAILED: 2, SKIPPED: 1}
MAX_ATTEMPTS = 32767  # PositiveSmallIntegerField

COLUMNS = (
    "identity",
    "classname",
    "name",
    "file",
    "suite",
    "outcome",
    "flaky",
    "attempts",
    "duration",
    "message",
    "category_id",
)
I_IDENTITY, I_CLASSNAME, I_NAME, I_FILE, I_SUITE = 0, 1, 2, 3, 4
I_OUTCOME, I_FLAKY, I_ATTEMPTS, I_DURATION, I_MESSAGE, I_CATEGORY = 5, 6, 7, 8, 9, 10


@dataclass(frozen=True)
class Target:
    """Where one upload's results go; `category_forced` when the uploader chose it."""

    project_id: int
    run_id: int
    upload_id: int
    category_forced: bool


@dataclass(frozen=True)
class Counts:
    """Per-upload counts of distinct tests by merged outcome."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            tests=self.tests + other.tests,
            passed=self.passed + other.passed,
            failed=self.failed + other.failed,
            errors=self.errors + other.errors,
            skipped=self.skipped + other.skipped,
            flaky=self.flaky + other.flaky,
        )


def merge_row(old: list, new: list) -> None:
    """Merge staged row `new` into `old` in place (same identity)."""
    a, b = old[I_OUTCOME], new[I_OUTCOME]
    outcome = b if RANK[b] > RANK[a] else a
    failing = a in (FAILED, ERROR) or b in (FAILED, ERROR)
    old[I_FLAKY] = bool(old[I_FLAKY] or new[I_FLAKY] or (outcome == PASSED and failing))
    old[I_OUTCOME] = outcome
    old[I_ATTEMPTS] = min(old[I_ATTEMPTS] + new[I_ATTEMPTS], MAX_ATTEMPTS)
    old[I_DURATION] = old[I_DURATION] + new[I_DURATION]
    for i in (I_MESSAGE, I_FILE, I_SUITE):
        if not old[i] and new[i]:
            old[i] = new[i]


def rows_count(rows: list[list]) -> Counts:
    """Return the counts of `rows`, which must hold each identity at most once."""
    # map/itemgetter/Counter loop in C: no Python step per row.
    by_outcome = Counter(map(itemgetter(I_OUTCOME), rows))
    return Counts(
        tests=len(rows),
        passed=by_outcome[PASSED],
        failed=by_outcome[FAILED],
        errors=by_outcome[ERROR],
        skipped=by_outcome[SKIPPED],
        flaky=sum(map(itemgetter(I_FLAKY), rows)),
    )
