"""Signed links that are keys: each scoped to one purpose and one appointment, expiring."""

import uuid
from datetime import datetime

from django.core import signing
from django.utils import timezone

from booking.models import Appointment

MANAGE_SALT = "booking.appointment.manage"


def manage_token(appointment: Appointment) -> str:
    return signing.dumps(str(appointment.public_id), salt=MANAGE_SALT)


def appointment_for_manage_token(token: str, *, now: datetime | None = None) -> Appointment | None:
    """The appointment a manage token names, or None if tampered, foreign, unknown or expired.

    A link works until the visit ends (its current end, so a reschedule extends it).
    """
    try:
        public_id = uuid.UUID(signing.loads(token, salt=MANAGE_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    appointment = (
        Appointment.objects.select_related("site", "clinician", "location", "patient")
        .filter(public_id=public_id)
        .first()
    )
    if appointment is None or appointment.end <= (now or timezone.now()):
        return None
    return appointment
