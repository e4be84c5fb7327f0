"""Operational URLs (mounted at the site root)."""

from django.urls import path

from passline import ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
]
