"""The unsubscribe link in every email: one click (RFC 8058) or a confirm page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from booking.models import Patient
from followup.content import patient_for_unsubscribe_token


@csrf_exempt  # mail clients post the one-click unsubscribe without a session
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    patient_id = patient_for_unsubscribe_token(token)
    if patient_id is None:
        return render(request, "booking/link_invalid.html", status=404)
    if request.method == "POST":
        Patient.objects.filter(pk=patient_id).update(consent_email=False)
        return render(request, "followup/unsubscribed.html")
    return render(request, "followup/unsubscribe.html")
