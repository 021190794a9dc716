"""The staff password reset page, throttled so that it can neither flood a mailbox nor test
addresses at speed: PASSWORD_RESET_ADDRESS_RATE emails per address, whoever asks, and
PASSWORD_RESET_CLIENT_RATE requests per client address (then 429)."""

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from rest_framework.throttling import SimpleRateThrottle


class _SettingRateThrottle(SimpleRateThrottle):
    """DRF's counting in the cache, at a rate read from a Django setting when it is used."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        rate: str | None = getattr(settings, self.rate_setting)
        return rate


class ResetClientThrottle(_SettingRateThrottle):
    scope = "password_reset_client"
    rate_setting = "PASSWORD_RESET_CLIENT_RATE"

    def get_cache_key(self, request: Any, view: Any) -> str:
        # The client's address as the login lockout and the API count it.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ResetAddressThrottle(_SettingRateThrottle):
    scope = "password_reset_address"
    rate_setting = "PASSWORD_RESET_ADDRESS_RATE"

    def __init__(self, email: str) -> None:
        super().__init__()
        # A digest, so the cache holds no address.
        self.ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def _allowed(throttle: SimpleRateThrottle, request: HttpRequest) -> bool:
    """Counts the request; False over the rate. (DRF's throttles read only the request's
    META and the cache, so a Django request and no DRF view serve.)"""
    return throttle.allow_request(request, None)  # type: ignore[arg-type]


class ThrottledPasswordResetView(PasswordResetView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = ResetClientThrottle()
        if not _allowed(throttle, request):
            return self._too_many(throttle)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if not _allowed(ResetAddressThrottle(form.cleaned_data["email"]), self.request):
            # The answer an email would have had: the page never says whether one went.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)

    def _too_many(self, throttle: ResetClientThrottle) -> HttpResponse:
        form = self.get_form()
        form.is_valid()  # bound, so the error shows with what was typed
        # On the field: the page (the admin's template) shows no form-wide errors.
        form.add_error("email", "Too many password reset requests from here. Try again later.")
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        wait = throttle.wait()
        response["Retry-After"] = str(max(1, round(wait or 1)))
        return response
