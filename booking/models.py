"""The clinic catalogue: locations, injection sites, clinicians and their schedules."""

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from booking.formats import clock
from booking.validators import validate_time_zone


class Location(models.Model):
    """A clinic building. Every wall-clock rule (hours, reminders) lives in its zone."""

    name = models.CharField(max_length=100, unique=True)
    address = models.TextField()
    phone = PhoneNumberField()
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA name, e.g. America/New_York"
    )
    # Who hears of a red flag on a check-in of a visit here (followup.alerts).
    alert_email = models.EmailField(
        blank=True,
        help_text="Emailed every red-flag alert of this location's patients; "
        "empty: the clinic's CLINIC_ALERT_EMAIL.",
    )
    on_call_name = models.CharField(max_length=100, blank=True)
    on_call_email = models.EmailField(
        blank=True, help_text="Gets the alerts no one acknowledged in time, until someone does."
    )
    on_call_phone = PhoneNumberField(
        blank=True, help_text="Mobile, E.164: the escalated alerts are texted here too."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class SiteQuerySet(models.QuerySet["Site"]):
    def active(self) -> "SiteQuerySet":
        return self.filter(is_active=True)


class Site(models.Model):
    """An injection site: what a patient books by, with its booking rules."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    duration_minutes = models.PositiveSmallIntegerField(help_text="Length of the consult.")
    description = models.TextField(help_text="Shown to patients choosing a site.")
    instructions = models.TextField(help_text="Preparation instructions sent to patients.")
    is_active = models.BooleanField(default=True)
    min_notice_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Earliest booking, cancellation or change before the visit."
    )
    max_advance_days = models.PositiveSmallIntegerField(
        default=90, help_text="How far ahead patients may book."
    )
    slot_step_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="Start times are offered on this grid from the start of hours."
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Time kept free after each consult (cleaning, notes)."
    )

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="site_duration_positive"
            ),
            models.CheckConstraint(condition=Q(slot_step_minutes__gt=0), name="site_step_positive"),
            models.CheckConstraint(
                condition=Q(max_advance_days__gt=0), name="site_max_advance_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Clinician(models.Model):
    """A staff member who performs injections at some sites and locations."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician"
    )
    display_name = models.CharField(max_length=100)
    sites = models.ManyToManyField(Site, related_name="clinicians", blank=True)
    locations = models.ManyToManyField(Location, related_name="clinicians", blank=True)
    is_active = models.BooleanField(default=True)
    mobile_phone = PhoneNumberField(blank=True, help_text="Mobile, E.164.")
    alert_texts_agreed = models.BooleanField(
        default=False,
        verbose_name="agreed to alert texts",
        help_text="Red-flag alerts on their patients' check-ins are texted to the mobile too.",
    )

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(alert_texts_agreed=False) | ~Q(mobile_phone=""),
                name="clinician_alert_texts_need_a_mobile",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        if self.alert_texts_agreed and not self.mobile_phone:
            raise ValidationError({"mobile_phone": "Give the mobile the alerts are texted to."})


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def intervals_overlap(start_a: time, end_a: time, start_b: time, end_b: time) -> bool:
    """Half-open intervals: 08:00-12:00 and 12:00-17:00 touch but do not overlap."""
    return start_a < end_b and start_b < end_a


