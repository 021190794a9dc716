"""No copy of a page or API answer is kept by a browser or a proxy (`Cache-Control:
no-store`): patient links, staff pages, the staff and patient APIs, the public catalogue.
Static files keep their long caching."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from booking.links import manage_token
from followup.checkins import check_in_token
from tests.factories import AppointmentFactory, episode_after_procedure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # the day-3 check-in is due and open


@pytest.fixture
def links() -> dict[str, str]:
    appointment = AppointmentFactory(start=NOW + timedelta(days=7))
    check_in = episode_after_procedure(performed_at=PERFORMED).check_ins.get(day=3)
    manage, answer = manage_token(appointment), check_in_token(check_in)
    return {
        "manage": f"/manage/{manage}/",
        "booked": f"/booked/{manage}/",
        "safety": f"/manage/{manage}/safety/",
        "check-in": f"/check-in/{answer}/",
        "manage API": f"/api/v1/manage/{manage}/",
        "check-in API": f"/api/v1/check-ins/{answer}/",
        "staff API": f"/api/v1/appointments/{appointment.public_id}/",
        "offer (not valid)": "/waitlist/offer/not-a-token/",
        "unsubscribe (not valid)": "/unsubscribe/not-a-token/",
    }


def assert_not_stored(response, what: str) -> None:
    assert response.status_code < 500, what
    assert "no-store" in response.get("Cache-Control", ""), f"{what}: {response.headers}"


def test_patient_links_and_their_api_are_not_stored(client, links):
    for what in ("manage", "booked", "safety", "check-in", "offer (not valid)"):
        assert_not_stored(client.get(links[what]), what)
    api = APIClient()
    for what in ("manage API", "check-in API"):
        assert_not_stored(api.get(links[what]), what)


@pytest.mark.parametrize(
    "url", ["/desk/", "/desk/patients/?q=Ann", "/desk/waitlist/", "/staff/", "/admin/"]
)
def test_staff_pages_are_not_stored(client, clinic_admin, url):
    client.force_login(clinic_admin)
    assert_not_stored(client.get(url), url)


def test_the_staff_api_is_not_stored(clinic_admin, links):
    api = APIClient()
    api.force_authenticate(clinic_admin)
    assert_not_stored(api.get(links["staff API"]), "staff API")
    assert_not_stored(api.get("/api/v1/appointments/?date=2026-12-11"), "staff list")


@pytest.mark.parametrize(
    "url", ["/", "/book/lumbar/", "/accounts/login/", "/api/v1/sites/", "/no-such-page/"]
)
def test_public_pages_and_errors_are_not_stored_either(client, url):
    assert_not_stored(client.get(url), url)


def test_a_view_that_chose_its_own_caching_keeps_it(client, db):
    assert client.get("/healthz")["Cache-Control"].startswith("max-age=0")


def test_static_files_keep_their_caching(client):
    response = client.get("/static/css/clinic.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
