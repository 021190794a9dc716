"""axe-core on every page the journeys visit: no serious or critical violations.

The patient's pages on a phone, the staff's on a desktop."""

from datetime import time, timedelta

import pytest
import time_machine
from django.utils import timezone

from booking.demo import DEMO_PASSWORDS
from booking.models import Appointment, AppointmentStatus, Patient
from followup.checkins import check_in_url
from followup.demo import seed_demo_clinic
from followup.models import SideEffect
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import next_weekday_morning
from tests.factories import episode_after_procedure

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1440, "height": 900}

SAFETY_NO = [
    "takes_blood_thinners",
    "allergy_local_anaesthetic",
    "allergy_steroid",
    "allergy_latex",
    "allergy_iodine",
    "diabetes",
    "infection_or_fever",
    "recent_steroid_injection",
]


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def test_the_patients_booking_pages_are_accessible(catalogue, live_server, phone, settings):
    settings.SITE_URL = live_server.url
    seed_demo_clinic()
    page = phone

    page.goto(live_server.url)
    assert_accessible(page)

    page.get_by_role("link", name="Book a lumbar consult").click()
    page.wait_for_selector("a.time")
    assert_accessible(page)

    page.locator("a.time").first.click()
    page.get_by_role("heading", name="Your details").wait_for()
    assert_accessible(page)

    # Sent empty: the error summary and each field's error.
    page.get_by_role("button", name="Continue to review").click()
    page.get_by_role("heading", name="Please check the form").wait_for()
    assert_accessible(page)

    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("O'Brien-Núñez")
    page.get_by_label("Date of birth").fill("1971-04-12")
    page.get_by_role("textbox", name="Email").fill("zoe@example.org")
    page.get_by_label("Mobile phone").fill("(860) 555-0199")
    for question in SAFETY_NO:
        page.locator(f"input[name='safety-{question}'][value='False']").check()
    page.locator("input[name='safety-pregnancy'][value='not_applicable']").check()
    page.locator("input[name='safety-has_driver'][value='True']").check()
    page.get_by_role("button", name="Continue to review").click()
    page.get_by_role("heading", name="Check and confirm").wait_for()
    assert_accessible(page)

    page.get_by_role("button", name="Confirm booking").click()
    page.get_by_role("heading", name="You're booked").wait_for()
    assert_accessible(page)

    page.get_by_role("link", name="Change or cancel").click()
    page.get_by_role("heading", name="Your lumbar consult").wait_for()
    assert_accessible(page)
    manage_url = page.url

    page.get_by_role("link", name="Choose a new time").click()
    page.wait_for_selector("a.time")
    assert_accessible(page)

    page.locator("a.time").nth(3).click()
    page.get_by_role("heading", name="Move your appointment?").wait_for()
    assert_accessible(page)

    page.goto(f"{manage_url}cancel/")
    page.get_by_role("heading", name="Cancel your appointment?").wait_for()
    assert_accessible(page)

    page.goto(f"{manage_url}safety/")
    page.get_by_role("heading", name="Before your injection").wait_for()
    assert_accessible(page)

    page.goto(f"{live_server.url}/manage/not-a-real-link/")
    page.get_by_role("heading", name="This link is not valid any more").wait_for()
    assert_accessible(page)


def test_the_check_in_page_is_accessible(catalogue, live_server, phone, settings):
    # 11:00 on a weekday: the day-1 check-in of yesterday's 10:00 injection is due.
    with time_machine.travel(next_weekday_morning(at=time(11)), tick=True):
        settings.SITE_URL = live_server.url
        episode = episode_after_procedure(performed_at=timezone.now() - timedelta(days=1, hours=1))
        check_in = episode.check_ins.get(day=1)

        phone.goto(check_in_url(check_in))
        phone.get_by_role("button").last.wait_for()
        assert "How bad is your pain right now?" in phone.content()
        assert_accessible(phone)

        # Sent without a pain score or the warning signs: the errors shown.
        phone.get_by_role("button", name="Send my answer").click()
        phone.locator(".errorlist").first.wait_for()
        assert_accessible(phone)

        # A red flag: the thanks page tells the patient to call the clinic.
        phone.get_by_role("radio", name="4", exact=True).check()
        phone.get_by_label(SideEffect.FEVER.label).check()
        phone.get_by_role("button", name="Send my answer").click()
        phone.get_by_role("alert").filter(has_text="Please call the clinic now").wait_for()
        assert_accessible(phone)


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_the_reception_desk_pages_are_accessible(catalogue, live_server, desktop):
    seed_demo_clinic()
    log_in(desktop, live_server, "reception")

    desktop.goto(f"{live_server.url}/desk/")
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/desk/day/")
    assert_accessible(desktop)

    desktop.get_by_role("navigation", name="Dates").get_by_role("link", name="Walk-in").click()
    desktop.get_by_role("heading", name="Walk-in").wait_for()
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/desk/week/")
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/desk/waitlist/")
    assert_accessible(desktop)

    appointment = Appointment.objects.filter(status=AppointmentStatus.BOOKED).earliest("start")
    desktop.goto(f"{live_server.url}/desk/appointments/{appointment.public_id}/")
    assert_accessible(desktop)


def test_the_clinicians_pages_are_accessible(catalogue, live_server, desktop):
    seed_demo_clinic()
    patient = Patient.objects.get(first_name="Eleanor", last_name="Whitfield")
    log_in(desktop, live_server, "clinician")

    desktop.goto(f"{live_server.url}/staff/")
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/staff/patients/{patient.pk}/trends/")
    desktop.get_by_role("heading", name="Repeat-injection eligibility").wait_for()
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/staff/patients/{patient.pk}/check-ins/")
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/desk/patients/{patient.pk}/")
    assert_accessible(desktop)

    desktop.goto(f"{live_server.url}/staff/outcomes/?site=lumbar&site=cervical-trigger-point")
    assert_accessible(desktop)

    appointment = Appointment.objects.filter(status=AppointmentStatus.BOOKED).earliest("start")
    desktop.goto(f"{live_server.url}/staff/appointments/{appointment.public_id}/complete/")
    assert_accessible(desktop)
