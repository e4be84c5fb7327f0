"""URL patterns (filled in by the owning feature)."""

urlpatterns: list = []
