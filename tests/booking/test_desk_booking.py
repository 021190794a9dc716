"""Reception's booking verbs: booking with the working-hours override, and walk-ins."""

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking.models import Appointment, AppointmentSource, Clinician, Location, Site, Weekday
from booking.services import (
    NotBookable,
    PatientDetails,
    SlotTaken,
    book_at_desk,
    book_walk_in,
)
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    SiteFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 14, 5, tzinfo=UTC)  # Monday 1 June 2026, 10:05 in New York
MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)

NORA = PatientDetails(
    first_name="Nora", last_name="Quinn", date_of_birth=date(1980, 2, 3), email="nora@example.org"
)


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


@pytest.fixture
def hartford() -> Location:
    return LocationFactory(name="Hartford", time_zone="America/New_York")


@pytest.fixture
def site() -> Site:
    """30-minute consults on a 15-minute grid, a day's notice online, no buffer."""
    return SiteFactory(
        name="Lumbar",
        duration_minutes=30,
        slot_step_minutes=15,
        buffer_after_minutes=0,
        min_notice_hours=24,
    )


def clinician_named(name: str, hartford: Location, site: Site) -> Clinician:
    """Works Mondays to Fridays, 09:00-12:00 in Hartford."""
    clinician = ClinicianFactory(display_name=name, sites=[site], locations=[hartford])
    for weekday in range(Weekday.MONDAY, Weekday.FRIDAY + 1):
        WorkingHoursFactory(
            clinician=clinician,
            location=hartford,
            weekday=weekday,
            start_time=time(9),
            end_time=time(12),
        )
    return clinician


@pytest.fixture
def adams(hartford: Location, site: Site) -> Clinician:
    return clinician_named("Dr. Adams", hartford, site)


@pytest.fixture
def brown(hartford: Location, site: Site) -> Clinician:
    return clinician_named("Dr. Brown", hartford, site)


def at_desk(start: datetime, clinician: Clinician, **kwargs: object):
    hartford = clinician.locations.get()
    site = clinician.sites.get()
    return book_at_desk(
        site=site,
        start=start,
        clinician=clinician,
        location=hartford,
        patient=NORA,
        consent_email=True,
        consent_sms=False,
        now=NOW,
        **kwargs,
    )


# --- booking with the override -----------------------------------------------------------


@pytest.mark.parametrize("override_hours", [False, True])
def test_a_time_in_hours_is_booked_without_an_override(adams: Clinician, override_hours: bool):
    booked = at_desk(at(9), adams, override_hours=override_hours)

    assert booked.appointment.start == at(9)
    assert booked.appointment.source == AppointmentSource.RECEPTION
    assert booked.overridden_rule == ""
    assert booked.override_summary == ""


def test_a_time_off_the_hours_is_refused_without_the_override(adams: Clinician):
    with pytest.raises(NotBookable, match="not a time this consult can start"):
        at_desk(at(18), adams)

    assert not Appointment.objects.exists()


def test_the_override_books_off_the_hours_and_names_the_rule_it_broke(adams: Clinician):
    booked = at_desk(at(18), adams, override_hours=True, notes="Seen after clinic")

    appointment = Appointment.objects.get()
    assert booked.appointment == appointment
    assert (appointment.start, appointment.clinician, appointment.notes) == (
        at(18),
        adams,
        "Seen after clinic",
    )
    assert booked.overridden_rule.startswith("That is not a time this consult can start")
    assert booked.override_summary == (
        f"Booked outside working hours for Nora Quinn ({appointment.public_id}): "
        f"{booked.overridden_rule}"
    )


def test_the_override_never_double_books(adams: Clinician, hartford: Location, site: Site):
    AppointmentFactory(clinician=adams, location=hartford, site=site, start=at(18))

    with pytest.raises(SlotTaken):
        at_desk(at(18, 15), adams, override_hours=True)

    assert Appointment.objects.count() == 1


def test_the_override_never_books_the_past(adams: Clinician):
    with pytest.raises(NotBookable, match="already passed"):
        at_desk(at(7, day=MONDAY), adams, override_hours=True)

    assert not Appointment.objects.exists()


def test_an_override_sent_twice_books_once(adams: Clinician):
    key = uuid.uuid4()

    first = at_desk(at(18), adams, override_hours=True, booking_key=key)
    again = at_desk(at(18), adams, override_hours=True, booking_key=key)

    assert again.appointment == first.appointment == Appointment.objects.get()


# --- walk-ins ----------------------------------------------------------------------------


def walk_in(hartford: Location, site: Site, *, now: datetime = NOW, **kwargs: object):
    return book_walk_in(
        site=site,
        location=hartford,
        patient=NORA,
        consent_email=True,
        consent_sms=False,
        now=now,
        **kwargs,
    )


def test_a_walk_in_gets_the_first_free_start_today_inside_the_notice(
    hartford: Location, site: Site, adams: Clinician, brown: Clinician
):
    appointment = walk_in(hartford, site)

    assert (appointment.start, appointment.clinician) == (at(10, 15, day=MONDAY), adams)
    assert appointment.source == AppointmentSource.RECEPTION


def test_a_walk_in_passes_over_a_busy_clinician(
    hartford: Location, site: Site, adams: Clinician, brown: Clinician
):
    AppointmentFactory(clinician=adams, location=hartford, site=site, start=at(10, 15, MONDAY))

    appointment = walk_in(hartford, site)

    assert (appointment.start, appointment.clinician) == (at(10, 15, day=MONDAY), brown)


def test_a_walk_in_with_no_time_free_today_books_nothing(
    hartford: Location, site: Site, adams: Clinician
):
    after_clinic = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)  # 12:30 in New York

    with pytest.raises(NotBookable, match="no clinician is free for Lumbar"):
        walk_in(hartford, site, now=after_clinic)

    assert not Appointment.objects.exists()


def test_today_is_the_locations_date_not_utcs(hartford: Location, site: Site, adams: Clinician):
    monday_night = datetime(2026, 6, 2, 3, tzinfo=UTC)  # Tuesday in UTC, Monday 23:00 here

    with pytest.raises(NotBookable):
        walk_in(hartford, site, now=monday_night)


def test_a_walk_in_sent_twice_books_once(hartford: Location, site: Site, adams: Clinician):
    key = uuid.uuid4()

    first = walk_in(hartford, site, booking_key=key)
    again = walk_in(hartford, site, booking_key=key)

    assert again == first == Appointment.objects.get()
