"""The availability engine: which start times can be booked, computed, never stored.

A slot is a start on the site's grid inside a clinician's working hours at a location
(in that location's zone), whose held time (consult plus the site's buffer) meets no
active appointment and no block, within the site's minimum notice and maximum advance.

Cost depends on the window asked for, not on the history: four queries whatever the
range (hours, exceptions, appointments, blocks), then plain Python over sorted lists.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

from booking.models import (
    Appointment,
    Block,
    Clinician,
    Location,
    ScheduleException,
    Site,
    WorkingHours,
)

MAX_RANGE_DAYS = 62
NEAREST_SEARCH_DAYS = 14


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # aware, in the location's zone
    end: datetime
    clinician_id: int
    clinician_name: str
    location_id: int
    location_name: str


@dataclass(frozen=True, slots=True)
class Shift:
    """One interval a clinician works at a location on one date, in UTC."""

    clinician: Clinician
    location: Location
    start: datetime
    end: datetime


class BusyTimes:
    """Each clinician's held times, merged into disjoint sorted intervals for bisection."""

    def __init__(self, intervals: Iterable[tuple[int, datetime, datetime]]) -> None:
        by_clinician: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        for clinician_id, start, end in intervals:
            by_clinician[clinician_id].append((start, end))
        self._starts: dict[int, list[datetime]] = {}
        self._ends: dict[int, list[datetime]] = {}
        for clinician_id, spans in by_clinician.items():
            merged: list[list[datetime]] = []
            for start, end in sorted(spans):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            self._starts[clinician_id] = [span[0] for span in merged]
            self._ends[clinician_id] = [span[1] for span in merged]

    def is_free(self, clinician_id: int, start: datetime, end: datetime) -> bool:
        starts = self._starts.get(clinician_id)
        if not starts:
            return True
        # The last interval starting before `end` is the only one that can reach `start`,
        # because merged intervals are disjoint and so their ends are sorted too.
        index = bisect_left(starts, end) - 1
        return index < 0 or self._ends[clinician_id][index] <= start


def _local(day: date, wall_clock: time, location: Location) -> datetime:
    return datetime.combine(day, wall_clock, tzinfo=location.zone).astimezone(UTC)


def _days(first_day: date, last_day: date) -> Iterator[date]:
    for offset in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=offset)


def working_shifts(
    *,
    site: Site,
    first_day: date,
    last_day: date,
    clinician_id: int | None = None,
    location_id: int | None = None,
) -> list[Shift]:
    """The intervals each clinician who injects `site` works, on each local date in range.

    A date with schedule exceptions for a clinician at a location uses those instead of
    the weekly hours there (an exception without times is a day off). Two queries.
    """
    eligible = {
        "clinician__sites": site,
        "clinician__is_active": True,
        # Only locations the clinician is assigned to.
        "clinician__locations": F("location"),
    }
    if clinician_id is not None:
        eligible["clinician_id"] = clinician_id
    if location_id is not None:
        eligible["location_id"] = location_id
    weekly = WorkingHours.objects.filter(**eligible).select_related("clinician", "location")
    exceptions = ScheduleException.objects.filter(
        date__gte=first_day, date__lte=last_day, **eligible
    ).select_related("clinician", "location")

    hours_by_weekday: dict[tuple[int, int, int], list[WorkingHours]] = defaultdict(list)
    pairs: dict[tuple[int, int], tuple[Clinician, Location]] = {}
    for hours in weekly:
        hours_by_weekday[(hours.clinician_id, hours.location_id, hours.weekday)].append(hours)
        pairs[(hours.clinician_id, hours.location_id)] = (hours.clinician, hours.location)
    exceptions_by_day: dict[tuple[int, int, date], list[ScheduleException]] = defaultdict(list)
    for exception in exceptions:
        exceptions_by_day[(exception.clinician_id, exception.location_id, exception.date)].append(
            exception
        )
        pairs[(exception.clinician_id, exception.location_id)] = (
            exception.clinician,
            exception.location,
        )

    shifts = []
    for (clinician_pk, location_pk), (clinician, location) in pairs.items():
        for day in _days(first_day, last_day):
            intervals: list[WorkingHours] | list[ScheduleException] = exceptions_by_day.get(
                (clinician_pk, location_pk, day)
            ) or hours_by_weekday.get((clinician_pk, location_pk, day.weekday()), [])
            for interval in intervals:
                if interval.start_time is None or interval.end_time is None:
                    continue  # a day off
                shifts.append(
                    Shift(
                        clinician=clinician,
                        location=location,
                        start=_local(day, interval.start_time, location),
                        end=_local(day, interval.end_time, location),
                    )
                )
    return shifts


