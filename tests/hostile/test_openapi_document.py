"""The OpenAPI document /api/schema/ serves is valid OpenAPI 3 and tells the truth about the
answers a client meets: a patient without an email, each 409, 401 with its challenge, 403
for a logged-in user without a staff role, and 405 for a method no operation declares.

Answers are checked against the document with the OpenAPI 3.0 validator and its format
checker, as a generated client would read them."""

from datetime import UTC, date, datetime, timedelta

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from booking.links import manage_token
from booking.models import AppointmentSource
from booking.services import PatientDetails, book_appointment, cancel_appointment
from followup.checkins import check_in_token
from tests.booking.conftest import clinic  # noqa: F401 - the fixture
from tests.factories import episode_after_procedure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
TUESDAY_9AM = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
PHONE_ONLY = PatientDetails(
    first_name="Ana", last_name="Silva", date_of_birth=date(1971, 4, 12), phone="+18605550123"
)
BEN = PatientDetails(
    first_name="Ben", last_name="Okafor", date_of_birth=date(1980, 2, 3), phone="+18605550124"
)
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def appointment(clinic):  # noqa: F811 - the fixture
    return book_appointment(
        site=clinic["site"],
        start=WEDNESDAY_9AM,
        patient=PHONE_ONLY,
        source=AppointmentSource.ONLINE,
    )


@pytest.fixture
def staff_api(clinic_admin) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=clinic_admin).key}")
    return api


def documented(document: dict, path: str, method: str, response) -> dict:
    """The response's documented shape; fails when its status is not documented."""
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, (response.status_code, sorted(responses))
    return responses[str(response.status_code)]


def assert_conforms(document: dict, path: str, method: str, response) -> None:
    declared = documented(document, path, method, response)
    schema = declared["content"]["application/json"]["schema"]
    # The operation's schema refers to #/components/…: resolve them in this document.
    OAS30Validator(
        {"allOf": [schema], "components": document["components"]},
        format_checker=oas30_format_checker,
    ).validate(response.json())


def test_the_served_document_is_valid_openapi(document):
    validate(document)  # raises with the first error, naming where it is


def test_a_patient_without_an_email_matches_the_staff_schema(document, staff_api, appointment):
    response = staff_api.get(f"/api/v1/appointments/{appointment.public_id}/")
    assert response.status_code == 200
    assert response.json()["patient"]["email"] == ""
    assert_conforms(document, "/api/v1/appointments/{public_id}/", "get", response)


def test_a_reschedule_refused_for_the_status_matches_its_409(document, staff_api, appointment):
    cancel_appointment(appointment=appointment, reason="", by_patient=False)
    response = staff_api.post(
        f"/api/v1/appointments/{appointment.public_id}/reschedule/",
        {"start": "2026-12-03T09:00:00-05:00"},
        format="json",
    )
    assert response.status_code == 409
    assert "alternatives" not in response.json()
    assert_conforms(document, "/api/v1/appointments/{public_id}/reschedule/", "post", response)


def test_a_reschedule_inside_the_notice_matches_its_409(document, clinic, clock):  # noqa: F811
    tomorrow = book_appointment(
        site=clinic["site"], start=TUESDAY_9AM, patient=PHONE_ONLY, source=AppointmentSource.ONLINE
    )
    clock.shift(timedelta(hours=6))  # now inside lumbar's 24 hours of notice
    response = APIClient().post(
        f"/api/v1/manage/{manage_token(tomorrow)}/reschedule/",
        {"start": "2026-12-03T09:00:00-05:00"},
        format="json",
    )
    assert response.status_code == 409
    assert "alternatives" not in response.json()
    assert_conforms(document, "/api/v1/manage/{token}/reschedule/", "post", response)


def test_a_taken_time_matches_its_409_with_the_alternatives(document, clinic, appointment):  # noqa: F811
    # Both clinicians busy at 09:00 on Wednesday: the second booking takes the colleague.
    book_appointment(
        site=clinic["site"], start=WEDNESDAY_9AM, patient=BEN, source=AppointmentSource.ONLINE
    )
    other = book_appointment(
        site=clinic["site"],
        start=WEDNESDAY_9AM + timedelta(hours=2),
        patient=BEN,
        source=AppointmentSource.ONLINE,
    )
    response = APIClient().post(
        f"/api/v1/manage/{manage_token(other)}/reschedule/",
        {"start": "2026-12-02T09:00:00-05:00"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["alternatives"]
    assert_conforms(document, "/api/v1/manage/{token}/reschedule/", "post", response)


STAFF_OPERATIONS = [
    ("get", "/api/v1/appointments/"),
    ("get", "/api/v1/appointments/{public_id}/"),
    ("post", "/api/v1/appointments/{public_id}/cancel/"),
    ("post", "/api/v1/appointments/{public_id}/reschedule/"),
    ("post", "/api/v1/appointments/{public_id}/arrive/"),
    ("post", "/api/v1/appointments/{public_id}/no-show/"),
    ("post", "/api/v1/appointments/{public_id}/complete/"),
    ("get", "/api/v1/appointments/{public_id}/messages/"),
]


@pytest.mark.parametrize(("method", "path"), STAFF_OPERATIONS)
def test_an_anonymous_call_to_a_staff_operation_is_401_with_the_token_challenge(
    document, appointment, method, path
):
    response = getattr(APIClient(), method)(path.format(public_id=appointment.public_id))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert_conforms(document, path, method, response)
    assert "WWW-Authenticate" in documented(document, path, method, response)["headers"]


@pytest.mark.parametrize(("method", "path"), STAFF_OPERATIONS)
def test_a_logged_in_user_without_a_staff_role_gets_403(
    document, appointment, patient_user, method, path
):
    api = APIClient()
    api.force_login(patient_user)
    response = getattr(api, method)(path.format(public_id=appointment.public_id))
    assert response.status_code == 403
    assert_conforms(document, path, method, response)


def test_a_refused_token_is_401_with_the_token_challenge(appointment):
    response = APIClient().get("/api/v1/appointments/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_staff_logged_in_with_a_session_still_use_the_api(receptionist, appointment):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(receptionist)
    listed = browser.get("/api/v1/appointments/", {"date": "2026-12-02"})
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [str(appointment.public_id)]
    # A write from the browser still needs its CSRF token, as with any session.
    assert browser.post(f"/api/v1/appointments/{appointment.public_id}/arrive/").status_code == 403


def test_every_method_no_operation_declares_answers_405_with_allow(
    document, staff_api, appointment
):
    check_in = episode_after_procedure().check_ins.first()
    real = {
        "{public_id}": str(appointment.public_id),
        "{token}": manage_token(appointment),
    }
    tried = 0
    for path, operations in document["paths"].items():
        url = path.replace("{public_id}", real["{public_id}"])
        url = url.replace(
            "{token}", check_in_token(check_in) if "check-ins" in path else real["{token}"]
        )
        for method in sorted(METHODS - set(operations)):
            response = getattr(staff_api, method)(url)
            assert response.status_code == 405, (method, path, response.status_code)
            assert response.headers["Allow"], (method, path)
            tried += 1
    assert tried > 40
