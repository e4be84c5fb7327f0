"""Which events a completed run raises (pure: plain values in, plain values out).

- ``run.completed``: every complete run.
- ``run.flagged``: the run carries denominator-watch flags.
- ``regression``: a default-branch run with new failures against its base (the previous
  complete default-branch run); quarantined tests do not count. Nothing changed, no event.
- ``target.reached``: on the default branch, the project's or a category's rate is at its
  target and was not after the previous default-branch run (the first time, or again after
  dropping below). ``TargetScope.was_reached`` is that previous state (None: never seen).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetScope:
    """A project's (category_id None) or a category's rate after a run, against its target."""

    category_id: int | None
    name: str
    passed: int
    total: int
    target_bp: int
    was_reached: bool | None

    @property
    def reached(self) -> bool:
        # Exact integer arithmetic: passed / total >= target_bp / 10000.
        return self.total > 0 and self.passed * 10000 >= self.target_bp * self.total


def regression_failures(verdict: dict) -> list[dict]:
    """Return the verdict's new failures that are not quarantined."""
    return [t for t in verdict.get("new_failures") or [] if not t.get("quarantined")]


def run_events(
    *, verdict: dict, default_branch: str, targets: list[TargetScope]
) -> list[tuple[str, str]]:
    """Return the (event, detail) pairs a complete run raises, in a stable order.

    ``detail`` says which scope reached its target for ``target.reached`` ("" otherwise).
    """
    events = [("run.completed", "")]
    if verdict.get("flags"):
        events.append(("run.flagged", ""))
    if verdict.get("branch") != default_branch:
        return events
    if verdict.get("base") and regression_failures(verdict):
        events.append(("regression", ""))
    reached = [t for t in targets if t.reached and not t.was_reached]
    if reached:
        detail = "; ".join(
            f"{t.name} at {t.passed * 100 / t.total:.1f}% (target {t.target_bp / 100:g}%)"
            for t in reached
        )
        events.append(("target.reached", detail))
    return events