class WorkingHours(models.Model):
    """One interval of a clinician's regular week at a location, in local wall-clock time."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["clinician", "weekday", "start_time"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="working_hours_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_valid"
            ),
            models.UniqueConstraint(
                fields=["clinician", "weekday", "start_time"], name="working_hours_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinician} {self.get_weekday_display()} {self.start_time}-{self.end_time}"

    def clean(self) -> None:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end must be after the start."})
        if self.clinician_id is None or self.weekday is None or not self.start_time:
            return
        # A clinician is in one place at a time, so intervals on the same weekday must not
        # overlap at any location.
        same_day = WorkingHours.objects.filter(
            clinician_id=self.clinician_id, weekday=self.weekday
        ).exclude(pk=self.pk)
        for other in same_day:
            if intervals_overlap(self.start_time, self.end_time, other.start_time, other.end_time):
                raise ValidationError(
                    f"These hours overlap {clock(other.start_time)} to {clock(other.end_time)} "
                    f"on {self.get_weekday_display()}."
                )


class ScheduleException(models.Model):
    """Hours on one date that replace the clinician's regular hours at that location.

    Rows with times are the hours worked that day (extra or changed hours); a row
    without times means not working at that location that day.
    """

    clinician = models.ForeignKey(
        Clinician, on_delete=models.CASCADE, related_name="schedule_exceptions"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="schedule_exceptions"
    )
    date = models.DateField()
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "clinician", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__isnull=True, end_time__isnull=True)
                | Q(
                    start_time__isnull=False,
                    end_time__isnull=False,
                    end_time__gt=F("start_time"),
                ),
                name="schedule_exception_times_valid",
            ),
        ]

    def __str__(self) -> str:
        if self.start_time is None:
            return f"{self.clinician} off on {self.date}"
        return f"{self.clinician} {self.date} {self.start_time}-{self.end_time}"

    def clean(self) -> None:
        if (self.start_time is None) != (self.end_time is None):
            raise ValidationError("Give both a start and an end, or neither for a day off.")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end must be after the start."})


class Block(models.Model):
    """Time a clinician cannot be booked: time off, a meeting."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", "Time off"
        MEETING = "meeting", "Meeting"
        OTHER = "other", "Other"

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="blocks")
    start = models.DateTimeField()
    end = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["clinician", "start"])]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="block_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.clinician}: {self.reason}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})


class Patient(models.Model):
    """A person who books; patients have no account. Matched by birth date plus contact."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True, help_text="Stored lower-case, for matching.")
    phone = PhoneNumberField(blank=True, help_text="Mobile, E.164.")
    consent_email = models.BooleanField(default=False, help_text="Agreed to email reminders.")
    consent_sms = models.BooleanField(default=False, help_text="Agreed to SMS reminders.")
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set when this duplicate record was merged into another; it is kept only "
        "because the audit log refers to it.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["date_of_birth", "email"]),
            models.Index(fields=["date_of_birth", "phone"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone="") | Q(merged_into__isnull=False),
                name="patient_has_email_or_phone",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="patient_not_merged_into_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Matching compares emails exactly, so every path (admin included) stores them folded.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def pending_given_details(self) -> "models.QuerySet[GivenDetails]":
        """Details given online that wait for reception (see GivenDetails)."""
        return self.given_details.filter(state=GivenDetailsState.PENDING).select_related(
            "appointment__site"
        )


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"


# Statuses that hold the clinician's time. The PostgreSQL exclusion constraint in
# migration 0004 names the same values: change both together.
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED)


class AppointmentSource(models.TextChoices):
    ONLINE = "online", "Online"
    RECEPTION = "reception", "Reception"


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> "AppointmentQuerySet":
        return self.filter(status__in=ACTIVE_STATUSES)

    def overlapping(self, start: datetime, until: datetime) -> "AppointmentQuerySet":
        """Appointments whose held time [start, blocked_until) meets [start, until)."""
        return self.filter(start__lt=until, blocked_until__gt=start)


class Appointment(models.Model):
    """A booked consult.

    `blocked_until` is the end plus the site's buffer: the time the clinician is held.
    On PostgreSQL an exclusion constraint (migration 0004) forbids two active appointments
    of one clinician whose [start, blocked_until) ranges overlap, whatever the code path.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    blocked_until = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    cancellation_reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=20, choices=AppointmentSource.choices)
    baseline_pain = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Pain (NRS 0-10) the patient reported when booking."
    )
    notes = models.TextField(blank=True, max_length=2000)
    booking_key = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Set by the booking form, so a form submitted twice books once.",
    )
    booking_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="For an API Idempotency-Key: an HMAC of the client and the request that "
        "booked, which a repeat must match to be given this appointment.",
    )
    calendar_sequence = models.PositiveIntegerField(
        default=0, help_text="iCalendar SEQUENCE: raised on every change sent to the patient."
    )
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the patient confirmed by text (reply C)."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["clinician", "start"]), models.Index(fields=["start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="appointment_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(blocked_until__gte=F("end")), name="appointment_buffer_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(baseline_pain__isnull=True)
                | Q(baseline_pain__gte=0, baseline_pain__lte=10),
                name="appointment_baseline_pain_0_10",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} with {self.clinician} at {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(self.location.zone)

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(self.location.zone)

    @property
    def booked_as(self) -> "GivenDetails | Patient":
        """Whom the booking's own pages and calendar file name: the details given with it
        when they differ from the record it matched (what the caller typed), else the
        record. Never the record's details to a caller who typed others."""
        given: GivenDetails | None = getattr(self, "given_details", None)
        return given or self.patient


# The fields applying given details may change. Names are shown, not applied: a name
# typed another way (Bob for Robert) is rarely a reason to change the record's.
GIVEN_CONTACT_FIELDS = ("email", "phone", "consent_email", "consent_sms")


@dataclass(frozen=True)
class Difference:
    """One detail given online that is not what the record holds."""

    field: str
    label: str
    on_record: str
    given: str

    @property
    def applies(self) -> bool:
        return self.field in GIVEN_CONTACT_FIELDS


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, PhoneNumber):
        return str(value.as_international)
    return str(value) or "\N{EN DASH}"


