"""passline: track test pass-rate progress over time."""

from .celery import app as celery_app

__all__ = ["celery_app"]
