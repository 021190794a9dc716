"""Red-flag alerts on the staff side: telling staff, who may clear one, and clearing it.

Alerts are raised by `followup.checkins.record_answer`, which plans their messages in the
same transaction: outbox rows, sent and retried as every message is. They stay on the
treating clinician's dashboard until someone acknowledges them, and who did it, and when,
is kept; acknowledging cancels the messages not sent yet.
"""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from booking.notifications import absolute_url
from booking.roles import CLINIC_ADMIN, CLINICIAN, has_role
from followup.models import Alert, Channel, Message, MessageKind, MessageState


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


def plan_alert_messages(alert: Alert, *, now: datetime) -> list[Message]:
    """Email the treating clinician and the clinic's alert address at once."""
    appointment = alert.answer.check_in.episode.procedure.appointment
    recipients = dict.fromkeys(
        address for address in (alert.clinician.user.email, settings.CLINIC_ALERT_EMAIL) if address
    )
    return [
        Message.objects.create(
            alert=alert,
            appointment=appointment,
            kind=MessageKind.ALERT,
            channel=Channel.EMAIL,
            recipient=address,
            due_at=now,
        )
        for address in recipients
    ]


def alert_message_text(message: Message) -> tuple[str, str]:
    """(subject, body) for staff: no patient and nothing clinical, only where to look (the
    page needs a login)."""
    link = absolute_url(reverse("followup:dashboard"))
    return (
        f"{settings.CLINIC_NAME}: a red flag on a check-in",
        f"A red flag on a check-in needs a clinician. Open the dashboard: {link}",
    )
