"""The message outbox and what feeds it.

Principle: the database is the schedule. Every reminder and every check-in
is a Message row with a due time before it is anything else; a dispatcher claims due rows
and hands each to a send task. Rescheduling a visit is an UPDATE of due times.
"""

import uuid
from datetime import datetime
from typing import TypeVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from booking.models import Appointment, Patient, Site, WaitlistOffer

_T = TypeVar("_T")


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class MessageKind(models.TextChoices):
    """Every message the clinic sends; followup.message_kinds holds each kind's rules."""

    REMINDER = "reminder", "Reminder"
    CHECK_IN = "check_in", "Check-in"
    CHECK_IN_REMINDER = "check_in_reminder", "Check-in reminder"
    CHECK_IN_RESENT = "check_in_resent", "Check-in sent again"
    APPOINTMENT_BOOKED = "appointment_booked", "Booking confirmation"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled", "New time confirmation"
    APPOINTMENT_CANCELLED = "appointment_cancelled", "Cancellation"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    WAITLIST_OFFER_GONE = "waitlist_offer_gone", "Offered time gone"
    ALERT = "alert", "Red-flag alert"
    ALERT_ESCALATION = "alert_escalation", "Red-flag alert escalated"


class MessageState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


class ReminderStep(models.Model):
    """One reminder of a site's plan: how long before the visit, by which channel."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="reminder_steps")
    minutes_before = models.PositiveIntegerField(help_text="72 hours is 4320 minutes.")
    channel = models.CharField(max_length=10, choices=Channel.choices)

    class Meta:
        ordering = ["site", "-minutes_before", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "minutes_before", "channel"], name="reminder_step_unique"
            ),
            models.CheckConstraint(
                condition=Q(minutes_before__gt=0), name="reminder_step_before_visit"
            ),
        ]

    def __str__(self) -> str:
        hours, minutes = divmod(self.minutes_before, 60)
        lead = f"{hours} h" if not minutes else f"{self.minutes_before} min"
        return f"{self.site}: {lead} before, by {self.get_channel_display()}"


class MessageTemplate(models.Model):
    """Wording of a message, editable by clinic admins.

    Rendered with first_name, clinic_name, date, time and link only: nothing clinical.
    """

    kind = models.CharField(max_length=30, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Email only.")
    body = models.TextField(
        help_text="Django template; variables: first_name, clinic_name, date, time, link."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel"], name="message_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()}"


class Message(models.Model):
    """One message to send: the outbox row. Its state moves
    scheduled -> sending -> sent | failed, or to cancelled / skipped before sending.

    What it is about: a visit (reminders, appointment emails), a check-in, a waitlist
    offer or a red-flag alert. To whom: a patient (`patient`: their consents and SMS caps
    apply), or a member of staff (an alert's messages: `patient` is empty).
    """

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    # Set for check-ins and their reminders: the time point the message asks about.
    # No index of its own: message_one_per_check_in_kind_channel leads with it, and a
    # claim or send rewrites every index entry of its row, so each index costs every send.
    check_in = models.ForeignKey(
        "CheckIn",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
    )
    waitlist_offer = models.ForeignKey(
        "booking.WaitlistOffer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # led by message_one_per_offer_kind_channel
    )
    alert = models.ForeignKey(
        "Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    kind = models.CharField(max_length=30, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # For reminders, which step of the plan this is: 72 h and 24 h by email are two rows.
    # For an alert's escalations, which round (1, 2, …).
    minutes_before = models.PositiveIntegerField(default=0)
    recipient = models.CharField(max_length=254)
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=20, choices=MessageState.choices, default=MessageState.SCHEDULED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider_message_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "minutes_before"],
                condition=Q(kind=MessageKind.REMINDER),
                name="message_one_reminder_per_step",
            ),
            models.UniqueConstraint(
                fields=["check_in", "kind", "channel"],
                condition=Q(kind__in=[MessageKind.CHECK_IN, MessageKind.CHECK_IN_REMINDER]),
                name="message_one_per_check_in_kind_channel",
            ),
            models.UniqueConstraint(
                fields=["waitlist_offer", "kind", "channel"],
                condition=Q(waitlist_offer__isnull=False),
                name="message_one_per_offer_kind_channel",
            ),
            # An alert's escalation round is planned once, however many of its messages
            # report being sent (followup.alerts.plan_next_round).
            models.UniqueConstraint(
                fields=["alert", "channel", "minutes_before"],
                condition=Q(kind=MessageKind.ALERT_ESCALATION),
                name="message_one_escalation_round_per_channel",
            ),
            # A patient's message names its patient; only staff alerts have none.
            models.CheckConstraint(
                condition=Q(patient__isnull=False) | Q(alert__isnull=False),
                name="message_has_patient_or_alert",
            ),
            models.CheckConstraint(
                condition=Q(state__in=MessageState.values), name="message_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state=MessageState.SENT) | Q(sent_at__isnull=False),
                name="message_sent_has_time",
            ),
        ]
        indexes = [
            # The claim reads only what it may claim, however many rows wait in the future
            # or lie sent in the past: scheduled rows by due time, and `sending` rows by
            # claim time (a stale claim is the first entry; rows in flight are never read).
            models.Index(
                fields=["due_at"],
                name="message_scheduled_due",
                condition=Q(state=MessageState.SCHEDULED),
            ),
            models.Index(
                fields=["claimed_at"],
                name="message_sending_claimed",
                condition=Q(state=MessageState.SENDING),
            ),
            # Failed rows for operators (list_stuck_messages, the admin filter): few, and
            # found without reading the history of sent ones.
            models.Index(
                fields=["due_at"],
                name="message_failed_due",
                condition=Q(state=MessageState.FAILED),
            ),
            # The SMS cap: a patient's texts sent in the last week.
            models.Index(
                fields=["patient", "sent_at"],
                name="message_sms_sent_by_patient",
                condition=Q(channel=Channel.SMS, state=MessageState.SENT),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.channel} due {self.due_at:%Y-%m-%d %H:%M}"

    # What the message is about, for the kinds that have it (followup.message_kinds).
    @property
    def visit(self) -> Appointment:
        return _required(self.appointment, "visit")

    @property
    def addressee(self) -> Patient:
        """The patient it goes to (every kind but staff alerts)."""
        return _required(self.patient, "patient")

    @property
    def time_point(self) -> "CheckIn":
        return _required(self.check_in, "check-in")

    @property
    def offer(self) -> WaitlistOffer:
        return _required(self.waitlist_offer, "waitlist offer")

    @property
    def red_flag(self) -> "Alert":
        return _required(self.alert, "alert")


def _required(value: _T | None, what: str) -> _T:
    if value is None:
        raise ValueError(f"This message has no {what}.")
    return value


class DispatcherRun(models.Model):
    """When the dispatcher last ran, for /healthz. One row, updated in place."""

    finished_at = models.DateTimeField()
    claimed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Dispatcher ran at {self.finished_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def last_finished_at(cls) -> datetime | None:
        run = cls.objects.filter(pk=1).first()
        return run.finished_at if run else None


class InboundOutcome(models.TextChoices):
    OPTED_OUT = "opted_out", "Opted out of texts"
    OPTED_IN = "opted_in", "Opted in to texts"
    CONFIRMED = "confirmed", "Confirmed the next appointment"
    NOTHING_TO_CONFIRM = "nothing_to_confirm", "No appointment to confirm"
    HELP = "help", "Answered with help"
    UNKNOWN_NUMBER = "unknown_number", "Number of no patient"
    PAIN_RECORDED = "pain_recorded", "Recorded a pain score"
    NO_OPEN_CHECK_IN = "no_open_check_in", "No check-in to answer"
    WARNING_SIGNS = "warning_signs", "Reported a warning sign"
    NO_WARNING_SIGNS = "no_warning_signs", "Reported none of the warning signs"


class InboundSms(models.Model):
    """One text a patient sent us, kept once per provider id.

    A provider retries a webhook it thinks failed; the unique `provider_sid` makes the
    retry find this row and answer with the same `reply`, changing nothing again.
    """

    provider_sid = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32, help_text="E.164 when it parses as a number.")
    body = models.TextField(blank=True)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=InboundOutcome.choices)
    reply = models.TextField(blank=True, help_text="What we answered; empty for none.")

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "inbound SMS"
        verbose_name_plural = "inbound SMS"

    def __str__(self) -> str:
        return f"SMS {self.provider_sid} ({self.get_outcome_display()})"


# --- After the injection: procedures, episodes, check-ins -------------------------------


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"
    MIDLINE = "midline", "Midline"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Injectate(models.TextChoices):
    SALINE = "saline", "Saline"
    LOCAL_ANAESTHETIC = "local_anaesthetic", "Local anesthetic (lidocaine)"
    CORTICOSTEROID = "corticosteroid", "Corticosteroid"
    BOTULINUM_TOXIN = "botulinum_toxin", "Botulinum toxin"


def _pain_between_0_and_10(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0, f"{field}__lte": 10}),
        name=name,
    )


class Procedure(models.Model):
    """What was injected at a completed appointment. It starts an episode."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="procedure"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="procedures")
    side = models.CharField(max_length=20, choices=Side.choices)
    trigger_points = models.PositiveSmallIntegerField(help_text="Number of points injected.")
    pain_before = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="NRS 0-10 just before injecting, if asked."
    )
    notes = models.TextField(blank=True, max_length=4000)
    performed_by = models.ForeignKey(
        "booking.Clinician", on_delete=models.PROTECT, related_name="procedures"
    )
    performed_at = models.DateTimeField()

    class Meta:
        ordering = ["-performed_at"]
        constraints = [
            _pain_between_0_and_10("pain_before", "procedure_pain_before_0_10"),
            models.CheckConstraint(
                condition=Q(trigger_points__gte=1), name="procedure_at_least_one_point"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} ({self.get_side_display()}) on {self.performed_at:%Y-%m-%d}"


class ProcedureInjectate(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="injectates")
    injectate = models.CharField(max_length=30, choices=Injectate.choices)
    dose = models.CharField(max_length=100, blank=True, help_text="e.g. 40 mg, 2 ml of 1 %")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "injectate"], name="procedure_injectate_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_injectate_display()} {self.dose}".strip()


