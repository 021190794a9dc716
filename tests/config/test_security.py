"""Production hardening: Django's deployment checks, the Content Security Policy every page
satisfies, secure cookies, HSTS, the admin's configurable path and signing-key rotation."""

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
import yaml
from django.urls import clear_url_caches, reverse
from django.utils import timezone

from booking.links import appointment_for_manage_token, manage_token
from booking.models import Appointment, AppointmentStatus, Patient
from followup.checkins import check_in_token
from followup.demo import seed_demo_clinic
from followup.models import CheckIn
from tests.e2e.conftest import next_weekday_morning
from tests.factories import PASSWORD, AppointmentFactory, episode_after_procedure

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*)|:\?[^}]*)?\}")
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# What the policy refuses in markup: inline scripts, event-handler attributes, style
# attributes and <style> elements.
INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.I)


def production_environment(**variables: str) -> dict[str, str]:
    """What docker-compose.yml gives the app, `${VAR:?…}` secrets filled with stand-ins and
    `${VAR:-default}` with the default (PATH kept to find the interpreter). A variable it
    passes through (no value) is unset here, as when neither the shell nor .env sets it."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = {
        name: COMPOSE_VARIABLE.sub(
            lambda v: v["default"] or f"stand-in-{v['name']}-" + "x" * 40, value
        )
        for name, value in compose["services"]["web"]["environment"].items()
        if value is not None
    }
    return {"PATH": os.environ["PATH"], **environment, **variables}


def manage_py(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deployment_checks_report_nothing_with_production_settings():
    result = manage_py(
        "check", "--deploy", "--fail-level", "DEBUG", environment=production_environment()
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"],
)
def test_production_refuses_to_start_without_a_secret_or_service(missing):
    environment = production_environment()
    del environment[missing]
    result = manage_py("check", environment=environment)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} must be set when DEBUG is off." in result.stderr


@pytest.mark.parametrize(
    "missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"]
)
def test_production_refuses_the_twilio_backend_without_its_credentials(missing):
    twilio = {
        "SMS_BACKEND": "followup.channels.TwilioSmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+18605550100",
    }
    del twilio[missing]
    result = manage_py("check", environment=production_environment(**twilio))
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} must be set when DEBUG is off." in result.stderr


# --- Content Security Policy ------------------------------------------------------------


@pytest.fixture
def demo(db) -> Iterator[dict]:
    """The demo clinic on a weekday morning: every kind of page has something to show."""
    with time_machine.travel(next_weekday_morning(), tick=False):
        seed_demo_clinic()
        upcoming = Appointment.objects.filter(status=AppointmentStatus.BOOKED).earliest("start")
        patient = Patient.objects.get(first_name="Eleanor", last_name="Whitfield")
        yield {
            "manage": reverse("booking:manage", args=[manage_token(upcoming)]),
            "check_in": reverse("followup:check_in", args=[check_in_token(_open_check_in())]),
            "trends": f"/staff/patients/{patient.pk}/trends/",
            "documentation": f"/staff/patients/{patient.pk}/sites/lumbar/documentation/",
        }


def _open_check_in() -> CheckIn:
    """A day-1 check-in that came due yesterday and waits for its answer, whatever the
    weekday (the demo's own history has none due in some weeks)."""
    episode = episode_after_procedure(performed_at=timezone.now() - timedelta(days=2))
    return episode.check_ins.get(day=1)


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def assert_page_keeps_the_policy(response, policy: dict[str, str] = POLICY) -> None:
    assert response.status_code == 200, response
    assert policy_of(response) == policy
    found = INLINE.findall(response.content.decode())
    assert not found, f"inline code the policy refuses: {found}"


def test_the_patients_pages_keep_the_policy(client, demo):
    for url in ["/", "/book/lumbar/", "/accounts/login/", demo["manage"], demo["check_in"]]:
        assert_page_keeps_the_policy(client.get(url))


@pytest.mark.parametrize(
    ("username", "urls"),
    [
        (
            "reception",
            ["/desk/", "/desk/day/", "/desk/week/", "/desk/patients/", "/desk/waitlist/"],
        ),
        ("clinician", ["/staff/", "trends", "documentation", "/staff/outcomes/"]),
        ("admin", ["/admin/", "/admin/booking/appointment/", "/admin/booking/location/add/"]),
    ],
)
def test_the_staff_pages_keep_the_policy(client, demo, username, urls):
    client.force_login(demo_user(username))
    for url in urls:
        assert_page_keeps_the_policy(client.get(demo.get(url, url), follow=True))


def demo_user(username: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


def test_the_api_docs_load_their_start_up_script_as_a_file(client):
    page = client.get("/api/docs/")
    assert_page_keeps_the_policy(page, {**POLICY, "img-src": "'self' data:"})
    script = re.search(r'<script src="(/api/docs/\?script=)"', page.content.decode())
    assert script is not None
    start_up = client.get(script.group(1))
    assert start_up["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in start_up.content


# --- Cookies, HSTS, headers -------------------------------------------------------------


def test_cookies_are_secure_and_hidden_from_scripts(client, receptionist):
    login_page = client.get("/accounts/login/")
    logged_in = client.post(
        "/accounts/login/", {"username": receptionist.username, "password": PASSWORD}
    )
    for response, name in ((login_page, "csrftoken"), (logged_in, "sessionid")):
        cookie = response.cookies[name]
        assert cookie["secure"], name
        assert cookie["httponly"], name
    assert login_page["X-Frame-Options"] == "DENY"


def test_https_responses_ask_for_https_for_a_year(client, db):
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- The admin's path ----------------------------------------------------------------------


@pytest.fixture
def admin_at_back_office(settings) -> Iterator[None]:
    settings.ADMIN_URL = "back-office/"
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()
    yield
    settings.ADMIN_URL = "admin/"
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()


@pytest.mark.usefixtures("admin_at_back_office")
def test_the_admin_moves_to_admin_url_and_the_links_follow(client, receptionist):
    client.force_login(receptionist)
    assert 'href="/back-office/"' in client.get("/").content.decode()
    assert client.get("/back-office/").status_code == 200
    assert client.get("/admin/").status_code == 404


# --- Signing-key rotation --------------------------------------------------------------------


def test_a_link_signed_with_the_old_key_works_until_the_key_leaves_the_fallbacks(settings, db):
    appointment = AppointmentFactory(start=timezone.now() + timedelta(days=7))
    settings.SECRET_KEY = "the-old-key-" + "o" * 40
    token = manage_token(appointment)

    settings.SECRET_KEY = "the-new-key-" + "n" * 40
    settings.SECRET_KEY_FALLBACKS = ["the-old-key-" + "o" * 40]
    assert appointment_for_manage_token(token) == appointment

    settings.SECRET_KEY_FALLBACKS = []
    assert appointment_for_manage_token(token) is None