class GivenDetailsState(models.TextChoices):
    PENDING = "pending", "Waiting for reception"
    APPLIED = "applied", "Applied to the record"
    KEPT = "kept", "Record kept as it was"


class GivenDetails(models.Model):
    """Details typed into an online form (a booking, joining the waitlist) that differ from
    the patient record the form matched. A request without a login never changes a record:
    what it gave waits here, with its booking, until reception applies it (audited) or keeps
    the record as it was."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="given_details")
    appointment = models.OneToOneField(
        Appointment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="given_details",
        help_text="The booking they were given with; none when given joining the waitlist.",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    consent_email = models.BooleanField(help_text="Asked for email reminders.")
    consent_sms = models.BooleanField(help_text="Asked for SMS reminders.")
    state = models.CharField(
        max_length=10, choices=GivenDetailsState.choices, default=GivenDetailsState.PENDING
    )
    created = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]
        verbose_name_plural = "given details"
        indexes = [models.Index(fields=["patient", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=GivenDetailsState.values), name="given_details_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state=GivenDetailsState.PENDING) | Q(resolved_at__isnull=False),
                name="given_details_resolved_at_when_resolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def differences(self) -> list[Difference]:
        """What these details ask to change on the patient's record. A contact detail left
        empty asks for nothing (a patient who types only an email does not remove the
        record's phone), and a consent counts only with the contact it is for."""
        patient = self.patient
        wanted: list[tuple[str, str]] = []
        if self.first_name != patient.first_name:
            wanted.append(("first_name", "First name"))
        if self.last_name != patient.last_name:
            wanted.append(("last_name", "Last name"))
        if self.email and self.email != patient.email:
            wanted.append(("email", "Email"))
        if self.phone and self.phone != patient.phone:
            wanted.append(("phone", "Mobile phone"))
        if self.email and self.consent_email != patient.consent_email:
            wanted.append(("consent_email", "Email reminders"))
        if self.phone and self.consent_sms != patient.consent_sms:
            wanted.append(("consent_sms", "SMS reminders"))
        return [
            Difference(field, label, _shown(getattr(patient, field)), _shown(getattr(self, field)))
            for field, label in wanted
        ]


class Pregnancy(models.TextChoices):
    NO = "no", "No"
    YES = "yes", "Yes"
    POSSIBLY = "possibly", "Possibly"
    NOT_APPLICABLE = "not_applicable", "Does not apply to me"


class SafetyAnswers(models.Model):
    """The patient's answers to the pre-procedure safety questions for one appointment.

    Clinical: shown to staff as flags, never put in an email or SMS.
    """

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="safety_answers"
    )
    takes_blood_thinners = models.BooleanField()
    blood_thinner_names = models.CharField(max_length=200, blank=True)
    allergy_local_anaesthetic = models.BooleanField()
    allergy_steroid = models.BooleanField()
    allergy_latex = models.BooleanField()
    allergy_iodine = models.BooleanField()
    pregnancy = models.CharField(max_length=20, choices=Pregnancy.choices)
    diabetes = models.BooleanField()
    infection_or_fever = models.BooleanField()
    recent_steroid_injection = models.BooleanField(
        help_text="A steroid injection elsewhere in the last three months."
    )
    has_driver = models.BooleanField(help_text="Someone can drive the patient home.")
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "safety answers"

    def __str__(self) -> str:
        return f"Safety answers for {self.appointment.public_id}"

    @property
    def flags(self) -> list[str]:
        """Short labels for staff, in the order a clinician would want to read them."""
        flags = []
        if self.infection_or_fever:
            flags.append("Infection or fever")
        if self.takes_blood_thinners:
            names = f": {self.blood_thinner_names}" if self.blood_thinner_names else ""
            flags.append(f"Blood thinners{names}")
        allergies = [
            name
            for name, present in (
                ("local anaesthetic", self.allergy_local_anaesthetic),
                ("steroid", self.allergy_steroid),
                ("latex", self.allergy_latex),
                ("iodine", self.allergy_iodine),
            )
            if present
        ]
        if allergies:
            flags.append(f"Allergy: {', '.join(allergies)}")
        if self.pregnancy in {Pregnancy.YES, Pregnancy.POSSIBLY}:
            flags.append(f"Pregnancy: {self.get_pregnancy_display().lower()}")
        if self.diabetes:
            flags.append("Diabetes")
        if self.recent_steroid_injection:
            flags.append("Steroid injection in last 3 months")
        if not self.has_driver:
            flags.append("No driver home")
        return flags


