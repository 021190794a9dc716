"""Logs carry request ids and never a patient's details: a booking, its reminders and a
check-in answer, run with every log record captured."""

import io
import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

import pytest
import time_machine
import yaml
from django.urls import URLResolver, get_resolver
from gunicorn.app.wsgiapp import WSGIApplication
from rest_framework.test import APIClient

from booking.links import manage_token
from booking.models import Appointment
from config.logs import RedactRequestPaths, redact_path
from followup.checkins import check_in_token
from followup.dispatch import dispatch_due_messages
from followup.models import Message
from followup.sending import send_message
from tests.booking.conftest import clinic  # noqa: F401 - the fixture
from tests.factories import AppointmentFactory, episode_after_procedure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
FIRST, LAST = "Philippa", "Quarterman"
EMAIL = "Philippa.Quarterman@Example.org"
PHONE = "+18605550187"
COMMENT = "tingling in my left hand since the weekend"
ROOT = Path(__file__).resolve().parents[2]


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
            f"/check-in/{check_in_token(check_in)}/",
            {"pain": "9", "warning_signs": ["none"], "comment": COMMENT},
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


# --- gunicorn's access log -------------------------------------------------------------------


def dockerfile_command() -> list[str]:
    dockerfile = (ROOT / "Dockerfile").read_text()
    return json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))


def gunicorn_access_line(environ: dict[str, str], response_headers=()) -> str:
    """The line gunicorn's access log writes for a request, configured by the Dockerfile's
    command line as the web process is."""
    with patch.object(sys, "argv", dockerfile_command()):
        configuration = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg
    logger = configuration.logger_class(configuration)
    written = io.StringIO()
    logger.access_log.handlers = [logging.StreamHandler(written)]
    response = SimpleNamespace(status="200 OK", sent=1234, headers=list(response_headers))
    headers = [(k[5:].replace("_", "-"), v) for k, v in environ.items() if k.startswith("HTTP_")]
    full = {"SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9", **environ}
    logger.access(response, SimpleNamespace(headers=headers), full, timedelta(milliseconds=42))
    return written.getvalue()


SECRET = "ImFiY2RlZiI:1vXyZq:s3cr3tSignature"
CONVERTER = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")


def keyed_urls() -> list[tuple[str, str]]:
    """(route, a path of it with SECRET in every key) for every URL pattern taking a key."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif {"token", "uidb64"} & set(entry.pattern.converters):
                path = CONVERTER.sub(
                    lambda m: SECRET if m["name"] in {"token", "uidb64"} else "1", route
                )
                found.append((route, f"/{path}"))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_url_that_takes_a_key_is_known_to_the_redaction():
    routes = {route for route, _ in keyed_urls()}
    assert {
        "manage/<str:token>/",
        "booked/<str:token>/",
        "check-in/<str:token>/",
        "unsubscribe/<str:token>/",
        "waitlist/offer/<str:token>/",
        "feeds/<str:token>.ics",
        "api/v1/manage/<str:token>/",
        "api/v1/check-ins/<str:token>/",
        "accounts/reset/<uidb64>/<token>/",
    } <= routes
    for route, url in keyed_urls():
        assert SECRET not in redact_path(url), route
        assert "[key]" in redact_path(url), route


def test_the_access_log_keeps_no_key_and_no_search(db):
    manage = manage_token(AppointmentFactory())
    lines = {
        "manage": gunicorn_access_line(
            {"REQUEST_METHOD": "POST", "RAW_URI": f"/manage/{manage}/cancel/"}
        ),
        "check-in API": gunicorn_access_line(
            {"REQUEST_METHOD": "GET", "RAW_URI": f"/api/v1/check-ins/{SECRET}/?x=1"}
        ),
        "search": gunicorn_access_line(
            {
                "REQUEST_METHOD": "GET",
                "RAW_URI": "/desk/patients/?q=Quarterman%201968-02-29",
                "QUERY_STRING": "q=Quarterman%201968-02-29",
                "HTTP_REFERER": f"https://clinic.example.org/manage/{manage}/?q=Quarterman",
                "HTTP_COOKIE": "sessionid=abcdef0123456789",
            },
            response_headers=[("Location", f"/booked/{manage}/"), ("X-Request-ID", "f" * 32)],
        ),
        "reset": gunicorn_access_line(
            {"REQUEST_METHOD": "GET", "RAW_URI": f"/accounts/reset/MQ/{SECRET}/"}
        ),
    }
    assert lines["manage"].startswith("203.0.113.9 - - [")
    assert '"POST /manage/[key]/cancel/ HTTP/1.1" 200 1234' in lines["manage"]
    assert '"GET /api/v1/check-ins/[key]/ HTTP/1.1"' in lines["check-in API"]
    assert '"GET /desk/patients/ HTTP/1.1"' in lines["search"]
    assert '"https://clinic.example.org/manage/[key]/"' in lines["search"]
    assert f" {'f' * 32} 42ms" in lines["search"]
    assert '"GET /accounts/reset/[key]/ HTTP/1.1"' in lines["reset"]
    logged = "".join(lines.values())
    for secret in (manage, SECRET, "Quarterman", "1968-02-29", "abcdef0123456789", "MQ/"):
        assert secret not in logged, f"{secret!r} is in the access log"


def test_the_web_process_uses_the_redacting_configuration():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for command in (compose["services"]["web"]["command"], dockerfile_command()):
        assert command[:4] == [
            "gunicorn",
            "config.wsgi:application",
            "-c",
            "python:config.gunicorn",
        ]
        # The configuration's access log and format, not one given beside it.
        assert not any(argument.startswith("--access-log") for argument in command)


def test_the_apps_own_request_lines_keep_no_key(client, db, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    client.get(f"/manage/{SECRET}/no-such-action/")
    client.get(f"/api/v1/manage/{SECRET}/")
    console = next(  # the handler settings.LOGGING gives the root logger
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactRequestPaths) for f in handler.filters)
    )
    logged = [console.format(r) for r in caplog.records if console.filter(r)]
    assert any("Not Found: /manage/[key]/no-such-action/" in line for line in logged), logged
    assert any("Not Found: /api/v1/manage/[key]/" in line for line in logged), logged
    assert SECRET not in "\n".join(logged)
