"""Booking verbs: book (online, at the desk with its override, a walk-in), reschedule,
cancel, arrive, no-show, and the desk's undo of an arrival or a no-show.

Every caller (public API, patient pages, reception, admin) goes through these functions,
so the rules live here once. On PostgreSQL the exclusion constraint is the real guard
against double booking; the overlap check before the write gives the friendly answer in
the common case and, on SQLite (whose transactions here BEGIN IMMEDIATE and so run one
at a time), is the guard itself.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.utils import timezone

from booking.availability import (
    Shift,
    Slot,
    bookable_window,
    busy_times,
    free_slots,
    nearest_free_slots,
    shifts_offering,
)
from booking.events import AppointmentChange, appointment_changed
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    GivenDetails,
    Location,
    Patient,
    SafetyAnswers,
    Site,
)
from booking.waitlist import offer_freed_time, time_left

logger = logging.getLogger(__name__)

NO_OVERLAP_CONSTRAINT = "appointment_no_overlap_per_clinician"


class BookingError(Exception):
    """A booking request the clinic cannot accept; `message` can be shown to a patient."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotBookable(BookingError):
    """The time can never be booked as asked: past, off the grid, outside the window."""


class SlotTaken(BookingError):
    """The time was free by the rules but someone else holds it now."""

    def __init__(self, message: str, alternatives: list[Slot]) -> None:
        super().__init__(message)
        self.alternatives = alternatives


class TooLateToChange(BookingError):
    """A patient's change inside the site's minimum notice: they must call the clinic."""


class TransitionNotAllowed(BookingError):
    """The appointment's status does not allow this action."""


class TooManyOnlineBookings(BookingError):
    """The person already holds ONLINE_BOOKINGS_PER_SITE future online bookings of the site."""


class KeyReused(BookingError):
    """A booking key sent again by another client or with another request: the first
    booking is not theirs to see, and nothing is booked."""


@dataclass(frozen=True)
class PatientDetails:
    first_name: str
    last_name: str
    date_of_birth: date
    email: str = ""
    phone: str = ""  # E.164


def announce(appointment: Appointment, change: AppointmentChange, now: datetime) -> None:
    """Tell the apps built on booking, inside the current transaction (booking.events)."""
    appointment_changed.send(Appointment, appointment=appointment, change=change, now=now)


def record_safety_answers(*, appointment: Appointment, answers: dict[str, Any]) -> SafetyAnswers:
    """Store (or replace) the patient's answers to the pre-procedure safety questions."""
    record, _ = SafetyAnswers.objects.update_or_create(appointment=appointment, defaults=answers)
    return record


OLDEST_PATIENT_YEARS = 125


def date_of_birth_problem(value: date, *, today: date) -> str | None:
    """Why a date of birth cannot be right, or None."""
    if value >= today or value.year < today.year - OLDEST_PATIENT_YEARS:
        return "Enter a real date of birth."
    return None


def contact_problems(
    *, email: str, phone: str, remind_by_email: bool, remind_by_sms: bool
) -> dict[str, str]:
    """Problems with how we can reach the patient, by the field a form should mark."""
    problems = {}
    if not email and not phone:
        problems["email"] = "Give an email address or a mobile number so we can reach you."
    if remind_by_email and not email:
        problems["reminders_email"] = "Give an email address to get email reminders."
    if remind_by_sms and not phone:
        problems["reminders_sms"] = "Give a mobile number to get text reminders."
    return problems


def normalise_email(email: str) -> str:
    """The form emails are stored and matched in (Patient.save applies it too)."""
    return email.strip().lower()


