"""Admin: integrations and deliveries, read-mostly; credentials are never shown."""

from django.contrib import admin

from notify.models import Delivery, DeliveryAttempt, ForgeIntegration, Webhook


@admin.register(ForgeIntegration)
class ForgeIntegrationAdmin(admin.ModelAdmin):
    list_display = ("project", "kind", "repo", "api_url", "updated_at")
    exclude = ("token_encrypted",)
    readonly_fields = ("project", "kind", "repo", "api_url", "gates")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("pk", "project", "kind", "url_display", "is_active", "consecutive_failures")
    list_filter = ("kind", "is_active")
    exclude = ("url_encrypted", "secret_encrypted")
    readonly_fields = ("project", "kind", "url_display", "disabled_at", "paused_until")


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status_code", "duration_ms", "ok", "error")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("uuid", "project", "event", "run", "detail", "status", "attempts", "created_at")
    list_filter = ("status", "event")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
