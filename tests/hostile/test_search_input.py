"""What staff (or a script with a staff session) type into the searches and filters: a date
that does not exist, a NUL character (PostgreSQL refuses it in a query), a regular
expression that does not compile, digits Python calls digits but int() refuses. Each is a
400 or an empty result, never a 500."""

from datetime import date

import pytest

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

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


@pytest.mark.parametrize(("url", "parameter"), [("/desk/waitlist/", "patient")])
def test_digits_that_are_not_decimal_are_no_id(desk, url, parameter):
    # "²".isdigit() is true, int("²") raises.
    assert desk.get(url, {parameter: "²"}).status_code in {200, 400, 404}


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
