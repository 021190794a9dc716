"""The patient's emails about a booking: confirmation, change, cancellation (issue 4).

Each email is plain text with an HTML alternative and an RFC 5545 .ics attachment: an
outbox row planned in the booking's transaction and sent by the dispatcher and send task.
The .ics is parsed back with icalendar.
"""

import email
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from booking.links import manage_token
from booking.models import Appointment, AppointmentSource, Site
from booking.services import (
    NotBookable,
    PatientDetails,
    TooLateToChange,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from followup.models import Message, MessageKind, MessageState
from tests.factories import ClinicianFactory, LocationFactory, WorkingHoursFactory
from tests.outbox import send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # 09:00 EST
THURSDAY_1_30PM = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)  # 13:30 EST
ANA = PatientDetails(
    first_name="Ana", last_name="Silva", date_of_birth=date(1971, 4, 12), email="ana@example.org"
)
ZOE = PatientDetails(
    first_name="Zoë",
    last_name="O'Brien-Núñez",
    date_of_birth=date(1984, 2, 29),
    email="zoe@example.org",
)
SAFETY = {
    "takes_blood_thinners": True,
    "blood_thinner_names": "Apixaban",
    "allergy_local_anaesthetic": True,
    "allergy_steroid": False,
    "allergy_latex": True,
    "allergy_iodine": False,
    "pregnancy": "possibly",
    "diabetes": True,
    "infection_or_fever": True,
    "recent_steroid_injection": True,
    "has_driver": False,
}


@pytest.fixture
def book(clinic):
    """Book as the patient pages do, then let the outbox send what is due."""

    def book(patient=ANA, start=WEDNESDAY_9AM, **kwargs):
        appointment = book_appointment(
            site=kwargs.pop("site", clinic["site"]),
            start=start,
            patient=patient,
            source=AppointmentSource.ONLINE,
            **kwargs,
        )
        send_due(NOW)
        return appointment

    return book


def the_only(mailoutbox):
    assert len(mailoutbox) == 1, [m.subject for m in mailoutbox]
    return mailoutbox[0]


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def ics_of(message) -> tuple[str, icalendar.Calendar]:
    [(filename, content, mimetype)] = message.attachments
    assert filename == "appointment.ics"
    assert mimetype.startswith("text/calendar")
    text = content.decode() if isinstance(content, bytes) else content
    return text, icalendar.Calendar.from_ical(text)


