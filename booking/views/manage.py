"""The patient's manage page, reached from the link in every booking email."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from booking.links import appointment_for_manage_token


@require_safe
def manage(request: HttpRequest, token: str) -> HttpResponse:
    appointment = appointment_for_manage_token(token)
    if appointment is None:
        # The same page for tampered, foreign, unknown and expired links: it names no one.
        return render(request, "booking/link_invalid.html", status=404)
    return render(request, "booking/manage.html", {"appointment": appointment})
