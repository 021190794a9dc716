"""Red-flag alerts on the staff side: telling staff, escalating, who may clear one, and
clearing it.

Alerts are raised by `followup.checkins.record_answer`, which plans their messages in the
same transaction: outbox rows, sent and retried as every message is. At once, the treating
clinician (by email, and by text where they gave a mobile and agreed) and the location's
alert contact are told. An alert no one acknowledges escalates to the location's on-call
contact, ALERT_ESCALATE_AFTER_MINUTES after it was raised in clinic hours (at once after
hours), then again every ALERT_REPEAT_MINUTES: each round is planned when the one before
is sent. The alert stays on the dashboards until someone acknowledges it; who did, and
when, is kept, and its messages not sent yet are cancelled.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from booking.audit import record
from booking.availability import in_clinic_hours
from booking.formats import clock, short_day
from booking.models import Appointment, AuditEvent, Location
from booking.notifications import absolute_url
from booking.roles import CLINIC_ADMIN, CLINICIAN, has_role
from followup.models import Alert, Channel, Message, MessageKind, MessageState

Contact = tuple[str, str]  # (channel, address)


class NotAllowedToAcknowledge(Exception):
    """Only the treating clinician, or a clinic admin, clears an alert."""


def may_acknowledge(user: AbstractBaseUser | AnonymousUser, alert: Alert) -> bool:
    """The treating clinician and clinic admins (superusers pass every role)."""
    if has_role(user, CLINIC_ADMIN):
        return True
    return has_role(user, CLINICIAN) and alert.clinician.user_id == user.pk


@transaction.atomic
def acknowledge_alert(
    *, alert: Alert, user: AbstractBaseUser | AnonymousUser, now: datetime | None = None
) -> Alert:
    """Mark the alert seen by `user`. A second acknowledgement changes nothing: the first
    person and time are the ones kept."""
    alert = (
        Alert.objects.select_for_update(of=("self",)).select_related("clinician").get(pk=alert.pk)
    )
    if not may_acknowledge(user, alert):
        raise NotAllowedToAcknowledge("Only the treating clinician or a clinic admin may.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now or timezone.now()
        alert.acknowledged_by = user  # type: ignore[assignment]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        Message.objects.filter(alert=alert, state=MessageState.SCHEDULED).update(
            state=MessageState.CANCELLED, skip_reason="The alert was acknowledged."
        )
    return alert


def acknowledge_and_audit(request: HttpRequest, alert: Alert) -> bool:
    """Acknowledge `alert` as the request's user, kept in the audit log; False when someone
    had acknowledged it already (nothing changed, nothing logged)."""
    now = timezone.now()
    alert = acknowledge_alert(alert=alert, user=request.user, now=now)
    if alert.acknowledged_at != now:
        return False
    raised = alert.created.astimezone(visit_of(alert).location.zone)
    record(
        request,
        action=AuditEvent.Action.CHANGE,
        summary=f"Acknowledged the red-flag alert raised {short_day(raised)}, "
        f"{clock(raised)} {raised:%Z} for {alert.clinician}",
        patient=alert.answer.check_in.episode.patient,
        obj=alert,
    )
    return True


# --- Telling staff -----------------------------------------------------------------------


def visit_of(alert: Alert) -> Appointment:
    """The visit whose check-in raised the alert: its location's contacts are told."""
    return alert.answer.check_in.episode.procedure.appointment


def plan_alert_messages(alert: Alert, *, now: datetime) -> None:
    """Tell the treating clinician and the location's alert contact now, and plan the
    first escalation to the on-call contact: in clinic hours, after the time given to
    acknowledge; after hours, now."""
    visit = visit_of(alert)
    clinician = alert.clinician
    texts_agreed = clinician.alert_texts_agreed
    _plan(
        alert,
        visit,
        MessageKind.ALERT,
        [
            (Channel.EMAIL, clinician.user.email),
            (Channel.SMS, _number(clinician.mobile_phone) if texts_agreed else ""),
            (Channel.EMAIL, _alert_contact(visit.location)),
        ],
        due_at=now,
    )
    wait = timedelta(minutes=settings.ALERT_ESCALATE_AFTER_MINUTES)
    first_round_at = now + wait if in_clinic_hours(visit.location, now) else now
    _plan_round(alert, visit, 1, due_at=first_round_at)


