"""Analytics API, mounted under /api/v1/."""

from django.urls import path

from dashboard.api import views as api_views
from dashboard.api.quarantine import ProjectQuarantineView
from dashboard.codeowners.api import CodeOwnersView

urlpatterns = [
    path(
        "projects/<slug:slug>/summary",
        api_views.ProjectSummaryView.as_view(),
        name="api-project-summary",
    ),
    path("projects/<slug:slug>/runs", api_views.ProjectRunsView.as_view(), name="api-project-runs"),
    path(
        "projects/<slug:slug>/runs/<path:key>/verdict",
        api_views.RunVerdictView.as_view(),
        name="api-run-verdict",
    ),
    path(
        "projects/<slug:slug>/compare",
        api_views.ProjectCompareView.as_view(),
        name="api-project-compare",
    ),
    path(
        "projects/<slug:slug>/quarantine",
        ProjectQuarantineView.as_view(),
        name="api-project-quarantine",
    ),
    path(
        "projects/<slug:slug>/codeowners",
        CodeOwnersView.as_view(),
        name="api-project-codeowners",
    ),
]
