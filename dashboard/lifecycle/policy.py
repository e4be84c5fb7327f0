"""Read and write a project's detector policy (a FlakyPolicy row, or the defaults)."""

from dataclasses import asdict, fields

from dashboard.analytics.flaky_rules import Policy, policy_errors
from dashboard.lifecycle.models import FlakyPolicy

POLICY_FIELDS = tuple(f.name for f in fields(Policy))


def policy_row_get(*, project_id: int) -> FlakyPolicy:
    """Return the project's FlakyPolicy, unsaved with the defaults when it has none."""
    return FlakyPolicy.objects.filter(project_id=project_id).first() or FlakyPolicy(
        project_id=project_id
    )


def policy_of(row: FlakyPolicy) -> Policy:
    """Return the pure Policy of a FlakyPolicy row."""
    return Policy(**{name: getattr(row, name) for name in POLICY_FIELDS})


def policy_set(*, project_id: int, action: str, **values) -> FlakyPolicy:
    """Validate and store a project's detector settings; raise ValueError when invalid."""
    if action not in FlakyPolicy.Action.values:
        raise ValueError(f"unknown action {action!r}")
    policy = Policy(**{**asdict(Policy()), **values})
    errors = policy_errors(policy)
    if errors:
        raise ValueError(" ".join(errors))
    row, _ = FlakyPolicy.objects.update_or_create(
        project_id=project_id, defaults={"action": action, **asdict(policy)}
    )
    return row
