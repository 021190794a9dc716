from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class PublicRateThrottle(SimpleRateThrottle):
    """Per client address limit on the public endpoints (setting PUBLIC_API_RATE; 0 = off)."""

    scope = "public"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
