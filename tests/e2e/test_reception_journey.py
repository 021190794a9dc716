"""Reception on a desktop: today's day view, a walk-in for a new patient, an arrival, a
no-show (undone once and marked again), and a cancellation whose freed time is offered to
a waitlisted patient."""

import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from booking.demo import DEMO_LOCATION_NAME
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    Location,
    OfferState,
    Patient,
    Site,
    WaitlistOffer,
)
from followup.demo import seed_demo_clinic
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import next_weekday_morning, screenshot
from tests.e2e.test_staff_pages import DESKTOP, log_in
from tests.factories import AppointmentFactory, PatientFactory, WaitlistEntryFactory
from tests.outbox import send_due

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def _open_from_day_view(page, appointment: Appointment) -> None:
    path = reverse("desk:appointment", args=[appointment.public_id])
    page.locator(f"a.cal-block[href='{path}']").click()
    page.get_by_role("heading", name=str(appointment.patient)).wait_for()


def test_reception_books_a_walk_in_marks_visits_and_a_cancellation_reaches_the_waitlist(
    catalogue, live_server, desktop, settings
):
    settings.SITE_URL = live_server.url
    with time_machine.travel(next_weekday_morning(), tick=True):
        seed_demo_clinic()
        location = Location.objects.get(name=DEMO_LOCATION_NAME)
        lumbar = Site.objects.get(slug="lumbar")
        patel = Clinician.objects.get(user__username="clinician")
        now = timezone.now()
        today = now.astimezone(location.zone).date()
        # A visit at 06:30, before the demo clinicians' hours, that nobody came to.
        missed = AppointmentFactory(
            site=lumbar,
            clinician=patel,
            location=location,
            patient=PatientFactory(first_name="Nadia", last_name="Absent"),
            start=datetime.combine(today, time(6, 30), tzinfo=location.zone),
        )
        # The demo books about half of each day at random, and some dates leave no lumbar
        # consult's worth of time after 09:30; the walk-in needs one, so Dr. Patel's later
        # visits today have been moved.
        Appointment.objects.filter(
            clinician=patel, status=AppointmentStatus.BOOKED, start__gt=now, start__date=today
        ).update(status=AppointmentStatus.CANCELLED, cancellation_reason="Moved by the clinic")
        mail.outbox.clear()  # the demo history's red-flag alerts
        page = desktop

        log_in(page, live_server, "reception")
        page.goto(f"{live_server.url}/desk/day/")
        page.locator("h1 .status", has_text="Today").wait_for()
        screenshot(page, "40-reception-day-view")

        # A walk-in for a patient the clinic has never seen.
        page.get_by_role("navigation", name="Dates").get_by_role("link", name="Walk-in").click()
        page.get_by_role("heading", name="Walk-in").wait_for()
        page.get_by_label("Site").select_option(str(lumbar.pk))
        new_patient = page.get_by_role("group", name="New patient")
        new_patient.get_by_label("First name").fill("Wendell")
        new_patient.get_by_label("Last name").fill("Walkerton-Ávila")
        new_patient.get_by_label("Date of birth").fill("1964-09-21")
        new_patient.get_by_label(re.compile("^Email")).fill("wendell@example.org")
        new_patient.get_by_label("Mobile phone").fill("(860) 555-0177")
        new_patient.get_by_label("Agrees to email reminders").check()
        screenshot(page, "41-reception-walk-in")
        page.get_by_role("button", name="Book the walk-in").click()
        page.get_by_text("Walk-in booked:").wait_for()
        screenshot(page, "42-reception-walk-in-booked")
        walk_in = Appointment.objects.get(patient__last_name="Walkerton-Ávila")
        assert Patient.objects.filter(last_name="Walkerton-Ávila").count() == 1
        assert walk_in.source == AppointmentSource.RECEPTION
        assert walk_in.status == AppointmentStatus.BOOKED
        assert walk_in.start.astimezone(location.zone).date() == today
        assert walk_in.start >= now - timedelta(minutes=1)

        # Two of today's booked demo visits: one patient arrives, the other cancels.
        later_today = (
            Appointment.objects.filter(
                location=location,
                status=AppointmentStatus.BOOKED,
                start__gt=timezone.now(),
                start__lt=datetime.combine(today + timedelta(days=1), time(), location.zone),
            )
            .exclude(pk=walk_in.pk)
            .select_related("patient", "site")
            .order_by("start", "pk")
        )
        assert len(later_today) >= 2, "the demo calendar has booked visits later today"
        arriving, cancelling = later_today[0], later_today[len(later_today) - 1]
        waiting = WaitlistEntryFactory(
            site=cancelling.site,
            patient=PatientFactory(
                first_name="Wanda",
                last_name="Waitlisted",
                email="wanda@example.org",
                consent_email=True,
            ),
        )

        page.get_by_role("link", name="← Day view").click()
        _open_from_day_view(page, arriving)
        screenshot(page, "43-reception-appointment")
        page.get_by_role("button", name="Mark arrived").click()
        page.get_by_text("is marked arrived").wait_for()
        screenshot(page, "44-reception-arrived")
        arriving.refresh_from_db()
        assert arriving.status == AppointmentStatus.ARRIVED

        page.goto(live_server.url + reverse("desk:appointment", args=[missed.public_id]))
        page.get_by_role("button", name="Mark no-show").click()
        page.get_by_text("is marked as a no-show").wait_for()
        screenshot(page, "45-reception-no-show")
        missed.refresh_from_db()
        assert missed.status == AppointmentStatus.NO_SHOW
        # The wrong patient: the no-show is undone the same day, then marked again.
        assert_accessible(page)
        page.get_by_role("button", name="Undo no-show (back to booked)").click()
        page.get_by_text("is undone: booked again").wait_for()
        missed.refresh_from_db()
        assert missed.status == AppointmentStatus.BOOKED
        page.get_by_role("button", name="Mark no-show").click()
        page.get_by_text("is marked as a no-show").wait_for()
        missed.refresh_from_db()
        assert missed.status == AppointmentStatus.NO_SHOW

        page.get_by_role("link", name="← Day view").click()
        _open_from_day_view(page, cancelling)
        page.get_by_label(re.compile("^Reason")).fill("Patient phoned: car broke down.")
        screenshot(page, "46-reception-cancel")
        page.get_by_role("button", name="Cancel the appointment").click()
        page.get_by_text("is cancelled").first.wait_for()
        screenshot(page, "47-reception-cancelled")
        cancelling.refresh_from_db()
        assert cancelling.status == AppointmentStatus.CANCELLED
        assert cancelling.cancellation_reason == "Patient phoned: car broke down."

        # The freed time went out to the waitlisted patient, by email as she agreed.
        offer = WaitlistOffer.objects.get(entry=waiting)
        assert offer.start == cancelling.start
        assert offer.clinician_id == cancelling.clinician_id
        assert offer.state == OfferState.PENDING
        send_due(timezone.now())  # beat's next tick and a worker
        [offer_email] = [m for m in mail.outbox if m.to == ["wanda@example.org"]]
        assert offer_email.subject.startswith("A time has come free at")
        assert "Hi Wanda" in offer_email.body
        assert f"{live_server.url}/" in offer_email.body

        page.goto(f"{live_server.url}/desk/waitlist/")
        row = page.get_by_role("row").filter(has_text="Wanda Waitlisted")
        assert f"({offer.get_state_display()})" in row.inner_text()
        screenshot(page, "48-reception-waitlist-offer")
