"""The reception calendar's grid: plain functions, no HTTP.

A grid has columns (a clinician on a date: the day view is one date and many clinicians,
the week view one clinician and seven dates) and 15-minute rows of local wall-clock time in
the location's zone. Each column's cells say what that quarter hour is: outside hours,
blocked (time off, a meeting), free (bookable, a link), or covered by an appointment that
starts in an earlier row. On the day clocks spring forward, the skipped wall-clock rows
are marked as not existing; on the day they fall back, the repeated hour shares its rows.

Cost is bounded whatever the number of appointments: five queries (clinicians, weekly
hours, dated exceptions, appointments with their patient and site, blocks), then Python.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from booking.availability import WorkedHours
from booking.formats import clock
from booking.models import (
    Appointment,
    AppointmentStatus,
    Block,
    Clinician,
    Location,
    ScheduleException,
    Site,
    WorkingHours,
)

ROW = timedelta(minutes=15)
DEFAULT_FIRST_HOUR = 8
DEFAULT_LAST_HOUR = 18  # the end of the last row shown when nothing runs later


class CellKind:
    CLOSED = "closed"  # outside working hours
    FREE = "free"
    BLOCKED = "blocked"
    APPOINTMENT = "appointment"  # one or more appointments start in this row
    COVERED = "covered"  # inside an appointment that started in an earlier row (no <td>)
    MISSING = "missing"  # a wall-clock time that does not exist that day (DST)


@dataclass
class Cell:
    kind: str
    start: datetime | None  # aware, in the location's zone; None when missing
    rowspan: int = 1
    appointments: list[Appointment] = field(default_factory=list)
    block: Block | None = None
    past: bool = False  # started before now: not offered for booking
    block_label: str = ""  # the block's reason, on the row where it starts (or the first)
    book_url: str = ""  # set by the view for free, future cells
    label: str = ""  # the local start as HH:MM, set with book_url


@dataclass
class Column:
    clinician: Clinician
    day: date
    cells: list[Cell]
    working: bool  # whether the clinician works at the location that day


@dataclass
class Row:
    label: time
    is_now: bool
    cells: list[Cell]  # one per column, COVERED ones included (the template skips them)


@dataclass
class Grid:
    location: Location
    days: list[date]
    columns: list[Column]
    rows: list[Row]
    now: datetime
    now_label: str  # "" unless today is shown and now falls inside the rows
    site: Site | None = None

    @property
    def appointment_count(self) -> int:
        return sum(
            len(cell.appointments)
            for column in self.columns
            for cell in column.cells
            if cell.kind == CellKind.APPOINTMENT
        )


def local_instant(day: date, wall_clock: time, zone: ZoneInfo) -> datetime | None:
    """The aware instant of `wall_clock` on `day` in `zone`, or None if it does not exist."""
    candidate = datetime.combine(day, wall_clock, tzinfo=zone)
    round_trip = candidate.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None  # skipped when the clocks sprang forward
    return candidate


def _floor_row(moment: time) -> time:
    return time(moment.hour, moment.minute - moment.minute % 15)


def _wall_clock_rows(first: time, last_end: time) -> list[time]:
    rows = []
    minute = first.hour * 60 + first.minute
    end = last_end.hour * 60 + last_end.minute if last_end != time(0) else 24 * 60
    while minute < end:
        rows.append(time(minute // 60, minute % 60))
        minute += 15
    return rows


def _shifts(
    clinician_ids: Sequence[int], location: Location, days: Sequence[date]
) -> dict[tuple[int, date], list[tuple[datetime, datetime]]]:
    """Each clinician's working intervals (aware, UTC) at `location` on each day. Two queries."""
    worked = WorkedHours(
        WorkingHours.objects.filter(clinician_id__in=clinician_ids, location=location),
        ScheduleException.objects.filter(
            clinician_id__in=clinician_ids,
            location=location,
            date__gte=days[0],
            date__lte=days[-1],
        ),
    )
    return {
        (clinician_id, day): worked.intervals(clinician_id, location, day)
        for clinician_id in clinician_ids
        for day in days
    }


def clinicians_for(
    location: Location, *, clinician_id: int | None = None, site: Site | None = None
) -> list[Clinician]:
    """Active clinicians assigned to `location`, by name; optionally one, or those of a site."""
    clinicians = Clinician.objects.filter(locations=location, is_active=True)
    if clinician_id is not None:
        clinicians = clinicians.filter(pk=clinician_id)
    if site is not None:
        clinicians = clinicians.filter(sites=site)
    return list(clinicians.distinct().order_by("display_name", "pk"))


