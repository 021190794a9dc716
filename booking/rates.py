"""Rate limits outside the API's views, counted as the API's throttles count (DRF's
`SimpleRateThrottle`: a list of recent times per key, in the cache), so there is one way
of counting, one cache and one setting style (`30/min`, `0` for off)."""

from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class RecipientRateThrottle(SimpleRateThrottle):
    """Appointment emails to one address (setting APPOINTMENT_EMAIL_RATE), so the booking
    form cannot be used to flood someone's inbox. The cache key is an HMAC of the
    address, so the cache holds no email addresses."""

    scope = "appointment_email"

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient.strip().lower()
        super().__init__()

    def get_cache_key(self, request: Request | None, view: APIView | None) -> str:
        ident = salted_hmac("booking.rates.recipient", self.recipient).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


def may_email(recipient: str) -> bool:
    """Whether one more appointment email may go to `recipient` now (and count it)."""
    return RecipientRateThrottle(recipient).allow_request(None, None)  # type: ignore[arg-type]
