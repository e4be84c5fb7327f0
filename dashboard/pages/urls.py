"""Dashboard pages (server-rendered, namespace "dashboard"); sign-in is passline.auth_urls."""

from django.urls import include, path

from dashboard.pages import flaky, views

pages = [
    path("", views.project_list, name="project-list"),
    path("p/<slug:slug>/", views.project_overview, name="overview"),
    path("p/<slug:slug>/compare/", views.compare, name="compare"),
    path("p/<slug:slug>/c/<path:category>/", views.category_detail, name="category"),
    path("p/<slug:slug>/runs/<path:key>/", views.run_detail, name="run"),
    path("p/<slug:slug>/tests/<int:test_id>/", views.test_detail, name="test"),
    path("p/<slug:slug>/tests/<int:test_id>/state/", flaky.test_state_change, name="test-state"),
    path("p/<slug:slug>/flaky/", flaky.flaky, name="flaky"),
]

urlpatterns = [
    path("", include((pages, "dashboard"))),
]
