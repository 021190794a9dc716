"""What staff (or a script with a staff session) type into the searches and filters: a date
that does not exist, a NUL character (PostgreSQL refuses it in a query), a regular
expression that does not compile, digits Python calls digits but int() refuses. Each is a
400 or an empty result, never a 500."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from booking.links import manage_token
from tests.booking.conftest import clinic  # noqa: F401 - the fixture
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in New York
LATER = datetime(2026, 12, 10, 14, tzinfo=UTC)
NOT_A_DATE = "2026-02-30"
NUL = "\x00"


@pytest.fixture
def patient():
    return PatientFactory(first_name="Nadia", last_name="Okafor", date_of_birth=date(1980, 2, 29))


@pytest.fixture
def desk(client, receptionist):
    client.force_login(receptionist)
    return client


def assert_refused_or_empty(response, patient) -> None:
    assert response.status_code in {200, 400}, response.status_code
    assert patient.last_name not in response.content.decode()


@pytest.mark.parametrize("query", [NOT_A_DATE, NUL, f"Okafor{NUL}", "2026-13-01"])
@pytest.mark.parametrize(
    "url", ["/desk/waitlist/", "/desk/patients/", "/desk/walk-in/", "merge"], ids=str
)
def test_the_desk_searches_refuse_or_find_nothing_for_impossible_input(desk, patient, url, query):
    if url == "merge":
        url = f"/desk/patients/{PatientFactory().pk}/merge/"
    assert_refused_or_empty(desk.get(url, {"q": query}), patient)


def test_a_date_that_exists_still_finds_the_patient(desk, patient):
    response = desk.get("/desk/waitlist/", {"q": "1980-02-29"})
    assert response.status_code == 200
    assert patient.last_name in response.content.decode()


SUPERSCRIPT_TWO = "²"  # "²".isdigit() is true, int("²") raises


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/desk/waitlist/", "patient"),
        ("/desk/walk-in/", "location"),
        ("/desk/walk-in/", "site"),
        ("/desk/book/", "location"),
        ("merge", "duplicate"),
    ],
)
def test_digits_that_are_not_decimal_are_no_id(desk, url, parameter):
    if url == "merge":
        url = f"/desk/patients/{PatientFactory().pk}/merge/"
    assert desk.get(url, {parameter: SUPERSCRIPT_TWO}).status_code in {200, 400, 404}


def test_the_desk_forms_take_no_such_id(desk):
    appointment = AppointmentFactory(start=LATER)
    desk_book = {"location": appointment.location.pk, "clinician": appointment.clinician.pk}
    booked = desk.post(
        f"/desk/book/?start={LATER.isoformat()}&"
        + "&".join(f"{k}={v}" for k, v in desk_book.items()),
        {"patient": SUPERSCRIPT_TWO},
    )
    moved = desk.post(
        f"/desk/appointments/{appointment.public_id}/reschedule/",
        {"slot": f"{LATER.isoformat()}|{SUPERSCRIPT_TWO}"},
    )
    assert booked.status_code in {200, 400, 404}
    assert moved.status_code in {302, 400, 404}


@pytest.mark.usefixtures("clinic")
def test_the_patients_pages_take_no_such_id(client):
    start = "2026-12-10T09:00:00-05:00"
    with time_machine.travel(NOW, tick=False):
        details = client.get(
            "/book/lumbar/details/", {"start": start, "clinician": SUPERSCRIPT_TWO}
        )
        token = manage_token(AppointmentFactory(start=LATER))
        confirm = client.get(
            f"/manage/{token}/reschedule/confirm/", {"start": start, "clinician": SUPERSCRIPT_TWO}
        )
    assert details.status_code in {200, 302, 400}
    assert confirm.status_code in {200, 302, 400}


@pytest.mark.parametrize(
    "lookup",
    [{"email__regex": "("}, {"email__iregex": "[z-a]"}, {"last_name__regex": "a{99999}"}],
)
def test_the_admin_refuses_regular_expression_lookups(client, clinic_admin, patient, lookup):
    client.force_login(clinic_admin)
    response = client.get("/admin/booking/patient/", lookup)
    assert response.status_code == 400
    assert patient.last_name not in response.content.decode()


def test_the_admin_search_finds_nothing_for_a_nul(client, clinic_admin, patient):
    client.force_login(clinic_admin)
    assert_refused_or_empty(client.get("/admin/booking/patient/", {"q": NUL}), patient)
