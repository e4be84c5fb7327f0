"""Project settings pages (admins only) under /p/<slug>/settings/."""

from django.urls import path

from dashboard.codeowners import views as codeowners_views
from dashboard.project_settings import (
    flaky_views,
    integration_views,
    member_views,
    rule_views,
    views,
)

app_name = "project_settings"

urlpatterns = [
    path("p/<slug:slug>/settings/", views.general, name="general"),
    path("p/<slug:slug>/settings/categories/", views.categories, name="categories"),
    path("p/<slug:slug>/settings/rules/", rule_views.rules, name="rules"),
    path("p/<slug:slug>/settings/rules/<int:rule_id>/", rule_views.rules, name="rule_edit"),
    path(
        "p/<slug:slug>/settings/rules/<int:rule_id>/delete/",
        rule_views.rule_delete,
        name="rule_delete",
    ),
    path(
        "p/<slug:slug>/settings/rules/<int:rule_id>/move/", rule_views.rule_move, name="rule_move"
    ),
    path("p/<slug:slug>/settings/rules/preview/", rule_views.rule_preview, name="rule_preview"),
    path(
        "p/<slug:slug>/settings/rules/recategorize/",
        rule_views.recategorize,
        name="recategorize",
    ),
    path("p/<slug:slug>/settings/rules/job/", rule_views.job_status, name="job_status"),
    path("p/<slug:slug>/settings/tokens/", views.tokens, name="tokens"),
    path(
        "p/<slug:slug>/settings/tokens/<str:prefix>/revoke/",
        views.token_revoke_view,
        name="token_revoke",
    ),
    path("p/<slug:slug>/settings/uploads/", views.uploads, name="uploads"),
    path("p/<slug:slug>/settings/flaky/", flaky_views.detectors, name="flaky"),
    path("p/<slug:slug>/settings/members/", member_views.members, name="members"),
    path("p/<slug:slug>/settings/codeowners/", codeowners_views.codeowners, name="codeowners"),
    path(
        "p/<slug:slug>/settings/members/<int:membership_id>/remove/",
        member_views.member_remove,
        name="member_remove",
    ),
    path(
        "p/<slug:slug>/settings/uploads/<int:upload_id>/retry/",
        views.upload_retry_view,
        name="upload_retry",
    ),
    path(
        "p/<slug:slug>/settings/integrations/",
        integration_views.integrations,
        name="integrations",
    ),
    path(
        "p/<slug:slug>/settings/integrations/forge/",
        integration_views.forge_save,
        name="forge_save",
    ),
    path(
        "p/<slug:slug>/settings/integrations/forge/remove/",
        integration_views.forge_remove,
        name="forge_remove",
    ),
    path(
        "p/<slug:slug>/settings/integrations/webhooks/",
        integration_views.webhook_add,
        name="webhook_add",
    ),
    path(
        "p/<slug:slug>/settings/integrations/webhooks/<int:webhook_id>/",
        integration_views.webhook_detail,
        name="webhook",
    ),
    path(
        "p/<slug:slug>/settings/integrations/webhooks/<int:webhook_id>/enable/",
        integration_views.webhook_enable,
        name="webhook_enable",
    ),
    path(
        "p/<slug:slug>/settings/integrations/webhooks/<int:webhook_id>/delete/",
        integration_views.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "p/<slug:slug>/settings/integrations/deliveries/<int:delivery_id>/redeliver/",
        integration_views.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
