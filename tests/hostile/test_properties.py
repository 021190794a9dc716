"""Properties of the availability engine and the booking functions, for generated clinics.

Hypothesis builds schedules (working hours, exceptions, blocks, appointments, buffers,
notice, slot steps) around the autumn clock change in New York, and sequences of bookings,
moves and cancellations; whatever it builds, no slot offered is held or off the grid, and
no two active appointments of a clinician ever overlap.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.availability import Slot, free_slots
from booking.models import Appointment, AppointmentSource, AppointmentStatus, Block
from booking.services import (
    BookingError,
    PatientDetails,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from tests.factories import (
    AppointmentFactory,
    BlockFactory,
    ClinicianFactory,
    LocationFactory,
    ScheduleExceptionFactory,
    SiteFactory,
    WorkingHoursFactory,
)
from tests.races import run_at_once

pytestmark = pytest.mark.slow

NEW_YORK = ZoneInfo("America/New_York")
FIRST_DAY = date(2026, 10, 29)  # a window across the clock change of Sunday 1 November
DAYS = 7
# The engine reads the database and Python twice per example: keep the examples few and
# the run the same every time.
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

quarter_hours = st.integers(min_value=6 * 4, max_value=19 * 4).map(
    lambda q: time(q // 4, q % 4 * 15)
)


@st.composite
def intervals(draw: st.DrawFn) -> tuple[time, time]:
    start, end = sorted(draw(st.lists(quarter_hours, min_size=2, max_size=2, unique=True)))
    return start, end


@dataclass(frozen=True)
class Busy:
    day: int  # days after FIRST_DAY
    minute: int  # local minutes after midnight
    length: int  # minutes


busy_spans = st.builds(
    Busy,
    day=st.integers(0, DAYS - 1),
    minute=st.integers(6 * 60, 19 * 60),
    length=st.integers(5, 240),
)


@dataclass(frozen=True)
class Clinic:
    duration: int
    step: int
    buffer: int
    notice_hours: int
    advance_days: int
    weekly: list[tuple[int, int, tuple[time, time]]]  # clinician, weekday, interval
    exceptions: list[tuple[int, int, tuple[time, time] | None]]  # clinician, day, interval
    blocks: list[tuple[int, Busy]]
    appointments: list[tuple[int, Busy, bool]]  # clinician, span, cancelled
    now_minutes: int  # after FIRST_DAY 00:00 UTC


clinician_index = st.integers(0, 1)
clinics = st.builds(
    Clinic,
    duration=st.sampled_from([10, 15, 20, 30, 45, 60, 90]),
    step=st.sampled_from([5, 10, 15, 20, 30, 60]),
    buffer=st.sampled_from([0, 5, 10, 15, 30]),
    notice_hours=st.integers(0, 72),
    advance_days=st.integers(1, 10),
    weekly=st.lists(
        st.tuples(clinician_index, st.integers(0, 6), intervals()),
        max_size=8,
        unique_by=lambda row: (row[0], row[1], row[2][0]),  # one start per clinician and day
    ),
    exceptions=st.lists(
        st.tuples(clinician_index, st.integers(0, DAYS - 1), st.none() | intervals()),
        max_size=3,
    ),
    blocks=st.lists(st.tuples(clinician_index, busy_spans), max_size=4),
    appointments=st.lists(st.tuples(clinician_index, busy_spans, st.booleans()), max_size=6),
    now_minutes=st.integers(0, 3 * 24 * 60),
)


def _at(day: int, minute: int) -> datetime:
    midnight = datetime.combine(FIRST_DAY + timedelta(days=day), time(), tzinfo=NEW_YORK)
    return (midnight + timedelta(minutes=minute)).astimezone(UTC)


def _local_shift(day: date, interval: tuple[time, time]) -> tuple[datetime, datetime]:
    start, end = (datetime.combine(day, wall, tzinfo=NEW_YORK) for wall in interval)
    return start.astimezone(UTC), end.astimezone(UTC)


def _build(clinic: Clinic):
    site = SiteFactory(
        duration_minutes=clinic.duration,
        slot_step_minutes=clinic.step,
        buffer_after_minutes=clinic.buffer,
        min_notice_hours=clinic.notice_hours,
        max_advance_days=clinic.advance_days,
    )
    location = LocationFactory(time_zone="America/New_York")
    clinicians = [ClinicianFactory(sites=[site], locations=[location]) for _ in range(2)]
    for who, weekday, (start, end) in clinic.weekly:
        WorkingHoursFactory(
            clinician=clinicians[who],
            location=location,
            weekday=weekday,
            start_time=start,
            end_time=end,
        )
    for who, day, interval in clinic.exceptions:
        ScheduleExceptionFactory(
            clinician=clinicians[who],
            location=location,
            date=FIRST_DAY + timedelta(days=day),
            start_time=interval[0] if interval else None,
            end_time=interval[1] if interval else None,
        )
    for who, span in clinic.blocks:
        begins = _at(span.day, span.minute)
        BlockFactory(
            clinician=clinicians[who], start=begins, end=begins + timedelta(minutes=span.length)
        )
    for who, span, cancelled in clinic.appointments:
        begins = _at(span.day, span.minute)
        try:
            with transaction.atomic():  # an overlap the database refuses is simply not there
                AppointmentFactory(
                    site=site,
                    clinician=clinicians[who],
                    location=location,
                    start=begins,
                    end=begins + timedelta(minutes=span.length),
                    blocked_until=begins + timedelta(minutes=span.length + clinic.buffer),
                    status=AppointmentStatus.CANCELLED if cancelled else AppointmentStatus.BOOKED,
                )
        except IntegrityError:
            pass
    return site, clinicians


def _working_intervals(clinician, day: date) -> list[tuple[datetime, datetime]]:
    """Where the clinician may be booked on a local date, read straight from the rows."""
    exceptions = clinician.schedule_exceptions.filter(date=day)
    if exceptions:
        rows = [(e.start_time, e.end_time) for e in exceptions if e.start_time and e.end_time]
    else:
        rows = [
            (h.start_time, h.end_time)
            for h in clinician.working_hours.filter(weekday=day.weekday())
        ]
    return [_local_shift(day, interval) for interval in rows]


def _overlaps(start: datetime, end: datetime, spans: list[tuple[datetime, datetime]]) -> bool:
    return any(start < span_end and span_start < end for span_start, span_end in spans)


def _assert_slot_is_bookable(slot: Slot, site, clinician, now: datetime) -> None:
    duration = timedelta(minutes=site.duration_minutes)
    held_until = slot.start + duration + timedelta(minutes=site.buffer_after_minutes)
    assert slot.end - slot.start == duration
    assert now + timedelta(hours=site.min_notice_hours) <= slot.start
    assert slot.start <= now + timedelta(days=site.max_advance_days)
    shifts = _working_intervals(clinician, slot.start.astimezone(NEW_YORK).date())
    step = timedelta(minutes=site.slot_step_minutes)
    assert any(
        start <= slot.start and slot.end <= end and (slot.start - start) % step == timedelta(0)
        for start, end in shifts
    ), f"{slot.start} is not on the grid of a working interval {shifts}"
    appointments = [
        (a.start, a.blocked_until) for a in Appointment.objects.active().filter(clinician=clinician)
    ]
    assert not _overlaps(slot.start, held_until, appointments), f"{slot.start} meets a visit"
    blocks = [(b.start, b.end) for b in Block.objects.filter(clinician=clinician)]
    assert not _overlaps(slot.start, held_until, blocks), f"{slot.start} meets a block"


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(clinic=clinics)
def test_every_slot_offered_is_free_on_the_grid_and_within_notice_and_advance(clinic):
    with transaction.atomic():
        site, clinicians = _build(clinic)
        now = datetime.combine(FIRST_DAY, time(), tzinfo=UTC) + timedelta(
            minutes=clinic.now_minutes
        )
        slots = free_slots(
            site=site,
            first_day=FIRST_DAY,
            last_day=FIRST_DAY + timedelta(days=DAYS - 1),
            now=now,
        )
        by_id = {clinician.pk: clinician for clinician in clinicians}
        for slot in slots:
            _assert_slot_is_bookable(slot, site, by_id[slot.clinician_id], now)
        assert slots == sorted(slots, key=lambda s: (s.start, s.clinician_name, s.clinician_id))
        transaction.set_rollback(True)


# --- booking, moving and cancelling ------------------------------------------------------

PATIENT = PatientDetails(
    first_name="Ann", last_name="Hostile", date_of_birth=date(1970, 1, 1), email="ann@example.org"
)
NOW = datetime(2026, 10, 26, 12, tzinfo=UTC)  # the Monday before the window


@dataclass(frozen=True)
class Book:
    at: Busy
    clinician: int | None
    reception: bool  # reception books inside the notice, and may book off hours


@dataclass(frozen=True)
class Move:
    which: int  # index into the appointments booked so far
    at: Busy
    by_patient: bool


@dataclass(frozen=True)
class Cancel:
    which: int


operations = st.lists(
    st.one_of(
        st.builds(
            Book, at=busy_spans, clinician=st.none() | clinician_index, reception=st.booleans()
        ),
        st.builds(Move, which=st.integers(0, 20), at=busy_spans, by_patient=st.booleans()),
        st.builds(Cancel, which=st.integers(0, 20)),
    ),
    min_size=1,
    max_size=25,
)


def overlapping_active_appointments() -> list[Appointment]:
    """Active appointments whose held time meets another active one of the same clinician."""
    other = (
        Appointment.objects.active()
        .filter(
            clinician_id=OuterRef("clinician_id"),
            start__lt=OuterRef("blocked_until"),
            blocked_until__gt=OuterRef("start"),
        )
        .exclude(pk=OuterRef("pk"))
    )
    return list(Appointment.objects.active().filter(Exists(other)))


def _apply(operation, site, clinicians, booked: list[Appointment]) -> None:
    try:
        if isinstance(operation, Book):
            clinician = None if operation.clinician is None else clinicians[operation.clinician]
            booked.append(
                book_appointment(
                    site=site,
                    start=_at(operation.at.day, operation.at.minute),
                    patient=PATIENT,
                    source=AppointmentSource.RECEPTION
                    if operation.reception
                    else AppointmentSource.ONLINE,
                    clinician=clinician,
                    location=clinician.locations.first()
                    if operation.reception and clinician
                    else None,
                    outside_hours=operation.reception and clinician is not None,
                    now=NOW,
                )
            )
        elif booked and isinstance(operation, Move):
            reschedule_appointment(
                appointment=booked[operation.which % len(booked)],
                start=_at(operation.at.day, operation.at.minute),
                by_patient=operation.by_patient,
                now=NOW,
            )
        elif booked and isinstance(operation, Cancel):
            cancel_appointment(
                appointment=booked[operation.which % len(booked)], by_patient=False, now=NOW
            )
    except BookingError:
        pass  # refused cleanly; the property is about what was written


def _clinic_for_bookings():
    return _build(
        Clinic(
            duration=30,
            step=15,
            buffer=10,
            notice_hours=24,
            advance_days=30,
            weekly=[(who, weekday, (time(8), time(17))) for who in (0, 1) for weekday in range(7)],
            exceptions=[],
            blocks=[(0, Busy(day=2, minute=12 * 60, length=60))],
            appointments=[],
            now_minutes=0,
        )
    )


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(sequence=operations)
def test_no_sequence_of_bookings_moves_and_cancellations_double_books(sequence):
    with transaction.atomic():
        site, clinicians = _clinic_for_bookings()
        booked: list[Appointment] = []
        for operation in sequence:
            _apply(operation, site, clinicians, booked)
        assert overlapping_active_appointments() == []
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_clients_booking_and_moving_never_double_book():
    """Eight clients at once, each with its own connection, book and move into the same
    morning; the database's constraint keeps whatever interleaving happens consistent."""
    site, clinicians = _clinic_for_bookings()
    times = [Busy(day=3, minute=9 * 60 + 15 * k, length=0) for k in range(8)]

    def client(number: int) -> None:
        booked: list[Appointment] = []
        for k in range(6):
            at = times[(number + k) % len(times)]
            _apply(Book(at=at, clinician=None, reception=False), site, clinicians, booked)
            _apply(
                Move(which=k, at=times[(number * 3 + k) % len(times)], by_patient=False),
                site,
                clinicians,
                booked,
            )

    run_at_once([partial(client, n) for n in range(8)])
    assert Appointment.objects.active().count() > 1
    assert overlapping_active_appointments() == []
