"""Flaky-test detectors on a test's outcome letters (pure; no Django).

A test's recent outcomes on the default branch are a string, oldest first, one letter
per complete run: ``p`` passed, ``f`` did not pass (failed or error), ``r`` passed on
a retry (flaky in that run), ``s`` skipped. Two detectors (``docs/flaky.md``):

- pass on retry: at least ``retry_k`` ``r`` among the last ``retry_n`` runs;
- failure rate: among the last ``rate_n`` runs with a verdict (skips ignored), the
  share not passing on the first try (``f`` or ``r``) is within
  ``[rate_low, rate_high]`` and the outcome flipped (passing <-> not passing) at
  least ``rate_flips`` times.

A flaky or quarantined test is lifted (back to active) after ``lift_after`` passes
in a row (``p`` only).
"""

import itertools
import re
from dataclasses import dataclass

PASS_ON_RETRY = "pass_on_retry"
FAILURE_RATE = "failure_rate"
# The longest history kept per test (TestSignal.history is 255 characters).
MAX_WINDOW = 200


@dataclass(frozen=True)
class Policy:
    """Detector settings; the defaults are the documented ones."""

    retry_enabled: bool = True
    retry_k: int = 2
    retry_n: int = 20
    rate_enabled: bool = True
    rate_low: float = 0.1
    rate_high: float = 0.9
    rate_flips: int = 4
    rate_n: int = 30
    lift_after: int = 10

    @property
    def window(self) -> int:
        """Return how many runs of history the detectors and the lift need."""
        return min(MAX_WINDOW, max(self.retry_n, self.rate_n, self.lift_after, 1))


def policy_errors(policy: Policy) -> list[str]:
    """Return what is wrong with ``policy`` as sentences (empty when valid)."""
    errors = []
    for name in ("retry_n", "rate_n", "lift_after"):
        if not 1 <= getattr(policy, name) <= MAX_WINDOW:
            errors.append(f"{name} must be between 1 and {MAX_WINDOW}.")
    if not 1 <= policy.retry_k <= max(policy.retry_n, 1):
        errors.append("retry_k must be between 1 and retry_n.")
    if not 0.0 <= policy.rate_low <= policy.rate_high <= 1.0:
        errors.append("The failure-rate bounds must satisfy 0 <= low <= high <= 1.")
    if policy.rate_flips < 1:
        errors.append("rate_flips must be at least 1.")
    return errors


def flips(history: str) -> int:
    """Return how often the outcome changed between passing and not passing (skips ignored)."""
    verdicts = ["p" if c == "p" else "f" for c in history if c != "s"]
    return sum(1 for a, b in itertools.pairwise(verdicts) if a != b)


def failure_rate(history: str) -> float | None:
    """Return the share of runs not passing on the first try (skips ignored), or None."""
    verdicts = [c for c in history if c != "s"]
    if not verdicts:
        return None
    return sum(1 for c in verdicts if c != "p") / len(verdicts)


def rate_window(history: str, n: int) -> str:
    """Return the last ``n`` non-skipped letters of ``history``."""
    verdicts = history.replace("s", "")
    return verdicts[-n:] if n else ""


def detect(history: str, policy: Policy) -> str | None:
    """Return the name of the first detector that matches ``history``, or None."""
    if policy.retry_enabled and history[-policy.retry_n :].count("r") >= policy.retry_k:
        return PASS_ON_RETRY
    if policy.rate_enabled:
        window = rate_window(history, policy.rate_n)
        rate = failure_rate(window)
        if (
            rate is not None
            and policy.rate_low <= rate <= policy.rate_high
            and flips(window) >= policy.rate_flips
        ):
            return FAILURE_RATE
    return None


def should_lift(history: str, policy: Policy) -> bool:
    """Return whether the test passed in each of the last ``lift_after`` runs."""
    n = policy.lift_after
    return n > 0 and len(history) >= n and history[-n:] == "p" * n


def describe(detector: str, policy: Policy) -> str:
    """Return the reason a detector gives, in words."""
    if detector == PASS_ON_RETRY:
        return f"passed on retry in at least {policy.retry_k} of the last {policy.retry_n} runs"
    return (
        f"failure rate between {policy.rate_low:.0%} and {policy.rate_high:.0%} with at "
        f"least {policy.rate_flips} flips in the last {policy.rate_n} runs"
    )


def history_counts(history: str) -> dict:
    """Return counts of a history: runs (non-skipped), broke (``f``), retried (``r``)."""
    verdicts = history.replace("s", "")
    runs = len(verdicts)
    return {
        "runs": runs,
        "broke": verdicts.count("f"),
        "retried": verdicts.count("r"),
        "flake_rate": (verdicts.count("r") / runs) if runs else 0.0,
        "failure_rate": failure_rate(verdicts),
        "flips": flips(verdicts),
    }


_VOLATILE = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d+)?|[0-9a-f]{8,}")


def message_key(message: str) -> str:
    """Return the failure message with numbers, addresses and ids blanked, first line only."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return _VOLATILE.sub("#", first)[:300]


def message_groups(messages: list[str]) -> list[dict]:
    """Group failure messages by ``message_key``: most frequent first.

    Each group: ``key``, ``example`` (the newest message of the group) and ``count``.
    """
    groups: dict[str, dict] = {}
    for message in messages:
        key = message_key(message)
        group = groups.setdefault(key, {"key": key, "example": message[:2000], "count": 0})
        group["count"] += 1
    return sorted(groups.values(), key=lambda g: -g["count"])
