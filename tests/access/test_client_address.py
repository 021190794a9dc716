"""Login lockouts and public rate limits count the client's real address.

With no trusted proxy, only REMOTE_ADDR counts, so a client writing X-Forwarded-For
gains nothing; behind one trusted proxy, the address that proxy appended (the rightmost
entry) is counted and whatever the client put before it is ignored.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from booking.api.throttling import PublicRateThrottle
from tests.factories import PASSWORD

LOGIN_URL = "/accounts/login/"
PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def behind_one_proxy(settings):
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


@pytest.fixture
def lockout_after_3(settings):
    settings.AXES_FAILURE_LIMIT = 3


def _login(client, password: str, **meta: str) -> int:
    response = client.post(LOGIN_URL, {"username": "rita", "password": password}, **meta)
    return response.status_code


def _forwarded(*addresses: str, via: str = PROXY) -> dict[str, str]:
    return {"HTTP_X_FORWARDED_FOR": ", ".join(addresses), "REMOTE_ADDR": via}


class TestLoginLockout:
    def test_after_the_limit_the_right_password_is_refused(
        self, client, receptionist, lockout_after_3
    ):
        # The third failure itself is answered with the lockout.
        assert [_login(client, "nope") for _ in range(3)] == [200, 200, 429]
        assert _login(client, PASSWORD) == 429
        assert "_auth_user_id" not in client.session

    def test_rotating_x_forwarded_for_without_a_trusted_proxy_is_still_locked_out(
        self, client, receptionist, lockout_after_3
    ):
        for n in range(3):
            _login(client, "nope", **_forwarded(f"203.0.113.{n}", via=CLIENT))
        assert _login(client, PASSWORD, **_forwarded("203.0.113.99", via=CLIENT)) == 429
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}

    def test_behind_a_trusted_proxy_the_address_it_saw_is_counted(
        self, client, receptionist, lockout_after_3, behind_one_proxy
    ):
        for n in range(3):  # the client rotates what it writes; the proxy appends CLIENT
            _login(client, "nope", **_forwarded(f"203.0.113.{n}", CLIENT))
        assert _login(client, PASSWORD, **_forwarded("203.0.113.99", CLIENT)) == 429
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}

    def test_behind_a_trusted_proxy_another_client_can_still_log_in(
        self, client, receptionist, lockout_after_3, behind_one_proxy
    ):
        for _ in range(3):
            _login(client, "nope", **_forwarded(CLIENT))
        assert _login(client, PASSWORD, **_forwarded("198.51.100.8")) == 302
        assert client.session["_auth_user_id"] == str(receptionist.pk)


@pytest.fixture
def public_rate_3_per_minute(monkeypatch):
    # DRF reads the rates when the throttle class is defined, so patch them there.
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "3/min"})


def _sites(api: APIClient, **meta: str):
    return api.get("/api/v1/sites/", **meta)


@pytest.mark.django_db
@pytest.mark.usefixtures("public_rate_3_per_minute")
class TestPublicRateLimit:
    def test_the_fourth_request_is_429_with_retry_after(self):
        api = APIClient()
        assert [_sites(api).status_code for _ in range(3)] == [200, 200, 200]
        refused = _sites(api)
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60

    def test_rotating_x_forwarded_for_without_a_trusted_proxy_gains_nothing(self):
        api = APIClient()
        statuses = [
            _sites(api, **_forwarded(f"203.0.113.{n}", via=CLIENT)).status_code for n in range(4)
        ]
        assert statuses == [200, 200, 200, 429]

    @pytest.mark.usefixtures("behind_one_proxy")
    def test_behind_a_trusted_proxy_each_real_client_has_its_own_limit(self):
        api = APIClient()
        statuses = [
            _sites(api, **_forwarded(f"203.0.113.{n}", CLIENT)).status_code for n in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert _sites(api, **_forwarded(CLIENT, "198.51.100.8")).status_code == 200


def test_trusted_proxy_count_sets_both_limits_from_the_environment():
    environment = {**os.environ, "DEBUG": "true", "TRUSTED_PROXY_COUNT": "2"}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; print(s.REST_FRAMEWORK['NUM_PROXIES'])",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert printed.stdout.strip() == "2"
