"""Reminder rows planned by the booking verbs: which rows, when due, in which state.

Every case goes through booking.services (book, reschedule, cancel) as the patient pages,
the API and reception do, and checks exact UTC due times: the database is the schedule.
"""

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from booking.models import Appointment, AppointmentSource, Site
from booking.services import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from followup.dispatch import dispatch_due_messages
from followup.models import Channel, Message, MessageKind, MessageState, ReminderStep
from followup.reminders import (
    AFTER_VISIT,
    PASSED_AT_BOOKING,
    out_of_quiet_hours,
)
from followup.sending import Outcome, send_message
from tests.factories import ClinicianFactory, LocationFactory, WorkingHoursFactory
from tests.outbox import send_due

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # Monday 1 June 2026, 08:00 in New York
EMAIL = "ann.lee@example.com"
PHONE = "+18605550123"
EMAIL_72H = (72 * 60, Channel.EMAIL)
EMAIL_24H = (24 * 60, Channel.EMAIL)
SMS_2H = (2 * 60, Channel.SMS)


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in New York, as the booking pages pass it (zone-aware)."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clinic(db):
    """A New York location and one clinician injecting lumbar every day, 07:00-19:00.

    Early and late hours let visits start inside the reach of quiet hours.
    """
    location = LocationFactory(name="Main Street", time_zone="America/New_York")
    lumbar = Site.objects.get(slug="lumbar")  # 45 minutes on a 15-minute grid
    clinician = ClinicianFactory(display_name="Dr. Adams", sites=[lumbar], locations=[location])
    for weekday in range(7):
        WorkingHoursFactory(
            clinician=clinician,
            location=location,
            weekday=weekday,
            start_time=time(7),
            end_time=time(19),
        )
    return SimpleNamespace(location=location, site=lumbar, clinician=clinician)


def book(
    clinic,
    start: datetime,
    *,
    now: datetime = NOW,
    consent_email: bool = True,
    consent_sms: bool = True,
    email: str = EMAIL,
    phone: str = PHONE,
) -> Appointment:
    """Book as reception does (reception may book inside the site's notice)."""
    with time_machine.travel(now, tick=False):
        return book_appointment(
            site=clinic.site,
            start=start,
            patient=PatientDetails("Ann", "Lee", date(1970, 5, 17), email, phone),
            source=AppointmentSource.RECEPTION,
            consent_email=consent_email,
            consent_sms=consent_sms,
            now=now,
        )


def plan(appointment: Appointment) -> dict[tuple[int, str], tuple[datetime, str]]:
    """The appointment's reminder rows: (minutes before, channel) -> (due time, state)."""
    return {
        (message.minutes_before, message.channel): (message.due_at, message.state)
        for message in Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER)
    }


def row(appointment: Appointment, step: tuple[int, str]) -> Message:
    minutes_before, channel = step
    return Message.objects.get(
        appointment=appointment, minutes_before=minutes_before, channel=channel
    )


def reminders_sent(now: datetime) -> list[int]:
    """The reminders among what the outbox claims and sends at `now` (a booking's own
    confirmation email is due at once, and tested with the booking)."""
    claimed = send_due(now)
    reminders = Message.objects.filter(pk__in=claimed, kind=MessageKind.REMINDER)
    return [pk for pk in claimed if pk in set(reminders.values_list("pk", flat=True))]


# --- the plan is data -------------------------------------------------------------------


def test_every_site_has_the_default_plan_72_h_and_24_h_by_email_and_2_h_by_sms():
    for site in Site.objects.all():
        steps = {(step.minutes_before, step.channel) for step in site.reminder_steps.all()}
        assert steps == {EMAIL_72H, EMAIL_24H, SMS_2H}, site.slug


# --- creation at booking ------------------------------------------------------------------


def test_booking_creates_the_sites_reminders_with_exact_utc_due_times(clinic):
    # Wednesday 10 June 2026, 14:00 in New York (EDT) is 18:00 UTC.
    appointment = book(clinic, ny(2026, 6, 10, 14))

    assert plan(appointment) == {
        EMAIL_72H: (utc(2026, 6, 7, 18), MessageState.SCHEDULED),
        EMAIL_24H: (utc(2026, 6, 9, 18), MessageState.SCHEDULED),
        SMS_2H: (utc(2026, 6, 10, 16), MessageState.SCHEDULED),
    }
    for message in Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER):
        assert message.kind == MessageKind.REMINDER
        assert message.recipient == (EMAIL if message.channel == Channel.EMAIL else PHONE)
        assert message.attempts == 0
        assert message.skip_reason == ""
        assert message.sent_at is None


