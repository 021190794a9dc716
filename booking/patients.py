"""Patient records for staff: who may see which patient, finding them, and merging two
records of one person.

Merging keeps every piece of history on the kept record. The audit log is append-only (the
model refuses updates and deletes; on PostgreSQL a trigger does too), so audit rows keep
pointing at the record they were written about. That is also why the duplicate row is not
deleted: its audit rows' `patient` is SET_NULL on delete, an UPDATE the trigger refuses.
Instead the duplicate is kept, emptied of every relation, and retired: `merged_into` names
the kept record and its consents are cleared, so booking's matching (birth date plus email or
phone, active records only) can never pick it again, and staff search leaves it out. An audit
event on each record says what happened.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Exists, Func, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from booking.formats import strip_accents
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AuditEvent,
    Clinician,
    Patient,
    WaitlistOffer,
)
from booking.roles import CLINIC_ADMIN, CLINICIAN, DESK_ROLES, has_role

SEARCH_LIMIT = 50


class MergeRefused(Exception):
    """A merge that must not happen (or needs the user's explicit confirmation)."""

    def __init__(self, message: str, *, needs_confirmation: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.needs_confirmation = needs_confirmation


# --- who may see which patient -----------------------------------------------------------


def is_merged(patient: Patient) -> bool:
    return patient.merged_into_id is not None


def merged_into(patient: Patient) -> Patient | None:
    """The record a retired duplicate was merged into."""
    return patient.merged_into


def sees_whole_clinic(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Reception and clinic admins run the whole clinic's desk: every patient, every
    appointment."""
    return has_role(user, *DESK_ROLES)


def clinician_of(user: AbstractBaseUser | AnonymousUser) -> Clinician | None:
    """The clinician profile of a user, whatever their roles (a clinic admin may have one)."""
    if not user.is_authenticated:
        return None
    return Clinician.objects.filter(user_id=user.pk).first()


def own_clinician(user: AbstractBaseUser | AnonymousUser) -> Clinician | None:
    """The clinician a staff user is, if they have the clinician role and a profile."""
    if not has_role(user, CLINICIAN):
        return None
    clinician: Clinician | None = getattr(user, "clinician", None)
    return clinician


# Statuses only staff set, in front of the patient: arrived (at the desk), completed (by
# the clinician). No anonymous request reaches them.
KEPT_STATUSES = (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED)


def in_care_of(clinician: Clinician) -> Q:
    """Patients in `clinician`'s care: a procedure they performed, or an appointment with
    them that staff made (reception's booking) or that the patient kept (arrived or
    completed). Never an anonymous booking alone, even one cancelled at once.

    An accepted waitlist offer books with reception's source (for the notice rules), so
    one accepted from a waitlist the patient joined online counts as anonymous."""
    made_by_staff = Q(source=AppointmentSource.RECEPTION) & ~Exists(
        WaitlistOffer.objects.filter(
            appointment=OuterRef("pk"), entry__source=AppointmentSource.ONLINE
        )
    )
    relationship = Q(procedure__performed_by=clinician) | (
        Q(clinician=clinician) & (Q(status__in=KEPT_STATUSES) | made_by_staff)
    )
    return Q(Exists(Appointment.objects.filter(relationship, patient=OuterRef("pk"))))


def visible_patients(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Patient]:
    """The patients a staff member may open (records, trends, exports, search): all for
    reception and clinic admins; a clinician's own patients (`in_care_of`)."""
    patients = Patient.objects.all()
    if sees_whole_clinic(user):
        return patients
    clinician = own_clinician(user)
    return patients.filter(in_care_of(clinician)) if clinician else patients.none()


def visible_appointments(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Appointment]:
    """The appointments a staff member may open and act on (the calendar, the staff API,
    completing a visit): all for reception and clinic admins; a clinician's own, booked
    with them however they were booked, since the visit itself is theirs to prepare and
    complete. Opening the patient's history is `visible_patients`' rule."""
    appointments = Appointment.objects.all()
    if sees_whole_clinic(user):
        return appointments
    clinician = own_clinician(user)
    return appointments.filter(clinician=clinician) if clinician else appointments.none()


def can_edit_patients(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Contact details and merges are the desk's work."""
    return sees_whole_clinic(user)


# Who reads clinical answers (pain scores, relief, PGIC, side effects, comments, procedure
# notes): clinicians and clinic admins, never reception (minimum necessary). Pages that are
# clinical throughout (completion, trends, outcomes, exports) admit these roles only.
CLINICAL_ROLES = (CLINICIAN, CLINIC_ADMIN)


def can_read_clinical(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, *CLINICAL_ROLES)


def _birth_date(query: str) -> date | None:
    """ISO (1940-09-09) or US (9/9/1940, 09/09/1940) dates of birth."""
    try:
        return date.fromisoformat(query)
    except ValueError:
        pass
    try:
        return datetime.strptime(query, "%m/%d/%Y").date()  # noqa: DTZ007 (a date only)
    except ValueError:
        return None


def search_patients(
    patients: QuerySet[Patient], query: str, *, exclude: Patient | None = None
) -> QuerySet[Patient]:
    """By name (each word matches a first or last name, accents ignored: "Chloe" finds
    "Chloë"), date of birth (YYYY-MM-DD or M/D/YYYY),
    phone (any part of the E.164 number, e.g. its last digits) or email. Retired
    duplicates are left out."""
    query = query.strip()
    found = patients.filter(merged_into__isnull=True)
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    if not query:
        return found.none()
    born = _birth_date(query)
    if born is not None:
        return found.filter(date_of_birth=born)[:SEARCH_LIMIT]
    if "@" in query:
        return found.filter(email__icontains=query)[:SEARCH_LIMIT]
    digits = "".join(character for character in query if character.isdigit())
    if digits and len(digits) >= 4 and not any(character.isalpha() for character in query):
        return found.filter(phone__contains=digits)[:SEARCH_LIMIT]
    found = found.annotate(
        plain_first=Func(Lower("first_name"), function="UNACCENT"),
        plain_last=Func(Lower("last_name"), function="UNACCENT"),
    )
    for word in strip_accents(query.lower()).split():
        found = found.filter(Q(plain_first__contains=word) | Q(plain_last__contains=word))
    return found[:SEARCH_LIMIT]


# --- merging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    keep: Patient
    duplicate: Patient
    moved: dict[str, int]  # "app_label.Model.field" -> rows moved
    filled: list[str]  # the contact fields the kept record took from the duplicate

    @property
    def audit_summaries(self) -> list[tuple[Patient, str]]:
        """What the audit log says on each of the two records, as both are changed."""
        moved = ", ".join(f"{count} {label}" for label, count in self.moved.items() if count)
        filled = f"; took {' and '.join(self.filled)}" if self.filled else ""
        return [
            (
                self.keep,
                f"Merged patient #{self.duplicate.pk} into this record "
                f"(moved {moved or 'nothing'}{filled})",
            ),
            (self.duplicate, f"Merged into patient #{self.keep.pk}; this record is retired"),
        ]


def _patient_references() -> list[tuple[type[Model], str]]:
    """Every (model, field name) pointing at Patient, except the append-only audit log.

    Read from the model graph, so a foreign key added later is moved too."""
    references = []
    for relation in Patient._meta.related_objects:
        model = relation.related_model
        if not isinstance(model, type) or model is AuditEvent or relation.many_to_many:
            continue
        references.append((model, relation.field.name))
    return references


def merge_patients(
    keep: Patient, duplicate: Patient, *, allow_different_birth_dates: bool = False
) -> MergeResult:
    """Move all of `duplicate`'s history to `keep`, fill `keep`'s missing contact details
    from it, and retire `duplicate` (see the module's notes). One transaction."""
    if keep.pk == duplicate.pk:
        raise MergeRefused("A patient cannot be merged into itself.")
    with transaction.atomic():
        # Lock both rows (in id order) so two merges of the same records cannot interleave.
        locked = {
            patient.pk: patient
            for patient in Patient.objects.select_for_update()
            .filter(pk__in=[keep.pk, duplicate.pk])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise MergeRefused("One of the records no longer exists.")
        keep, duplicate = locked[keep.pk], locked[duplicate.pk]
        if is_merged(duplicate) or is_merged(keep):
            raise MergeRefused("One of the records was already merged into another.")
        if keep.date_of_birth != duplicate.date_of_birth and not allow_different_birth_dates:
            raise MergeRefused(
                "The two records have different dates of birth "
                f"({keep.date_of_birth:%Y-%m-%d} and {duplicate.date_of_birth:%Y-%m-%d}). "
                "Confirm they are the same person to merge them.",
                needs_confirmation=True,
            )

        moved: dict[str, int] = {}
        for model, field in _patient_references():
            count = model._base_manager.filter(**{field: duplicate}).update(**{field: keep})
            moved[f"{model._meta.label}.{field}"] = count

        filled = []
        if not keep.email and duplicate.email:
            keep.email = duplicate.email
            keep.consent_email = duplicate.consent_email
            filled.append("email")
        if not keep.phone and duplicate.phone:
            keep.phone = duplicate.phone
            keep.consent_sms = duplicate.consent_sms
            filled.append("phone")
        if filled:
            keep.save(update_fields=["email", "phone", "consent_email", "consent_sms"])

        duplicate.merged_into = keep
        duplicate.consent_email = duplicate.consent_sms = False
        duplicate.save(update_fields=["merged_into", "consent_email", "consent_sms"])
    return MergeResult(keep=keep, duplicate=duplicate, moved=moved, filled=filled)