def build_grid(
    *,
    location: Location,
    clinicians: Sequence[Clinician],
    days: Sequence[date],
    now: datetime,
    site: Site | None = None,
    show_cancelled: bool = False,
) -> Grid:
    """The grid of `clinicians` by `days` at `location` (one of the two has one item)."""
    zone = location.zone
    days = list(days)
    ids = [clinician.pk for clinician in clinicians]
    window_start = datetime.combine(days[0], time(0), tzinfo=zone)
    window_end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=zone)

    shifts = _shifts(ids, location, days) if ids else {}
    appointments = _appointments(ids, window_start, window_end, site, show_cancelled)
    blocks = _blocks_by_clinician(ids, window_start, window_end)

    labels = _row_labels(shifts, appointments, days, zone)
    instants = {(day, label): local_instant(day, label, zone) for day in days for label in labels}
    appointments_by_column = _appointments_by_column(appointments, window_start, days, zone)
    columns = []
    for clinician, day in [(c, d) for c in clinicians for d in days]:
        day_shifts = shifts.get((clinician.pk, day), [])
        cells = [
            _cell(instants[(day, label)], blocks.get(clinician.pk, []), day_shifts, now)
            for label in labels
        ]
        _label_blocks(cells)
        _place_appointments(
            cells, labels, appointments_by_column.get((clinician.pk, day), []), zone
        )
        columns.append(Column(clinician=clinician, day=day, cells=cells, working=bool(day_shifts)))

    local_now = now.astimezone(zone)
    now_row = _now_row(local_now, days, labels)
    rows = [
        Row(label=label, is_now=index == now_row, cells=[column.cells[index] for column in columns])
        for index, label in enumerate(labels)
    ]
    return Grid(
        location=location,
        days=days,
        columns=columns,
        rows=rows,
        now=local_now,
        now_label=clock(local_now) if now_row >= 0 else "",
        site=site,
    )


def _appointments(
    clinician_ids: Sequence[int],
    window_start: datetime,
    window_end: datetime,
    site: Site | None,
    show_cancelled: bool,
) -> list[Appointment]:
    """The clinicians' appointments that overlap the window, one query. Cancelled visits
    are hidden unless asked for; a no-show stays on the day's record."""
    statuses = [
        status
        for status in AppointmentStatus.values
        if show_cancelled or status != AppointmentStatus.CANCELLED
    ]
    appointments = list(
        Appointment.objects.filter(
            clinician_id__in=clinician_ids,
            start__lt=window_end,
            start__gte=window_start - timedelta(days=1),
            end__gt=window_start,
            status__in=statuses,
        )
        .select_related("patient", "site", "location")
        # What a block shows: the patient's name, not their contact details (parsing
        # phone numbers is most of the cost of loading a patient).
        .only(
            *(f.name for f in Appointment._meta.concrete_fields),
            "patient__first_name",
            "patient__last_name",
            "site__name",
            "site__duration_minutes",
            "location__name",
            "location__time_zone",
        )
        .order_by("start", "pk")
    )
    if site is not None:
        appointments = [a for a in appointments if a.site_id == site.pk]
    return appointments


def _blocks_by_clinician(
    clinician_ids: Sequence[int], window_start: datetime, window_end: datetime
) -> dict[int, list[Block]]:
    """The clinicians' blocks that overlap the window, by clinician id. One query."""
    blocks: dict[int, list[Block]] = defaultdict(list)
    for block in Block.objects.filter(
        clinician_id__in=clinician_ids, start__lt=window_end, end__gt=window_start
    ):
        blocks[block.clinician_id].append(block)
    return blocks


def _row_labels(
    shifts: dict[tuple[int, date], list[tuple[datetime, datetime]]],
    appointments: list[Appointment],
    days: list[date],
    zone: ZoneInfo,
) -> list[time]:
    """The rows' wall-clock times: from the earliest hour anything happens to the latest, at
    least 08:00-18:00."""
    spans = [
        (start.astimezone(zone), end.astimezone(zone))
        for intervals in shifts.values()
        for start, end in intervals
    ] + [(a.start.astimezone(zone), a.end.astimezone(zone)) for a in appointments]
    first = min(
        [time(DEFAULT_FIRST_HOUR)]
        + [_floor_row(start.time()) for start, _ in spans if start.date() in days]
    )
    return _wall_clock_rows(first, _last_row_end(spans, days))


