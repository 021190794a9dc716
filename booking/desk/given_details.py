"""Reception's answer to details given online that differ from a patient's record: apply
them to the record, or keep the record as it was. Both are audited. The page that shows
them is the patient record (`templates/booking/desk/given_details.html`)."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from booking import audit
from booking.desk.forms import APPLY, ResolveForm
from booking.given_details import AlreadyResolved, apply_given_details, keep_record
from booking.models import AuditEvent, GivenDetails
from booking.patients import visible_patients
from booking.roles import DESK_ROLES, staff_only


@require_POST
@staff_only(*DESK_ROLES)
def resolve(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(visible_patients(request.user), pk=patient_id)
    form = ResolveForm(request.POST, pending=patient.pending_given_details())
    if not form.is_valid():
        messages.error(request, "Those details were already dealt with, or are not this patient's.")
        return redirect("desk:patient", patient.pk)
    given: GivenDetails = form.cleaned_data["given"]
    user = cast(User, request.user)  # staff_only: a logged-in staff member
    try:
        if form.cleaned_data["action"] == APPLY:
            changed = apply_given_details(given, by=user)
            summary = f"Applied the details given online: {', '.join(changed) or 'nothing new'}"
            messages.success(request, "The record now has the details given online.")
        else:
            keep_record(given, by=user)
            summary = "Kept the record as it was, not the details given online"
            messages.success(request, "The record stays as it was.")
    except AlreadyResolved:
        messages.error(request, "Someone dealt with those details a moment ago.")
        return redirect("desk:patient", patient.pk)
    audit.record(
        request, action=AuditEvent.Action.CHANGE, summary=summary, patient=patient, obj=given
    )
    return redirect("desk:patient", patient.pk)
