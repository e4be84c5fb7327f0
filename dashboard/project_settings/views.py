"""Settings pages: general, category targets, tokens and problem uploads (admins only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.project_settings import services
from dashboard.project_settings.access import project_get_admin
from dashboard.project_settings.forms import (
    CategoryAddForm,
    CategoryTargetFormSet,
    GeneralForm,
    TokenCreateForm,
)
from ingest.dispatcher import upload_retry
from ingest.models import ApiToken, Category, Upload
from ingest.percent import bp_to_percent
from ingest.services.tokens import token_create, token_revoke


def _render(request, template: str, project, section: str, **context):
    return render(
        request,
        f"project_settings/{template}",
        {"project": project, "section": section, **context},
    )


@login_required
@require_http_methods(["GET", "POST"])
def general(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    if request.method == "POST":
        form = GeneralForm(request.POST, project=project)
        if form.is_valid():
            services.project_settings_update(project=project, **form.cleaned_data)
            messages.success(request, "Settings saved.")
            return redirect("project_settings:general", slug=project.slug)
    else:
        form = GeneralForm(initial=GeneralForm.initial_for(project), project=project)
    return _render(request, "general.html", project, "general", form=form)


@login_required
@require_http_methods(["GET", "POST"])
def categories(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    rows = list(Category.objects.filter(project=project).order_by("name"))
    initial = [
        {"category": c.pk, "target_percent": bp_to_percent(c.target_bp), "target_due": c.target_due}
        for c in rows
    ]
    add_form = CategoryAddForm(project=project)
    formset = CategoryTargetFormSet(initial=initial, project=project, prefix="cat")
    if request.method == "POST" and "add" in request.POST:
        add_form = CategoryAddForm(request.POST, project=project)
        if add_form.is_valid():
            services.category_create(project=project, name=add_form.cleaned_data["name"])
            messages.success(request, "Category added.")
            return redirect("project_settings:categories", slug=project.slug)
    elif request.method == "POST":
        formset = CategoryTargetFormSet(
            request.POST, initial=initial, project=project, prefix="cat"
        )
        if formset.is_valid():
            services.category_targets_update(
                project=project, rows=[f.cleaned_data for f in formset if f.cleaned_data]
            )
            messages.success(request, "Category targets saved.")
            return redirect("project_settings:categories", slug=project.slug)
    by_id = {c.pk: c for c in rows}
    pairs = [(by_id.get(_category_id(f)), f) for f in formset]
    return _render(
        request,
        "categories.html",
        project,
        "categories",
        formset=formset,
        pairs=pairs,
        add_form=add_form,
        project_target=bp_to_percent(project.target_bp),
    )


def _category_id(form) -> int | None:
    value = form["category"].value()
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    created = plaintext = None
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            created, plaintext = token_create(
                project=project,
                scope=form.cleaned_data["scope"],
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
                created_by=request.user,
            )
            form = TokenCreateForm()
    else:
        form = TokenCreateForm()
    token_list = ApiToken.objects.filter(project=project).order_by("-created_at", "-id")
    # The plaintext is rendered into this one response (never_cache) and kept nowhere.
    return _render(
        request,
        "tokens.html",
        project,
        "tokens",
        form=form,
        tokens=token_list,
        created=created,
        plaintext=plaintext,
        now=timezone.now(),
    )


@login_required
@require_POST
def token_revoke_view(request, slug: str, prefix: str):
    project = project_get_admin(slug=slug, user=request.user)
    token = get_object_or_404(ApiToken, project=project, prefix=prefix)
    token_revoke(prefix=token.prefix)
    messages.success(request, f"Token {token.prefix}… revoked: it no longer works.")
    return redirect("project_settings:tokens", slug=project.slug)


@login_required
def uploads(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    rows = services.problem_upload_list(project=project)
    return _render(request, "uploads.html", project, "uploads", uploads=rows)


@login_required
@require_POST
def upload_retry_view(request, slug: str, upload_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    upload = Upload.objects.filter(project=project, pk=upload_id).first()
    if upload is None:
        raise Http404("No such upload.")
    if upload_retry(upload=upload):
        messages.success(request, f"Upload {upload.pk} is queued again.")
    else:
        messages.error(
            request, f"Upload {upload.pk} cannot be retried: not failed, or its files were pruned."
        )
    return redirect("project_settings:uploads", slug=project.slug)