def event_of(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    return event


def uid_of(appointment: Appointment) -> str:
    """The event's UID: the appointment's public id at the host patients use (SITE_URL)."""
    return f"{appointment.public_id}@testserver"


def manage_link(appointment: Appointment) -> str:
    return f"http://testserver/manage/{manage_token(appointment)}/"


def mime_parts(message) -> dict[str, email.message.Message]:
    """The sent message as bytes, parsed back: each leaf part by its content type."""
    parsed = email.message_from_bytes(message.message().as_bytes())
    return {part.get_content_type(): part for part in parsed.walk() if not part.is_multipart()}


class TestTheConfirmation:
    def test_it_is_an_outbox_row_of_the_booking_sent_once(self, clinic, mailoutbox):
        appointment = book_appointment(
            site=clinic["site"], start=WEDNESDAY_9AM, patient=ANA, source=AppointmentSource.ONLINE
        )
        row = Message.objects.get(appointment=appointment, kind=MessageKind.APPOINTMENT_BOOKED)
        assert (row.channel, row.recipient, row.due_at) == ("email", "ana@example.org", NOW)
        assert mailoutbox == []  # the outbox sends it, not the request

        send_due(NOW)
        send_due(NOW + timedelta(minutes=5))

        message = the_only(mailoutbox)
        assert message.to == ["ana@example.org"]
        assert message.from_email == settings.DEFAULT_FROM_EMAIL
        assert message.subject == f"Your appointment at {settings.CLINIC_NAME} is booked"
        row.refresh_from_db()
        assert row.state == MessageState.SENT

    def test_a_mail_server_down_for_a_moment_delays_it_but_does_not_lose_it(
        self, clinic, mailoutbox, monkeypatch
    ):
        attempts = []
        send = EmailMultiAlternatives.send

        def down_for_a_moment(message, *args, **kwargs):
            attempts.append(message.subject)
            if len(attempts) <= 2:  # the send, and its try on a new connection
                raise ConnectionRefusedError("mail server down")
            return send(message, *args, **kwargs)

        monkeypatch.setattr(EmailMultiAlternatives, "send", down_for_a_moment)
        appointment = book_appointment(
            site=clinic["site"], start=WEDNESDAY_9AM, patient=ANA, source=AppointmentSource.ONLINE
        )
        send_due(NOW)
        row = Message.objects.get(appointment=appointment, kind=MessageKind.APPOINTMENT_BOOKED)
        assert (row.state, row.due_at) == (MessageState.SCHEDULED, NOW + timedelta(minutes=1))
        assert "mail server down" in row.last_error
        assert mailoutbox == []

        send_due(NOW + timedelta(minutes=1))

        assert len(attempts) == 3
        assert the_only(mailoutbox).to == ["ana@example.org"]

    def test_a_booking_that_rolls_back_sends_nothing(self, clinic, mailoutbox):
        def book_then_fail() -> None:
            with transaction.atomic():
                book_appointment(
                    site=clinic["site"],
                    start=WEDNESDAY_9AM,
                    patient=ANA,
                    source=AppointmentSource.ONLINE,
                )
                raise RuntimeError("the request failed after the booking")

        with pytest.raises(RuntimeError):
            book_then_fail()
        send_due(NOW)

        assert mailoutbox == []
        assert not Appointment.objects.exists()
        assert not Message.objects.exists()

    def test_a_refused_booking_sends_nothing(self, clinic, mailoutbox):
        with pytest.raises(NotBookable):
            book_appointment(
                site=clinic["site"],
                start=NOW + timedelta(hours=2),  # inside the 24 hours' notice
                patient=ANA,
                source=AppointmentSource.ONLINE,
            )
        send_due(NOW)

        assert mailoutbox == []
        assert not Message.objects.exists()

    def test_it_is_plain_text_with_an_html_alternative_and_an_ics(self, book, mailoutbox):
        appointment = book()

        message = the_only(mailoutbox)
        parts = mime_parts(message)
        assert set(parts) == {"text/plain", "text/html", "text/calendar"}
        calendar_part = parts["text/calendar"]
        assert calendar_part.get_filename() == "appointment.ics"
        assert calendar_part.get_param("method") == "REQUEST"
        on_the_wire = icalendar.Calendar.from_ical(calendar_part.get_payload(decode=True))
        assert event_of(on_the_wire)["UID"] == (uid_of(appointment))

    def test_the_text_gives_time_with_zone_place_phone_instructions_and_link(
        self, book, mailoutbox, clinic
    ):
        appointment = book()

        body = the_only(mailoutbox).body
        assert body.startswith("Dear Ana,")
        assert "Wednesday, December 2, 2026, 9:00 AM to 9:45 AM (Eastern Time)" in body
        assert "With:  Dr. Adams" in body
        assert "Where: Main Street" in body
        assert "1 Main Street, Hartford, CT" in body
        assert "Phone: (860) 555-0100" in body
        assert clinic["site"].instructions in body
        assert manage_link(appointment) in body

    def test_the_html_gives_the_same_details(self, book, mailoutbox, clinic):
        appointment = book()

        page = html_of(the_only(mailoutbox))
        assert "Dear Ana," in page
        assert "Wednesday, December 2, 2026, 9:00 AM to 9:45 AM" in page
        assert "Eastern Time" in page
        assert "Main Street<br>1 Main Street, Hartford, CT" in page
        assert 'href="tel:+18605550100"' in page
        assert "(860) 555-0100" in page
        assert clinic["site"].instructions in page
        assert f'href="{manage_link(appointment)}"' in page

    def test_the_ics_is_a_request_for_one_event_at_the_appointments_times(self, book, mailoutbox):
        appointment = book()

        text, calendar = ics_of(the_only(mailoutbox))
        assert calendar["VERSION"] == "2.0"
        assert calendar["METHOD"] == "REQUEST"
        event = event_of(calendar)
        assert event["UID"] == uid_of(appointment)
        assert event["SEQUENCE"] == 0
        assert event["STATUS"] == "CONFIRMED"
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert (start, end) == (appointment.start, appointment.end)
        assert start.utcoffset() == timedelta(0)
        assert end.utcoffset() == timedelta(0)
        assert "DTSTART:20261202T140000Z" in text
        assert "DTEND:20261202T144500Z" in text
        assert "Main Street" in str(event["LOCATION"])
        assert manage_link(appointment) in str(event["DESCRIPTION"])
        assert str(event["ORGANIZER"]).lower() == f"mailto:{settings.DEFAULT_FROM_EMAIL}".lower()
        assert str(event["ATTENDEE"]).lower() == "mailto:ana@example.org"
        assert event["ATTENDEE"].params["CN"] == "Ana Silva"

    def test_the_uid_is_the_public_id_at_the_sites_host(self, book, mailoutbox):
        appointment = book()

        _, calendar = ics_of(the_only(mailoutbox))
        assert event_of(calendar)["UID"] == f"{appointment.public_id}@testserver"

    def test_nothing_clinical_goes_in_the_email_or_the_ics(self, book, mailoutbox):
        book(baseline_pain=9, safety_answers=SAFETY)

        message = the_only(mailoutbox)
        ics, calendar = ics_of(message)
        event = event_of(calendar)
        for text in (message.subject, message.body, html_of(message), ics):
            assert "lumbar" not in text.lower()  # the site
            assert "apixaban" not in text.lower()  # a safety answer
            assert "out of 10" not in text
            assert "9/10" not in text
            assert "infection" not in text.lower()
            assert "fever" not in text.lower()
            assert "pregnan" not in text.lower()
            assert "diabetes" not in text.lower()
        assert "Lumbar" not in str(event["SUMMARY"])
        assert "Lumbar" not in str(event["DESCRIPTION"])

    def test_a_patient_without_an_email_gets_none(self, book, mailoutbox):
        phone_only = PatientDetails(
            first_name="Ben",
            last_name="Okafor",
            date_of_birth=date(1960, 1, 2),
            phone="+18605550123",
        )

        appointment = book(patient=phone_only)

        assert appointment.pk is not None
        assert mailoutbox == []


class TestAChange:
    @pytest.fixture
    def appointment(self, book, mailoutbox):
        appointment = book()
        mailoutbox.clear()
        return appointment

    def test_a_reschedule_sends_a_new_request_with_sequence_1_and_the_same_uid(
        self, appointment, mailoutbox
    ):
        moved = reschedule_appointment(
            appointment=appointment, start=THURSDAY_1_30PM, by_patient=True
        )
        send_due(NOW)

        message = the_only(mailoutbox)
        assert message.subject == f"Your appointment at {settings.CLINIC_NAME} has moved"
        assert "Thursday, December 3, 2026, 1:30 PM to 2:15 PM" in message.body
        assert "Wednesday" not in message.body
        _, calendar = ics_of(message)
        assert calendar["METHOD"] == "REQUEST"
        event = event_of(calendar)
        assert event["UID"] == uid_of(appointment)
        assert event["SEQUENCE"] == 1
        assert event.decoded("DTSTART") == THURSDAY_1_30PM == moved.start
        assert event.decoded("DTEND") == THURSDAY_1_30PM + timedelta(minutes=45)
        assert mime_parts(message)["text/calendar"].get_param("method") == "REQUEST"

    def test_a_cancellation_sends_a_cancel_with_the_same_uid_and_a_higher_sequence(
        self, appointment, mailoutbox
    ):
        reschedule_appointment(appointment=appointment, start=THURSDAY_1_30PM, by_patient=True)
        send_due(NOW)
        _, moved = ics_of(the_only(mailoutbox))
        mailoutbox.clear()

        cancel_appointment(appointment=appointment, reason="Feeling better", by_patient=True)
        send_due(NOW)

        message = the_only(mailoutbox)
        assert message.subject == f"Your appointment at {settings.CLINIC_NAME} is cancelled"
        assert "Thursday, December 3, 2026 at 1:30 PM is cancelled" in message.body
        assert "is <strong>cancelled</strong>" in html_of(message)
        assert "Feeling better" not in message.body
        _, calendar = ics_of(message)
        assert calendar["METHOD"] == "CANCEL"
        event = event_of(calendar)
        assert event["UID"] == event_of(moved)["UID"]
        assert event["UID"] == uid_of(appointment)
        assert event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] > event_of(moved)["SEQUENCE"]
        assert event.decoded("DTSTART") == THURSDAY_1_30PM
        assert mime_parts(message)["text/calendar"].get_param("method") == "CANCEL"

    def test_a_refused_change_sends_nothing(self, appointment, mailoutbox, clock):
        clock.move_to(appointment.start - timedelta(hours=3))  # inside the notice

        with pytest.raises(TooLateToChange):
            cancel_appointment(appointment=appointment, by_patient=True)
        send_due(appointment.start - timedelta(hours=3))

        assert mailoutbox == []
        assert not Message.objects.filter(kind=MessageKind.APPOINTMENT_CANCELLED).exists()


