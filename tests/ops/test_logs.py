"""Logs carry request ids and never a patient's details: a booking, its reminders and a
check-in answer, run with every log record captured."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from booking.models import Appointment
from followup.checkins import check_in_token
from followup.dispatch import dispatch_due_messages
from followup.models import Message
from followup.sending import send_message
from tests.booking.conftest import clinic  # noqa: F401 - the fixture
from tests.factories import episode_after_procedure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
FIRST, LAST = "Philippa", "Quarterman"
EMAIL = "Philippa.Quarterman@Example.org"
PHONE = "+18605550187"
COMMENT = "tingling in my left hand since the weekend"


def book() -> Appointment:
    """Book through the public API, with email and text reminders."""
    with time_machine.travel(NOW, tick=False):
        response = APIClient().post(
            "/api/v1/appointments/",
            {
                "site": "lumbar",
                "start": "2026-12-02T09:00:00-05:00",
                "patient": {
                    "first_name": FIRST,
                    "last_name": LAST,
                    "date_of_birth": "1968-02-29",
                    "email": EMAIL,
                    "phone": PHONE,
                },
                "baseline_pain": 7,
                "reminders": {"email": True, "sms": True},
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    return Appointment.objects.get()


def send_due_messages(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return dispatch_due_messages(enqueue=send_message)


@pytest.mark.usefixtures("clinic")
def test_booking_reminders_and_a_check_in_log_nothing_of_the_patient(client, settings, caplog):
    settings.SMS_BACKEND = "followup.channels.ConsoleSmsBackend"
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="factory")  # the test's own factories
    booked = book()
    for message in Message.objects.order_by("due_at"):
        assert send_due_messages(message.due_at) >= 0
    assert Message.objects.filter(state="sent").count() >= 2  # an email and a text went

    episode = episode_after_procedure(
        patient=booked.patient, performed_at=datetime(2026, 12, 2, 15, tzinfo=UTC)
    )
    check_in = episode.check_ins.get(day=1)
    with time_machine.travel(check_in.due_at + timedelta(minutes=5), tick=False):
        answered = client.post(
            f"/check-in/{check_in_token(check_in)}/", {"pain": "9", "comment": COMMENT}
        )
    assert answered.status_code == 302

    logged = caplog.text.lower()
    assert logged, "nothing was logged: the test would prove nothing"
    for detail in (FIRST, LAST, EMAIL, PHONE, PHONE[2:], COMMENT):
        assert detail.lower() not in logged, f"{detail!r} is in the log"


def test_each_response_names_its_request_id_and_keeps_a_well_formed_incoming_one(client, db):
    assert len(client.get("/healthz")["X-Request-ID"]) == 32
    incoming = uuid.uuid4().hex
    assert client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


def test_an_incoming_request_id_of_another_shape_is_replaced(client, db):
    forged = "abc\r\nSet-Cookie: x=1"
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=forged)["X-Request-ID"]
    assert answered != forged
    assert uuid.UUID(answered)


def test_log_lines_carry_the_request_id(client, db, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    request_id = uuid.uuid4().hex
    client.get("/no-such-page/", HTTP_X_REQUEST_ID=request_id)
    record = next(r for r in caplog.records if r.name == "django.request")
    assert record.correlation_id == request_id
