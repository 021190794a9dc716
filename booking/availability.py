"""The availability engine: which start times can be booked, computed, never stored.

A slot is a start on the site's grid inside a clinician's working hours at a location
(in that location's zone), whose held time (consult plus the site's buffer) meets no
active appointment and no block, within the site's minimum notice and maximum advance.

Cost depends on the window asked for, not on the history: three queries whatever the
range (hours, exceptions, then appointments and blocks together), then plain Python over
sorted lists.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
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
# Appointments held longer than this are found by the no-overlap rule (see busy_times).
LONG_HOLD = timedelta(days=1)


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

    def free_runs(
        self,
        clinician_id: int,
        *,
        origin: datetime,
        step: timedelta,
        first: int,
        last: int,
        held: timedelta,
    ) -> Iterator[range]:
        """Runs of the k from `first` to `last` whose start `origin + k * step` is free for
        `held` (`is_free(clinician_id, start, start + held)`), found gap by gap: the work
        follows the busy spans and the free starts, not every start on the grid."""
        starts = self._starts.get(clinician_id, [])
        ends = self._ends.get(clinician_id, [])
        count = len(starts)
        k = first
        start = origin + k * step
        index = bisect_left(starts, start + held)  # spans starting before start + held
        while k <= last:
            if index and ends[index - 1] > start:
                # Held: the next candidate is the first grid start at or after that span's end.
                k = -((origin - ends[index - 1]) // step)
            else:
                # Free, as is every start until the next span begins within its held time.
                run_last = (
                    last if index == count else min(last, (starts[index] - held - origin) // step)
                )
                yield range(k, run_last + 1)
                k = run_last + 1
            start = origin + k * step
            while index < count and starts[index] < start + held:
                index += 1


def _local(day: date, wall_clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall_clock, tzinfo=zone).astimezone(UTC)


def _days(first_day: date, last_day: date) -> Iterator[date]:
    for offset in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=offset)


class WorkedHours:
    """Weekly hours and dated exceptions, read once, and the rule that joins them: on a
    date with exceptions for a clinician at a location, those replace the weekly hours
    there, and an exception without times is a day off."""

    def __init__(
        self, weekly: Iterable[WorkingHours], exceptions: Iterable[ScheduleException]
    ) -> None:
        self._weekly: dict[tuple[int, int, int], list[WorkingHours]] = defaultdict(list)
        for hours in weekly:
            self._weekly[(hours.clinician_id, hours.location_id, hours.weekday)].append(hours)
        self._exceptions: dict[tuple[int, int, date], list[ScheduleException]] = defaultdict(list)
        for exception in exceptions:
            key = (exception.clinician_id, exception.location_id, exception.date)
            self._exceptions[key].append(exception)

    def intervals(
        self, clinician_id: int, location: Location, day: date
    ) -> list[tuple[datetime, datetime]]:
        """The intervals (UTC) the clinician works at `location` on the local date `day`."""
        rows: list[WorkingHours] | list[ScheduleException] = self._exceptions.get(
            (clinician_id, location.pk, day)
        ) or self._weekly.get((clinician_id, location.pk, day.weekday()), [])
        zone = location.zone
        return [
            (_local(day, row.start_time, zone), _local(day, row.end_time, zone))
            for row in rows
            if row.start_time is not None and row.end_time is not None
        ]


def working_shifts(
    *,
    site: Site | None,
    first_day: date,
    last_day: date,
    clinician_id: int | None = None,
    location_id: int | None = None,
) -> list[Shift]:
    """The intervals each clinician who injects `site` (any site: None) works, on each
    local date in range, by `WorkedHours`' rule. Two queries."""
    eligible: dict[str, object] = {
        "clinician__is_active": True,
        # Only locations the clinician is assigned to.
        "clinician__locations": F("location"),
    }
    if site is not None:
        eligible["clinician__sites"] = site
    if clinician_id is not None:
        eligible["clinician_id"] = clinician_id
    if location_id is not None:
        eligible["location_id"] = location_id
    weekly = list(WorkingHours.objects.filter(**eligible).select_related("clinician", "location"))
    exceptions = list(
        ScheduleException.objects.filter(
            date__gte=first_day, date__lte=last_day, **eligible
        ).select_related("clinician", "location")
    )
    worked = WorkedHours(weekly, exceptions)
    rows: list[WorkingHours | ScheduleException] = [*weekly, *exceptions]
    pairs: dict[tuple[int, int], tuple[Clinician, Location]] = {
        (row.clinician_id, row.location_id): (row.clinician, row.location) for row in rows
    }
    days = list(_days(first_day, last_day))
    return [
        Shift(clinician=clinician, location=location, start=start, end=end)
        for clinician, location in pairs.values()
        for day in days
        for start, end in worked.intervals(clinician.pk, location, day)
    ]