def find_or_create_patient(
    details: PatientDetails, *, consent_email: bool, consent_sms: bool, by_staff: bool = False
) -> Patient:
    """The patient with this birth date and email or phone, else a new one.

    Only staff (`by_staff`) change a match: it gains any contact detail it lacked and the
    consents just given. An online form's match is returned as it is, because anyone who
    knows a patient's birth date and email or phone can type them: what it gave
    differently is kept apart for reception (`keep_given_details`).
    """
    email = normalise_email(details.email)
    candidates = Patient.objects.filter(
        date_of_birth=details.date_of_birth, merged_into__isnull=True
    ).order_by("created")
    patient = None
    if email:
        patient = candidates.filter(email=email).first()
    if patient is None and details.phone:
        patient = candidates.filter(phone=details.phone).first()
    if patient is None:
        return Patient.objects.create(
            first_name=details.first_name.strip(),
            last_name=details.last_name.strip(),
            date_of_birth=details.date_of_birth,
            email=email,
            phone=details.phone,
            consent_email=consent_email and bool(email),
            consent_sms=consent_sms and bool(details.phone),
        )
    if by_staff:
        patient.email = patient.email or email
        patient.phone = patient.phone or details.phone
        patient.consent_email = consent_email and bool(patient.email)
        patient.consent_sms = consent_sms and bool(patient.phone)
        patient.save(update_fields=["email", "phone", "consent_email", "consent_sms"])
    return patient


def keep_given_details(
    patient: Patient,
    details: PatientDetails,
    *,
    consent_email: bool,
    consent_sms: bool,
    appointment: Appointment | None = None,
) -> GivenDetails | None:
    """Keep what an online form gave, with its booking, when it differs from the record
    it matched (a new record is what was typed, so nothing differs): reception confirms
    it with the patient before it reaches the record (`booking.given_details`)."""
    email = normalise_email(details.email)
    given = GivenDetails(
        patient=patient,
        appointment=appointment,
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        email=email,
        phone=details.phone,
        consent_email=consent_email and bool(email),
        consent_sms=consent_sms and bool(details.phone),
    )
    if not given.differences():
        return None
    given.save()
    return given


def replan_coming_reminders(patient: Patient, *, now: datetime) -> None:
    """Plan the reminders of the patient's coming visits again, after their contact details
    or consents changed (the plan follows the channels the patient agreed to)."""
    coming = patient.appointments.filter(status=AppointmentStatus.BOOKED, start__gt=now)
    for appointment in coming.select_related("site", "location", "patient"):
        announce(appointment, AppointmentChange.CONTACTS_CHANGED, now)


def check_online_bookings_limit(patient: Patient, site: Site, *, now: datetime) -> None:
    """Raise TooManyOnlineBookings when `patient` already holds the site's limit of future
    online bookings (ONLINE_BOOKINGS_PER_SITE; 0 is no limit), so one person (or someone
    typing their details) cannot hold every free time. The patient's row is locked first,
    so two bookings of one person at once are counted one after the other."""
    limit = settings.ONLINE_BOOKINGS_PER_SITE
    if not limit:
        return
    Patient.objects.select_for_update(no_key=True).only("pk").get(pk=patient.pk)
    held = Appointment.objects.filter(
        patient=patient,
        site=site,
        source=AppointmentSource.ONLINE,
        status=AppointmentStatus.BOOKED,
        start__gt=now,
    ).count()
    if held >= limit:
        consults = "consult" if limit == 1 else "consults"
        raise TooManyOnlineBookings(
            f"You already have {limit} {site.name.lower()} {consults} booked online, the most "
            "one person can hold. To book another time, change or cancel one from the link "
            "in its email, or call the clinic."
        )


def check_bookable_time(site: Site, start: datetime, *, now: datetime, online: bool) -> None:
    """Raise NotBookable for a start in the past, inside the notice or beyond the advance."""
    if start < now:
        raise NotBookable("That time has already passed. Please choose a later time.")
    earliest, latest = bookable_window(site, now, with_notice=online)
    if start < earliest:
        raise NotBookable(
            f"Online booking closes {site.min_notice_hours} hours before a visit. "
            "Please choose a later time or call the clinic."
        )
    if start > latest:
        raise NotBookable(
            f"{site.name} consults can be booked up to {site.max_advance_days} days ahead."
        )


def _is_held(shift: Shift, start: datetime, until: datetime, exclude_pk: int | None) -> bool:
    """Whether an appointment (other than the one being moved) or a block holds the time.

    The availability engine's reading of held times, so this check, like availability,
    costs the same however long the clinician's history.
    """
    clinician_id = shift.clinician.pk
    busy = busy_times([clinician_id], start, until, ignoring_appointment=exclude_pk)
    return not busy.is_free(clinician_id, start, until)