@pytest.mark.parametrize(
    ("consent_email", "consent_sms", "expected"),
    [
        (True, True, {EMAIL_72H, EMAIL_24H, SMS_2H}),
        (True, False, {EMAIL_72H, EMAIL_24H}),
        (False, True, {SMS_2H}),
        (False, False, set()),
    ],
    ids=["both", "email-only", "sms-only", "neither"],
)
def test_rows_only_for_the_channels_the_patient_agreed_to(
    clinic, consent_email, consent_sms, expected
):
    appointment = book(
        clinic, ny(2026, 6, 10, 14), consent_email=consent_email, consent_sms=consent_sms
    )
    assert set(plan(appointment)) == expected


def test_consent_to_sms_without_a_phone_number_plans_no_sms(clinic):
    appointment = book(clinic, ny(2026, 6, 10, 14), phone="", consent_sms=True)
    assert set(plan(appointment)) == {EMAIL_72H, EMAIL_24H}


def test_a_step_added_to_the_sites_plan_in_the_admin_is_planned_for_new_bookings(clinic):
    ReminderStep.objects.create(site=clinic.site, minutes_before=7 * 24 * 60, channel="email")
    appointment = book(clinic, ny(2026, 6, 20, 14))
    assert plan(appointment)[(7 * 24 * 60, Channel.EMAIL)] == (
        utc(2026, 6, 13, 18),
        MessageState.SCHEDULED,
    )


def test_a_reminder_already_passed_at_booking_is_skipped_not_sent(clinic):
    now = utc(2026, 6, 8, 12)  # Monday 08:00 in New York; the visit is Wednesday 14:00
    appointment = book(clinic, ny(2026, 6, 10, 14), now=now)

    assert plan(appointment) == {
        EMAIL_72H: (utc(2026, 6, 7, 18), MessageState.SKIPPED),
        EMAIL_24H: (utc(2026, 6, 9, 18), MessageState.SCHEDULED),
        SMS_2H: (utc(2026, 6, 10, 16), MessageState.SCHEDULED),
    }
    assert row(appointment, EMAIL_72H).skip_reason == PASSED_AT_BOOKING
    # Nothing is due at booking time, so nothing goes out late.
    assert reminders_sent(now) == []
    assert row(appointment, EMAIL_72H).state == MessageState.SKIPPED


# --- quiet hours, 21:00-08:00 in the location's zone ------------------------------------


@pytest.mark.parametrize(
    ("local_due", "expected_local"),
    [
        (ny(2026, 6, 9, 20, 59), ny(2026, 6, 9, 20, 59)),
        (ny(2026, 6, 9, 21, 0), ny(2026, 6, 10, 8)),
        (ny(2026, 6, 9, 23, 59), ny(2026, 6, 10, 8)),
        (ny(2026, 6, 10, 0, 0), ny(2026, 6, 10, 8)),
        (ny(2026, 6, 10, 7, 59), ny(2026, 6, 10, 8)),
        (ny(2026, 6, 10, 8, 0), ny(2026, 6, 10, 8)),
    ],
)
def test_quiet_hours_boundaries(local_due, expected_local):
    moved = out_of_quiet_hours(local_due.astimezone(UTC), NEW_YORK)
    assert moved == expected_local


def test_a_reminder_due_in_quiet_hours_moves_to_0800_local(clinic):
    # A 09:00 visit: the 2 h SMS would be due at 07:00, inside quiet hours.
    appointment = book(clinic, ny(2026, 6, 10, 9))
    assert plan(appointment)[SMS_2H] == (utc(2026, 6, 10, 12), MessageState.SCHEDULED)  # 08:00
    assert plan(appointment)[EMAIL_24H] == (utc(2026, 6, 9, 13), MessageState.SCHEDULED)


def test_a_reminder_due_late_in_the_evening_moves_to_0800_the_next_morning(clinic):
    ReminderStep.objects.create(site=clinic.site, minutes_before=11 * 60, channel="sms")
    ReminderStep.objects.create(site=clinic.site, minutes_before=13 * 60, channel="email")
    appointment = book(clinic, ny(2026, 6, 10, 9))
    # 11 h before 09:00 is 22:00 the evening before: moved to 08:00 on the visit's day.
    assert plan(appointment)[(11 * 60, Channel.SMS)] == (
        utc(2026, 6, 10, 12),
        MessageState.SCHEDULED,
    )
    # 13 h before is 20:00: outside quiet hours, unchanged.
    assert plan(appointment)[(13 * 60, Channel.EMAIL)] == (
        utc(2026, 6, 10, 0),
        MessageState.SCHEDULED,
    )


