"""The availability engine: which starts can be booked, from hours minus what holds them."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from booking.availability import free_slots, nearest_free_slots
from booking.models import Appointment, AppointmentStatus, Block, Weekday
from tests.factories import (
    AppointmentFactory,
    BlockFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    ScheduleExceptionFactory,
    SiteFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # Monday 1 June 2026, 08:00 in New York
MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)
WEDNESDAY = date(2026, 6, 3)
THURSDAY = date(2026, 6, 4)


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def starts(slots) -> list[datetime]:
    return [slot.start for slot in slots]


def slots_on(site, first_day: date, last_day: date | None = None, **kwargs):
    kwargs.setdefault("now", NOW)
    return free_slots(site=site, first_day=first_day, last_day=last_day or first_day, **kwargs)


@pytest.fixture
def hartford():
    return LocationFactory(name="Hartford", time_zone="America/New_York")


@pytest.fixture
def site():
    """30-minute consults on a 30-minute grid, no buffer: small, exact slot lists."""
    return SiteFactory(duration_minutes=30, slot_step_minutes=30, buffer_after_minutes=0)


def works(clinician, location, weekday: int, start: time, end: time):
    return WorkingHoursFactory(
        clinician=clinician, location=location, weekday=weekday, start_time=start, end_time=end
    )


@pytest.fixture
def adams(hartford, site):
    """Works Wednesdays 09:00-10:30 in Hartford: starts 09:00, 09:30 and 10:00."""
    clinician = ClinicianFactory(display_name="Dr. Adams", sites=[site], locations=[hartford])
    works(clinician, hartford, Weekday.WEDNESDAY, time(9), time(10, 30))
    return clinician


def book(clinician, location, site, start: datetime, **kwargs) -> Appointment:
    return AppointmentFactory(
        clinician=clinician, location=location, site=site, start=start, **kwargs
    )


# The grid and the hours


def test_it_offers_starts_on_the_grid_through_working_hours(hartford, site, adams):
    slots = slots_on(site, WEDNESDAY)

    assert starts(slots) == [at(WEDNESDAY, 9), at(WEDNESDAY, 9, 30), at(WEDNESDAY, 10)]
    first = slots[0]
    assert first.end == at(WEDNESDAY, 9, 30)
    assert first.clinician_id == adams.pk
    assert first.clinician_name == "Dr. Adams"
    assert first.location_id == hartford.pk
    assert first.location_name == "Hartford"


def test_slots_are_given_in_the_locations_zone(site, adams):
    slots = slots_on(site, WEDNESDAY)

    assert [slot.start.isoformat() for slot in slots] == [
        "2026-06-03T09:00:00-04:00",
        "2026-06-03T09:30:00-04:00",
        "2026-06-03T10:00:00-04:00",
    ]
    assert slots[0].end.isoformat() == "2026-06-03T09:30:00-04:00"


def test_the_step_can_be_finer_than_the_consult(hartford, site, adams):
    site.slot_step_minutes = 15
    site.save()

    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 15),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 9, 45),
        at(WEDNESDAY, 10),
    ]


def test_the_grid_is_anchored_at_the_start_of_the_working_interval(hartford, site):
    site.slot_step_minutes = 20
    site.save()
    clinician = ClinicianFactory(sites=[site], locations=[hartford])
    works(clinician, hartford, Weekday.WEDNESDAY, time(9, 10), time(10, 30))
    works(clinician, hartford, Weekday.WEDNESDAY, time(13, 5), time(14))

    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 9, 10),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 9, 50),
        at(WEDNESDAY, 13, 5),
        at(WEDNESDAY, 13, 25),
    ]


def test_a_consult_must_end_within_hours(hartford, site, adams):
    site.duration_minutes = 45
    site.slot_step_minutes = 15
    site.save()

    # 09:45 + 45 minutes is exactly 10:30, the end of hours; 10:00 would run past it.
    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 15),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 9, 45),
    ]


def test_hours_shorter_than_a_consult_offer_nothing(hartford, site):
    clinician = ClinicianFactory(sites=[site], locations=[hartford])
    works(clinician, hartford, Weekday.WEDNESDAY, time(9), time(9, 20))

    assert slots_on(site, WEDNESDAY) == []


def test_it_offers_nothing_on_a_day_without_hours(site, adams):
    assert slots_on(site, THURSDAY) == []


def test_it_covers_every_day_of_the_range_in_order(hartford, site, adams):
    works(adams, hartford, Weekday.MONDAY, time(14), time(15))

    slots = slots_on(site, MONDAY, WEDNESDAY + timedelta(days=7))

    assert starts(slots) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 10),
        at(date(2026, 6, 8), 14),
        at(date(2026, 6, 8), 14, 30),
        at(date(2026, 6, 10), 9),
        at(date(2026, 6, 10), 9, 30),
        at(date(2026, 6, 10), 10),
    ]


# Who is offered


def test_it_skips_clinicians_who_do_not_inject_the_site(hartford, site):
    other_site = SiteFactory()
    clinician = ClinicianFactory(sites=[other_site], locations=[hartford])
    works(clinician, hartford, Weekday.WEDNESDAY, time(9), time(11))

    assert slots_on(site, WEDNESDAY) == []
    assert len(slots_on(other_site, WEDNESDAY)) > 0


def test_it_skips_inactive_clinicians(site, adams):
    adams.is_active = False
    adams.save()

    assert slots_on(site, WEDNESDAY) == []


def test_it_ignores_hours_at_a_location_the_clinician_is_not_assigned_to(hartford, site, adams):
    elsewhere = LocationFactory(name="Elsewhere")
    works(adams, elsewhere, Weekday.THURSDAY, time(9), time(11))

    assert slots_on(site, THURSDAY) == []


# What holds time


def test_an_appointment_holds_its_time(hartford, site, adams):
    book(adams, hartford, site, at(WEDNESDAY, 9, 30))

    assert starts(slots_on(site, WEDNESDAY)) == [at(WEDNESDAY, 9), at(WEDNESDAY, 10)]


def test_the_sites_buffer_keeps_time_free_after_each_new_consult(hartford, site, adams):
    site.slot_step_minutes = 15
    site.buffer_after_minutes = 15
    site.save()
    works(adams, hartford, Weekday.WEDNESDAY, time(10, 30), time(12))  # 09:00-12:00 in all
    book(adams, hartford, site, at(WEDNESDAY, 10, 30))  # held 10:30-11:15

    # A new consult holds 45 minutes: it must end by 10:30 and may start from 11:15.
    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 15),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 9, 45),
        at(WEDNESDAY, 11, 15),
        at(WEDNESDAY, 11, 30),
    ]


def test_the_buffer_may_run_past_the_end_of_hours(hartford, site, adams):
    site.buffer_after_minutes = 20
    site.save()

    assert starts(slots_on(site, WEDNESDAY))[-1] == at(WEDNESDAY, 10)


def test_an_existing_appointment_holds_the_clinician_until_its_blocked_until(hartford, site, adams):
    longer_buffer = SiteFactory(duration_minutes=30, buffer_after_minutes=30)
    adams.sites.add(longer_buffer)
    appointment = book(adams, hartford, longer_buffer, at(WEDNESDAY, 9))
    assert appointment.blocked_until == at(WEDNESDAY, 10)

    # 09:30 is after the consult's end but inside its buffer.
    assert starts(slots_on(site, WEDNESDAY)) == [at(WEDNESDAY, 10)]


def test_a_block_holds_the_time_it_meets(hartford, site, adams):
    site.slot_step_minutes = 15
    site.save()
    BlockFactory(clinician=adams, start=at(WEDNESDAY, 9, 35), end=at(WEDNESDAY, 9, 45))

    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 45),
        at(WEDNESDAY, 10),
    ]


def test_time_off_over_several_days_clears_them(hartford, site, adams):
    BlockFactory(
        clinician=adams,
        start=at(WEDNESDAY, 0),
        end=at(WEDNESDAY + timedelta(days=8), 0),
        kind=Block.Kind.TIME_OFF,
        reason="Holiday",
    )

    assert slots_on(site, WEDNESDAY, WEDNESDAY + timedelta(days=7)) == []
    assert len(slots_on(site, WEDNESDAY + timedelta(days=14))) == 3


def test_another_clinicians_appointments_and_blocks_do_not_hold_this_one(hartford, site, adams):
    other = ClinicianFactory(sites=[site], locations=[hartford])
    book(other, hartford, site, at(WEDNESDAY, 9))
    BlockFactory(clinician=other, start=at(WEDNESDAY, 9), end=at(WEDNESDAY, 11))

    assert starts(slots_on(site, WEDNESDAY, clinician_id=adams.pk)) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 10),
    ]


@pytest.mark.parametrize(
    ("status", "held"),
    [
        (AppointmentStatus.BOOKED, True),
        (AppointmentStatus.ARRIVED, True),
        (AppointmentStatus.COMPLETED, True),
        (AppointmentStatus.CANCELLED, False),
        (AppointmentStatus.NO_SHOW, False),
    ],
)
def test_only_active_appointments_hold_time(hartford, site, adams, status, held):
    book(adams, hartford, site, at(WEDNESDAY, 9, 30), status=status)

    offered = at(WEDNESDAY, 9, 30) in starts(slots_on(site, WEDNESDAY))

    assert offered is not held


def test_an_appointment_held_into_the_hours_from_before_them_counts(hartford, site, adams):
    long_site = SiteFactory(duration_minutes=60, buffer_after_minutes=15)
    adams.sites.add(long_site)
    # Booked by reception before the regular hours: 08:00-09:00, held until 09:15.
    book(adams, hartford, long_site, at(WEDNESDAY, 8))

    assert starts(slots_on(site, WEDNESDAY)) == [at(WEDNESDAY, 9, 30), at(WEDNESDAY, 10)]


# Schedule exceptions


def test_an_exception_with_times_replaces_that_days_hours(hartford, site, adams):
    ScheduleExceptionFactory(
        clinician=adams,
        location=hartford,
        date=WEDNESDAY,
        start_time=time(13),
        end_time=time(14),
        reason="Clinic moved to the afternoon",
    )

    assert starts(slots_on(site, WEDNESDAY)) == [at(WEDNESDAY, 13), at(WEDNESDAY, 13, 30)]
    next_week = WEDNESDAY + timedelta(days=7)
    assert starts(slots_on(site, next_week)) == [
        at(next_week, 9),
        at(next_week, 9, 30),
        at(next_week, 10),
    ]


def test_an_exception_gives_extra_hours_on_a_day_normally_off(hartford, site, adams):
    ScheduleExceptionFactory(
        clinician=adams, location=hartford, date=THURSDAY, start_time=time(10), end_time=time(11)
    )

    assert starts(slots_on(site, THURSDAY)) == [at(THURSDAY, 10), at(THURSDAY, 10, 30)]
    assert slots_on(site, THURSDAY + timedelta(days=7)) == []


def test_an_exception_without_times_is_a_day_off(hartford, site, adams):
    ScheduleExceptionFactory(clinician=adams, location=hartford, date=WEDNESDAY, reason="Sick")

    assert slots_on(site, WEDNESDAY) == []
    assert len(slots_on(site, WEDNESDAY + timedelta(days=7))) == 3


def test_several_exception_intervals_on_one_day_are_all_worked(hartford, site, adams):
    for start, end in [(time(8), time(9)), (time(15), time(15, 30))]:
        ScheduleExceptionFactory(
            clinician=adams, location=hartford, date=WEDNESDAY, start_time=start, end_time=end
        )

    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 8),
        at(WEDNESDAY, 8, 30),
        at(WEDNESDAY, 15),
    ]


def test_an_exception_changes_only_its_own_clinician_and_location(hartford, site, adams):
    other = ClinicianFactory(display_name="Dr. Baker", sites=[site], locations=[hartford])
    works(other, hartford, Weekday.WEDNESDAY, time(9), time(10))
    elsewhere = LocationFactory(name="Westside")
    adams.locations.add(elsewhere)
    ScheduleExceptionFactory(clinician=adams, location=elsewhere, date=WEDNESDAY)
    ScheduleExceptionFactory(clinician=other, location=hartford, date=WEDNESDAY)

    slots = slots_on(site, WEDNESDAY)

    assert {slot.clinician_name for slot in slots} == {"Dr. Adams"}
    assert len(slots) == 3


# Minimum notice and maximum advance


def test_it_keeps_the_minimum_notice(hartford, site, adams):
    works(adams, hartford, Weekday.TUESDAY, time(7), time(9))

    # NOW is Monday 08:00; 24 hours of notice make Tuesday 08:00 the earliest start.
    assert starts(slots_on(site, TUESDAY)) == [at(TUESDAY, 8), at(TUESDAY, 8, 30)]


def test_reception_may_book_inside_the_notice_but_not_in_the_past(hartford, site, adams):
    works(adams, hartford, Weekday.MONDAY, time(7), time(10))
    ten_past_eight = NOW + timedelta(minutes=10)

    assert starts(slots_on(site, MONDAY, with_notice=False, now=ten_past_eight)) == [
        at(MONDAY, 8, 30),
        at(MONDAY, 9),
        at(MONDAY, 9, 30),
    ]
    assert slots_on(site, MONDAY) == []


def test_a_longer_notice_moves_the_earliest_start(hartford, site, adams):
    site.min_notice_hours = 49  # from Monday 08:00 to Wednesday 09:00
    site.save()

    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 10),
    ]
    site.min_notice_hours = 50
    site.save()
    assert starts(slots_on(site, WEDNESDAY)) == [at(WEDNESDAY, 10)]


def test_it_offers_nothing_beyond_the_maximum_advance(hartford, site, adams):
    site.max_advance_days = 2  # from Monday 08:00 to Wednesday 08:00
    site.save()
    works(adams, hartford, Weekday.WEDNESDAY, time(7), time(8, 30))

    assert starts(slots_on(site, WEDNESDAY)) == [
        at(WEDNESDAY, 7),
        at(WEDNESDAY, 7, 30),
        at(WEDNESDAY, 8),
    ]
    assert slots_on(site, WEDNESDAY + timedelta(days=7)) == []


def test_the_default_horizon_is_ninety_days(hartford, site, adams):
    horizon = NOW + timedelta(days=90)  # Sunday 30 August, 08:00 in New York
    slots = slots_on(site, MONDAY, date(2026, 9, 30))

    assert slots
    assert max(starts(slots)) == at(date(2026, 8, 26), 10)
    assert all(start <= horizon for start in starts(slots))


def test_now_defaults_to_the_current_time(hartford, site, adams):
    works(adams, hartford, Weekday.TUESDAY, time(7), time(9))

    with time_machine.travel(NOW, tick=False):
        slots = free_slots(site=site, first_day=TUESDAY, last_day=TUESDAY)

    assert starts(slots) == [at(TUESDAY, 8), at(TUESDAY, 8, 30)]


# Daylight saving time in New York


@pytest.mark.parametrize(
    ("saturday", "offsets", "first_sunday_start_utc"),
    [
        # Clocks go forward at 02:00 on Sunday 8 March 2026.
        (date(2026, 3, 7), ("-05:00", "-04:00"), datetime(2026, 3, 8, 12, tzinfo=UTC)),
        # Clocks go back at 02:00 on Sunday 1 November 2026.
        (date(2026, 10, 31), ("-04:00", "-05:00"), datetime(2026, 11, 1, 13, tzinfo=UTC)),
    ],
)
def test_the_wall_clock_grid_holds_across_a_dst_change(
    hartford, saturday, offsets, first_sunday_start_utc
):
    site = SiteFactory(duration_minutes=30, slot_step_minutes=15)
    clinician = ClinicianFactory(sites=[site], locations=[hartford])
    for weekday in (Weekday.SATURDAY, Weekday.SUNDAY):
        works(clinician, hartford, weekday, time(8), time(17))
    sunday = saturday + timedelta(days=1)
    now = datetime.combine(saturday - timedelta(days=7), time(12), tzinfo=UTC)

    slots = free_slots(site=site, first_day=saturday, last_day=sunday, now=now)

    expected_times = [
        f"{minutes // 60:02}:{minutes % 60:02}" for minutes in range(8 * 60, 16 * 60 + 45, 15)
    ]
    assert len(expected_times) == 35  # 08:00 to 16:30
    by_day = {
        day: [slot for slot in slots if slot.start.date() == day] for day in (saturday, sunday)
    }
    for day, offset in zip((saturday, sunday), offsets, strict=True):
        assert [slot.start.strftime("%H:%M") for slot in by_day[day]] == expected_times
        assert {slot.start.isoformat()[-6:] for slot in by_day[day]} == {offset}
        assert {slot.end.isoformat()[-6:] for slot in by_day[day]} == {offset}
    assert by_day[sunday][0].start == first_sunday_start_utc
    assert by_day[sunday][-1].start == first_sunday_start_utc + timedelta(hours=8, minutes=30)
    assert by_day[sunday][0].start.isoformat() == f"{sunday}T08:00:00{offsets[1]}"
    assert by_day[sunday][-1].start.isoformat() == f"{sunday}T16:30:00{offsets[1]}"


@pytest.mark.parametrize(
    ("sunday", "hours", "expected"),
    [
        # 02:00 does not exist on 8 March 2026: the night's third hour starts at 03:00.
        (
            date(2026, 3, 8),
            (time(0), time(4)),
            [
                ("00:00:00-05:00", "00:30:00-05:00"),
                ("00:30:00-05:00", "01:00:00-05:00"),
                ("01:00:00-05:00", "01:30:00-05:00"),
                ("01:30:00-05:00", "03:00:00-04:00"),
                ("03:00:00-04:00", "03:30:00-04:00"),
                ("03:30:00-04:00", "04:00:00-04:00"),
            ],
        ),
        # 01:00-02:00 happens twice on 1 November 2026: first in EDT, then in EST.
        (
            date(2026, 11, 1),
            (time(0), time(3)),
            [
                ("00:00:00-04:00", "00:30:00-04:00"),
                ("00:30:00-04:00", "01:00:00-04:00"),
                ("01:00:00-04:00", "01:30:00-04:00"),
                ("01:30:00-04:00", "01:00:00-05:00"),
                ("01:00:00-05:00", "01:30:00-05:00"),
                ("01:30:00-05:00", "02:00:00-05:00"),
                ("02:00:00-05:00", "02:30:00-05:00"),
                ("02:30:00-05:00", "03:00:00-05:00"),
            ],
        ),
    ],
)
def test_a_night_across_the_clock_change_gives_each_time_its_own_offset_in_time_order(
    hartford, sunday, hours, expected
):
    site = SiteFactory(duration_minutes=30, slot_step_minutes=30)
    clinician = ClinicianFactory(sites=[site], locations=[hartford])
    works(clinician, hartford, Weekday.SUNDAY, *hours)
    now = datetime.combine(sunday - timedelta(days=7), time(12), tzinfo=UTC)

    slots = free_slots(site=site, first_day=sunday, last_day=sunday, now=now)

    assert [(slot.start.isoformat()[11:], slot.end.isoformat()[11:]) for slot in slots] == expected
    assert slots == sorted(slots, key=lambda slot: slot.start.astimezone(UTC))
    assert {slot.end.astimezone(UTC) - slot.start.astimezone(UTC) for slot in slots} == {
        timedelta(minutes=30)
    }


# Clinicians at two locations


@pytest.fixture
def chicago():
    return LocationFactory(name="Chicago Loop", time_zone="America/Chicago")


def test_a_clinician_works_two_locations_on_different_days(hartford, chicago, site, adams):
    adams.locations.add(chicago)
    works(adams, chicago, Weekday.THURSDAY, time(9), time(10))

    slots = slots_on(site, WEDNESDAY, THURSDAY)

    assert [(slot.start.isoformat(), slot.location_name) for slot in slots] == [
        ("2026-06-03T09:00:00-04:00", "Hartford"),
        ("2026-06-03T09:30:00-04:00", "Hartford"),
        ("2026-06-03T10:00:00-04:00", "Hartford"),
        ("2026-06-04T09:00:00-05:00", "Chicago Loop"),
        ("2026-06-04T09:30:00-05:00", "Chicago Loop"),
    ]
    assert {slot.location_id for slot in slots[3:]} == {chicago.pk}
    assert slots[3].start == datetime(2026, 6, 4, 14, tzinfo=UTC)


def test_a_location_in_another_zone_uses_its_own_wall_clock_and_dates(chicago, site):
    clinician = ClinicianFactory(sites=[site], locations=[chicago])
    # 23:00 on Wednesday in Chicago is already 04:00 on Thursday in UTC.
    works(clinician, chicago, Weekday.WEDNESDAY, time(22), time(23, 59))

    slots = slots_on(site, WEDNESDAY)

    assert [slot.start.isoformat() for slot in slots] == [
        "2026-06-03T22:00:00-05:00",
        "2026-06-03T22:30:00-05:00",
        "2026-06-03T23:00:00-05:00",
    ]
    assert slots[-1].start == datetime(2026, 6, 4, 4, tzinfo=UTC)
    assert slots_on(site, THURSDAY) == []


def test_an_appointment_holds_the_clinician_at_every_location(hartford, chicago, site, adams):
    adams.locations.add(chicago)
    # Extra hours in Chicago, 11:00-12:00 there, which is 12:00-13:00 in Hartford...
    ScheduleExceptionFactory(
        clinician=adams, location=chicago, date=WEDNESDAY, start_time=time(11), end_time=time(12)
    )
    # ...where an appointment made before the hours changed still holds 12:00-12:30.
    book(adams, hartford, site, at(WEDNESDAY, 12))

    slots = slots_on(site, WEDNESDAY)

    assert [(slot.start.isoformat(), slot.location_name) for slot in slots] == [
        ("2026-06-03T09:00:00-04:00", "Hartford"),
        ("2026-06-03T09:30:00-04:00", "Hartford"),
        ("2026-06-03T10:00:00-04:00", "Hartford"),
        ("2026-06-03T11:30:00-05:00", "Chicago Loop"),
    ]


def test_it_filters_by_location(hartford, chicago, site, adams):
    adams.locations.add(chicago)
    works(adams, chicago, Weekday.THURSDAY, time(9), time(10))

    assert starts(slots_on(site, WEDNESDAY, THURSDAY, location_id=chicago.pk)) == [
        at(THURSDAY, 9, zone=CHICAGO),
        at(THURSDAY, 9, 30, zone=CHICAGO),
    ]
    assert len(slots_on(site, WEDNESDAY, THURSDAY, location_id=hartford.pk)) == 3


def test_it_filters_by_clinician(hartford, site, adams):
    baker = ClinicianFactory(display_name="Dr. Baker", sites=[site], locations=[hartford])
    works(baker, hartford, Weekday.WEDNESDAY, time(14), time(15))

    slots = slots_on(site, WEDNESDAY, clinician_id=baker.pk)

    assert starts(slots) == [at(WEDNESDAY, 14), at(WEDNESDAY, 14, 30)]
    assert {slot.clinician_id for slot in slots} == {baker.pk}


def test_slots_are_sorted_by_start_then_clinician_name(hartford, chicago, site):
    zed = ClinicianFactory(display_name="Dr. Zed", sites=[site], locations=[hartford])
    adams = ClinicianFactory(display_name="Dr. Adams", sites=[site], locations=[hartford])
    baker = ClinicianFactory(display_name="Dr. Baker", sites=[site], locations=[chicago])
    works(zed, hartford, Weekday.WEDNESDAY, time(9), time(10))
    works(adams, hartford, Weekday.WEDNESDAY, time(9), time(10))
    # 08:30-09:30 in Chicago is 09:30-10:30 in Hartford.
    works(baker, chicago, Weekday.WEDNESDAY, time(8, 30), time(9, 30))

    slots = slots_on(site, WEDNESDAY)

    assert [(slot.start, slot.clinician_name) for slot in slots] == [
        (at(WEDNESDAY, 9), "Dr. Adams"),
        (at(WEDNESDAY, 9), "Dr. Zed"),
        (at(WEDNESDAY, 9, 30), "Dr. Adams"),
        (at(WEDNESDAY, 9, 30), "Dr. Baker"),
        (at(WEDNESDAY, 9, 30), "Dr. Zed"),
        (at(WEDNESDAY, 10), "Dr. Baker"),
    ]


# Cost grows with the window, not the history


def test_it_uses_the_same_few_queries_for_one_day_and_eight_weeks(
    hartford, chicago, site, django_assert_max_num_queries
):
    site.slot_step_minutes = 15
    site.save()
    patient = PatientFactory()
    clinicians = [
        ClinicianFactory(display_name=f"Dr. {name}", sites=[site], locations=[hartford, chicago])
        for name in ("Adams", "Baker", "Chen", "Diaz", "Evans")
    ]
    for index, clinician in enumerate(clinicians):
        location = chicago if index == 0 else hartford
        for weekday in range(5):
            works(clinician, location, weekday, time(8), time(17))
    appointments = []
    for index, clinician in enumerate(clinicians):
        zone = CHICAGO if index == 0 else NEW_YORK
        for day_offset in range(1, 60):
            day = MONDAY + timedelta(days=day_offset)
            for hour in (9, 11, 14):
                start = at(day, hour, 10 * index, zone=zone)
                appointments.append(
                    Appointment(
                        site=site,
                        clinician=clinician,
                        location=chicago if index == 0 else hartford,
                        patient=patient,
                        start=start,
                        end=start + timedelta(minutes=30),
                        blocked_until=start + timedelta(minutes=30),
                        source="reception",
                    )
                )
    Appointment.objects.bulk_create(appointments)
    BlockFactory(clinician=clinicians[1], start=at(TUESDAY, 8), end=at(TUESDAY, 12))
    ScheduleExceptionFactory(clinician=clinicians[2], location=hartford, date=TUESDAY)

    with django_assert_max_num_queries(3) as one_day:
        day_slots = slots_on(site, TUESDAY)
    with django_assert_max_num_queries(3) as eight_weeks:
        weeks_slots = slots_on(site, TUESDAY, TUESDAY + timedelta(weeks=8) - timedelta(days=1))

    assert len(one_day.captured_queries) == len(eight_weeks.captured_queries)
    assert day_slots
    assert len(weeks_slots) > 30 * len(day_slots)
    assert {slot.start.date() for slot in weeks_slots} >= {TUESDAY, date(2026, 7, 27)}
    held = {(a.clinician_id, a.start, a.blocked_until) for a in Appointment.objects.all()}
    for slot in weeks_slots:
        slot_end = slot.start + timedelta(minutes=30)
        assert not any(
            clinician_id == slot.clinician_id and start < slot_end and slot.start < until
            for clinician_id, start, until in held
        )


# The nearest free times


def test_nearest_free_slots_gives_up_to_five_closest_in_time_order(hartford, site, adams):
    works(adams, hartford, Weekday.WEDNESDAY, time(10, 30), time(12))  # 09:00-12:00 in all

    slots = nearest_free_slots(site=site, around=at(WEDNESDAY, 10, 10), now=NOW)

    # 10:00 (10 min away), 10:30 (20), 09:30 (40), 11:00 (50), 09:00 (70); not 11:30 (80).
    assert starts(slots) == [
        at(WEDNESDAY, 9),
        at(WEDNESDAY, 9, 30),
        at(WEDNESDAY, 10),
        at(WEDNESDAY, 10, 30),
        at(WEDNESDAY, 11),
    ]


def test_nearest_free_slots_reaches_other_days(hartford, site, adams):
    book(adams, hartford, site, at(WEDNESDAY, 9))
    book(adams, hartford, site, at(WEDNESDAY, 10))

    slots = nearest_free_slots(site=site, around=at(WEDNESDAY + timedelta(days=3), 12), now=NOW)

    next_week = WEDNESDAY + timedelta(days=7)
    assert starts(slots) == [
        at(WEDNESDAY, 9, 30),
        at(next_week, 9),
        at(next_week, 9, 30),
        at(next_week, 10),
        at(next_week + timedelta(days=7), 9),
    ]


def test_nearest_free_slots_gives_fewer_when_fewer_are_free(hartford, site):
    clinician = ClinicianFactory(sites=[site], locations=[hartford])
    ScheduleExceptionFactory(
        clinician=clinician, location=hartford, date=THURSDAY, start_time=time(9), end_time=time(10)
    )

    slots = nearest_free_slots(site=site, around=at(THURSDAY, 12), now=NOW)

    assert starts(slots) == [at(THURSDAY, 9), at(THURSDAY, 9, 30)]


def test_nearest_free_slots_respects_the_limit_filters_and_notice(hartford, site, adams):
    baker = ClinicianFactory(display_name="Dr. Baker", sites=[site], locations=[hartford])
    works(baker, hartford, Weekday.TUESDAY, time(7), time(12))

    # Tuesday 07:00 and 07:30 are inside the notice.
    assert starts(nearest_free_slots(site=site, around=at(TUESDAY, 7), now=NOW, limit=2)) == [
        at(TUESDAY, 8),
        at(TUESDAY, 8, 30),
    ]
    assert starts(
        nearest_free_slots(
            site=site, around=at(TUESDAY, 7), now=NOW, limit=2, clinician_id=adams.pk
        )
    ) == [at(WEDNESDAY, 9), at(WEDNESDAY, 9, 30)]
    assert nearest_free_slots(site=site, around=at(TUESDAY, 7), now=NOW, location_id=0) == []
