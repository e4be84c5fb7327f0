"""Category rule pages: ordered list, add/edit/delete/move, live preview, job progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.project_settings import rules as rule_services
from dashboard.project_settings.access import project_get_admin
from dashboard.project_settings.forms import RuleForm
from dashboard.project_settings.services import category_create
from ingest.models import CategoryRule
from ingest.services import recategorize_jobs


def _save(form: RuleForm, project, rule: CategoryRule | None, user) -> None:
    data = form.cleaned_data
    category = data["category"] or category_create(project=project, name=data["new_category"])
    args = {"field": data["field"], "kind": data["kind"], "pattern": data["pattern"]}
    if rule is None:
        rule_services.rule_create(project=project, category=category, user=user, **args)
    else:
        rule_services.rule_update(rule=rule, category=category, user=user, **args)


def _preview(form: RuleForm, project, rule: CategoryRule | None):
    data = form.cleaned_data
    category = data["category"]
    return rule_services.rule_preview(
        project=project,
        field=data["field"],
        kind=data["kind"],
        pattern=data["pattern"],
        category_name=category.name if category else data["new_category"],
        replacing=rule,
    )


def _page(request, project, form, *, rule=None, preview=None, status=200):
    rules = CategoryRule.objects.filter(project=project).select_related("category")
    return render(
        request,
        "project_settings/rules.html",
        {
            "project": project,
            "section": "rules",
            "rules": rules.order_by("position", "id"),
            "form": form,
            "editing": rule,
            "preview": preview,
            "job": recategorize_jobs.recategorize_job_latest(project=project),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def rules(request, slug: str, rule_id: int | None = None):
    """List the rules with an add form, or edit rule `rule_id`; "preview" only previews."""
    project = project_get_admin(slug=slug, user=request.user)
    rule = None
    if rule_id is not None:
        rule = get_object_or_404(CategoryRule, project=project, pk=rule_id)
    if request.method == "GET":
        initial = {}
        if rule is not None:
            initial = {f: getattr(rule, f) for f in ("field", "kind", "pattern")}
            initial["category"] = rule.category_id
        return _page(request, project, RuleForm(initial=initial, project=project), rule=rule)
    form = RuleForm(request.POST, project=project)
    if not form.is_valid():
        return _page(request, project, form, rule=rule, status=400)
    if "preview" in request.POST:
        return _page(request, project, form, rule=rule, preview=_preview(form, project, rule))
    _save(form, project, rule, request.user)
    messages.success(request, "Rule saved; results are being re-categorised.")
    return redirect("project_settings:rules", slug=project.slug)


@login_required
@require_POST
def rule_preview(request, slug: str):
    """Return the preview as an HTML fragment for the page's script (POST + CSRF)."""
    project = project_get_admin(slug=slug, user=request.user)
    rule = None
    if request.POST.get("rule_id", "").isdigit():
        rule = get_object_or_404(CategoryRule, project=project, pk=int(request.POST["rule_id"]))
    form = RuleForm(request.POST, project=project)
    if not form.is_valid():
        return render(request, "project_settings/_preview.html", {"form": form}, status=400)
    context = {"form": form, "preview": _preview(form, project, rule)}
    return render(request, "project_settings/_preview.html", context)


@login_required
@require_POST
def rule_delete(request, slug: str, rule_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    rule = get_object_or_404(CategoryRule, project=project, pk=rule_id)
    rule_services.rule_delete(rule=rule, user=request.user)
    messages.success(request, "Rule deleted; results are being re-categorised.")
    return redirect("project_settings:rules", slug=project.slug)


@login_required
@require_POST
def rule_move(request, slug: str, rule_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    rule = get_object_or_404(CategoryRule, project=project, pk=rule_id)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        messages.error(request, "Unknown direction.")
    elif rule_services.rule_move(rule=rule, direction=direction, user=request.user):
        messages.success(request, "Rule moved; results are being re-categorised.")
    return redirect("project_settings:rules", slug=project.slug)


@login_required
@require_POST
def recategorize(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    recategorize_jobs.recategorize_job_start(project=project, user=request.user)
    messages.success(request, "Re-categorisation queued.")
    return redirect("project_settings:rules", slug=project.slug)


@login_required
@require_GET
def job_status(request, slug: str):
    """Return the newest re-categorisation job as JSON for the progress line."""
    project = project_get_admin(slug=slug, user=request.user)
    job = recategorize_jobs.recategorize_job_latest(project=project)
    if job is None:
        return JsonResponse({"status": None})
    return JsonResponse(
        {
            "status": job.status,
            "label": job.get_status_display(),
            "changed": job.changed,
            "results": job.results,
            "error": job.error,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        }
    )