@pytest.mark.parametrize(
    "visit",
    [ny(2026, 6, 10, 7, 30), ny(2026, 6, 10, 8, 0)],
    ids=["0800-after-a-0730-visit", "0800-is-the-visits-start"],
)
def test_a_reminder_that_quiet_hours_would_push_past_the_visit_is_skipped(clinic, visit):
    appointment = book(clinic, visit)
    sms = row(appointment, SMS_2H)
    assert sms.state == MessageState.SKIPPED
    assert sms.skip_reason == AFTER_VISIT
    assert sms.due_at >= appointment.start
    # The emails, due at 07:30 or 08:00 one and three days before, are sent at 08:00.
    assert plan(appointment)[EMAIL_24H] == (utc(2026, 6, 9, 12), MessageState.SCHEDULED)
    assert plan(appointment)[EMAIL_72H] == (utc(2026, 6, 7, 12), MessageState.SCHEDULED)


# --- daylight saving time ---------------------------------------------------------------

DST_CASES = [
    # Clocks go forward on Sunday 8 March 2026: Monday 09:00 EDT is 13:00 UTC;
    # 72 h earlier is Friday 13:00 UTC (08:00 EST); 24 h earlier Sunday 13:00 UTC (09:00 EDT).
    pytest.param(
        ny(2026, 3, 9, 9),
        utc(2026, 3, 1, 15),
        {EMAIL_72H: utc(2026, 3, 6, 13), EMAIL_24H: utc(2026, 3, 8, 13)},
        id="spring-forward",
    ),
    # Clocks go back on Sunday 1 November 2026: Monday 09:00 EST is 14:00 UTC;
    # 72 h earlier is Friday 14:00 UTC (10:00 EDT); 24 h earlier Sunday 14:00 UTC (09:00 EST).
    pytest.param(
        ny(2026, 11, 2, 9),
        utc(2026, 10, 20, 15),
        {EMAIL_72H: utc(2026, 10, 30, 14), EMAIL_24H: utc(2026, 11, 1, 14)},
        id="fall-back",
    ),
]


@pytest.mark.parametrize(("visit", "now", "expected"), DST_CASES)
def test_dst_due_times_are_exact_hours_before_a_visit_given_in_utc(clinic, visit, now, expected):
    appointment = book(clinic, visit.astimezone(UTC), now=now)
    for step, due in expected.items():
        assert plan(appointment)[step] == (due, MessageState.SCHEDULED)
        assert appointment.start - due == timedelta(minutes=step[0])


@pytest.mark.parametrize(("visit", "now", "expected"), DST_CASES)
def test_dst_due_times_are_exact_hours_before_a_visit_given_in_local_time(
    clinic, visit, now, expected
):
    appointment = book(clinic, visit, now=now)  # zone-aware, as booking/views/book.py passes
    for step, due in expected.items():
        assert plan(appointment)[step] == (due, MessageState.SCHEDULED)


def test_dst_sms_moved_out_of_quiet_hours_lands_at_0800_edt(clinic):
    appointment = book(clinic, ny(2026, 3, 9, 9).astimezone(UTC), now=utc(2026, 3, 1, 15))
    # 2 h before 09:00 EDT is 07:00 EDT: moved to 08:00 EDT, 12:00 UTC.
    assert plan(appointment)[SMS_2H] == (utc(2026, 3, 9, 12), MessageState.SCHEDULED)


# --- reschedule and cancel ----------------------------------------------------------------


def reschedule(appointment: Appointment, start: datetime, *, now: datetime) -> Appointment:
    with time_machine.travel(now, tick=False):
        return reschedule_appointment(
            appointment=appointment, start=start, by_patient=False, now=now
        )


