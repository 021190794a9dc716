"""Every operation of the OpenAPI schema, fuzzed by schemathesis, anonymously and as staff.

No answer may be a server error, and every answer must be one the schema documents, with
the content type, body and headers the schema describes (formats included: a patient's
email is an address or ""); a method no operation declares must answer 405 with `Allow`.
The examples are bounded and derandomized so the run is the same each time and fits in CI.
"""

import json
from datetime import time, timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from booking.api.throttling import PublicRateThrottle
from booking.links import manage_token
from booking.models import Appointment, Site
from config.wsgi import application
from followup.checkins import check_in_token
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    UserFactory,
    WorkingHoursFactory,
    episode_after_procedure,
)
from tests.hostile.conftest import FUZZ_EXAMPLES_PER_OPERATION, FUZZ_RESPONSES

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,  # e.g. a 401's WWW-Authenticate
    unsupported_method,  # 405 with Allow for the methods the coverage phase adds
]
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _served_schema() -> dict:
    """The document /api/schema/ serves, generated in-process (no database needed)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


schema = schemathesis.openapi.from_dict(_served_schema())


@pytest.fixture(autouse=True)
def fuzz_environment(db, monkeypatch, settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis, Django's client
    # Rate limits off: the fuzz sends hundreds of requests from one address.
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": None})
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": None})
    # The WSGI handler closes the connection after each request, as in production; the
    # test's transaction lives on it, so keep it open as Django's test client does.
    for signal in (request_started, request_finished):
        monkeypatch.setattr(signal, "receivers", signal.receivers[:])
        signal.disconnect(close_old_connections)


@pytest.fixture
def real_path_parameters(db) -> dict[str, str]:
    """Path parameters naming real objects, so the fuzz also reaches past the 404."""
    appointment = _a_bookable_clinic()
    check_in = episode_after_procedure().check_ins.first()
    return {
        "public_id": str(appointment.public_id),
        "/manage/": manage_token(appointment),
        "/check-ins/": check_in_token(check_in),
    }


def _a_bookable_clinic() -> Appointment:
    """Something for valid requests to find: the schema's example site, bookable, with a visit."""
    location = LocationFactory()
    lumbar = Site.objects.get(slug="lumbar")
    clinician = ClinicianFactory(sites=[lumbar], locations=[location])
    for weekday in range(7):
        WorkingHoursFactory(
            clinician=clinician, location=location, weekday=weekday, end_time=time(18)
        )
    return AppointmentFactory(
        site=lumbar,
        clinician=clinician,
        location=location,
        # Booked with a phone only, as patients may: staff answers show the empty email.
        patient=PatientFactory(email="", phone="+18605550123"),
        start=timezone.now() + timedelta(days=3),
    )


@pytest.fixture
def staff_token(db) -> str:
    admin = UserFactory(username="fuzz-admin", is_staff=True, is_superuser=True)
    return Token.objects.create(user=admin).key


def _call_and_check(case, identity: str, headers: dict[str, str] | None = None) -> None:
    response = case.call(headers=headers, app=application)
    FUZZ_RESPONSES[case.operation.label][identity][response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


def _on_real_objects(case, real: dict[str, str]) -> None:
    """The same case again with its path naming a real appointment or link."""
    if not case.path_parameters:
        return
    for name in case.path_parameters:
        key = name if name in real else next(k for k in real if k in case.operation.path)
        case.path_parameters[name] = real[key]


@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymously(case, real_path_parameters):
    _call_and_check(case, "anonymous")
    _on_real_objects(case, real_path_parameters)
    _call_and_check(case, "anonymous")


@schema.parametrize()
@FUZZ_SETTINGS
def test_as_staff(case, staff_token, real_path_parameters):
    headers = {"Authorization": f"Token {staff_token}"}
    _call_and_check(case, "staff", headers)
    _on_real_objects(case, real_path_parameters)
    _call_and_check(case, "staff", headers)


# --- what the fuzz found, kept as plain tests ----------------------------------------------


@pytest.mark.parametrize("site", ["lumbar\x00", "\x00"])
def test_a_nul_character_in_the_site_is_a_400_not_a_500(client, site):
    response = client.get(
        "/api/v1/availability/", {"site": site, "start": "2026-12-01", "end": "2026-12-02"}
    )
    assert response.status_code == 400
    assert "site" in response.json()


def test_an_id_that_is_not_a_uuid_is_a_json_404(client):
    response = client.get("/api/v1/appointments/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
