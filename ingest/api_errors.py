"""Render every API error as ``{"error": "<code>", "detail": "<sentence>"}``."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    response.data = {"error": str(code), "detail": str(detail or exc)}
    return response
