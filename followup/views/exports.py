"""Exports: the outcomes page's answers as CSV, and one patient's record as a FHIR Bundle.

Clinicians and clinic admins only (reception gets 403); every export is audited.
"""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.http import require_safe

from booking.audit import record
from booking.models import AuditEvent
from booking.patients import CLINICAL_ROLES, can_read_clinical, visible_patients
from booking.roles import CLINIC_ADMIN, has_role, staff_only
from followup.exports import csv_lines
from followup.fhir import patient_everything
from followup.views.outcomes import filter_form


@require_safe
@login_required
def outcomes_csv(request: HttpRequest) -> HttpResponseBase:
    if not can_read_clinical(request.user):
        raise PermissionDenied
    form = filter_form(request)
    if not form.is_valid():
        return HttpResponse(
            "Invalid filters: "
            + "; ".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
            ),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters()
    identified = has_role(request.user, CLINIC_ADMIN)
    record(
        request,
        action=AuditEvent.Action.EXPORT,
        summary=f"Exported check-in answers as CSV, "
        f"{'identified' if identified else 'pseudonymised'} ({filters.describe()})",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        csv_lines(filters, patients=visible_patients(request.user), identified=identified),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="outcomes-{stamp}.csv"'
    return response


@require_safe
@staff_only(*CLINICAL_ROLES)
def patient_everything_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = visible_patients(request.user).filter(pk=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    bundle = patient_everything(
        patient, base_url=request.build_absolute_uri("/fhir/"), now=timezone.now()
    )
    record(
        request,
        action=AuditEvent.Action.EXPORT,
        summary="Exported the patient's record as FHIR",
        patient=patient,
        obj=patient,
    )
    return HttpResponse(
        json.dumps(bundle, indent=2), content_type="application/fhir+json; charset=utf-8"
    )