class FollowUpStep(models.Model):
    """A check-in of a site's follow-up plan: N days after the procedure, at CHECK_IN_HOUR.

    `minutes_after` makes a step due that many minutes after the procedure instead, so a
    clinic (or a newcomer trying the product) can watch a check-in arrive without waiting.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="follow_up_steps")
    day = models.PositiveSmallIntegerField(help_text="The time point, in days after the injection.")
    minutes_after = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="For trying the plan out: due this many minutes after the procedure "
        "instead of on the day at the usual hour.",
    )

    class Meta:
        ordering = ["site", "day"]
        constraints = [
            models.UniqueConstraint(fields=["site", "day"], name="follow_up_step_unique"),
            models.CheckConstraint(condition=Q(day__gte=1), name="follow_up_step_after_day_0"),
        ]

    def __str__(self) -> str:
        return f"{self.site}: day {self.day}"


class EligibilityPolicy(models.Model):
    """A site's limits for one more injection there (followup.eligibility), edited by clinic
    admins on the site's page. Payers' rules differ by site, so each site has its own."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="eligibility_policy")
    min_weeks = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(1)],
        help_text="Weeks that must pass since the last injection at the site.",
    )
    max_per_year = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        verbose_name="max sessions in 12 months",
        help_text="Most sessions at the site in any 12 months, the next one included.",
    )
    relief_percent = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        verbose_name="relief %",
        help_text="Reduction of the NRS from baseline the last injection must have given.",
    )
    relief_weeks = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(1)],
        help_text="Weeks that relief must have lasted.",
    )

    class Meta:
        verbose_name = "repeat-injection limits"
        verbose_name_plural = "repeat-injection limits"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_weeks__gte=1), name="eligibility_policy_min_weeks_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_per_year__gte=1), name="eligibility_policy_max_per_year_positive"
            ),
            models.CheckConstraint(
                condition=Q(relief_percent__gte=1, relief_percent__lte=100),
                name="eligibility_policy_relief_percent_1_100",
            ),
            models.CheckConstraint(
                condition=Q(relief_weeks__gte=1), name="eligibility_policy_relief_weeks_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site}: repeat-injection limits"


class Episode(models.Model):
    """The follow-up period after one procedure; it owns its check-ins."""

    procedure = models.OneToOneField(Procedure, on_delete=models.CASCADE, related_name="episode")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="episodes")
    baseline_pain = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Pre-procedure NRS, else the score given at booking."
    )
    started_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [_pain_between_0_and_10("baseline_pain", "episode_baseline_0_10")]

    def __str__(self) -> str:
        return f"{self.site} episode of {self.patient} from {self.started_at:%Y-%m-%d}"