def grid_starts(shift: Shift, site: Site) -> Iterator[datetime]:
    """Starts every `slot_step` from the start of the shift whose consult ends within it."""
    step = timedelta(minutes=site.slot_step_minutes)
    duration = timedelta(minutes=site.duration_minutes)
    start = shift.start
    while start + duration <= shift.end:
        yield start
        start += step


def busy_times(clinician_ids: Iterable[int], start: datetime, end: datetime) -> BusyTimes:
    """Held times of active appointments and blocks that meet [start, end). Two queries."""
    ids = list(clinician_ids)
    appointments = (
        Appointment.objects.active()
        .overlapping(start, end)
        .filter(clinician_id__in=ids)
        .values_list("clinician_id", "start", "blocked_until")
    )
    blocks = Block.objects.filter(clinician_id__in=ids, start__lt=end, end__gt=start).values_list(
        "clinician_id", "start", "end"
    )
    return BusyTimes([*appointments, *blocks])


def bookable_window(site: Site, now: datetime, *, with_notice: bool) -> tuple[datetime, datetime]:
    """Earliest and latest start: minimum notice (online) and maximum advance."""
    earliest = now + timedelta(hours=site.min_notice_hours) if with_notice else now
    return earliest, now + timedelta(days=site.max_advance_days)


def free_slots(
    *,
    site: Site,
    first_day: date,
    last_day: date,
    clinician_id: int | None = None,
    location_id: int | None = None,
    now: datetime | None = None,
    with_notice: bool = True,
) -> list[Slot]:
    """Bookable slots from `first_day` to `last_day` (inclusive, local dates), sorted by start
    then clinician. `with_notice=False` is for reception, who may book inside the notice."""
    now = now or timezone.now()
    earliest, latest = bookable_window(site, now, with_notice=with_notice)
    shifts = working_shifts(
        site=site,
        first_day=first_day,
        last_day=last_day,
        clinician_id=clinician_id,
        location_id=location_id,
    )
    if not shifts:
        return []
    held = timedelta(minutes=site.duration_minutes + site.buffer_after_minutes)
    duration = timedelta(minutes=site.duration_minutes)
    busy = busy_times(
        {shift.clinician.pk for shift in shifts},
        min(shift.start for shift in shifts),
        max(shift.end for shift in shifts) + held,
    )
    slots = []
    for shift in shifts:
        zone = shift.location.zone
        for start in grid_starts(shift, site):
            if earliest <= start <= latest and busy.is_free(
                shift.clinician.pk, start, start + held
            ):
                slots.append(
                    Slot(
                        start=start.astimezone(zone),
                        end=(start + duration).astimezone(zone),
                        clinician_id=shift.clinician.pk,
                        clinician_name=shift.clinician.display_name,
                        location_id=shift.location.pk,
                        location_name=shift.location.name,
                    )
                )
    slots.sort(key=lambda slot: (slot.start, slot.clinician_name, slot.clinician_id))
    return slots


def nearest_free_slots(
    *,
    site: Site,
    around: datetime,
    clinician_id: int | None = None,
    location_id: int | None = None,
    now: datetime | None = None,
    with_notice: bool = True,
    limit: int = 5,
) -> list[Slot]:
    """Up to `limit` free slots closest in time to `around`, in time order."""
    around_day = around.astimezone(UTC).date()
    slots = free_slots(
        site=site,
        first_day=around_day - timedelta(days=NEAREST_SEARCH_DAYS),
        last_day=around_day + timedelta(days=NEAREST_SEARCH_DAYS),
        clinician_id=clinician_id,
        location_id=location_id,
        now=now,
        with_notice=with_notice,
    )
    nearest = sorted(slots, key=lambda slot: abs(slot.start - around))[:limit]
    return sorted(nearest, key=lambda slot: (slot.start, slot.clinician_name))


def shifts_offering(
    *,
    site: Site,
    start: datetime,
    clinician_id: int | None = None,
    location_id: int | None = None,
) -> list[Shift]:
    """Shifts whose grid has `start`, busy or not: who could see a patient then."""
    day = start.astimezone(UTC).date()
    shifts = working_shifts(
        site=site,
        first_day=day - timedelta(days=1),
        last_day=day + timedelta(days=1),
        clinician_id=clinician_id,
        location_id=location_id,
    )
    return sorted(
        (shift for shift in shifts if start in set(grid_starts(shift, site))),
        key=lambda shift: (shift.clinician.display_name, shift.clinician.pk),
    )
