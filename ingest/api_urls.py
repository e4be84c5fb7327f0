"""URL patterns of ingest's HTTP API v1 (mounted under /api/v1/)."""

from django.urls import path

from ingest.api.views import UploadCreateView, UploadDetailView

urlpatterns = [
    path("uploads", UploadCreateView.as_view(), name="upload-create"),
    path("uploads/<int:upload_id>", UploadDetailView.as_view(), name="upload-detail"),
]
