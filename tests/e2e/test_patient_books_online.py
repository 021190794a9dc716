"""A patient on a phone books a lumbar consult, then moves it, then cancels it."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus
from followup.demo import seed_demo_clinic
from tests.e2e.conftest import screenshot
from tests.outbox import send_due

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


def _answer_no(page, question: str) -> None:
    page.locator(f"input[name='safety-{question}'][value='False']").check()


def test_a_patient_books_reschedules_and_cancels_on_a_phone(
    catalogue, live_server, phone, settings
):
    settings.SITE_URL = live_server.url
    seed_demo_clinic()
    mail.outbox.clear()  # the demo history's red-flag alerts
    page = phone

    page.goto(live_server.url)
    screenshot(page, "01-choose-site")
    page.get_by_role("link", name="Book a lumbar consult").click()

    page.wait_for_selector("a.time")
    screenshot(page, "02-choose-time")
    page.locator("a.time").first.click()

    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("O'Brien-Núñez")
    page.get_by_label("Date of birth").fill("1971-04-12")
    page.get_by_role("textbox", name="Email").fill("zoe@example.org")
    page.get_by_label("Mobile phone").fill("(860) 555-0199")
    page.get_by_label(re.compile("How bad is your pain today")).select_option("6")
    page.get_by_label(re.compile("email me reminders")).check()
    for question in SAFETY_NO:
        _answer_no(page, question)
    page.locator("input[name='safety-pregnancy'][value='not_applicable']").check()
    page.locator("input[name='safety-has_driver'][value='True']").check()
    screenshot(page, "03-details")
    page.get_by_role("button", name="Continue to review").click()

    screenshot(page, "04-review")
    page.get_by_role("button", name="Confirm booking").click()
    page.get_by_role("heading", name="You're booked").wait_for()
    screenshot(page, "05-booked")

    appointment = Appointment.objects.get(patient__last_name="O'Brien-Núñez")
    assert appointment.patient.last_name == "O'Brien-Núñez"
    send_due(timezone.now())  # beat's next tick and a worker
    [confirmation] = to_patient(appointment)
    manage_link = re.search(r"To change or cancel this appointment: (\S+)", confirmation.body)
    assert manage_link is not None

    page.goto(manage_link.group(1))
    screenshot(page, "06-manage")
    page.get_by_role("link", name="Choose a new time").click()
    page.locator("a.time").nth(3).click()
    screenshot(page, "07-reschedule-confirm")
    page.get_by_role("button", name="Move my appointment").click()
    page.get_by_text("Your appointment has moved").wait_for()
    appointment.refresh_from_db()
    assert appointment.calendar_sequence == 1

    # Cancelling asks first; keeping the appointment changes nothing.
    page.get_by_role("link", name="Cancel my appointment").click()
    page.get_by_role("heading", name="Cancel your appointment?").wait_for()
    page.get_by_role("link", name="Keep my appointment").click()
    page.get_by_role("link", name="Choose a new time").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED

    page.get_by_role("link", name="Cancel my appointment").click()
    page.get_by_label("Reason (optional)").fill("Feeling better")
    page.get_by_role("button", name="Cancel it").click()
    page.get_by_text("Your appointment is cancelled").wait_for()
    screenshot(page, "08-cancelled")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    send_due(timezone.now())
    emails = to_patient(appointment)
    assert len(emails) == 3  # booked, moved, cancelled
    book_again = re.search(r"To book a new time: (\S+)", emails[-1].body)
    assert book_again is not None
    page.goto(book_again.group(1))
    page.get_by_role("link", name="Book a lumbar consult").wait_for()


def to_patient(appointment: Appointment) -> list:
    return [email for email in mail.outbox if email.to == [appointment.patient.email]]