def test_reschedule_moves_scheduled_reminders_and_leaves_sent_ones_as_they_were(clinic):
    appointment = book(clinic, ny(2026, 6, 10, 14))
    assert reminders_sent(utc(2026, 6, 7, 18)) == [row(appointment, EMAIL_72H).pk]
    sent = row(appointment, EMAIL_72H)
    assert sent.state == MessageState.SENT

    # Moved on Monday to Friday 12 June, 10:00 in New York (14:00 UTC).
    reschedule(appointment, ny(2026, 6, 12, 10), now=utc(2026, 6, 8, 12))

    assert plan(appointment) == {
        # Sent for the old time: stays sent, with its times (no second 72 h email).
        EMAIL_72H: (utc(2026, 6, 7, 18), MessageState.SENT),
        EMAIL_24H: (utc(2026, 6, 11, 14), MessageState.SCHEDULED),
        # 2 h before 10:00 is 08:00 in New York: not in quiet hours.
        SMS_2H: (utc(2026, 6, 12, 12), MessageState.SCHEDULED),
    }
    kept = row(appointment, EMAIL_72H)
    assert (kept.sent_at, kept.provider_message_id, kept.attempts) == (
        sent.sent_at,
        sent.provider_message_id,
        sent.attempts,
    )
    assert kept.sent_at == utc(2026, 6, 7, 18)


def test_reschedule_later_brings_back_a_reminder_skipped_at_booking(clinic):
    now = utc(2026, 6, 8, 12)
    appointment = book(clinic, ny(2026, 6, 10, 14), now=now)
    assert row(appointment, EMAIL_72H).state == MessageState.SKIPPED

    reschedule(appointment, ny(2026, 6, 19, 14), now=now)

    assert plan(appointment) == {
        EMAIL_72H: (utc(2026, 6, 16, 18), MessageState.SCHEDULED),
        EMAIL_24H: (utc(2026, 6, 18, 18), MessageState.SCHEDULED),
        SMS_2H: (utc(2026, 6, 19, 16), MessageState.SCHEDULED),
    }
    assert row(appointment, EMAIL_72H).skip_reason == ""


def test_reschedule_sooner_skips_the_reminders_whose_time_has_passed(clinic):
    appointment = book(clinic, ny(2026, 6, 19, 14))
    reschedule(appointment, ny(2026, 6, 9, 14), now=utc(2026, 6, 8, 12))
    assert plan(appointment) == {
        EMAIL_72H: (utc(2026, 6, 6, 18), MessageState.SKIPPED),
        EMAIL_24H: (utc(2026, 6, 8, 18), MessageState.SCHEDULED),
        SMS_2H: (utc(2026, 6, 9, 16), MessageState.SCHEDULED),
    }


def test_cancel_cancels_the_pending_reminders_and_keeps_the_sent_one(clinic):
    appointment = book(clinic, ny(2026, 6, 10, 14))
    reminders_sent(utc(2026, 6, 7, 18))  # the 72 h email goes out

    with time_machine.travel(utc(2026, 6, 8, 12), tick=False):
        cancel_appointment(appointment=appointment, by_patient=False)

    assert plan(appointment) == {
        EMAIL_72H: (utc(2026, 6, 7, 18), MessageState.SENT),
        EMAIL_24H: (utc(2026, 6, 9, 18), MessageState.CANCELLED),
        SMS_2H: (utc(2026, 6, 10, 16), MessageState.CANCELLED),
    }
    assert row(appointment, SMS_2H).skip_reason
    # Their due times come and go without a send.
    assert reminders_sent(utc(2026, 6, 9, 18)) == []
    assert reminders_sent(utc(2026, 6, 10, 16)) == []


def test_a_reminder_claimed_just_before_the_visit_is_cancelled_is_cancelled_not_sent(
    clinic, mailoutbox
):
    appointment = book(clinic, ny(2026, 6, 10, 14))
    due = utc(2026, 6, 9, 18)
    claimed: list[int] = []
    with time_machine.travel(due, tick=False):
        dispatch_due_messages(enqueue=claimed.append, now=due)
        cancel_appointment(appointment=appointment, by_patient=False)
        # Both reminder emails were due (72 h and 24 h) and claimed before the cancellation.
        reminders = [row(appointment, EMAIL_72H).pk, row(appointment, EMAIL_24H).pk]
        assert set(reminders) <= set(claimed)
        assert {send_message(message_id, now=due) for message_id in reminders} == {
            Outcome.CANCELLED
        }
    assert row(appointment, EMAIL_72H).state == MessageState.CANCELLED
    assert row(appointment, EMAIL_24H).state == MessageState.CANCELLED
    assert not [mail for mail in mailoutbox if "Reminder" in mail.subject]
