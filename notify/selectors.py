"""Read what feedback needs: the verdict, target scopes, integrations and their log."""

from django.db.models import OuterRef, QuerySet, Subquery

from dashboard.analytics.targets import effective_target_bp
from dashboard.models import RunCategoryStats, RunStats
from dashboard.selectors.verdict import run_verdict_get
from ingest.models import Project, Run
from notify.events import TargetScope
from notify.models import Delivery, DeliveryAttempt, ForgeIntegration, Webhook


def verdict_get(*, run: Run) -> dict:
    """Return the run's verdict: the same dict as the verdict API (dashboard.selectors)."""
    return run_verdict_get(run=run)


def rollups_fresh(*, run: Run) -> bool:
    """Return whether the run's rollups were computed after it completed (1 query)."""
    stats = RunStats.objects.filter(run=run).values_list("updated_at", "is_complete").first()
    if stats is None or not stats[1]:
        return False
    return run.completed_at is None or stats[0] >= run.completed_at


def target_scopes_get(*, run: Run) -> list[TargetScope]:
    """Return the project's and each category's counts in ``run`` with their targets.

    ``was_reached`` is left None: the caller knows the previous state.
    """
    project = run.project
    scopes = []
    stats = RunStats.objects.filter(run=run).values_list("passed", "total").first()
    if stats is not None:
        scopes.append(TargetScope(None, project.name, stats[0], stats[1], project.target_bp, None))
    rows = RunCategoryStats.objects.filter(run=run).values_list(
        "category_id", "category__name", "category__target_bp", "passed", "total"
    )
    for category_id, name, target_bp, passed, total in rows.order_by("category__name"):
        target = effective_target_bp(project_bp=project.target_bp, category_bp=target_bp)
        scopes.append(TargetScope(category_id, name, passed, total, target, None))
    return scopes


def project_has_receivers(*, project_id: int) -> bool:
    """Whether a completed run of the project could send anything (1 query).

    True when it has an active webhook (generic, Slack, Teams) or a forge integration:
    ``notify.services.run_notify`` decides the rest.
    """
    forge = ForgeIntegration.objects.filter(project_id=project_id)
    return (
        Webhook.objects.filter(project_id=project_id, is_active=True)
        .values("pk")
        .union(forge.values("pk"))
        .exists()
    )


def webhook_list(*, project: Project) -> QuerySet[Webhook]:
    """Return the project's webhooks, oldest first."""
    return Webhook.objects.filter(project=project).order_by("pk")


def forge_get(*, project: Project) -> ForgeIntegration | None:
    """Return the project's forge integration, or None."""
    return ForgeIntegration.objects.filter(project=project).first()


def delivery_log(
    *, project: Project, webhook: Webhook | None = None, forge: bool = False, limit: int = 50
) -> list[DeliveryAttempt]:
    """Return the latest delivery attempts of a webhook (or of the forge), newest first."""
    attempts = DeliveryAttempt.objects.filter(delivery__project=project).select_related(
        "delivery", "delivery__run"
    )
    if webhook is not None:
        attempts = attempts.filter(delivery__webhook=webhook)
    elif forge:
        attempts = attempts.filter(delivery__forge__isnull=False)
    return list(attempts.order_by("-at", "-pk")[:limit])


def delivery_get(*, project: Project, delivery_id: int) -> Delivery | None:
    """Return one of the project's deliveries, or None."""
    return Delivery.objects.filter(project=project, pk=delivery_id).first()


def last_delivery_by_webhook(*, project: Project) -> dict[int, Delivery]:
    """Return each webhook's latest delivery (2 queries, however long the history)."""
    latest = Delivery.objects.filter(webhook=OuterRef("pk")).order_by("-created_at", "-pk")
    ids = (
        Webhook.objects.filter(project=project)
        .annotate(last=Subquery(latest.values("pk")[:1]))
        .values_list("last", flat=True)
    )
    rows = Delivery.objects.filter(pk__in=[i for i in ids if i]).select_related("run")
    return {d.webhook_id: d for d in rows}
