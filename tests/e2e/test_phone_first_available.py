"""A patient on a phone books the first available lumbar time: one tap on the shortcut
after choosing the site, then details, review and booked; axe on every page."""

import re

import pytest

from booking.models import Appointment
from followup.demo import seed_demo_clinic
from tests.e2e.accessibility import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

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


def test_a_patient_books_the_first_available_time_in_one_tap(
    catalogue, live_server, phone, settings
):
    settings.SITE_URL = live_server.url
    seed_demo_clinic()
    page = phone

    page.goto(live_server.url)
    assert_accessible(page)
    page.get_by_role("link", name="Book a lumbar consult").click()

    page.get_by_role("heading", name="Choose a day").wait_for()
    assert_accessible(page)
    # The chosen day is the first with times, and the shortcut is its first time.
    chosen = page.locator("a.strip-day[aria-current='date']")
    assert chosen.count() == 1
    shortcut = page.locator("a.first-time")
    first_time = shortcut.inner_text()  # such as "Tue, Dec 8, 9:30 AM"
    assert re.fullmatch(r"[A-Z][a-z]{2}, [A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2} [AP]M", first_time)
    day_heading = page.locator("#day-title").inner_text()  # such as "Tuesday, December 8"
    assert first_time.split(",")[1].split()[1] == day_heading.split()[-1]
    assert page.locator("a.time .time-of-day").first.inner_text() == first_time.split(", ")[-1]
    # The page fits a phone's width: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    shortcut.click()  # the one tap after choosing the site

    page.get_by_role("heading", name="Your details").wait_for()
    assert_accessible(page)
    assert first_time.split(", ")[-1] in page.locator("p.chosen").inner_text()
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Silva")
    page.get_by_label("Date of birth").fill("1971-04-12")
    page.get_by_role("textbox", name="Email").fill("ana.first@example.org")
    page.get_by_label(re.compile("How bad is your pain today")).select_option("5")
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
    appointment = Appointment.objects.get(patient__email="ana.first@example.org")
    local = appointment.start.astimezone(appointment.location.zone)
    assert f"{local:%b} {local.day}, {local:%-I:%M %p}" in first_time
