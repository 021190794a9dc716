"""Who is asking, as every limit and the audit trail count it."""

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """The client's address as every limit counts it (django-axes' logins, DRF's throttles).

    REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies (DRF's NUM_PROXIES) the entry of
    X-Forwarded-For that the outermost trusted proxy appended, so addresses a client
    writes into the header itself are never counted.
    """
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # reads headers and META only
