"""Completing a visit: what was injected, and the follow-up it starts."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus, Clinician, Site
from booking.services import TransitionNotAllowed, check_visit_day_has_come
from followup.checkins import close_episode, plan_check_ins
from followup.clinical import choose_baseline
from followup.models import Episode, Procedure, ProcedureInjectate

NEW_PROCEDURE_AT_SITE = "A new procedure at this site started a new follow-up."


@dataclass(frozen=True)
class InjectateDetails:
    injectate: str
    dose: str = ""


@dataclass(frozen=True)
class ProcedureDetails:
    site: Site
    side: str
    injectates: list[InjectateDetails]
    trigger_points: int
    pain_before: int | None
    notes: str = ""


@transaction.atomic
def complete_visit(
    *,
    appointment: Appointment,
    procedure: ProcedureDetails | None,
    clinician: Clinician,
    now: datetime | None = None,
) -> Procedure | None:
    """Mark an arrived appointment completed, with the procedure given or none (consult
    only). A procedure opens an episode with its check-ins and closes the future
    check-ins of the patient's earlier episode at the same site."""
    now = now or timezone.now()
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "location", "site")
        .get(pk=appointment.pk)
    )
    if appointment.status != AppointmentStatus.ARRIVED:
        raise TransitionNotAllowed(
            "Only an appointment whose patient has arrived can be completed; its status is "
            f"{appointment.get_status_display().lower()}."
        )
    check_visit_day_has_come(appointment, now, "completed")
    appointment.status = AppointmentStatus.COMPLETED
    appointment.save(update_fields=["status", "updated"])
    if procedure is None:
        return None
    record = Procedure.objects.create(
        appointment=appointment,
        site=procedure.site,
        side=procedure.side,
        trigger_points=procedure.trigger_points,
        pain_before=procedure.pain_before,
        notes=procedure.notes,
        performed_by=clinician,
        performed_at=now,
    )
    ProcedureInjectate.objects.bulk_create(
        ProcedureInjectate(procedure=record, injectate=item.injectate, dose=item.dose)
        for item in procedure.injectates
    )
    for earlier in Episode.objects.filter(
        patient=appointment.patient, site=procedure.site, closed_at__isnull=True
    ):
        close_episode(earlier, reason=NEW_PROCEDURE_AT_SITE, now=now)
    episode = Episode.objects.create(
        procedure=record,
        patient=appointment.patient,
        site=procedure.site,
        baseline_pain=choose_baseline(procedure.pain_before, appointment.baseline_pain),
        started_at=now,
    )
    plan_check_ins(episode)
    return record
