"""The public API's per-client limit on the patient pages' POSTs: the same throttle class,
so the same counter (PUBLIC_API_RATE per client address) whichever way a client books."""

from collections.abc import Callable
from functools import wraps
from math import ceil
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from booking.api.throttling import PublicRateThrottle

View = Callable[..., HttpResponse]


def shares_public_rate(view: View) -> View:
    """POSTs to `view` count against the public API's limit; over it, a friendly 429
    page with `Retry-After`, and nothing done (what the patient typed stays in the draft)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            throttle = PublicRateThrottle()
            if not throttle.allow_request(request, None):  # type: ignore[arg-type]
                wait = ceil(throttle.wait() or 1)
                response = render(
                    request,
                    "booking/too_many_requests.html",
                    {"minutes": ceil(wait / 60)},
                    status=429,
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapper
