"""Details an online form gave that differ from the patient record it matched.

An online booking or waitlist form (no login) matches a returning patient by birth date
and email or phone (`services.find_or_create_patient`). The match attaches the booking to
the record, and nothing more: the record's name, contact details and consents stay as they
were, and messages go only to the contacts on it. What the form gave differently is kept
(`GivenDetails`, made by `services.keep_given_details`) for reception to check with the
patient, then apply to the record or leave it as it was. Reception's action is audited by
the page that calls these functions.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from booking.models import GivenDetails, GivenDetailsState, Patient
from booking.services import replan_coming_reminders


class AlreadyResolved(Exception):
    """Someone applied or kept these details first."""


def _claim(given: GivenDetails) -> GivenDetails:
    """The pending row, locked, with its patient's row locked too; or AlreadyResolved."""
    locked = (
        GivenDetails.objects.select_for_update()
        .filter(pk=given.pk, state=GivenDetailsState.PENDING)
        .first()
    )
    if locked is None:
        raise AlreadyResolved
    locked.patient = Patient.objects.select_for_update().get(pk=locked.patient_id)
    return locked


def _resolve(given: GivenDetails, state: str, by: User, now: datetime) -> None:
    given.state, given.resolved_by, given.resolved_at = state, by, now
    given.save(update_fields=["state", "resolved_by", "resolved_at"])


@transaction.atomic
def apply_given_details(given: GivenDetails, *, by: User, now: datetime | None = None) -> list[str]:
    """Reception confirmed the details with the patient: put the contact details and
    consents on the record, and plan the reminders of the patient's coming visits for
    them. The fields changed."""
    now = now or timezone.now()
    given = _claim(given)
    patient = given.patient
    changed = [difference.field for difference in given.differences() if difference.applies]
    for field in changed:
        setattr(patient, field, getattr(given, field))
    if changed:
        patient.save(update_fields=changed)
        replan_coming_reminders(patient, now=now)
    _resolve(given, GivenDetailsState.APPLIED, by, now)
    return changed


@transaction.atomic
def keep_record(given: GivenDetails, *, by: User, now: datetime | None = None) -> None:
    """Reception found the given details wrong (or not the patient's): the record stays."""
    _resolve(_claim(given), GivenDetailsState.KEPT, by, now or timezone.now())
