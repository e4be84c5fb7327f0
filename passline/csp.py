"""Send a Content-Security-Policy header with every response.

Every script passline serves is a static file (``static/js/``, the vendored Plotly, the
admin's and Swagger UI's own files); figures and other page data travel as JSON in
``<script type="application/json">`` blocks, which browsers never execute. So
``script-src 'self'`` holds with no nonce and no ``'unsafe-inline'``: an injected
``<script>`` or ``onclick=`` does not run. Styles keep ``'unsafe-inline'`` because
Plotly sets style attributes while drawing. The policy is ``settings.PASSLINE_CSP``.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Add ``settings.PASSLINE_CSP`` unless the response set a policy of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = settings.PASSLINE_CSP

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