def in_clinic_hours(location: Location, moment: datetime) -> bool:
    """Whether some clinician works at `location` at `moment`: its clinic hours are the
    shifts worked there (weekly hours, or that date's exceptions)."""
    day = moment.astimezone(location.zone).date()
    shifts = working_shifts(site=None, first_day=day, last_day=day, location_id=location.pk)
    return any(shift.start <= moment < shift.end for shift in shifts)


def grid_starts(shift: Shift, site: Site) -> Iterator[datetime]:
    """Starts every `slot_step` from the start of the shift whose consult ends within it."""
    step = timedelta(minutes=site.slot_step_minutes)
    duration = timedelta(minutes=site.duration_minutes)
    start = shift.start
    while start + duration <= shift.end:
        yield start
        start += step


def busy_times(
    clinician_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    ignoring_appointment: int | None = None,
) -> BusyTimes:
    """Held times of active appointments and blocks that meet [start, end), in one UNION
    ALL query; `ignoring_appointment` leaves out the one being moved.

    Appointments are read by the (clinician, start) index from `start - LONG_HOLD` to
    `end`, so the cost follows the window, not the history. A longer one held into the
    window is still found: a clinician's active appointments never overlap, so only the
    last to start before `start - LONG_HOLD` can reach `start`, and a correlated subquery
    picks it per clinician by the same index.
    """
    ids = list(clinician_ids)
    ignored = [] if ignoring_appointment is None else [ignoring_appointment]
    lookback = start - LONG_HOLD
    recent = _spans(
        Appointment.objects.active()
        .filter(clinician_id__in=ids, start__gte=lookback, start__lt=end, blocked_until__gt=start)
        .exclude(pk__in=ignored),
        "blocked_until",
    )
    last_before = (
        Appointment.objects.active()
        # `clinician_id = pk`, written as a range and ordered as the (clinician, start)
        # index is, so that only that index gives the order and the database walks it
        # back from `lookback` through this clinician's rows alone. With `=`, PostgreSQL
        # drops the clinician from the ordering and may walk the (start) index instead,
        # which for a clinician without earlier appointments reads the whole history.
        .filter(
            clinician_id__gte=OuterRef("pk"),
            clinician_id__lte=OuterRef("pk"),
            start__lt=min(lookback, end),
        )
        .order_by("-clinician_id", "-start")
        .values("pk")[:1]
    )
    # Filtered by primary key only, so the database looks the few rows up rather than
    # scanning a clinician's history for them.
    long_held = _spans(
        Appointment.objects.filter(
            pk__in=Clinician.objects.filter(pk__in=ids)
            .annotate(appointment_pk=Subquery(last_before))
            .values("appointment_pk"),
            blocked_until__gt=start,
        ).exclude(pk__in=ignored),
        "blocked_until",
    )
    blocks = _spans(Block.objects.filter(clinician_id__in=ids, start__lt=end, end__gt=start), "end")
    naive_zone = connections[Appointment.objects.db].timezone
    return BusyTimes(_parse_spans(recent.union(long_held, blocks, all=True), naive_zone))


def _spans(queryset: QuerySet[Any], end_field: str) -> QuerySet[Any, tuple[int, str, str]]:
    """Clinician, start and end of each row, the times as the database's ISO 8601 text.

    Read as text and parsed by `datetime.fromisoformat` (C) because Django's own loaders
    are slow: on PostgreSQL Django subclasses psycopg's pure-Python timestamptz loader
    (about 4 us a value), and on SQLite it parses and converts each value in Python. An
    eight-week window reads thousands of rows, and this is most of their cost. psycopg
    already requires PostgreSQL's ISO DateStyle for timestamptz, so no new assumption.
    """
    return queryset.order_by().values_list(
        "clinician_id", Cast("start", CharField()), Cast(end_field, CharField())
    )