class TestUnicodeNames:
    def test_an_accented_name_with_an_apostrophe_survives_the_email_and_the_ics(
        self, book, mailoutbox
    ):
        book(patient=ZOE)

        message = the_only(mailoutbox)
        raw = message.message().as_bytes()  # serialises without an encoding error
        parsed = email.message_from_bytes(raw)
        assert parsed["To"] == "zoe@example.org"
        assert str(email.header.make_header(email.header.decode_header(parsed["Subject"]))) == (
            message.subject
        )
        assert message.body.startswith("Dear Zoë,")
        assert "Dear Zoë," in html_of(message)
        plain = mime_parts(message)["text/plain"].get_payload(decode=True).decode()
        assert "Dear Zoë," in plain
        _, calendar = ics_of(message)
        assert event_of(calendar)["ATTENDEE"].params["CN"] == "Zoë O'Brien-Núñez"
        from_the_wire = mime_parts(message)["text/calendar"].get_payload(decode=True)
        attendee = event_of(icalendar.Calendar.from_ical(from_the_wire))["ATTENDEE"]
        assert attendee.params["CN"] == "Zoë O'Brien-Núñez"


@pytest.fixture
def los_angeles():
    """A second building, three hours behind the server's zone, seeing thoracic patients."""
    location = LocationFactory(
        name="Sunset Boulevard",
        address="9 Sunset Boulevard, Los Angeles, CA",
        phone="+13105550100",
        time_zone="America/Los_Angeles",
    )
    thoracic = Site.objects.get(slug="thoracic")
    clinician = ClinicianFactory(display_name="Dr. Chen", sites=[thoracic], locations=[location])
    for weekday in range(5):
        WorkingHoursFactory(
            clinician=clinician,
            location=location,
            weekday=weekday,
            start_time=time(8),
            end_time=time(17),
        )
    return {"location": location, "site": thoracic, "clinician": clinician}


def test_the_email_gives_the_time_in_the_locations_own_zone(book, mailoutbox, los_angeles, clinic):
    book(site=los_angeles["site"], start=datetime(2026, 12, 2, 17, 0, tzinfo=UTC))

    body = the_only(mailoutbox).body
    assert "Wednesday, December 2, 2026, 9:00 AM to 9:30 AM (Pacific Time)" in body