# --- The reception desk: waitlist, audit log, calendar feeds ------------------------------


class TimeOfDay(models.TextChoices):
    MORNING = "morning", "Morning (before 12:00)"
    AFTERNOON = "afternoon", "Afternoon (12:00 to 17:00)"
    EVENING = "evening", "Evening (after 17:00)"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


class WaitlistEntry(models.Model):
    """A patient waiting for an earlier or better time at a site."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="waitlist")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="waitlist")
    clinician = models.ForeignKey(
        Clinician, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    preferred_weekdays = models.JSONField(
        default=list, blank=True, help_text="Weekday numbers (0 = Monday); empty means any day."
    )
    preferred_times = models.JSONField(
        default=list, blank=True, help_text="Times of day (TimeOfDay values); empty means any."
    )
    source = models.CharField(max_length=20, choices=AppointmentSource.choices)
    status = models.CharField(
        max_length=20, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    notes = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]
        verbose_name_plural = "waitlist entries"
        indexes = [
            models.Index(
                fields=["site", "created"],
                name="waitlist_waiting_by_site",
                condition=Q(status="waiting"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.site}"


class OfferState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    GONE = "gone", "Taken by someone else"
    EXPIRED = "expired", "Expired"


class WaitlistOffer(models.Model):
    """A freed time offered to a waiting patient, held until `expires_at`.

    Several patients may hold offers for the same time; accepting books through the
    booking functions, so the exclusion constraint lets only the first one have it.
    """

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=OfferState.choices, default=OfferState.PENDING)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    # When the offer went out, on at least one of the patient's channels; empty until then.
    # Offers still pending and empty are sent by a sweep, so a worker lost between making
    # an offer and sending it, or a provider that is down, delays the offer: never loses it.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "start", "clinician"], name="waitlist_offer_once_per_time"
            )
        ]
        indexes = [
            # The sweep reads only the offers still to send, not the history of sent ones.
            models.Index(
                fields=["expires_at"],
                name="waitlist_offer_unsent",
                condition=Q(state=OfferState.PENDING, notified_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Offer of {self.start:%Y-%m-%d %H:%M} to {self.entry.patient} ({self.state})"


class AuditEvent(models.Model):
    """Who viewed or changed which patient's data, when and from where. Append-only:
    the model refuses updates and deletes, and on PostgreSQL so does a trigger."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"
        EXPORT = "export", "Exported"
        OVERRIDE = "override", "Overrode a rule"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "at"]), models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only.")


class CalendarFeed(models.Model):
    """A clinician's private, read-only iCal feed. Revoking replaces the token."""

    clinician = models.OneToOneField(
        Clinician, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.clinician}"
