"""Staff on a desktop: the reception desk's day view and a clinician's outcome pages."""

import pytest
import time_machine
from django.contrib.auth.models import User

from booking.demo import DEMO_PASSWORDS
from booking.models import Patient
from followup.demo import seed_demo_clinic
from tests.e2e.conftest import next_weekday_morning, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.fixture
def weekday_morning():
    """The demo clinicians work on weekdays: look at the desk on one, whenever CI runs."""
    with time_machine.travel(next_weekday_morning(), tick=True):
        yield


@pytest.mark.usefixtures("weekday_morning")
def test_reception_sees_today_and_the_day_view(catalogue, live_server, desktop):
    seed_demo_clinic()
    log_in(desktop, live_server, "reception")
    desktop.goto(f"{live_server.url}/desk/")
    screenshot(desktop, "30-desk-home")
    desktop.goto(f"{live_server.url}/desk/day/")
    screenshot(desktop, "31-day-view")
    assert "Dr. Maya Patel" in desktop.content()
    patel = User.objects.get(username="clinician").clinician
    desktop.goto(f"{live_server.url}/desk/week/?clinician={patel.pk}")
    screenshot(desktop, "32-week-view")


def test_a_clinician_sees_a_patients_trend_and_the_clinic_outcomes(catalogue, live_server, desktop):
    seed_demo_clinic()
    patient = Patient.objects.get(first_name="Eleanor", last_name="Whitfield")
    log_in(desktop, live_server, "clinician")
    desktop.goto(f"{live_server.url}/staff/patients/{patient.pk}/trends/")
    assert desktop.get_by_role("heading", name="Repeat-injection eligibility").is_visible()
    screenshot(desktop, "33-patient-trends")
    desktop.goto(f"{live_server.url}/staff/outcomes/?site=lumbar&site=cervical-trigger-point")
    screenshot(desktop, "34-outcomes-dashboard")
