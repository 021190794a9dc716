"""The shift rule, "a dated exception replaces the weekly hours", read by both of its
callers: the availability engine (`working_shifts`) and the desk grid (`build_grid`)."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.availability import WorkedHours, working_shifts
from booking.desk.grid import CellKind, build_grid
from booking.models import Clinician, Location, Weekday
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = date(2026, 6, 3)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def at(hour: int, minute: int = 0, day: date = WEDNESDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


def quarters(start: datetime, end: datetime) -> set[datetime]:
    count = (end - start) // QUARTER
    return {start + index * QUARTER for index in range(count)}


def by_engine(clinician: Clinician, location: Location, day: date) -> set[datetime]:
    shifts = working_shifts(
        site=None, first_day=day, last_day=day, clinician_id=clinician.pk, location_id=location.pk
    )
    return set().union(*(quarters(shift.start, shift.end) for shift in shifts))


def by_grid(clinician: Clinician, location: Location, day: date) -> set[datetime]:
    grid = build_grid(location=location, clinicians=[clinician], days=[day], now=NOW)
    return {
        cell.start
        for cell in grid.columns[0].cells
        if cell.kind == CellKind.FREE and cell.start is not None
    }


CALLERS = [pytest.param(by_engine, id="availability"), pytest.param(by_grid, id="desk grid")]
Worked = Callable[[Clinician, Location, date], set[datetime]]


@pytest.fixture
def hartford() -> Location:
    return LocationFactory(name="Hartford", time_zone="America/New_York")


@pytest.fixture
def adams(hartford: Location) -> Clinician:
    """Works Wednesdays 09:00-11:00 in Hartford."""
    clinician = ClinicianFactory(display_name="Dr. Adams", locations=[hartford])
    WorkingHoursFactory(
        clinician=clinician,
        location=hartford,
        weekday=Weekday.WEDNESDAY,
        start_time=time(9),
        end_time=time(11),
    )
    return clinician


@pytest.mark.parametrize("worked", CALLERS)
def test_it_works_the_weekly_hours_on_a_day_without_exceptions(
    worked: Worked, hartford: Location, adams: Clinician
) -> None:
    assert worked(adams, hartford, WEDNESDAY) == quarters(at(9), at(11))


@pytest.mark.parametrize("worked", CALLERS)
def test_a_dated_exception_replaces_the_weekly_hours_of_its_day(
    worked: Worked, hartford: Location, adams: Clinician
) -> None:
    for start, end in [(time(13), time(14)), (time(15), time(15, 30))]:
        ScheduleExceptionFactory(
            clinician=adams, location=hartford, date=WEDNESDAY, start_time=start, end_time=end
        )

    assert worked(adams, hartford, WEDNESDAY) == quarters(at(13), at(14)) | quarters(
        at(15), at(15, 30)
    )
    next_week = WEDNESDAY + timedelta(days=7)
    assert worked(adams, hartford, next_week) == quarters(
        at(9, day=next_week), at(11, day=next_week)
    )


@pytest.mark.parametrize("worked", CALLERS)
def test_an_exception_without_times_is_a_day_off(
    worked: Worked, hartford: Location, adams: Clinician
) -> None:
    ScheduleExceptionFactory(clinician=adams, location=hartford, date=WEDNESDAY, reason="Sick")

    assert worked(adams, hartford, WEDNESDAY) == set()


@pytest.mark.parametrize("worked", CALLERS)
def test_an_exception_gives_hours_on_a_day_normally_off(
    worked: Worked, hartford: Location, adams: Clinician
) -> None:
    thursday = WEDNESDAY + timedelta(days=1)
    ScheduleExceptionFactory(
        clinician=adams, location=hartford, date=thursday, start_time=time(10), end_time=time(11)
    )

    assert worked(adams, hartford, thursday) == quarters(at(10, day=thursday), at(11, day=thursday))


@pytest.mark.parametrize("worked", CALLERS)
def test_an_exception_elsewhere_leaves_this_locations_hours(
    worked: Worked, hartford: Location, adams: Clinician
) -> None:
    elsewhere = LocationFactory(name="Westside", time_zone="America/New_York")
    adams.locations.add(elsewhere)
    ScheduleExceptionFactory(clinician=adams, location=elsewhere, date=WEDNESDAY)

    assert worked(adams, hartford, WEDNESDAY) == quarters(at(9), at(11))


def test_intervals_are_wall_clock_times_in_the_locations_zone(hartford: Location) -> None:
    chicago = LocationFactory(name="Evanston", time_zone="America/Chicago")
    clinician = ClinicianFactory(locations=[chicago])
    hours = WorkingHoursFactory(
        clinician=clinician,
        location=chicago,
        weekday=Weekday.WEDNESDAY,
        start_time=time(9),
        end_time=time(10),
    )

    worked = WorkedHours([hours], [])

    assert worked.intervals(clinician.pk, chicago, WEDNESDAY) == [
        (datetime(2026, 6, 3, 14, tzinfo=UTC), datetime(2026, 6, 3, 15, tzinfo=UTC))
    ]
    assert worked.intervals(clinician.pk, hartford, WEDNESDAY) == []
