"""A JSON body nested deeper than the parser can follow ("[" * 20000) is bad input: 400,
on every endpoint that reads a body, anonymous or not, and nothing is saved."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from booking.links import manage_token
from booking.models import Appointment, AppointmentStatus
from followup.checkins import check_in_token
from followup.models import CheckInAnswer
from tests.factories import AppointmentFactory, episode_after_procedure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 1 December, 10:00 in New York
NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # the day-3 check-in is due and open
DEEP = "[" * 20000


def post_deep(path: str):
    return APIClient().post(path, DEEP, content_type="application/json")


def assert_refused_as_bad_input(response) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert "JSON parse error" in response.json()["detail"]


def test_the_public_booking_endpoint_refuses_deep_nesting():
    assert_refused_as_bad_input(post_deep("/api/v1/appointments/"))
    assert not Appointment.objects.exists()


def test_the_token_endpoint_refuses_deep_nesting():
    assert_refused_as_bad_input(post_deep("/api/v1/auth/token/"))


def test_the_manage_endpoints_refuse_deep_nesting():
    appointment = AppointmentFactory(start=NOW + timedelta(days=7))
    token = manage_token(appointment)
    for action in ("cancel/", "reschedule/"):
        assert_refused_as_bad_input(post_deep(f"/api/v1/manage/{token}/{action}"))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_check_in_endpoint_refuses_deep_nesting():
    episode = episode_after_procedure(performed_at=PERFORMED)
    check_in = episode.check_ins.get(day=3)
    assert_refused_as_bad_input(post_deep(f"/api/v1/check-ins/{check_in_token(check_in)}/"))
    assert not CheckInAnswer.objects.exists()


def test_the_staff_endpoints_refuse_deep_nesting(clinic_admin):
    appointment = AppointmentFactory(start=NOW + timedelta(days=7))
    api = APIClient()
    api.force_authenticate(clinic_admin)
    response = api.post(
        f"/api/v1/appointments/{appointment.public_id}/reschedule/",
        DEEP,
        content_type="application/json",
    )
    assert_refused_as_bad_input(response)