# PostgreSQL's "deadlock detected": two transactions writing overlapping times of one
# clinician can each wait for the other while checking the exclusion constraint, and
# PostgreSQL then aborts one of them instead of reporting the overlap.
DEADLOCK_DETECTED = "40P01"


def _lost_a_race(error: DatabaseError) -> bool:
    """Whether a concurrent write of an overlapping time won (the exclusion constraint)."""
    if isinstance(error, IntegrityError):
        return NO_OVERLAP_CONSTRAINT in str(error)
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED


def _claim(
    *,
    site: Site,
    start: datetime,
    clinician: Clinician | None,
    location: Location | None,
    exclude_pk: int | None,
    online: bool,
    now: datetime,
    write: Callable[[Shift], Appointment],
    prefer: Clinician | None = None,
    outside_hours: bool = False,
) -> Appointment:
    """Write the appointment with the first clinician free at `start`, or raise.

    Each try runs in its own transaction: the overlap check and the write are one unit,
    and a lost race on PostgreSQL (the exclusion constraint) moves on to the next
    clinician instead of failing the request.
    """
    check_bookable_time(site, start, now=now, online=online)
    shifts = shifts_offering(
        site=site,
        start=start,
        clinician_id=clinician.pk if clinician else None,
        location_id=location.pk if location else None,
    )
    until = start + timedelta(minutes=site.duration_minutes + site.buffer_after_minutes)
    if not shifts and outside_hours and clinician is not None and location is not None:
        # Reception's explicit override: the named clinician and place, off their hours.
        shifts = [Shift(clinician=clinician, location=location, start=start, end=until)]
    if not shifts:
        raise NotBookable(
            "That is not a time this consult can start. Please choose one of the times offered."
        )
    if prefer is not None:  # stable sort: the preferred clinician first, the rest by name
        shifts.sort(key=lambda shift: shift.clinician != prefer)
    for shift in shifts:
        try:
            with transaction.atomic():
                if _is_held(shift, start, until, exclude_pk):
                    continue
                return write(shift)
        except (IntegrityError, OperationalError) as error:
            if not _lost_a_race(error):
                raise
    raise SlotTaken(
        "Sorry, that time was just taken. Here are the nearest free times.",
        alternatives=nearest_free_slots(
            site=site,
            around=start,
            clinician_id=clinician.pk if clinician else None,
            location_id=location.pk if location else None,
            now=now,
            with_notice=online,
            ignoring_appointment=exclude_pk,
        ),
    )


