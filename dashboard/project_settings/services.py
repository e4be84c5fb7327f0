"""Write the settings of a project: general fields, category targets, categories."""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from ingest.models import Category, Project, Run, Upload
from ingest.percent import percent_to_bp


def project_settings_update(
    *,
    project: Project,
    name: str,
    default_branch: str,
    target_percent: Decimal,
    target_due: dt.date | None,
    skipped_in_total: bool,
    flaky_counts_as_pass: bool,
    is_public: bool,
    baseline_run: Run | None,
) -> Project:
    """Save the project's general settings; the target is a percent with 2 decimals."""
    if baseline_run is not None and (
        baseline_run.project_id != project.pk or not baseline_run.is_complete
    ):
        raise ValueError("The baseline must be a complete run of this project.")
    project.name = name
    project.default_branch = default_branch
    project.target_bp = percent_to_bp(target_percent)
    project.target_due = target_due
    project.skipped_in_total = skipped_in_total
    project.flaky_counts_as_pass = flaky_counts_as_pass
    project.is_public = is_public
    project.baseline_run = baseline_run
    project.full_clean()
    project.save()
    return project


def category_targets_update(*, project: Project, rows: list[dict]) -> int:
    """Set each category's target (percent or None) and due date; return rows changed.

    `rows` are cleaned CategoryTargetForm data: category, target_percent, target_due.
    """
    changed = 0
    with transaction.atomic():
        for row in rows:
            category = row["category"]
            if category.project_id != project.pk:
                raise ValueError("category of another project")
            target_bp = percent_to_bp(row.get("target_percent"))
            target_due = row.get("target_due")
            if (category.target_bp, category.target_due) != (target_bp, target_due):
                changed += Category.objects.filter(pk=category.pk).update(
                    target_bp=target_bp, target_due=target_due
                )
    return changed


def category_create(*, project: Project, name: str) -> Category:
    """Create (or return the existing) category `name` of the project."""
    category, _ = Category.objects.get_or_create(project=project, name=name.strip()[:200])
    return category


def problem_upload_list(*, project: Project, limit: int = 100) -> list[Upload]:
    """Return the project's failed and quarantined uploads, newest first (1 query)."""
    return list(
        Upload.objects.filter(
            project=project, status__in=[Upload.Status.FAILED, Upload.Status.QUARANTINED]
        )
        .select_related("run")
        .order_by("-created_at", "-id")[:limit]
    )
