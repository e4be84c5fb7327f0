"""Top-level URLs: each app mounts its own modules here."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# A database outage answers 503 (passline.unavailable), never Django's 500 page.
handler500 = "passline.unavailable.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("passline.auth_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a script file: no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("ingest.api_urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("", include("passline.ops_urls")),
    path("", include("dashboard.settings_urls")),
    path("", include("dashboard.exports.urls")),
    path("", include("dashboard.pages.urls")),
]
