"""A staff session left alone for STAFF_IDLE_MINUTES (30 by default) is logged out at its
next request; one in use stays logged in. (The rest of the suite sets a year: its tests
move the clock by days while logged in.)"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.config.test_security import manage_py, production_environment
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 12, 1, 14, tzinfo=UTC)


@pytest.fixture(autouse=True)
def production_default(settings):
    settings.STAFF_IDLE_MINUTES = 30


def test_the_production_default_is_30_minutes():
    result = manage_py(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.STAFF_IDLE_MINUTES)",
        environment=production_environment(),
    )
    assert result.stdout.strip().splitlines()[-1] == "30", result.stderr


def log_in(client, user) -> None:
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_a_desk_left_alone_for_half_an_hour_is_logged_out(client, receptionist):
    with time_machine.travel(MORNING, tick=False) as clock:
        log_in(client, receptionist)
        assert client.get("/desk/").status_code == 200
        clock.shift(timedelta(minutes=30, seconds=1))
        response = client.get("/desk/patients/", {"q": "Ann"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert "_auth_user_id" not in client.session
        login_page = client.get(response["Location"])
    assert "logged out after 30 minutes without activity" in login_page.content.decode()


def test_a_desk_in_use_stays_logged_in(client, receptionist):
    with time_machine.travel(MORNING, tick=False) as clock:
        log_in(client, receptionist)
        for _ in range(12):  # two hours, a click every ten minutes
            clock.shift(timedelta(minutes=10))
            assert client.get("/desk/").status_code == 200
        assert client.session["_auth_user_id"] == str(receptionist.pk)


def test_the_staff_api_with_a_session_is_logged_out_too(client, clinician_user):
    with time_machine.travel(MORNING, tick=False) as clock:
        log_in(client, clinician_user)
        assert client.get("/api/v1/appointments/").status_code == 200
        clock.shift(timedelta(minutes=31))
        # Logged out: no credentials now, so 401 with the API's `WWW-Authenticate: Token`.
        assert client.get("/api/v1/appointments/").status_code == 401


def test_the_idle_time_is_a_setting(client, receptionist, settings):
    settings.STAFF_IDLE_MINUTES = 5
    with time_machine.travel(MORNING, tick=False) as clock:
        log_in(client, receptionist)
        assert client.get("/desk/").status_code == 200
        clock.shift(timedelta(minutes=4))
        assert client.get("/desk/").status_code == 200
        clock.shift(timedelta(minutes=6))
        assert client.get("/desk/").status_code == 302
