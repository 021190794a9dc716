"""Staff pages for follow-up: the dashboard (alerts, answers, visits to complete), the
completion form, and entering a check-in answer given by phone.

Thin views: they check the role, parse the form and call the domain functions
(`complete_visit`, `record_answer`, `acknowledge_and_audit`); every read of patient data
and every write is an audit row (booking.audit).
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking.audit import record
from booking.models import Appointment, AppointmentStatus, AuditEvent
from booking.patients import (
    CLINICAL_ROLES,
    can_read_clinical,
    visible_appointments,
    visible_patients,
)
from booking.roles import staff_only
from booking.services import BookingError
from followup import worklist
from followup.alerts import NotAllowedToAcknowledge, acknowledge_and_audit
from followup.audit import record_completion
from followup.checkins import (
    CheckInClosed,
    CheckInLocked,
    check_in_status,
    edit_window_in_words,
    locked_reason,
    record_answer,
)
from followup.models import Alert, AnswerRoute, CheckIn, Procedure
from followup.procedures import complete_visit
from followup.side_effects import warning_sign_labels
from followup.staff_forms import ProcedureForm, StaffAnswerForm

View = Callable[..., HttpResponse]


# --- dashboard ---------------------------------------------------------------------------


@require_safe
@staff_only(*CLINICAL_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = worklist.scope_for(request.user)
    context: dict[str, Any] = {
        "scope": scope,
        "is_clinical": can_read_clinical(request.user),
    }
    if scope.follows_patients:
        now = timezone.now()
        context |= {
            "open_alerts": worklist.open_alerts(scope, now=now),
            "acknowledged": worklist.recently_acknowledged(scope, now=now),
            "awaiting_completion": worklist.awaiting_completion(scope),
            "answers": worklist.recent_answers(scope),
            "to_chase": worklist.check_ins_to_chase(scope, now=now),
        }
        record(
            request,
            action=AuditEvent.Action.VIEW,
            summary="Viewed the follow-up dashboard of "
            + ("every clinician's patients" if scope.everyone else f"{scope.clinician}'s patients"),
        )
    return render(request, "followup/staff/dashboard.html", context)


@require_POST
@staff_only(*CLINICAL_ROLES)
def acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id)
    try:
        acknowledge_and_audit(request, alert)
    except NotAllowedToAcknowledge as error:
        raise PermissionDenied from error
    messages.success(request, "Alert acknowledged.")
    return redirect("followup:dashboard")


# --- completing a visit ------------------------------------------------------------------


def _completed_procedure(appointment: Appointment) -> Procedure | None:
    return (
        Procedure.objects.select_related("site", "performed_by", "episode")
        .prefetch_related("injectates", "episode__check_ins__answer")
        .filter(appointment=appointment)
        .first()
    )


@require_http_methods(["GET", "POST"])
@staff_only(*CLINICAL_ROLES)
def complete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    appointment = get_object_or_404(
        # A clinician completes the visits booked with them, however they were booked.
        visible_appointments(request.user).select_related(
            "patient", "site", "location", "clinician", "safety_answers"
        ),
        public_id=public_id,
    )
    form = ProcedureForm(
        request.POST if request.method == "POST" and "consult_only" not in request.POST else None,
        initial={"site": appointment.site.slug},
    )
    status = 200
    if request.method == "POST" and ("consult_only" in request.POST or form.is_valid()):
        details = None if "consult_only" in request.POST else form.details()
        try:
            procedure = complete_visit(
                appointment=appointment,
                procedure=details,
                clinician=worklist.performing_clinician(request.user, appointment),
            )
        except BookingError as error:
            messages.error(request, error.message)
            status = 409
        else:
            record_completion(request, appointment, procedure)
            messages.success(
                request,
                f"{appointment.patient}'s visit is completed"
                + (" as a consult only." if details is None else "; follow-up has started."),
            )
            return redirect("followup:complete", public_id)
    elif request.method == "POST":
        status = 400
    record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Viewed visit {public_id} to complete it",
        patient=appointment.patient,
        obj=appointment,
    )
    appointment.refresh_from_db(fields=["status"])
    procedure = _completed_procedure(appointment)
    zone = appointment.location.zone
    return render(
        request,
        "followup/staff/complete.html",
        {
            "appointment": appointment,
            "start": appointment.local_start,
            "can_complete": appointment.status == AppointmentStatus.ARRIVED,
            "form": form,
            "forms": [form],
            "procedure": procedure,
            "performed_at": procedure.performed_at.astimezone(zone) if procedure else None,
            "now": timezone.now(),
            "check_ins": [
                (check_in, check_in.due_at.astimezone(zone))
                for check_in in (procedure.episode.check_ins.all() if procedure else [])
            ],
        },
        status=status,
    )


# --- an answer given by phone ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_only(*CLINICAL_ROLES)
def answer(request: HttpRequest, check_in_id: int) -> HttpResponse:
    check_in = get_object_or_404(
        CheckIn.objects.filter(episode__patient__in=visible_patients(request.user)).select_related(
            "episode__patient",
            "episode__site",
            "episode__procedure__appointment__location",
            "answer__entered_by",
        ),
        pk=check_in_id,
    )
    existing = getattr(check_in, "answer", None)
    form = StaffAnswerForm(
        request.POST if request.method == "POST" else None,
        initial=StaffAnswerForm.initial_from(existing) if existing else None,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved, flags = record_answer(
                    check_in=check_in,
                    answer=form.details(),
                    route=AnswerRoute.STAFF,
                    entered_by=request.user,
                )
            except (CheckInClosed, CheckInLocked) as error:
                form.add_error(None, str(error))
                status = 409
            else:
                record(
                    request,
                    action=AuditEvent.Action.CHANGE if existing else AuditEvent.Action.CREATE,
                    summary=f"Entered the day {check_in.day} check-in's answer given by phone",
                    patient=check_in.episode.patient,
                    obj=saved,
                )
                messages.success(request, f"Day {check_in.day} answer saved.")
                if flags:
                    messages.warning(
                        request,
                        f"Red flag: {', '.join(flags)}. The treating clinician is alerted.",
                    )
                return redirect("followup:dashboard")
        else:
            status = 400
    record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Viewed the day {check_in.day} check-in",
        patient=check_in.episode.patient,
        obj=check_in,
    )
    zone = check_in.episode.procedure.appointment.location.zone
    return render(
        request,
        "followup/staff/answer.html",
        {
            "check_in": check_in,
            "episode": check_in.episode,
            "patient": check_in.episode.patient,
            "due_at": check_in.due_at.astimezone(zone),
            "status": check_in_status(check_in),
            "edit_window": edit_window_in_words(),
            "locked_reason": locked_reason(),
            "existing": existing,
            "warning_signs": warning_sign_labels(existing.side_effects) if existing else None,
            "form": form,
            "forms": [form],
        },
        status=status,
    )
