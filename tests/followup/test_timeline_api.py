"""GET /api/v1/appointments/<id>/messages/: every message of an appointment, for staff
only (red-flag alerts to staff for clinicians and clinic admins only)."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from booking.models import AuditEvent, Site, WaitlistOffer
from followup.checkins import resend_check_in
from followup.models import Channel, Message, MessageKind, MessageState
from followup.reminders import plan_reminders
from followup.visit_messages import plan_appointment_email, plan_offer_messages
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    WaitlistEntryFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
PERFORMED = datetime(2026, 11, 2, 15, tzinfo=UTC)  # four weeks before: days 1 to 14 are past


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def appointment():
    """Wednesday 09:00 in New York; reminders: 72 h email (passed), 24 h email, 2 h SMS."""
    visit = AppointmentFactory(
        site=Site.objects.get(slug="lumbar"),
        location=LocationFactory(name="Main Street"),
        patient=PatientFactory(
            email="ana@example.org", phone="+18605550123", consent_email=True, consent_sms=True
        ),
        start=WEDNESDAY_9AM,
    )
    plan_reminders(visit, now=NOW)
    return visit


def url(appointment) -> str:
    return f"/api/v1/appointments/{appointment.public_id}/messages/"


class TestAccess:
    def test_anonymous_callers_are_refused(self, api, appointment):
        assert api.get(url(appointment)).status_code in {401, 403}

    def test_a_user_who_is_not_staff_is_refused(self, api, appointment, patient_user):
        api.force_authenticate(patient_user)
        response = api.get(url(appointment))
        assert response.status_code == 403
        assert "ana@" not in response.content.decode()

    @pytest.mark.parametrize("role", ["receptionist", "clinician_user", "clinic_admin"])
    def test_every_staff_role_may_read_it(self, api, appointment, role, request):
        user = request.getfixturevalue(role)
        if role == "clinician_user":  # a clinician reads their own appointments' messages
            appointment.clinician.user = user
            appointment.clinician.save(update_fields=["user"])
        api.force_authenticate(user)
        assert api.get(url(appointment)).status_code == 200

    def test_an_unknown_appointment_is_404(self, api, receptionist):
        api.force_authenticate(receptionist)
        response = api.get("/api/v1/appointments/00000000-0000-0000-0000-000000000000/messages/")
        assert response.status_code == 404


class TestTimeline:
    @pytest.fixture(autouse=True)
    def _staff(self, api, receptionist):
        api.force_authenticate(receptionist)

    def test_it_lists_the_messages_in_due_order_with_their_state(self, api, appointment):
        body = api.get(url(appointment)).json()
        assert [(m["kind"], m["channel"], m["due_at"], m["state"]) for m in body] == [
            ("reminder", "email", "2026-11-29T09:00:00-05:00", "skipped"),
            ("reminder", "email", "2026-12-01T09:00:00-05:00", "scheduled"),
            # 07:00 is inside quiet hours: moved to 08:00.
            ("reminder", "sms", "2026-12-02T08:00:00-05:00", "scheduled"),
        ]
        assert body[0]["skip_reason"] == "Its time had passed when the visit was booked or moved."

    def test_each_message_has_the_documented_fields(self, api, appointment):
        first = api.get(url(appointment)).json()[1]
        assert set(first) == {
            "id",
            "kind",
            "kind_label",
            "check_in_day",
            "channel",
            "recipient",
            "due_at",
            "state",
            "attempts",
            "sent_at",
            "last_error",
            "skip_reason",
        }
        assert (first["attempts"], first["sent_at"], first["last_error"]) == (0, None, "")
        assert (first["kind_label"], first["check_in_day"]) == ("Reminder", None)

    def test_recipients_are_masked(self, api, appointment):
        body = api.get(url(appointment)).json()
        assert [m["recipient"] for m in body] == ["a***@example.org"] * 2 + ["***0123"]
        assert "ana@example.org" not in str(body)
        assert "+18605550123" not in str(body)

    def test_a_sent_and_a_failed_message_show_what_happened(self, api, appointment):
        email = Message.objects.get(
            appointment=appointment, channel=Channel.EMAIL, state="scheduled"
        )
        sms = Message.objects.get(appointment=appointment, channel=Channel.SMS)
        email.state, email.sent_at, email.attempts = MessageState.SENT, NOW, 1
        email.save()
        sms.state, sms.attempts, sms.last_error = MessageState.FAILED, 5, "Twilio 503: busy"
        sms.save()

        body = {m["id"]: m for m in api.get(url(appointment)).json()}

        assert body[email.pk]["state"] == "sent"
        assert body[email.pk]["sent_at"] == "2026-11-30T09:00:00-05:00"
        assert (body[sms.pk]["state"], body[sms.pk]["attempts"]) == ("failed", 5)
        assert body[sms.pk]["last_error"] == "Twilio 503: busy"

    def test_a_retry_moving_a_message_earlier_reorders_the_list(self, api, appointment):
        sms = Message.objects.get(appointment=appointment, channel=Channel.SMS)
        Message.objects.filter(pk=sms.pk).update(due_at=NOW + timedelta(minutes=1))
        body = api.get(url(appointment)).json()
        assert [m["channel"] for m in body] == ["email", "sms", "email"]

    def test_an_appointment_without_messages_has_an_empty_list(self, api, appointment):
        Message.objects.all().delete()
        assert api.get(url(appointment)).json() == []

    def test_it_shows_only_this_appointments_messages(self, api, appointment):
        other = AppointmentFactory(
            site=appointment.site,
            location=appointment.location,
            patient=PatientFactory(consent_email=True),
            start=WEDNESDAY_9AM + timedelta(days=1),
        )
        plan_reminders(other, now=NOW)
        ids = {m["id"] for m in api.get(url(appointment)).json()}
        assert ids == set(
            Message.objects.filter(appointment=appointment).values_list("pk", flat=True)
        )

    def test_the_queries_do_not_grow_with_the_messages(self, api, appointment):
        api.get(url(appointment))  # the forced user keeps its groups, read once, across calls
        with CaptureQueriesContext(connection) as few:
            api.get(url(appointment))
        template = Message.objects.filter(appointment=appointment).first()
        assert template is not None
        Message.objects.bulk_create(
            Message(
                appointment=appointment,
                patient=appointment.patient,
                kind=template.kind,
                channel=template.channel,
                minutes_before=minutes,
                recipient=template.recipient,
                due_at=NOW + timedelta(minutes=minutes),
            )
            for minutes in range(1, 21)
        )
        with CaptureQueriesContext(connection) as many:
            assert len(api.get(url(appointment)).json()) == 23
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_staff_reading_it_is_audited_and_logged(self, api, appointment, caplog):
        caplog.set_level(logging.INFO, logger="booking.audit")
        api.get(url(appointment))
        event = AuditEvent.objects.get()
        assert (event.user.username, event.patient) == ("rita", appointment.patient)
        assert f"audit event {event.pk}: rita view" in caplog.text


def test_the_schema_documents_it_for_staff(api, receptionist):
    api.force_authenticate(receptionist)
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/appointments/{public_id}/messages/"]["get"]
    assert operation["tags"] == ["staff"]
    item = schema["components"]["schemas"]["TimelineMessage"]["properties"]
    assert {
        "kind",
        "kind_label",
        "check_in_day",
        "channel",
        "due_at",
        "state",
        "attempts",
        "sent_at",
        "last_error",
    } <= set(item)
    assert item["check_in_day"]["nullable"] is True
    assert "waitlist offer" in operation["description"]


class TestEveryMessageOfTheVisit:
    """Besides reminders: the booking's emails, the check-ins its procedure started, the
    waitlist offer it was booked from, and (for clinicians) red-flag alerts to staff."""

    @pytest.fixture
    def episode(self, clinician):
        return episode_after_procedure(
            clinician=clinician,
            location=LocationFactory(name="Main Street"),
            patient=PatientFactory(
                email="ana@example.org", phone="+18605550123", consent_email=True, consent_sms=True
            ),
            performed_at=PERFORMED,
        )

    @pytest.fixture
    def clinician(self, clinician_user):
        return ClinicianFactory(user=clinician_user)

    def kinds(self, api, appointment) -> list[tuple[str, str, int | None]]:
        body = api.get(url(appointment)).json()
        return [(m["kind"], m["channel"], m["check_in_day"]) for m in body]

    def test_the_booking_email_is_listed_with_its_label(self, api, receptionist, appointment):
        plan_appointment_email(appointment, MessageKind.APPOINTMENT_BOOKED, now=NOW)
        api.force_authenticate(receptionist)
        body = api.get(url(appointment)).json()
        assert [(m["kind"], m["kind_label"], m["due_at"]) for m in body[:2]] == [
            ("reminder", "Reminder", "2026-11-29T09:00:00-05:00"),
            ("appointment_booked", "Booking confirmation", "2026-11-30T09:00:00-05:00"),
        ]

    def test_the_check_ins_of_its_procedure_are_listed_with_their_day(
        self, api, receptionist, episode
    ):
        day_3 = episode.check_ins.get(day=3)
        with time_machine.travel(day_3.due_at + timedelta(hours=1), tick=False):
            resend_check_in(day_3, Channel.EMAIL, receptionist)
        api.force_authenticate(receptionist)
        listed = self.kinds(api, episode.procedure.appointment)
        assert listed[:4] == [
            ("check_in", "email", 1),
            ("check_in", "sms", 1),
            ("check_in_reminder", "email", 1),
            ("check_in_reminder", "sms", 1),
        ]
        assert ("check_in_resent", "email", 3) in listed
        days = {day for _, _, day in listed}
        assert days == set(episode.check_ins.values_list("day", flat=True))

    def test_the_waitlist_offer_it_was_booked_from_is_listed(self, api, receptionist, appointment):
        entry = WaitlistEntryFactory(patient=appointment.patient)
        offer = WaitlistOffer.objects.create(
            entry=entry,
            site=appointment.site,
            clinician=appointment.clinician,
            location=appointment.location,
            start=appointment.start,
            expires_at=NOW + timedelta(hours=2),
        )
        plan_offer_messages(offer, MessageKind.WAITLIST_OFFER, now=NOW)
        api.force_authenticate(receptionist)
        assert "waitlist_offer" not in {kind for kind, _, _ in self.kinds(api, appointment)}

        WaitlistOffer.objects.filter(pk=offer.pk).update(appointment=appointment)
        body = api.get(url(appointment)).json()
        offers = [m for m in body if m["kind"] == "waitlist_offer"]
        assert [(m["channel"], m["kind_label"]) for m in offers] == [
            ("email", "Waitlist offer"),
            ("sms", "Waitlist offer"),
        ]

    def test_alerts_to_staff_are_for_clinicians_not_reception(
        self, api, receptionist, clinic_admin, clinician, episode
    ):
        answer_check_in(episode, 3, 5, side_effects=["fever"])
        appointment = episode.procedure.appointment
        api.force_authenticate(clinician.user)
        alerts = [m for m in api.get(url(appointment)).json() if m["kind"] == "alert"]
        assert [(m["kind_label"], m["check_in_day"]) for m in alerts] == [("Red-flag alert", None)]
        api.force_authenticate(clinic_admin)
        assert "alert" in {kind for kind, _, _ in self.kinds(api, appointment)}
        api.force_authenticate(receptionist)
        body = api.get(url(appointment)).json()
        assert body
        assert "alert" not in {m["kind"] for m in body}
