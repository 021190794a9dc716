"""Reminder rows for an appointment: planned at booking, moved on reschedule, cancelled
with the visit. Called inside the booking functions' transactions, so the appointment
and its messages change together or not at all."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from booking.models import Appointment, Patient
from followup.models import Channel, Message, MessageKind, MessageState, ReminderStep

QUIET_START = time(21)
QUIET_END = time(8)
PASSED_AT_BOOKING = "Its time had passed when the visit was booked or moved."
AFTER_VISIT = "Quiet hours pushed it past the visit."
NO_CONSENT = "The patient has not agreed to reminders by this channel."


def in_quiet_hours(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether `moment` falls between 21:00 and 08:00 local time, when nothing is sent."""
    return not QUIET_END <= moment.astimezone(zone).time() < QUIET_START


def out_of_quiet_hours(due: datetime, zone: ZoneInfo) -> datetime:
    """`due`, or 08:00 after it when it falls between 21:00 and 08:00 local time."""
    if not in_quiet_hours(due, zone):
        return due
    local = due.astimezone(zone)
    morning = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(morning, QUIET_END, tzinfo=zone)


def recipient_for(patient: Patient, channel: str) -> str | None:
    """Where to send by `channel`, or None when the patient has not agreed to it."""
    if channel == Channel.EMAIL:
        return patient.email if patient.consent_email and patient.email else None
    return str(patient.phone) if patient.consent_sms and patient.phone else None


def _desired(
    appointment: Appointment, step: ReminderStep, now: datetime
) -> tuple[datetime, str, str]:
    """(due time, state, skip reason) that this step should have now."""
    # In UTC: "72 hours before" is 72 elapsed hours, also across a change of the clocks.
    before = appointment.start.astimezone(UTC) - timedelta(minutes=step.minutes_before)
    due = out_of_quiet_hours(before, appointment.location.zone)
    if due >= appointment.start:
        return due, MessageState.SKIPPED, AFTER_VISIT
    if due < now:
        return due, MessageState.SKIPPED, PASSED_AT_BOOKING
    return due, MessageState.SCHEDULED, ""


def plan_reminders(appointment: Appointment, *, now: datetime | None = None) -> list[Message]:
    """Make the appointment's reminder rows match its site's plan and its current time.

    Sent, sending and failed rows stay as they are (a failure stays on record until staff
    send it again); the others are moved, skipped or brought back. A channel the patient
    has not agreed to gets no row at all.
    """
    now = now or timezone.now()
    existing = {
        (message.minutes_before, message.channel): message
        for message in Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER)
    }
    planned = []
    for step in ReminderStep.objects.filter(site=appointment.site):
        recipient = recipient_for(appointment.patient, step.channel)
        message = existing.get((step.minutes_before, step.channel))
        if recipient is None:
            if message is not None and message.state == MessageState.SCHEDULED:
                _set(message, state=MessageState.CANCELLED, skip_reason=NO_CONSENT)
            continue
        due, state, reason = _desired(appointment, step, now)
        if message is None:
            message = Message.objects.create(
                appointment=appointment,
                patient=appointment.patient,
                kind=MessageKind.REMINDER,
                channel=step.channel,
                minutes_before=step.minutes_before,
                recipient=recipient,
                due_at=due,
                state=state,
                skip_reason=reason,
            )
        elif message.state not in {MessageState.SENT, MessageState.SENDING, MessageState.FAILED}:
            _set(message, due_at=due, state=state, skip_reason=reason, recipient=recipient)
        planned.append(message)
    return planned


def cancel_reminders(appointment: Appointment) -> int:
    """Cancel the reminders not yet sent; return how many."""
    return Message.objects.filter(
        appointment=appointment, kind=MessageKind.REMINDER, state=MessageState.SCHEDULED
    ).update(state=MessageState.CANCELLED, skip_reason="The visit was cancelled.")


def _set(message: Message, **fields: object) -> None:
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=list(fields))