class CheckInState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class CheckIn(models.Model):
    """One time point of an episode at which the patient reports their pain."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="check_ins")
    day = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    state = models.CharField(
        max_length=20, choices=CheckInState.choices, default=CheckInState.SCHEDULED
    )
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["episode", "day"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "day"], name="check_in_one_per_day"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("due_at")), name="check_in_expires_after_due"
            ),
        ]
        indexes = [
            models.Index(fields=["episode", "due_at"]),
            # Every dispatcher tick expires what is past its time: it reads the check-ins
            # still waiting for an answer, not the history of answered ones.
            models.Index(
                fields=["expires_at"],
                name="check_in_scheduled_expiry",
                condition=Q(state=CheckInState.SCHEDULED),
            ),
        ]

    def __str__(self) -> str:
        return f"Day {self.day} check-in ({self.state})"


class Activity(models.TextChoices):
    MORE = "more", "More than before"
    SAME = "same", "About the same"
    LESS = "less", "Less than before"


class Medication(models.TextChoices):
    LESS = "less", "Less than before"
    SAME = "same", "About the same"
    MORE = "more", "More than before"


class Pgic(models.IntegerChoices):
    """Patient Global Impression of Change, 7 points."""

    VERY_MUCH_IMPROVED = 1, "Very much improved"
    MUCH_IMPROVED = 2, "Much improved"
    MINIMALLY_IMPROVED = 3, "Minimally improved"
    NO_CHANGE = 4, "No change"
    MINIMALLY_WORSE = 5, "Minimally worse"
    MUCH_WORSE = 6, "Much worse"
    VERY_MUCH_WORSE = 7, "Very much worse"


class SideEffect(models.TextChoices):
    """What a check-in asks about. An answer's list holds NONE when the patient said "none
    of these" to the warning signs; an empty list means the question was not answered
    (never read as no symptoms). WARNING_SIGN is a "Y" to the SMS question, which asks
    about every warning sign at once."""

    SORENESS = "soreness", "Soreness where the needle went in"
    BRUISING = "bruising", "Bruising"
    FLUSHING = "flushing", "Facial flushing"
    NUMBNESS = "numbness", "New numbness"
    WEAKNESS = "weakness", "New weakness"
    FEVER = "fever", "Fever or chills"
    REDNESS = "redness", "Redness, swelling or warmth at the injection site"
    POSITIONAL_HEADACHE = (
        "positional_headache",
        "A headache that gets worse when you sit or stand up",
    )
    CHEST = "chest", "Chest pain or breathlessness"
    ALLERGY = "allergy", "Hives, or swelling of the face, lips or throat"
    BOWEL_BLADDER = "bowel_bladder", "Loss of bowel or bladder control"
    PUS = "pus", "Pus or discharge from the injection site"
    RASH = "rash", "A rash"
    SEVERE_HEADACHE = "severe_headache", "A severe headache"
    WARNING_SIGN = "warning_sign", "One of the warning signs (answered Y by text)"
    OTHER = "other", "Something else"
    NONE = "none", "None of these"


class AnswerRoute(models.TextChoices):
    WEB = "web", "Web"
    SMS = "sms", "SMS"
    STAFF = "staff", "Entered by staff"


class CheckInAnswer(models.Model):
    """The patient's answer at one check-in. Replaceable for 24 hours, then locked."""

    check_in = models.OneToOneField(CheckIn, on_delete=models.CASCADE, related_name="answer")
    pain = models.PositiveSmallIntegerField(help_text="NRS 0-10, right now.")
    relief_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    pgic = models.PositiveSmallIntegerField(choices=Pgic.choices, null=True, blank=True)
    side_effects = models.JSONField(default=list, blank=True)
    activity = models.CharField(max_length=10, choices=Activity.choices, blank=True)
    medication = models.CharField(max_length=10, choices=Medication.choices, blank=True)
    comment = models.TextField(blank=True, max_length=2000)
    route = models.CharField(max_length=10, choices=AnswerRoute.choices)
    entered_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_answered_at = models.DateTimeField()
    answered_at = models.DateTimeField()
    late = models.BooleanField(default=False, help_text="Arrived after the check-in expired.")

    class Meta:
        constraints = [
            _pain_between_0_and_10("pain", "check_in_answer_pain_0_10"),
            models.CheckConstraint(
                condition=Q(relief_percent__isnull=True)
                | Q(relief_percent__gte=0, relief_percent__lte=100),
                name="check_in_answer_relief_0_100",
            ),
            models.CheckConstraint(
                condition=Q(pgic__isnull=True) | Q(pgic__gte=1, pgic__lte=7),
                name="check_in_answer_pgic_1_7",
            ),
        ]

    def __str__(self) -> str:
        return f"Pain {self.pain}/10 on day {self.check_in.day}"


