"""The printable documentation of a patient's injections at one site, for a request to a
payer for one more. Thin: the figures come from followup.payer_documentation; who may read
it is the trend page's rule."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from booking.audit import record
from booking.models import AuditEvent, Site
from booking.patients import can_read_clinical, visible_patients
from followup.payer_documentation import payer_documentation


@require_safe
@login_required
def payer_page(request: HttpRequest, patient_id: int, site_slug: str) -> HttpResponse:
    if not can_read_clinical(request.user):
        raise PermissionDenied
    patient = get_object_or_404(visible_patients(request.user), pk=patient_id)
    site = get_object_or_404(Site, slug=site_slug)
    document = payer_documentation(patient, site, now=timezone.now())
    if document is None:
        raise Http404("No injection at this site for this patient.")
    record(
        request,
        action=AuditEvent.Action.VIEW,
        patient=patient,
        obj=patient,
        summary=f"Viewed the payer documentation of injections at the {site.name} site",
    )
    return render(request, "followup/documentation/payer.html", {"document": document})
