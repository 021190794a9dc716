"""The message outbox and what feeds it.

Principle: the database is the schedule. Every reminder (and, later, every check-in) is
a Message row with a due time before it is anything else; a dispatcher claims due rows
and hands each to a send task. Rescheduling a visit is an UPDATE of due times.
"""

import uuid

from django.db import models
from django.db.models import Q

from booking.models import Appointment, Patient, Site


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class MessageKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"


class MessageState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


PENDING_STATES = (MessageState.SCHEDULED, MessageState.SENDING)


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

    kind = models.CharField(max_length=20, choices=MessageKind.choices)
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
    scheduled -> sending -> sent | failed, or to cancelled / skipped before sending."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # For reminders, which step of the plan this is: 72 h and 24 h by email are two rows.
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
                fields=["appointment", "kind", "channel", "minutes_before"],
                name="message_one_per_appointment_kind_channel_step",
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
            # "What is due now" reads only pending rows, however many wait in the future
            # or lie sent in the past.
            models.Index(
                fields=["due_at"],
                name="message_pending_due",
                condition=Q(state__in=PENDING_STATES),
            ),
            # Failed rows for operators (list_stuck_messages, the admin filter): few, and
            # found without reading the history of sent ones.
            models.Index(
                fields=["due_at"],
                name="message_failed_due",
                condition=Q(state=MessageState.FAILED),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.channel} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def patient(self) -> Patient:
        return self.appointment.patient


class DispatcherRun(models.Model):
    """When the dispatcher last ran, for /healthz. One row, updated in place."""

    finished_at = models.DateTimeField()
    claimed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Dispatcher ran at {self.finished_at:%Y-%m-%d %H:%M:%S}"


class InboundOutcome(models.TextChoices):
    OPTED_OUT = "opted_out", "Opted out of texts"
    OPTED_IN = "opted_in", "Opted in to texts"
    CONFIRMED = "confirmed", "Confirmed the next appointment"
    NOTHING_TO_CONFIRM = "nothing_to_confirm", "No appointment to confirm"
    HELP = "help", "Answered with help"
    UNKNOWN_NUMBER = "unknown_number", "Number of no patient"


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