class Alert(models.Model):
    """A red flag for the treating clinician: listed until acknowledged."""

    answer = models.ForeignKey(CheckInAnswer, on_delete=models.CASCADE, related_name="alerts")
    clinician = models.ForeignKey(
        "booking.Clinician", on_delete=models.PROTECT, related_name="alerts"
    )
    reasons = models.JSONField(help_text="The red-flag rules that fired, in words.")
    created = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(
                fields=["clinician", "created"],
                name="alert_open_by_clinician",
                condition=Q(acknowledged_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Alert for {self.clinician}: {', '.join(self.reasons)}"


# --- The outcomes page's read model (followup.outcome_facts) ----------------------------
#
# Rebuilt as a whole by `refresh_outcome_facts`, never written otherwise. The keys point at
# the source rows without foreign-key constraints: a rebuild replaces every row, and a
# deleted episode or check-in simply leaves the read model at the next refresh.


def _read_model_key(model: str | type[models.Model], **kwargs: object) -> models.ForeignKey:
    return models.ForeignKey(
        model,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        **kwargs,  # type: ignore[arg-type]
    )


class OutcomeEpisode(models.Model):
    """One episode as the outcomes page filters it, with its duration of relief."""

    episode = models.OneToOneField(
        Episode,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
    )
    site = _read_model_key(Site)
    clinician = _read_model_key("booking.Clinician")
    location = _read_model_key("booking.Location")
    procedure_date = models.DateField(db_index=True, help_text="In the clinic's TIME_ZONE.")
    injectates = models.PositiveSmallIntegerField(
        help_text="Bit set of the injectates (followup.outcome_facts.INJECTATE_BITS)."
    )
    baseline = models.PositiveSmallIntegerField(null=True)
    # Duration of relief as an interval (followup.clinical.relief_interval): it lasted at
    # least `relief_at_least` days (the last answer still relieved) and at most
    # `relief_at_most` (the first answer below after it began; null while it lasts). Both
    # null when relief never began or cannot be measured.
    relief_at_least = models.PositiveSmallIntegerField(null=True)
    relief_at_most = models.PositiveSmallIntegerField(null=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(relief_at_most__isnull=True)
                | Q(relief_at_least__isnull=False, relief_at_most__gt=F("relief_at_least")),
                name="outcome_episode_relief_ends_after_it_was_seen",
            )
        ]

    def __str__(self) -> str:
        return f"Outcomes of episode {self.episode_id}"


class OutcomeFact(models.Model):
    """One check-in as the outcomes page counts it: its episode's filters, its day,
    and the answer's figures (pain null when unanswered)."""

    check_in = models.OneToOneField(
        CheckIn,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
    )
    episode = _read_model_key(Episode, db_index=False)
    site = _read_model_key(Site)
    clinician = _read_model_key("booking.Clinician")
    location = _read_model_key("booking.Location")
    procedure_date = models.DateField(db_index=True)
    injectates = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField()
    baseline = models.PositiveSmallIntegerField(null=True)
    pain = models.PositiveSmallIntegerField(null=True)
    activity = models.CharField(max_length=10, choices=Activity.choices, blank=True)
    medication = models.CharField(max_length=10, choices=Medication.choices, blank=True)
    pgic = models.PositiveSmallIntegerField(choices=Pgic.choices, null=True)
    sent = models.BooleanField(help_text="Its check-in message was sent.")
    answered = models.BooleanField()
    # Until when the check-in could take a first answer: its expiry plus the late grace, or
    # its episode's closing if that came first; null when it was cancelled before it was
    # due (the patient was never asked).
    answerable_until = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(answered=True, pain__isnull=False)
                | Q(answered=False, pain__isnull=True),
                name="outcome_fact_pain_when_answered",
            )
        ]

    def __str__(self) -> str:
        return f"Day {self.day} of episode {self.episode_id}: pain {self.pain}"


class OutcomeRefresh(models.Model):
    """The one row that says when the read model was last rebuilt; refreshes lock it."""

    refreshed_at = models.DateTimeField(null=True)
    seconds = models.FloatField(null=True, help_text="How long the last rebuild took.")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="outcome_refresh_one_row")]

    def __str__(self) -> str:
        return f"Outcome figures refreshed at {self.refreshed_at}"