def plan_next_round(sent: Message, *, now: datetime) -> None:
    """After a message of escalation round n was sent, or failed for good: round n + 1,
    ALERT_REPEAT_MINUTES later, while the alert is open. Every message of a round calls
    this; the round is planned once (message_one_escalation_round_per_channel). An
    acknowledgement that commits after this read the alert open still wins: the round is
    cancelled when due (followup.message_kinds.no_longer_wanted)."""
    alert, visit = sent.red_flag, sent.visit
    if alert.acknowledged_at is not None:
        return
    repeat = timedelta(minutes=settings.ALERT_REPEAT_MINUTES)
    _plan_round(alert, visit, sent.minutes_before + 1, due_at=now + repeat)


def _plan_round(alert: Alert, visit: Appointment, number: int, *, due_at: datetime) -> None:
    _plan(
        alert,
        visit,
        MessageKind.ALERT_ESCALATION,
        _on_call_contacts(visit.location),
        due_at=due_at,
        round_number=number,
    )


def _plan(
    alert: Alert,
    visit: Appointment,
    kind: str,
    contacts: list[Contact],
    *,
    due_at: datetime,
    round_number: int = 0,
) -> None:
    """One message to each contact with an address, once per address."""
    Message.objects.bulk_create(
        [
            Message(
                alert=alert,
                appointment=visit,
                kind=kind,
                channel=channel,
                recipient=address,
                minutes_before=round_number,
                due_at=due_at,
            )
            for channel, address in dict.fromkeys(contacts)
            if address
        ],
        ignore_conflicts=True,  # a round another message of the round planned already
    )


def _alert_contact(location: Location) -> str:
    return location.alert_email or settings.CLINIC_ALERT_EMAIL


def _on_call_contacts(location: Location) -> list[Contact]:
    """The location's on-call contact; without one, its alert contact, so that an
    escalation always reaches someone."""
    contacts = [
        (Channel.EMAIL, location.on_call_email),
        (Channel.SMS, _number(location.on_call_phone)),
    ]
    return [contact for contact in contacts if contact[1]] or [
        (Channel.EMAIL, _alert_contact(location))
    ]


def _number(phone: PhoneNumber | str) -> str:
    return str(phone) if phone else ""


# --- What staff read ---------------------------------------------------------------------


def open_for(alert: Alert, now: datetime) -> str:
    """How long the alert has waited for someone (until acknowledged): "42 min", "3 h 5 min",
    "2 days"."""
    minutes = max(int(((alert.acknowledged_at or now) - alert.created).total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def alert_message_text(message: Message) -> tuple[str, str]:
    """(subject, body) for staff: no patient and nothing clinical, only where to look (the
    page needs a login), and for an escalation, how long no one has acted."""
    link = absolute_url(reverse("followup:dashboard"))
    if message.kind != MessageKind.ALERT_ESCALATION:
        return (
            f"{settings.CLINIC_NAME}: a red flag on a check-in",
            f"A red flag on a check-in needs a clinician. Open the dashboard: {link}",
        )
    assert message.alert is not None  # an alert's messages name it
    age = open_for(message.alert, timezone.now())
    return (
        f"{settings.CLINIC_NAME}: escalated, a red flag on a check-in open {age}",
        f"Escalated to you on call: a red flag on a check-in has been open {age} and no one "
        f"has acknowledged it yet (escalation {message.minutes_before}; repeated every "
        f"{settings.ALERT_REPEAT_MINUTES} min until someone does). "
        f"Open the dashboard: {link}",
    )
