"""Sign-in protection: the client address django-axes keys failed sign-ins by.

django-axes counts failed sign-ins on ``/accounts/login/`` and ``/admin/login/`` (every
``authenticate()`` with a request) per user name *and* client address, and refuses that
pair for ``PASSLINE_LOGIN_LOCKOUT_MINUTES`` after ``PASSLINE_LOGIN_FAILURE_LIMIT``
failures, with the page ``templates/registration/locked_out.html`` (HTTP 429 and
``Retry-After``).
``manage.py axes_reset_username <name>`` unlocks a user at once.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """Return the address a failed sign-in is counted against.

    Behind ``PASSLINE_PROXY_HOPS`` trusted proxies that each append to
    ``X-Forwarded-For``, the client is the entry that many places from the right: entries
    further left were sent by the client itself and could be forged to dodge a lockout.
    With no proxies (or no header) it is ``REMOTE_ADDR``.
    """
    hops = settings.PASSLINE_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops > 0 and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-min(hops, len(addresses))]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """Render the "sign-in blocked" page: why, for how long, and how to get unlocked."""
    from axes.helpers import get_client_username, get_failure_limit

    minutes = settings.PASSLINE_LOGIN_LOCKOUT_MINUTES
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": minutes,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
