"""An online form that matches an existing patient changes nothing of theirs and reveals
nothing stored (issue 19, item 2).

Robert is a patient: birth date, email, email reminders, no mobile. Eve knows his birth
date and email. Whatever she types into the booking pages, the API or the waitlist form,
his record keeps its contact details and consents, his messages go only to them, and
nothing she is shown comes from his record. What she typed waits for reception, who apply
it (audited) only after checking it with the patient.
"""

import re
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from booking.models import (
    Appointment,
    AuditEvent,
    GivenDetails,
    GivenDetailsState,
    Patient,
    WaitlistEntry,
)
from followup.inbound import handle_inbound_sms
from followup.models import CheckInAnswer, Message
from tests.booking.test_booking_pages import ANA, REVIEW, text, to_review
from tests.factories import PatientFactory, episode_after_procedure
from tests.outbox import then_send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
ROBERTS_EMAIL = "robert.silva@example.org"
EVES_PHONE = "+18605550199"
# Robert's birth date and email, Eve's name and phone, text reminders only.
EVE = {
    **ANA,
    "patient-first_name": "Eve",
    "patient-last_name": "Mallory",
    "patient-email": ROBERTS_EMAIL,
    "patient-phone": EVES_PHONE,
    "patient-reminders_email": "",
    "patient-reminders_sms": "on",
}


@pytest.fixture
def robert(db) -> Patient:
    return PatientFactory(
        first_name="Robert",
        last_name="Silva",
        date_of_birth=date(1971, 4, 12),
        email=ROBERTS_EMAIL,
        phone="",
        consent_email=True,
        consent_sms=False,
    )


def _as_stored(patient: Patient) -> tuple:
    patient.refresh_from_db()
    return (
        patient.first_name,
        patient.last_name,
        patient.email,
        str(patient.phone),
        patient.consent_email,
        patient.consent_sms,
    )


ROBERT_AS_STORED = ("Robert", "Silva", ROBERTS_EMAIL, "", True, False)


def _eve_books_online(client, clinic) -> str:
    """Eve books through the pages as Robert; the booked page's URL."""
    with then_send_due():
        return client.post(REVIEW, {"key": to_review(client, clinic["clinicians"][0], EVE)})[
            "Location"
        ]


class TestTheBookingPages:
    def test_the_record_keeps_its_contact_details_and_consents(self, client, clinic, robert):
        _eve_books_online(client, clinic)

        assert _as_stored(robert) == ROBERT_AS_STORED
        appointment = Appointment.objects.get()
        assert appointment.patient == robert
        given = GivenDetails.objects.get()
        assert (given.appointment, given.patient) == (appointment, robert)
        assert (given.first_name, str(given.phone), given.consent_sms) == ("Eve", EVES_PHONE, True)
        assert given.state == GivenDetailsState.PENDING

    def test_messages_go_only_to_the_contacts_on_the_record(self, client, clinic, robert):
        _eve_books_online(client, clinic)

        assert [message.to for message in mail.outbox] == [[ROBERTS_EMAIL]]
        reminders = Message.objects.filter(appointment__patient=robert)
        assert reminders.exists()
        assert {message.recipient for message in reminders} == {ROBERTS_EMAIL}
        assert not reminders.filter(channel="sms").exists()

    def test_the_booked_page_and_calendar_file_show_only_what_was_typed(
        self, client, clinic, robert
    ):
        booked_url = _eve_books_online(client, clinic)

        page = text(client.get(booked_url))
        assert "Eve, your lumbar consult is confirmed." in page
        assert "Robert" not in page
        token = booked_url.removeprefix("/booked/").removesuffix("/")
        calendar = client.get(f"/manage/{token}/appointment.ics").content.decode()
        [event] = icalendar.Calendar.from_ical(calendar).walk("VEVENT")
        assert event["ATTENDEE"].params["CN"] == "Eve Mallory"
        assert "Robert" not in calendar
        manage = text(client.get(f"/manage/{token}/"))
        assert "Robert" not in manage

    def test_the_booked_page_names_no_stored_email(self, client, clinic, robert):
        # Eve types Robert's birth date with a phone on his record and her own email.
        robert.phone = EVES_PHONE.replace("0199", "0111")
        robert.save()
        as_robert = {
            **EVE,
            "patient-email": "eve@example.org",
            "patient-phone": str(robert.phone),
        }
        with then_send_due():
            key = to_review(client, clinic["clinicians"][0], as_robert)
            booked_url = client.post(REVIEW, {"key": key})["Location"]

        page = text(client.get(booked_url))
        assert Appointment.objects.get().patient == robert
        assert ROBERTS_EMAIL not in page
        assert "Robert" not in page
        assert [message.to for message in mail.outbox] == [[ROBERTS_EMAIL]]
        robert.refresh_from_db()
        assert robert.email == ROBERTS_EMAIL

    def test_a_returning_patient_who_types_what_the_record_holds_leaves_nothing_to_confirm(
        self, client, clinic, robert
    ):
        same = {
            **EVE,
            "patient-first_name": "Robert",
            "patient-last_name": "Silva",
            "patient-phone": "",
            "patient-reminders_email": "on",
            "patient-reminders_sms": "",
        }
        with then_send_due():
            client.post(REVIEW, {"key": to_review(client, clinic["clinicians"][0], same)})

        assert Appointment.objects.get().patient == robert
        assert not GivenDetails.objects.exists()
        assert [message.to for message in mail.outbox] == [[ROBERTS_EMAIL]]


