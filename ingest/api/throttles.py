"""Per-token upload rate limit: a fixed one-minute window counted in the Django cache."""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from ingest.auth import request_token

WINDOW_SECONDS = 60


class UploadRateThrottle(BaseThrottle):
    """Allow PASSLINE_UPLOAD_RATE_PER_MINUTE uploads per token per clock minute.

    A fixed window may let up to twice the rate through around a minute boundary;
    that is acceptable for a limit meant to stop runaway CI loops, and costs one cache
    increment per request. The count is shared between processes only when the cache
    is (Redis in production; per-process memory otherwise).
    """

    def allow_request(self, request, view) -> bool:
        token = request_token(request)
        if token is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"passline:upload-rate:{token.pk}:{window}"
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
            count = 1
        self._wait = WINDOW_SECONDS - (now % WINDOW_SECONDS)
        return count <= settings.PASSLINE_UPLOAD_RATE_PER_MINUTE

    def wait(self) -> float:
        return max(1.0, float(int(self._wait) + 1))
