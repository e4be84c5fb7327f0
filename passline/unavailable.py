"""Answer 503 (not 500) while the database is unreachable.

A lost or refused database connection is an outage, not a bug: API clients get
``503`` with ``Retry-After`` and passline's JSON error body, so CI retries; pages get a
plain 503 page that needs neither the database nor a session. Other database errors
(integrity, programming) stay 500s.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger("passline.ops")

# Seconds a client should wait before retrying; a restart usually takes about this long.
RETRY_AFTER = 30
DATABASE_DOWN = (OperationalError, InterfaceError)
API_PREFIX = "/api/"
DETAIL = "The database is unavailable; nothing was stored. Retry later."


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """Return the 503 for `request`: JSON under /api/, else the plain page."""
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            {"error": "unavailable", "detail": DETAIL}, status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turn a database outage raised by a view into the 503 above."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, DATABASE_DOWN):
            return None
        logger.warning(
            "database unavailable", extra={"path": request.path, "error": str(exception)[:200]}
        )
        return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500, except that a database outage outside a view is a 503 too.

    Middleware (sessions, authentication) can hit the database before or after the
    view; Django then calls this handler while the exception is being handled.
    """
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return unavailable_response(request)
    return defaults.server_error(request)