def test_the_api_changes_nothing_on_the_record_either(clinic, robert):
    payload = {
        "site": "lumbar",
        "start": "2026-12-02T09:00:00-05:00",
        "patient": {
            "first_name": "Eve",
            "last_name": "Mallory",
            "date_of_birth": "1971-04-12",
            "email": ROBERTS_EMAIL,
            "phone": EVES_PHONE,
        },
        "reminders": {"email": False, "sms": True},
    }
    response = APIClient().post("/api/v1/appointments/", payload, format="json")

    assert response.status_code == 201
    assert "Robert" not in response.content.decode()
    assert _as_stored(robert) == ROBERT_AS_STORED
    assert GivenDetails.objects.get().appointment == Appointment.objects.get()


def test_joining_the_waitlist_changes_nothing_on_the_record(client, clinic, robert):
    response = client.post(
        "/book/lumbar/waitlist/",
        {
            "first_name": "Eve",
            "last_name": "Mallory",
            "date_of_birth": "1971-04-12",
            "email": ROBERTS_EMAIL,
            "phone": EVES_PHONE,
            "consent_sms": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()
    assert _as_stored(robert) == ROBERT_AS_STORED
    assert WaitlistEntry.objects.get().patient == robert
    given = GivenDetails.objects.get()
    assert given.appointment is None
    assert str(given.phone) == EVES_PHONE


def test_a_phone_typed_online_cannot_answer_the_patients_check_ins(client, clinic, robert):
    """The attack as reproduced: a booking adds Eve's phone and SMS consent to Robert's
    record, and her texted score is recorded as his check-in answer."""
    episode = episode_after_procedure(
        patient=robert,
        location=clinic["location"],
        clinician=clinic["clinicians"][0],
        performed_at=NOW - timedelta(days=2),
    )
    _eve_books_online(client, clinic)

    reply = handle_inbound_sms(sid="SM-eve-1", from_number=EVES_PHONE, body="2", now=NOW)

    assert not CheckInAnswer.objects.filter(check_in__episode=episode).exists()
    assert "2" not in reply
    assert not Message.objects.filter(recipient=EVES_PHONE).exists()


class TestReceptionConfirms:
    @pytest.fixture
    def pending(self, client, clinic, robert):
        _eve_books_online(Client(), clinic)
        return GivenDetails.objects.get()

    def test_the_patient_record_asks_reception_to_confirm_them(
        self, client, receptionist, robert, pending
    ):
        client.force_login(receptionist)
        page = text(client.get(f"/desk/patients/{robert.pk}/"))

        assert "New contact details given, confirm?" in page
        assert "+1 860-555-0199" in page
        assert "Apply to the record" in page
        appointment = text(client.get(f"/desk/appointments/{pending.appointment.public_id}/"))
        assert "New contact details were given with this booking" in appointment

    def test_applying_them_changes_the_record_plans_texts_and_is_audited(
        self, client, receptionist, robert, pending
    ):
        client.force_login(receptionist)
        response = client.post(
            f"/desk/patients/{robert.pk}/given-details/",
            {"given": pending.pk, "action": "apply"},
        )

        assert response.status_code == 302
        assert _as_stored(robert) == ("Robert", "Silva", ROBERTS_EMAIL, EVES_PHONE, False, True)
        pending.refresh_from_db()
        assert (pending.state, pending.resolved_by) == (GivenDetailsState.APPLIED, receptionist)
        event = AuditEvent.objects.get(action=AuditEvent.Action.CHANGE, patient=robert)
        assert event.user == receptionist
        assert re.search(r"phone.*consent_sms|consent_sms.*phone", event.summary)
        assert Message.objects.filter(recipient=EVES_PHONE, channel="sms").exists()
        assert "New contact details given" not in text(client.get(f"/desk/patients/{robert.pk}/"))

    def test_keeping_the_record_changes_nothing_and_is_audited(
        self, client, receptionist, robert, pending
    ):
        client.force_login(receptionist)
        client.post(
            f"/desk/patients/{robert.pk}/given-details/", {"given": pending.pk, "action": "keep"}
        )

        assert _as_stored(robert) == ROBERT_AS_STORED
        pending.refresh_from_db()
        assert pending.state == GivenDetailsState.KEPT
        assert AuditEvent.objects.filter(patient=robert, summary__startswith="Kept").exists()

    def test_applying_twice_changes_it_once(self, client, receptionist, robert, pending):
        client.force_login(receptionist)
        url = f"/desk/patients/{robert.pk}/given-details/"
        client.post(url, {"given": pending.pk, "action": "apply"})
        again = client.post(url, {"given": pending.pk, "action": "keep"})

        assert again.status_code == 302
        pending.refresh_from_db()
        assert pending.state == GivenDetailsState.APPLIED
        assert AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE).count() == 1

    @pytest.mark.parametrize("who", ["clinician_user", "patient_user", None])
    def test_no_one_else_may_apply_them(self, request, robert, pending, who):
        browser = Client()
        if who:
            browser.force_login(request.getfixturevalue(who))
        response = browser.post(
            f"/desk/patients/{robert.pk}/given-details/",
            {"given": pending.pk, "action": "apply"},
        )

        assert response.status_code in {302, 403}
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")
        assert _as_stored(robert) == ROBERT_AS_STORED
        pending.refresh_from_db()
        assert pending.state == GivenDetailsState.PENDING