def book_appointment(
    *,
    site: Site,
    start: datetime,
    patient: PatientDetails,
    source: AppointmentSource,
    clinician: Clinician | None = None,
    location: Location | None = None,
    baseline_pain: int | None = None,
    consent_email: bool = False,
    consent_sms: bool = False,
    notes: str = "",
    safety_answers: dict[str, Any] | None = None,
    booking_key: uuid.UUID | None = None,
    booking_fingerprint: str = "",
    outside_hours: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Book `start` for `patient`, or raise NotBookable or SlotTaken (with alternatives).

    Without a clinician, the first clinician (by name) free at that time is chosen. Online
    bookings keep the site's minimum notice; reception may book inside it. An online
    booking that matches a record leaves it as it was (`find_or_create_patient`). The
    patient is emailed a confirmation, at the record's address, once the booking commits.
    `outside_hours` (reception's audited override) books the given clinician and location
    at a time off their working hours; the time must still be free, and the database
    constraint still guards it.
    """
    online = source == AppointmentSource.ONLINE  # a form without a login
    now = now or timezone.now()

    def write(shift: Shift) -> Appointment:
        record = find_or_create_patient(
            patient, consent_email=consent_email, consent_sms=consent_sms, by_staff=not online
        )
        if online:
            check_online_bookings_limit(record, site, now=now)
        appointment = Appointment.objects.create(
            site=site,
            clinician=shift.clinician,
            location=shift.location,
            patient=record,
            start=start,
            end=start + timedelta(minutes=site.duration_minutes),
            blocked_until=start
            + timedelta(minutes=site.duration_minutes + site.buffer_after_minutes),
            source=source,
            baseline_pain=baseline_pain,
            notes=notes,
            booking_key=booking_key,
            booking_fingerprint=booking_fingerprint,
        )
        if online:
            keep_given_details(
                record,
                patient,
                consent_email=consent_email,
                consent_sms=consent_sms,
                appointment=appointment,
            )
        if safety_answers is not None:
            record_safety_answers(appointment=appointment, answers=safety_answers)
        announce(appointment, AppointmentChange.BOOKED, now)
        return appointment

    return _claim(
        site=site,
        start=start,
        clinician=clinician,
        location=location,
        exclude_pk=None,
        online=online,
        now=now,
        write=write,
        outside_hours=outside_hours,
    )


def book_appointment_once(
    *,
    booking_key: uuid.UUID | None,
    site: Site,
    patient: PatientDetails,
    booking_fingerprint: str = "",
    **booking: Any,
) -> Appointment:
    """`book_appointment` for a request that may arrive twice (a double click, a form sent
    again, an offer accepted twice): a repeat with the same key gets the appointment the
    first one booked, instead of failing on that appointment's own time or booking the
    patient a second one. A key that booked another patient or site (a form reused after
    the browser's Back button) is refused with NotBookable, and nothing is booked. Without
    a key (a client that sent none) it is `book_appointment`.

    A key a client chose (the API's Idempotency-Key) comes with `booking_fingerprint`, who
    sent what: only the same fingerprint gets the first booking; any other request with
    that key, or a key that booked without one, raises KeyReused."""
    if booking_key is None:
        return book_appointment(site=site, patient=patient, **booking)
    try:
        return book_appointment(
            booking_key=booking_key,
            booking_fingerprint=booking_fingerprint,
            site=site,
            patient=patient,
            **booking,
        )
    except (BookingError, IntegrityError):
        existing = (
            Appointment.objects.select_related("patient").filter(booking_key=booking_key).first()
        )
        if existing is None:
            raise
    if booking_fingerprint:
        if existing.booking_fingerprint != booking_fingerprint:
            raise KeyReused(
                "This Idempotency-Key was already used for another request, so nothing was "
                "booked. Send a new key for a new booking."
            )
    elif existing.site_id != site.pk or not _same_person(existing.patient, patient):
        raise NotBookable(
            "This form has already booked another visit, so nothing was booked. "
            "Open the page again to book this one."
        )
    return existing


def _same_person(patient: Patient, details: PatientDetails) -> bool:
    """Whether `details` name `patient`: by the rule `find_or_create_patient` matches on
    (birth date and email or phone), or by birth date and name."""
    if patient.date_of_birth != details.date_of_birth:
        return False
    email = normalise_email(details.email)
    phone = patient.phone.as_e164 if patient.phone else ""

    def name(text: str) -> str:
        return text.strip().casefold()

    return (
        bool(email and patient.email == email)
        or bool(details.phone and phone == details.phone)
        or (name(patient.first_name), name(patient.last_name))
        == (name(details.first_name), name(details.last_name))
    )


@dataclass(frozen=True)
class DeskBooking:
    """An appointment reception booked, and the rule it broke when reception booked it
    off the clinician's hours (empty when it broke none)."""

    appointment: Appointment
    overridden_rule: str = ""

    @property
    def override_summary(self) -> str:
        """The audit log's words for the override; empty when there was none."""
        if not self.overridden_rule:
            return ""
        return (
            f"Booked outside working hours for {self.appointment.patient} "
            f"({self.appointment.public_id}): {self.overridden_rule}"
        )


def book_at_desk(
    *,
    site: Site,
    start: datetime,
    clinician: Clinician,
    location: Location,
    patient: PatientDetails,
    consent_email: bool,
    consent_sms: bool,
    notes: str = "",
    booking_key: uuid.UUID | None = None,
    override_hours: bool = False,
    now: datetime | None = None,
) -> DeskBooking:
    """Book `start` with `clinician` at `location` for reception, by the booking rules.

    When the rules refuse the time (NotBookable) and reception chose `override_hours`, it
    is booked anyway off the clinician's working hours; it must still be free and not
    past. Raises NotBookable (without the override, the desk may offer it), SlotTaken or
    another BookingError. An override must reach the audit log: the caller records
    `override_summary` with its user and address.
    """
    booking: dict[str, Any] = {
        "booking_key": booking_key,
        "site": site,
        "start": start,
        "clinician": clinician,
        "location": location,
        "patient": patient,
        "source": AppointmentSource.RECEPTION,
        "consent_email": consent_email,
        "consent_sms": consent_sms,
        "notes": notes,
        "now": now,
    }
    try:
        return DeskBooking(book_appointment_once(**booking))
    except NotBookable as refused:
        if not override_hours:
            raise
        appointment = book_appointment_once(outside_hours=True, **booking)
        return DeskBooking(appointment, overridden_rule=refused.message)


def book_walk_in(
    *,
    site: Site,
    location: Location,
    patient: PatientDetails,
    consent_email: bool,
    consent_sms: bool,
    booking_key: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book a patient standing at the desk into the first start free today (the location's
    date) with any clinician of `site` there, the first by name when several are free; the
    minimum notice is for online bookings, so the next start will do. Raises NotBookable
    when no time is free today, or another BookingError."""
    now = now or timezone.now()
    today = now.astimezone(location.zone).date()
    slots = free_slots(
        site=site,
        first_day=today,
        last_day=today,
        location_id=location.pk,
        now=now,
        with_notice=False,
    )
    if not slots:
        raise NotBookable(f"Today no clinician is free for {site}.")
    first = slots[0]
    return book_appointment_once(
        booking_key=booking_key,
        site=site,
        start=first.start,
        patient=patient,
        source=AppointmentSource.RECEPTION,
        clinician=Clinician.objects.get(pk=first.clinician_id),
        location=location,
        consent_email=consent_email,
        consent_sms=consent_sms,
        now=now,
    )


def _check_patient_may_change(appointment: Appointment, now: datetime) -> None:
    notice = timedelta(hours=appointment.site.min_notice_hours)
    if appointment.start - now < notice:
        raise TooLateToChange(
            f"Your visit is less than {appointment.site.min_notice_hours} hours away, so it can "
            f"no longer be changed online. Please call the clinic on "
            f"{appointment.location.phone.as_national}."
        )


def _check_status(appointment: Appointment, allowed: set[str], action: str) -> None:
    if appointment.status not in allowed:
        raise TransitionNotAllowed(
            f"This appointment cannot be {action}: its status is "
            f"{appointment.get_status_display().lower()}."
        )


@transaction.atomic
def reschedule_appointment(
    *,
    appointment: Appointment,
    start: datetime,
    by_patient: bool,
    clinician: Clinician | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move a booked appointment to `start` (same site and location), by the booking rules.

    Without a clinician, the appointment's own clinician keeps it when free at `start`.
    The row is re-read under lock, so a copy loaded before a cancellation cannot move it.
    """
    now = now or timezone.now()
    appointment = (
        # The appointment's row alone: locking the joined clinician, site, location and
        # patient too would block every concurrent booking that refers to them (and
        # deadlock with those that wait on this one's time).
        Appointment.objects.select_for_update(of=("self",))
        .select_related("site", "location", "clinician", "patient")
        .get(pk=appointment.pk)
    )
    _check_status(appointment, {AppointmentStatus.BOOKED}, "rescheduled")
    if by_patient:
        _check_patient_may_change(appointment, now)
    site = appointment.site
    # Read before `write` changes the instance: a retried write sees the new values.
    left_start, left_clinician = appointment.start, appointment.clinician

    def write(shift: Shift) -> Appointment:
        appointment.clinician = shift.clinician
        appointment.start = start
        appointment.end = start + timedelta(minutes=site.duration_minutes)
        appointment.blocked_until = appointment.end + timedelta(minutes=site.buffer_after_minutes)
        appointment.calendar_sequence += 1
        appointment.confirmed_at = None  # a confirmation was for the old time
        appointment.save(
            update_fields=[
                "clinician",
                "start",
                "end",
                "blocked_until",
                "calendar_sequence",
                "confirmed_at",
                "updated",
            ]
        )
        announce(appointment, AppointmentChange.RESCHEDULED, now)
        offer_freed_time(time_left(appointment, left_start, left_clinician), now=now)
        return appointment

    return _claim(
        site=site,
        start=start,
        clinician=clinician,
        location=appointment.location,
        exclude_pk=appointment.pk,
        online=by_patient,
        now=now,
        write=write,
        prefer=appointment.clinician,
    )


@transaction.atomic
def cancel_appointment(
    *, appointment: Appointment, reason: str = "", by_patient: bool, now: datetime | None = None
) -> Appointment:
    """Cancel a booked appointment, freeing its time; patients only outside the notice."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient")  # the email's address, read with the row
        .get(pk=appointment.pk)
    )
    now = now or timezone.now()
    _check_status(appointment, {AppointmentStatus.BOOKED}, "cancelled")
    if by_patient:
        _check_patient_may_change(appointment, now)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancellation_reason = reason.strip()
    appointment.calendar_sequence += 1
    appointment.save(
        update_fields=["status", "cancellation_reason", "calendar_sequence", "updated"]
    )
    announce(appointment, AppointmentChange.CANCELLED, now)
    offer_freed_time(appointment, now=now)
    return appointment


def check_visit_day_has_come(appointment: Appointment, now: datetime, action: str) -> None:
    """Arrival and completion happen in front of the patient, so not before the visit's
    date on the location's calendar (early on the day is fine). A visit completed days
    early would start its follow-up, check-ins and all, before the injection."""
    zone = appointment.location.zone
    if now.astimezone(zone).date() < appointment.start.astimezone(zone).date():
        raise TransitionNotAllowed(
            f"A visit can be {action} only on the day of the visit, not before."
        )


@transaction.atomic
def mark_arrived(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_status(appointment, {AppointmentStatus.BOOKED}, "marked arrived")
    check_visit_day_has_come(appointment, now or timezone.now(), "marked arrived")
    appointment.status = AppointmentStatus.ARRIVED
    appointment.save(update_fields=["status", "updated"])
    return appointment


@transaction.atomic
def mark_no_show(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """A booked patient who did not come: only once the visit's start has passed."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_status(appointment, {AppointmentStatus.BOOKED}, "marked as a no-show")
    if appointment.start > (now or timezone.now()):
        raise TransitionNotAllowed("A visit cannot be marked as a no-show before it starts.")
    appointment.status = AppointmentStatus.NO_SHOW
    appointment.save(update_fields=["status", "updated"])
    return appointment


def check_same_visit_day(appointment: Appointment, now: datetime, action: str) -> None:
    """An undo corrects a slip made at the desk, so only on the visit's own date on the
    location's calendar: later, the day's record stands."""
    zone = appointment.location.zone
    if now.astimezone(zone).date() != appointment.start.astimezone(zone).date():
        raise TransitionNotAllowed(f"A {action} can be undone only on the day of the visit.")


UNDO_NO_SHOW_TO = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


@transaction.atomic
def undo_no_show(
    *, appointment: Appointment, to: str = AppointmentStatus.BOOKED, now: datetime | None = None
) -> Appointment:
    """Take back a no-show the same day: the visit is booked again, or the patient arrived.

    A no-show freed its time, so the time must still be free: when another visit holds it
    now, nothing changes (the exclusion constraint refuses it on PostgreSQL whatever the
    check before it saw).
    """
    if to not in UNDO_NO_SHOW_TO:
        raise TransitionNotAllowed("A no-show can be undone to booked or arrived only.")
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=appointment.pk)
    )
    _check_status(appointment, {AppointmentStatus.NO_SHOW}, "undone")
    check_same_visit_day(appointment, now or timezone.now(), "no-show")
    taken = TransitionNotAllowed(
        "The no-show cannot be undone: its time has been given to another visit since."
    )
    held = (
        Appointment.objects.active()
        .filter(clinician_id=appointment.clinician_id)
        .overlapping(appointment.start, appointment.blocked_until)
        .exclude(pk=appointment.pk)
    )
    if held.exists():
        raise taken
    appointment.status = to
    try:
        with transaction.atomic():
            appointment.save(update_fields=["status", "updated"])
    except IntegrityError as error:
        if NO_OVERLAP_CONSTRAINT in str(error):
            raise taken from error
        raise
    return appointment


@transaction.atomic
def undo_arrival(*, appointment: Appointment) -> Appointment:
    """Take back an arrival marked by mistake: booked again, while the visit is not
    completed (a completed visit has its procedure and follow-up)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_status(appointment, {AppointmentStatus.ARRIVED}, "undone")
    appointment.status = AppointmentStatus.BOOKED
    appointment.save(update_fields=["status", "updated"])
    return appointment
