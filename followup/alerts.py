"""Red-flag alerts on the staff side: who may clear one, and clearing it.

Alerts are raised by `followup.checkins.record_answer`; they stay on the treating
clinician's dashboard until someone acknowledges them, and who did it, and when, is kept.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from booking.roles import CLINIC_ADMIN, CLINICIAN, has_role
from followup.models import Alert


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
    return alert