def _last_row_end(spans: list[tuple[datetime, datetime]], days: list[date]) -> time:
    """The end of the last row, on a quarter hour; midnight (time(0)) when something runs to
    or past the end of the last day."""
    last_end = time(DEFAULT_LAST_HOUR)
    for _, end in spans:
        if end.date() in days and end.time() != time(0):
            last_end = max(last_end, end.time())
        elif end.date() > days[-1] or end.date() in days:
            last_end = time(0)
    if last_end == time(0) or last_end.minute % 15 == 0:
        return last_end
    minutes = last_end.hour * 60 + last_end.minute + 15 - last_end.minute % 15
    return time(0) if minutes >= 24 * 60 else time(minutes // 60, minutes % 60)


def _appointments_by_column(
    appointments: list[Appointment], window_start: datetime, days: list[date], zone: ZoneInfo
) -> dict[tuple[int, date], list[Appointment]]:
    """Appointments by (clinician id, local day); one that began the day before the first
    day shows from the first row."""
    by_column: dict[tuple[int, date], list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        local_day = appointment.start.astimezone(zone).date()
        if appointment.start < window_start:
            local_day = days[0]
        by_column[(appointment.clinician_id, local_day)].append(appointment)
    return by_column


def _cell(
    instant: datetime | None,
    blocks: list[Block],
    shifts: list[tuple[datetime, datetime]],
    now: datetime,
) -> Cell:
    """The row starting at `instant` in one column: missing, blocked, free or closed."""
    if instant is None:
        return Cell(kind=CellKind.MISSING, start=None)
    start = instant.astimezone(UTC)
    end = start + ROW
    block = next((b for b in blocks if b.start < end and b.end > start), None)
    inside = any(shift_start <= start and end <= shift_end for shift_start, shift_end in shifts)
    kind = CellKind.BLOCKED if block else CellKind.FREE if inside else CellKind.CLOSED
    # A quarter hour already under way is past for booking: it is not offered.
    return Cell(kind=kind, start=instant, block=block, past=start < now)


def _label_blocks(cells: list[Cell]) -> None:
    """Name each block on the first of its rows in the column."""
    previous: Block | None = None
    for cell in cells:
        if cell.block is not None and cell.block is not previous:
            cell.block_label = f"{cell.block.get_kind_display()}: {cell.block.reason}"
        previous = cell.block


def _now_row(local_now: datetime, days: list[date], labels: list[time]) -> int:
    """The index of the row that holds now, or -1 when now is not on the grid."""
    if local_now.date() not in days:
        return -1
    now_label = _floor_row(local_now.time())
    return labels.index(now_label) if now_label in labels else -1


def _place_appointments(
    cells: list[Cell], labels: list[time], appointments: list[Appointment], zone: ZoneInfo
) -> None:
    """Put each appointment in the row where it starts, spanning the rows it lasts."""
    for appointment in appointments:
        local_start = appointment.start.astimezone(zone)
        start_label = _floor_row(local_start.time())
        index = labels.index(start_label) if start_label in labels else 0
        if local_start.date() < (cells[index].start or local_start).date():
            index = 0  # began the day before
        while index > 0 and cells[index].kind in (CellKind.COVERED, CellKind.MISSING):
            index -= 1  # inside another appointment (or a DST gap): share its cell
        cell = cells[index]
        if cell.kind == CellKind.APPOINTMENT:
            cell.appointments.append(appointment)
        else:
            cell.kind = CellKind.APPOINTMENT
            cell.appointments = [appointment]
            cell.rowspan = 1
        if appointment.status == AppointmentStatus.CANCELLED:
            continue  # shown where it started, but it holds no time: cover nothing
        # Cover the following rows the appointment lasts.
        following = index + cell.rowspan
        while following < len(cells):
            next_cell = cells[following]
            if next_cell.start is not None and next_cell.start >= appointment.end:
                break
            if next_cell.kind == CellKind.APPOINTMENT:
                break  # another appointment starts there (only if data overlap): keep it
            next_cell.kind = CellKind.COVERED
            cell.rowspan += 1
            following += 1


def free_starts(grid: Grid) -> list[tuple[Clinician, datetime]]:
    """The bookable (free, not yet started) quarter hours of the grid, for tests and summaries."""
    return [
        (column.clinician, cell.start)
        for column in grid.columns
        for cell in column.cells
        if cell.kind == CellKind.FREE and not cell.past and cell.start is not None
    ]


def week_days(day: date) -> list[date]:
    """Monday to Sunday of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=offset) for offset in range(7)]


def day_sheet(
    *, location: Location, clinicians: Sequence[Clinician], day: date
) -> list[tuple[Clinician, list[Appointment]]]:
    """Each clinician's active appointments at `location` on `day`, for the printed sheet."""
    zone = location.zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    by_clinician: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in (
        Appointment.objects.active()
        .filter(
            Q(clinician__in=list(clinicians)),
            location=location,
            start__gte=start,
            start__lt=end,
        )
        .select_related("patient", "site", "location", "safety_answers")
        .order_by("start")
    ):
        by_clinician[appointment.clinician_id].append(appointment)
    return [(clinician, by_clinician.get(clinician.pk, [])) for clinician in clinicians]
