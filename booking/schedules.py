"""Clinicians' schedules: editing weekly hours, dated exceptions and blocks, and whether
a location is staffed at a moment.

The desk's schedule pages call these functions; they hold the rules. A clinician is in one
place at a time, so weekly hours on one weekday must not overlap at any location
(`WorkingHours.clean`); rows of one clinician are written under a lock on the clinician, so
two editors cannot add overlapping hours at once. A block over booked appointments is
refused unless confirmed, naming the appointments to move.
"""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from booking.formats import clock, short_day
from booking.models import (
    Appointment,
    Block,
    Clinician,
    Location,
    ScheduleException,
    WorkingHours,
    intervals_overlap,
)


class BlockConflicts(Exception):
    """A block would cover active appointments; confirm to add it anyway, then move them."""

    def __init__(self, appointments: list[Appointment]) -> None:
        super().__init__(f"The block overlaps {len(appointments)} booked appointment(s).")
        self.appointments = appointments


def _lock(clinician: Clinician) -> None:
    Clinician.objects.select_for_update().filter(pk=clinician.pk).first()


def _check_location(clinician: Clinician, location: Location) -> None:
    if not clinician.locations.filter(pk=location.pk).exists():
        raise ValidationError(f"{clinician} does not work at {location}.")


@transaction.atomic
def add_working_hours(
    *, clinician: Clinician, location: Location, weekday: int, start_time: time, end_time: time
) -> WorkingHours:
    """Add one weekly interval; ValidationError if it overlaps hours that weekday anywhere."""
    _lock(clinician)
    _check_location(clinician, location)
    hours = WorkingHours(
        clinician=clinician,
        location=location,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
    )
    hours.full_clean()  # clean(): end after start, no overlap on that weekday at any location
    hours.save()
    return hours


def remove_working_hours(hours: WorkingHours) -> None:
    hours.delete()


@transaction.atomic
def add_schedule_exception(
    *,
    clinician: Clinician,
    location: Location,
    day: date,
    start_time: time | None,
    end_time: time | None,
    reason: str = "",
) -> ScheduleException:
    """Changed hours (both times) or a day off (neither) at a location on one date."""
    _lock(clinician)
    _check_location(clinician, location)
    exception = ScheduleException(
        clinician=clinician,
        location=location,
        date=day,
        start_time=start_time,
        end_time=end_time,
        reason=reason.strip(),
    )
    exception.full_clean()
    if start_time is not None and end_time is not None:
        same_day = ScheduleException.objects.filter(
            clinician=clinician, date=day, start_time__isnull=False, end_time__isnull=False
        )
        for other in same_day:
            if other.start_time is None or other.end_time is None:
                continue
            if intervals_overlap(start_time, end_time, other.start_time, other.end_time):
                raise ValidationError(
                    f"These hours overlap {clock(other.start_time)} to {clock(other.end_time)} "
                    f"at {other.location} on {short_day(day)}."
                )
    exception.save()
    return exception


def remove_schedule_exception(exception: ScheduleException) -> None:
    exception.delete()


def appointments_under(clinician: Clinician, start: datetime, end: datetime) -> list[Appointment]:
    """The clinician's active appointments whose held time meets [start, end)."""
    return list(
        Appointment.objects.active()
        .overlapping(start, end)
        .filter(clinician=clinician)
        .select_related("patient", "site", "location")
        .order_by("start")
    )


@transaction.atomic
def add_block(
    *,
    clinician: Clinician,
    start: datetime,
    end: datetime,
    kind: str,
    reason: str,
    confirm: bool = False,
) -> Block:
    """Block [start, end) for the clinician; BlockConflicts unless `confirm` when it covers
    active appointments (they stay booked and are to be moved by reception)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("Block times must be aware.")
    _lock(clinician)
    block = Block(clinician=clinician, start=start, end=end, kind=kind, reason=reason.strip())
    block.full_clean()
    conflicts = appointments_under(clinician, start, end)
    if conflicts and not confirm:
        raise BlockConflicts(conflicts)
    block.save()
    return block


def remove_block(block: Block) -> None:
    block.delete()


def staffed_at(location: Location, moment: datetime) -> bool:
    """Whether an active clinician works at `location` at `moment` (its wall clock): by
    their exception rows for that date where they have any (none with times is a day off),
    else by their weekly hours. A block (a meeting) keeps the clinic staffed."""
    local = moment.astimezone(location.zone)
    covering = Q(start_time__lte=local.time(), end_time__gt=local.time())
    exceptions = ScheduleException.objects.filter(
        location=location, date=local.date(), clinician__is_active=True
    )
    weekly = WorkingHours.objects.filter(
        location=location, weekday=local.weekday(), clinician__is_active=True
    ).exclude(clinician__in=exceptions.values("clinician"))
    return exceptions.filter(covering).exists() or weekly.filter(covering).exists()
