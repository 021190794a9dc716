"""Each kind of message and its rules, written once.

Every message leaves through the one send path (`followup.sending`); what differs by kind
is here: to whom it goes (a patient, whose consents and SMS caps apply, or staff), whether
it waits out the quiet hours, until when it is worth sending, whether it is still wanted
when its turn comes, and what it says.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from booking.models import AppointmentStatus, OfferState, WaitlistOffer
from booking.notifications import AppointmentEvent, appointment_email
from booking.waitlist import OfferNotice, offer_message_text
from followup.alerts import alert_message_text, plan_next_round
from followup.channels import OutboundMessage
from followup.content import render_message, render_text
from followup.models import Channel, CheckInState, Message, MessageKind, MessageState
from followup.reminders import out_of_quiet_hours


@dataclass(frozen=True)
class KindRules:
    # To a patient: sent only by a channel the patient agreed to, and counted in their SMS
    # cap. Staff alerts ignore both: they go to a clinician or an on-call contact.
    to_patient: bool = True
    # A booking's own confirmations go to the address the booking gave, agreed or not:
    # they are the record of what was booked, not reminders.
    needs_consent: bool = True
    # Held back by the patient's SMS cap (over it: by email if agreed, else later).
    sms_capped: bool = True
    # Texts wait out 21:00-08:00 at the location, when planned and when retried.
    quiet_hours: bool = True


PATIENT_REMINDER = KindRules()
BOOKING_RECORD = KindRules(needs_consent=False, sms_capped=False)
WAITLIST = KindRules(sms_capped=False)
STAFF_ALERT = KindRules(to_patient=False, needs_consent=False, sms_capped=False, quiet_hours=False)

RULES: dict[str, KindRules] = {
    MessageKind.REMINDER: PATIENT_REMINDER,
    MessageKind.CHECK_IN: PATIENT_REMINDER,
    MessageKind.CHECK_IN_REMINDER: PATIENT_REMINDER,
    MessageKind.CHECK_IN_RESENT: PATIENT_REMINDER,
    MessageKind.APPOINTMENT_BOOKED: BOOKING_RECORD,
    MessageKind.APPOINTMENT_RESCHEDULED: BOOKING_RECORD,
    MessageKind.APPOINTMENT_CANCELLED: BOOKING_RECORD,
    MessageKind.WAITLIST_OFFER: WAITLIST,
    MessageKind.WAITLIST_OFFER_GONE: WAITLIST,
    MessageKind.ALERT: STAFF_ALERT,
    MessageKind.ALERT_ESCALATION: STAFF_ALERT,
}

APPOINTMENT_EVENTS = {
    MessageKind.APPOINTMENT_BOOKED: AppointmentEvent.BOOKED,
    MessageKind.APPOINTMENT_RESCHEDULED: AppointmentEvent.RESCHEDULED,
    MessageKind.APPOINTMENT_CANCELLED: AppointmentEvent.CANCELLED,
}
CHECK_IN_KINDS = {MessageKind.CHECK_IN, MessageKind.CHECK_IN_REMINDER, MessageKind.CHECK_IN_RESENT}
ALERT_KINDS = {MessageKind.ALERT, MessageKind.ALERT_ESCALATION}


# What a kind's rules and wording read, loaded with the message.
RELATED = (
    "appointment__location",
    "patient",
    "check_in",
    "waitlist_offer__location",
    "waitlist_offer__entry__patient",
    "alert",
)


def rules_of(message: Message) -> KindRules:
    return RULES[message.kind]


def zone_of(message: Message) -> ZoneInfo:
    """The location whose wall clock the message keeps (its visit's, or its offer's)."""
    if message.waitlist_offer_id is not None:
        return message.offer.location.zone
    return message.visit.location.zone


def next_try(message: Message, moment: datetime) -> datetime:
    """`moment`, or the end of the quiet hours it falls in for a kind that keeps them."""
    if not rules_of(message).quiet_hours:
        return moment
    return out_of_quiet_hours(moment, zone_of(message))


def useful_until(message: Message) -> datetime:
    """After this a retry is pointless: the visit has started, the check-in expired, the
    hold ended. An appointment email for a visit that is soon still has a day of retries
    (a walk-in's confirmation); an alert is worth sending until someone acts on it."""
    if message.kind in CHECK_IN_KINDS:
        return message.time_point.expires_at
    if message.kind == MessageKind.WAITLIST_OFFER:
        return message.offer.expires_at
    if message.kind == MessageKind.WAITLIST_OFFER_GONE:
        return message.offer.start
    if message.kind in ALERT_KINDS:
        return datetime.max.replace(tzinfo=timezone.get_current_timezone())
    if message.kind in APPOINTMENT_EVENTS:
        return max(message.visit.start, message.created + timedelta(days=1))
    return message.visit.start


def no_longer_wanted(message: Message) -> str:
    """Why a claimed message should not go out any more ('' if it should)."""
    if message.kind in CHECK_IN_KINDS:
        check_in = message.time_point
        if check_in.state != CheckInState.SCHEDULED:
            return f"The check-in is {check_in.get_state_display().lower()}."
        return ""
    if message.kind == MessageKind.WAITLIST_OFFER:
        offer = message.offer
        if offer.state != OfferState.PENDING:
            return f"The offer is {offer.get_state_display().lower()}."
        return "The offer's hold has ended." if offer.expires_at <= timezone.now() else ""
    if message.kind in ALERT_KINDS:
        return "The alert was acknowledged." if message.red_flag.acknowledged_at else ""
    reminder_of_a_visit_gone = (
        message.kind == MessageKind.REMINDER and message.visit.status != AppointmentStatus.BOOKED
    )
    return "The visit is no longer booked." if reminder_of_a_visit_gone else ""


def consented(message: Message) -> bool:
    rules = rules_of(message)
    if not rules.to_patient or not rules.needs_consent:
        return True
    patient = message.addressee
    return patient.consent_email if message.channel == Channel.EMAIL else patient.consent_sms


def _appointment_email(message: Message) -> OutboundMessage:
    email = appointment_email(message.visit, APPOINTMENT_EVENTS[MessageKind(message.kind)])
    return OutboundMessage(
        recipient=message.recipient,
        subject=str(email.subject),
        body=str(email.body),
        html_body=str(email.alternatives[0][0]),
        attachments=tuple(email.attachments),
        idempotency_key=str(message.idempotency_key),
    )


def _offer(message: Message) -> OutboundMessage:
    notice = OfferNotice.OFFER if message.kind == MessageKind.WAITLIST_OFFER else OfferNotice.GONE
    subject, body = offer_message_text(message.offer, notice)
    return render_text(message, subject=subject, body=body)


def _alert(message: Message) -> OutboundMessage:
    subject, body = alert_message_text(message)
    return render_text(message, subject=subject, body=body)


RENDERERS: dict[str, Callable[[Message], OutboundMessage]] = {
    MessageKind.APPOINTMENT_BOOKED: _appointment_email,
    MessageKind.APPOINTMENT_RESCHEDULED: _appointment_email,
    MessageKind.APPOINTMENT_CANCELLED: _appointment_email,
    MessageKind.WAITLIST_OFFER: _offer,
    MessageKind.WAITLIST_OFFER_GONE: _offer,
    MessageKind.ALERT: _alert,
    MessageKind.ALERT_ESCALATION: _alert,
}


def render(message: Message) -> OutboundMessage:
    """What `message` says: reminders and check-ins from their admin-edited wording."""
    return RENDERERS.get(message.kind, render_message)(message)


def record_outcome(message: Message, now: datetime) -> None:
    """What a message sent, or failed for good, changes besides itself. An offer counts as
    made once it has reached the patient (only then are they told when it is gone). An
    escalation of an alert still open plans the next round whether this one reached the
    on-call contact or failed: a number or mailbox that refuses must not end the chase."""
    if message.kind == MessageKind.WAITLIST_OFFER and message.state == MessageState.SENT:
        WaitlistOffer.objects.filter(pk=message.offer.pk, notified_at__isnull=True).update(
            notified_at=now
        )
    elif message.kind == MessageKind.ALERT_ESCALATION:
        plan_next_round(message, now=now)