def _parse_spans(
    rows: Iterable[tuple[int, str, str]], naive_zone: tzinfo | None
) -> list[tuple[int, datetime, datetime]]:
    """Aware datetimes from `_spans` rows, equal to what the ORM would have returned.

    PostgreSQL writes the offset. SQLite stores naive times in the connection's zone (UTC
    unless DATABASES sets TIME_ZONE), which is how Django reads them too; for UTC, writing
    the offset into the text is cheaper than `replace(tzinfo=...)` after.
    """
    parse = datetime.fromisoformat
    rows = list(rows)
    if not rows or parse(rows[0][1]).tzinfo is not None:
        return [(clinician_id, parse(start), parse(end)) for clinician_id, start, end in rows]
    if naive_zone is UTC:
        return [
            (clinician_id, parse(start + "+00:00"), parse(end + "+00:00"))
            for clinician_id, start, end in rows
        ]
    return [
        (
            clinician_id,
            parse(start).replace(tzinfo=naive_zone),
            parse(end).replace(tzinfo=naive_zone),
        )
        for clinician_id, start, end in rows
    ]


def _steady_clock(shift: Shift, zone: ZoneInfo) -> bool:
    """Whether no clock change falls in `shift` (every shift but a night one on a DST day),
    so that wall-clock arithmetic from its local start is exact. (Arithmetic resets `fold`,
    so a shift starting in the repeated hour is not steady either.)"""
    local_origin = shift.start.astimezone(zone)
    return (
        not local_origin.fold and local_origin.utcoffset() == shift.end.astimezone(zone).utcoffset()
    )


def _shift_slots(
    shift: Shift,
    zone: ZoneInfo,
    steps: Iterable[int],
    step: timedelta,
    duration: timedelta,
    *,
    steady: bool,
) -> list[Slot]:
    """The slots of `shift` starting at each `shift.start + k * step`, times in `zone`."""
    clinician, location = shift.clinician, shift.location
    names = (clinician.pk, clinician.display_name, location.pk, location.name)
    if steady:
        # Far cheaper than converting each time to the zone.
        local_origin = shift.start.astimezone(zone)
        starts = [local_origin + k * step for k in steps]
        return [Slot(start, start + duration, *names) for start in starts]
    utc_starts = [shift.start + k * step for k in steps]
    return [
        Slot(start.astimezone(zone), (start + duration).astimezone(zone), *names)
        for start in utc_starts
    ]


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
    ignoring_appointment: int | None = None,
) -> list[Slot]:
    """Bookable slots from `first_day` to `last_day` (inclusive, local dates), sorted by start
    then clinician. `with_notice=False` is for reception, who may book inside the notice;
    `ignoring_appointment` is the appointment being moved (its own time counts as free)."""
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
        ignoring_appointment=ignoring_appointment,
    )
    step = timedelta(minutes=site.slot_step_minutes)
    zones: dict[int, ZoneInfo] = {}
    slots: list[Slot] = []
    clock_changes = False
    for shift in shifts:
        # The starts of `grid_starts(shift, site)` are shift.start + k * step for k from 0
        # to `last`; keep those from `earliest` to `latest`, then the free ones.
        origin = shift.start
        first = max(0, -((origin - earliest) // step))
        last = min((shift.end - duration - origin) // step, (latest - origin) // step)
        if first > last:
            continue
        free = busy.free_runs(
            shift.clinician.pk, origin=origin, step=step, first=first, last=last, held=held
        )
        location = shift.location
        zone = zones.get(location.pk) or zones.setdefault(location.pk, location.zone)
        steady = _steady_clock(shift, zone)
        clock_changes = clock_changes or not steady
        slots += _shift_slots(shift, zone, chain.from_iterable(free), step, duration, steady=steady)
    if clock_changes:
        # Times in one zone compare by their wall clock, which in the hour clocks repeat
        # is not the order they happen in; only then is the instant worth computing.
        slots.sort(
            key=lambda slot: (slot.start.timestamp(), slot.clinician_name, slot.clinician_id)
        )
    else:
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
    ignoring_appointment: int | None = None,
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
        ignoring_appointment=ignoring_appointment,
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
