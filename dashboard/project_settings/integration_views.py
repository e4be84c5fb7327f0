"""Integrations settings (admins only): forge, webhooks, their delivery log, redelivery."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.project_settings.access import project_get_admin
from dashboard.project_settings.integration_forms import ForgeForm, WebhookEventsForm, WebhookForm
from notify import selectors, services
from notify.tasks import deliveries as deliveries_publisher


def _page(request, project, **context):
    forge = selectors.forge_get(project=project)
    hooks = list(selectors.webhook_list(project=project))
    last = selectors.last_delivery_by_webhook(project=project)
    return render(
        request,
        "project_settings/integrations.html",
        {
            "project": project,
            "section": "integrations",
            "forge": forge,
            "forge_log": selectors.delivery_log(project=project, forge=True, limit=20)
            if forge
            else [],
            "webhooks": [(h, last.get(h.pk)) for h in hooks],
            "forge_form": context.pop("forge_form", None)
            or ForgeForm(
                initial={
                    "kind": forge.kind,
                    "repo": forge.repo,
                    "api_url": forge.api_url,
                    "gates": forge.gates,
                }
                if forge
                else {"gates": ["new-failures"]},
                has_token=forge is not None,
            ),
            "webhook_form": context.pop("webhook_form", None) or WebhookForm(),
            **context,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET"])
def integrations(request, slug: str):
    return _page(request, project_get_admin(slug=slug, user=request.user))


@sensitive_post_parameters("forge-token")
@never_cache
@login_required
@require_POST
def forge_save(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    has_token = selectors.forge_get(project=project) is not None
    form = ForgeForm(request.POST, has_token=has_token)
    if form.is_valid():
        try:
            services.forge_set(project=project, **form.cleaned_data)
        except services.InvalidIntegration as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Forge integration saved.")
            return redirect("project_settings:integrations", slug=project.slug)
    return _page(request, project, forge_form=form)


@login_required
@require_POST
def forge_remove(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    services.forge_remove(project=project)
    messages.success(request, "Forge integration removed.")
    return redirect("project_settings:integrations", slug=project.slug)


@sensitive_post_parameters("hook-url", "hook-secret")
@never_cache
@login_required
@require_POST
def webhook_add(request, slug: str):
    project = project_get_admin(slug=slug, user=request.user)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            services.webhook_create(project=project, **form.cleaned_data)
        except services.InvalidIntegration as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Webhook added.")
            return redirect("project_settings:integrations", slug=project.slug)
    return _page(request, project, webhook_form=form)


def _webhook(project, webhook_id: int):
    webhook = selectors.webhook_list(project=project).filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook.")
    return webhook


@sensitive_post_parameters("secret")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request, slug: str, webhook_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    webhook = _webhook(project, webhook_id)
    form = WebhookEventsForm(request.POST or None, initial={"events": webhook.events})
    if request.method == "POST" and form.is_valid():
        services.webhook_update(webhook=webhook, **form.cleaned_data)
        messages.success(request, "Webhook saved.")
        return redirect("project_settings:webhook", slug=project.slug, webhook_id=webhook.pk)
    return render(
        request,
        "project_settings/webhook.html",
        {
            "project": project,
            "section": "integrations",
            "webhook": webhook,
            "form": form,
            "log": selectors.delivery_log(project=project, webhook=webhook),
        },
    )


@login_required
@require_POST
def webhook_enable(request, slug: str, webhook_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    services.webhook_enable(webhook=_webhook(project, webhook_id))
    messages.success(request, "Webhook enabled again.")
    return redirect("project_settings:integrations", slug=project.slug)


@login_required
@require_POST
def webhook_delete(request, slug: str, webhook_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    services.webhook_delete(webhook=_webhook(project, webhook_id))
    messages.success(request, "Webhook removed.")
    return redirect("project_settings:integrations", slug=project.slug)


@login_required
@require_POST
def delivery_redeliver(request, slug: str, delivery_id: int):
    project = project_get_admin(slug=slug, user=request.user)
    delivery = selectors.delivery_get(project=project, delivery_id=delivery_id)
    if delivery is None:
        raise Http404("No such delivery.")
    if services.delivery_redeliver(delivery=delivery):
        deliveries_publisher.publish_on_commit(delivery.pk)
        messages.success(request, f"Delivery {delivery.uuid} queued again.")
    else:
        messages.error(request, "That delivery is being sent right now; try again shortly.")
    back = request.POST.get("next") or ""
    if delivery.webhook_id and back != "integrations":
        return redirect(
            "project_settings:webhook", slug=project.slug, webhook_id=delivery.webhook_id
        )
    return redirect("project_settings:integrations", slug=project.slug)
