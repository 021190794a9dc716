"""A patient's check-ins as staff follow them: each one's state and messages, and sending
its link again.

Thin views: every staff role opens the patients `visible_patients` gives them (another
patient is 404); `resend_check_in` holds the rules of a resend. Reception reads states
and messages, never answers. Every view and resend is an audit row.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from booking.audit import record
from booking.formats import clock
from booking.models import AuditEvent, Patient
from booking.patients import can_read_clinical, visible_patients
from booking.roles import STAFF_ROLES, staff_only
from followup.checkins import NotAllowedToResend, ResendRefused, by_channel, resend_check_in
from followup.models import CheckIn, Message
from followup.staff_forms import ResendForm
from followup.worklist import patient_check_ins


def _page(
    request: HttpRequest, patient: Patient, *, error: str = "", status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "patient": patient,
        "episodes": patient_check_ins(patient),
        "show_clinical": can_read_clinical(request.user),
        "back_to": _own_page(patient),
        "error": error,
    }
    return render(request, "followup/staff/check_ins.html", context, status=status)


@require_safe
@staff_only(*STAFF_ROLES)
def patient_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(visible_patients(request.user), pk=patient_id)
    record(
        request,
        action=AuditEvent.Action.VIEW,
        patient=patient,
        obj=patient,
        summary="Viewed the patient's check-ins and their messages",
    )
    return _page(request, patient)


def _back(request: HttpRequest, wanted: str, patient: Patient) -> str:
    """The page the button was on, if it is one of ours; else the patient's check-ins."""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return _own_page(patient)


def _own_page(patient: Patient) -> str:
    return reverse("followup:patient_check_ins", args=[patient.pk])


def _sent_notice(check_in: CheckIn, message: Message) -> str:
    when = "within a minute"
    if message.due_at > timezone.now():  # a text waiting out the quiet hours
        local = message.due_at.astimezone(check_in.episode.procedure.appointment.location.zone)
        when = f"at {clock(local)} (no texts at night)"
    return (
        f"The day {check_in.day} check-in's link goes again {by_channel(message.channel)} {when}."
    )


@require_POST
@staff_only(*STAFF_ROLES)
def resend(request: HttpRequest, check_in_id: int) -> HttpResponse:
    check_in = get_object_or_404(
        CheckIn.objects.filter(episode__patient__in=visible_patients(request.user)).select_related(
            "episode__patient", "episode__procedure__appointment__location"
        ),
        pk=check_in_id,
    )
    patient = check_in.episode.patient
    form = ResendForm(request.POST)
    if not form.is_valid():
        return _page(request, patient, error="Choose email or SMS to send the link by.", status=400)
    channel = form.cleaned_data["channel"]
    try:
        message = resend_check_in(check_in, channel, request.user)
    except NotAllowedToResend as error:
        raise PermissionDenied from error
    except ResendRefused as refused:
        return _page(request, patient, error=str(refused), status=409)
    record(
        request,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=message,
        summary=f"Sent the day {check_in.day} check-in's link again {by_channel(channel)}",
    )
    messages.success(request, _sent_notice(check_in, message))
    return redirect(_back(request, form.cleaned_data["next"], patient))
