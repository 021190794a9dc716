"""Staff API tokens: a stolen one stops working by itself (API_TOKEN_HOURS after it was
issued) and at once when the password changes; a locked-out username gets 429 from the
token endpoint as from the login page, even with the right password."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
STAFF_URL = "/api/v1/appointments/?date=2026-12-01"
ISSUED = datetime(2026, 12, 1, 13, tzinfo=UTC)
NEW_PASSWORD = "a-new-long-passphrase-2026"


def issue_token(username: str = "rita", password: str = PASSWORD) -> str:
    response = APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def staff_call(token: str) -> int:
    return APIClient().get(STAFF_URL, HTTP_AUTHORIZATION=f"Token {token}").status_code


# A refused token is 401 with `WWW-Authenticate: Token`: the token is the API's first
# authentication class (tests/hostile/test_openapi_document.py checks the challenge).
REFUSED = 401


def test_a_token_works_for_eight_hours_then_is_refused_and_gone(receptionist):
    with time_machine.travel(ISSUED, tick=False) as clock:
        token = issue_token()
        clock.shift(timedelta(hours=7, minutes=59))
        assert staff_call(token) == 200
        assert issue_token() == token  # a login while it lasts gives the same token
        clock.shift(timedelta(minutes=1))
        expired = APIClient().get(STAFF_URL, HTTP_AUTHORIZATION=f"Token {token}")
        assert expired.status_code == REFUSED
        assert expired.json() == {"detail": "The token has expired; ask for a new one."}
        assert not Token.objects.filter(key=token).exists()
        renewed = issue_token()
    assert renewed != token


def test_the_lifetime_is_a_setting(receptionist, settings):
    settings.API_TOKEN_HOURS = 1
    with time_machine.travel(ISSUED, tick=False) as clock:
        token = issue_token()
        clock.shift(timedelta(minutes=61))
        assert staff_call(token) == REFUSED
        assert issue_token() != token


def test_an_expired_token_left_in_the_table_is_replaced_at_the_next_login(receptionist):
    with time_machine.travel(ISSUED, tick=False) as clock:
        token = issue_token()
        clock.shift(timedelta(days=30))
        assert issue_token() != token
        assert Token.objects.count() == 1


def test_changing_the_password_on_the_page_revokes_the_token(client, receptionist):
    token = issue_token()
    client.force_login(receptionist)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert staff_call(token) == REFUSED
    assert not Token.objects.exists()
    assert staff_call(issue_token(password=NEW_PASSWORD)) == 200


def test_a_password_set_by_an_admin_or_a_command_revokes_the_token(receptionist, monkeypatch):
    token = issue_token()
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "rita", stdout=None)
    assert staff_call(token) == REFUSED


def test_another_users_token_is_untouched(receptionist, clinician_user):
    theirs = issue_token(username=clinician_user.username)
    receptionist.set_password(NEW_PASSWORD)
    receptionist.save()
    assert staff_call(theirs) == 200


def test_a_locked_out_username_gets_429_even_with_the_right_password(receptionist, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = APIClient()
    statuses = [
        api.post(TOKEN_URL, {"username": "rita", "password": "nope"}, format="json").status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]  # the third failure itself locks, as on the login page
    locked = api.post(TOKEN_URL, {"username": "rita", "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 30 * 60
    assert not Token.objects.exists()
