"""WSGI entry point for gunicorn: ``gunicorn passline.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")

application = get_wsgi_application()

# Import every URLconf and view module now, in the worker's start-up, rather than on
# the first request: otherwise a fresh gunicorn worker answers its first upload POST
# seconds late (measured 4-5 s under load), breaking the 1 s budget after a restart.
get_resolver().url_patterns  # noqa: B018
get_resolver()._populate()
