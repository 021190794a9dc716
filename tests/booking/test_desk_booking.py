"""Reception's booking verbs: booking with the working-hours override, and walk-ins.

The clinic (tests/booking/conftest.py): lumbar consults of 45 minutes on a 15-minute grid,
Dr. Adams and Dr. Brown working Monday to Friday 08:00-17:00 in New York."""

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from booking.models import Appointment, AppointmentSource
from booking.services import (
    DeskBooking,
    NotBookable,
    PatientDetails,
    SlotTaken,
    book_at_desk,
    book_walk_in,
)
from tests.factories import AppointmentFactory

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 14, 5, tzinfo=UTC)  # Monday 1 June 2026, 10:05 in New York
MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)

NORA = PatientDetails(
    first_name="Nora", last_name="Quinn", date_of_birth=date(1980, 2, 3), email="nora@example.org"
)


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


def at_desk(clinic: dict[str, Any], start: datetime, **kwargs: Any) -> DeskBooking:
    return book_at_desk(
        site=clinic["site"],
        start=start,
        clinician=clinic["clinicians"][0],
        location=clinic["location"],
        patient=NORA,
        consent_email=True,
        consent_sms=False,
        now=NOW,
        **kwargs,
    )


def walk_in(clinic: dict[str, Any], *, now: datetime = NOW, **kwargs: Any) -> Appointment:
    return book_walk_in(
        site=clinic["site"],
        location=clinic["location"],
        patient=NORA,
        consent_email=True,
        consent_sms=False,
        now=now,
        **kwargs,
    )


def hold(clinic: dict[str, Any], start: datetime, clinician: int = 0) -> Appointment:
    return AppointmentFactory(
        site=clinic["site"],
        clinician=clinic["clinicians"][clinician],
        location=clinic["location"],
        start=start,
    )


# --- booking with the override -----------------------------------------------------------


@pytest.mark.parametrize("override_hours", [False, True])
def test_a_time_in_hours_is_booked_without_an_override(clinic, override_hours):
    booked = at_desk(clinic, at(9), override_hours=override_hours)

    assert booked.appointment.start == at(9)
    assert booked.appointment.source == AppointmentSource.RECEPTION
    assert booked.overridden_rule == ""
    assert booked.override_summary == ""


def test_a_time_off_the_hours_is_refused_without_the_override(clinic):
    with pytest.raises(NotBookable, match="not a time this consult can start"):
        at_desk(clinic, at(18))

    assert not Appointment.objects.exists()


def test_the_override_books_off_the_hours_and_names_the_rule_it_broke(clinic):
    booked = at_desk(clinic, at(18), override_hours=True, notes="Seen after clinic")

    appointment = Appointment.objects.get()
    assert booked.appointment == appointment
    assert (appointment.start, appointment.clinician, appointment.notes) == (
        at(18),
        clinic["clinicians"][0],
        "Seen after clinic",
    )
    assert booked.overridden_rule.startswith("That is not a time this consult can start")
    assert booked.override_summary == (
        f"Booked outside working hours for Nora Quinn ({appointment.public_id}): "
        f"{booked.overridden_rule}"
    )


def test_the_override_never_double_books(clinic):
    hold(clinic, at(18))

    with pytest.raises(SlotTaken):
        at_desk(clinic, at(18, 15), override_hours=True)

    assert Appointment.objects.count() == 1


def test_the_override_never_books_the_past(clinic):
    with pytest.raises(NotBookable, match="already passed"):
        at_desk(clinic, at(7, day=MONDAY), override_hours=True)

    assert not Appointment.objects.exists()


def test_an_override_sent_twice_books_once(clinic):
    key = uuid.uuid4()

    first = at_desk(clinic, at(18), override_hours=True, booking_key=key)
    again = at_desk(clinic, at(18), override_hours=True, booking_key=key)

    assert again.appointment == first.appointment == Appointment.objects.get()


# --- walk-ins ----------------------------------------------------------------------------


def test_a_walk_in_gets_the_first_free_start_today_inside_the_notice(clinic):
    appointment = walk_in(clinic)

    assert (appointment.start, appointment.clinician) == (
        at(10, 15, day=MONDAY),
        clinic["clinicians"][0],
    )
    assert appointment.source == AppointmentSource.RECEPTION


def test_a_walk_in_passes_over_a_busy_clinician(clinic):
    hold(clinic, at(10, 15, day=MONDAY), clinician=0)

    appointment = walk_in(clinic)

    assert (appointment.start, appointment.clinician) == (
        at(10, 15, day=MONDAY),
        clinic["clinicians"][1],
    )


def test_a_walk_in_with_no_time_free_today_books_nothing(clinic):
    after_clinic = datetime(2026, 6, 1, 21, 30, tzinfo=UTC)  # 17:30 in New York

    with pytest.raises(NotBookable, match="no clinician is free for Lumbar"):
        walk_in(clinic, now=after_clinic)

    assert not Appointment.objects.exists()


def test_today_is_the_locations_date_not_utcs(clinic):
    monday_night = datetime(2026, 6, 2, 3, tzinfo=UTC)  # Tuesday in UTC, Monday 23:00 here

    with pytest.raises(NotBookable):
        walk_in(clinic, now=monday_night)


def test_a_walk_in_sent_twice_books_once(clinic):
    key = uuid.uuid4()

    first = walk_in(clinic, booking_key=key)
    again = walk_in(clinic, booking_key=key)

    assert again == first == Appointment.objects.get()
