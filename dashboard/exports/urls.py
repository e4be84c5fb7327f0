"""Exports for managers (namespace "exports"): status summary files and the report page."""

from django.urls import path, re_path

from dashboard.exports import views

app_name = "exports"

urlpatterns = [
    re_path(
        r"^p/(?P<slug>[-a-zA-Z0-9_]+)/export/summary\.(?P<fmt>md|csv|xlsx|json)$",
        views.summary_export,
        name="summary",
    ),
    path("p/<slug:slug>/report/", views.report, name="report"),
    path("p/<slug:slug>/export/digest.md", views.digest_export, name="digest"),
]
