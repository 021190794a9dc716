"""The messages a booking change causes, planned as outbox rows in its transaction.

booking announces what changed (booking.events); these receivers, connected when the app
is ready, plan the rows: reminders follow the visit, the patient's email records each
booking, change and cancellation, and a waitlist offer goes to its patient by each channel
they agreed to. The dispatcher sends them as it sends every message.
"""

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from booking.events import (
    AppointmentChange,
    appointment_changed,
    waitlist_offers_gone,
    waitlist_offers_made,
)
from booking.models import Appointment, WaitlistOffer
from booking.rates import may_email
from followup.models import Channel, Message, MessageKind, MessageState
from followup.reminders import cancel_reminders, out_of_quiet_hours, plan_reminders, recipient_for

EMAIL_OF_CHANGE = {
    AppointmentChange.BOOKED: MessageKind.APPOINTMENT_BOOKED,
    AppointmentChange.RESCHEDULED: MessageKind.APPOINTMENT_RESCHEDULED,
    AppointmentChange.CANCELLED: MessageKind.APPOINTMENT_CANCELLED,
}
OVER_RATE = "Over the address's limit of appointment emails (APPOINTMENT_EMAIL_RATE)."
QUIET_PAST_HOLD = "The quiet hours last past the hold."


@receiver(appointment_changed, dispatch_uid="followup.plan_visit_messages")
def plan_visit_messages(
    sender: type, *, appointment: Appointment, change: AppointmentChange, now: datetime, **_: Any
) -> None:
    if change == AppointmentChange.CANCELLED:
        cancel_reminders(appointment)
    else:
        plan_reminders(appointment, now=now)
    if change in EMAIL_OF_CHANGE:
        plan_appointment_email(appointment, EMAIL_OF_CHANGE[change], now=now)


def plan_appointment_email(appointment: Appointment, kind: str, *, now: datetime) -> Message | None:
    """The patient's email of a booking, change or cancellation (with its .ics), due now;
    None without an address. Past APPOINTMENT_EMAIL_RATE to one address it is skipped, so
    a form that books for anyone cannot fill someone's inbox; the booking itself stands."""
    address = appointment.patient.email
    if not address:
        return None
    flooded = not may_email(address)
    return Message.objects.create(
        appointment=appointment,
        patient=appointment.patient,
        kind=kind,
        channel=Channel.EMAIL,
        recipient=address,
        due_at=now,
        state=MessageState.SKIPPED if flooded else MessageState.SCHEDULED,
        skip_reason=OVER_RATE if flooded else "",
    )


@receiver(waitlist_offers_made, dispatch_uid="followup.plan_offers")
def plan_offers(sender: type, *, offers: list[WaitlistOffer], now: datetime, **_: Any) -> None:
    for offer in offers:
        plan_offer_messages(offer, MessageKind.WAITLIST_OFFER, now=now)


@receiver(waitlist_offers_gone, dispatch_uid="followup.plan_offers_gone")
def plan_offers_gone(sender: type, *, offers: list[WaitlistOffer], now: datetime, **_: Any) -> None:
    """Tell each patient whose offer reached them; one whose offer never went out is not
    told that a time they never heard of has gone."""
    for offer in offers:
        if offer.notified_at is not None:
            plan_offer_messages(offer, MessageKind.WAITLIST_OFFER_GONE, now=now)


def plan_offer_messages(offer: WaitlistOffer, kind: str, *, now: datetime) -> list[Message]:
    """One row per channel the patient agreed to: the email at once, a text out of the
    quiet hours (skipped if they last past the hold)."""
    patient = offer.entry.patient
    planned = []
    for channel in (Channel.EMAIL, Channel.SMS):
        recipient = recipient_for(patient, channel)
        if recipient is None:
            continue
        due = now if channel == Channel.EMAIL else out_of_quiet_hours(now, offer.location.zone)
        too_late = due >= offer.expires_at
        message, _ = Message.objects.get_or_create(
            waitlist_offer=offer,
            kind=kind,
            channel=channel,
            defaults={
                "patient": patient,
                "recipient": recipient,
                "due_at": due,
                "state": MessageState.SKIPPED if too_late else MessageState.SCHEDULED,
                "skip_reason": QUIET_PAST_HOLD if too_late else "",
            },
        )
        planned.append(message)
    return planned
