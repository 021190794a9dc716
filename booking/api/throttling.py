from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView


def client_address(request: HttpRequest) -> str:
    """The client's address as every limit counts it (django-axes' logins, DRF's throttles).

    REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies (DRF's NUM_PROXIES) the entry of
    X-Forwarded-For that the outermost trusted proxy appended, so addresses a client
    writes into the header itself are never counted.
    """
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # reads headers and META only


class PublicRateThrottle(SimpleRateThrottle):
    """Per client address limit on the public endpoints (setting PUBLIC_API_RATE; 0 = off)."""

    scope = "public"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
