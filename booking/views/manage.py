"""The patient's manage pages, reached from the link in every booking email.

Every view starts from the signed token: a tampered, foreign, unknown or expired link
gets the same friendly page, which names no one.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_safe

from booking.forms import CancelForm, SafetyAnswersForm
from booking.ics import appointment_calendar
from booking.links import appointment_for_manage_token
from booking.models import Appointment, AppointmentStatus, Clinician, SafetyAnswers
from booking.notifications import manage_url
from booking.services import (
    BookingError,
    SlotTaken,
    cancel_appointment,
    record_safety_answers,
    reschedule_appointment,
)
from booking.views.picker import picker_context

View = Callable[..., HttpResponse]


def with_appointment(view: View) -> View:
    """Resolve the token to its appointment, or answer with the invalid-link page."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        appointment = appointment_for_manage_token(token)
        if appointment is None:
            return render(request, "booking/link_invalid.html", status=404)
        return view(request, appointment, token=token, **kwargs)

    return wrapper


def can_change_online(appointment: Appointment) -> bool:
    notice_seconds = appointment.site.min_notice_hours * 3600
    return (
        appointment.status == AppointmentStatus.BOOKED
        and (appointment.start - timezone.now()).total_seconds() >= notice_seconds
    )


def _safety_answers(appointment: Appointment) -> SafetyAnswers | None:
    return SafetyAnswers.objects.filter(appointment=appointment).first()


def _manage_page(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    return render(
        request,
        "booking/manage.html",
        {
            "appointment": appointment,
            "token": token,
            "can_change": can_change_online(appointment),
            "safety": _safety_answers(appointment),
        },
    )


@require_safe
@with_appointment
def manage(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    return _manage_page(request, appointment, token)


def _cancel_page(
    request: HttpRequest, appointment: Appointment, token: str, cancel_form: CancelForm
) -> HttpResponse:
    return render(
        request,
        "booking/cancel_confirm.html",
        {"appointment": appointment, "token": token, "cancel_form": cancel_form},
        status=400 if cancel_form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@with_appointment
def cancel(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    """GET asks "cancel it?" (keep it or cancel it); POST cancels."""
    if request.method == "GET":
        if not can_change_online(appointment):
            return redirect("booking:manage", token)
        return _cancel_page(request, appointment, token, CancelForm())
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _cancel_page(request, appointment, token, form)
    try:
        cancel_appointment(
            appointment=appointment, reason=form.cleaned_data["reason"], by_patient=True
        )
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your appointment is cancelled. We have emailed you.")
    return redirect("booking:manage", token)


@require_safe
@with_appointment
def reschedule(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    if not can_change_online(appointment):
        return redirect("booking:manage", token)
    context = picker_context(
        appointment.site,
        request.GET,
        location_id=appointment.location_id,
        prefer_clinician_id=appointment.clinician_id,
    )
    context.update(
        site=appointment.site,
        appointment=appointment,
        token=token,
        details_url=reverse("booking:reschedule_confirm", args=[token]),
    )
    return render(request, "booking/reschedule.html", context)


@require_http_methods(["GET", "POST"])
@with_appointment
def reschedule_confirm(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    start = parse_datetime(source.get("start", ""))
    if start is None or start.tzinfo is None:
        return redirect("booking:reschedule", token)
    clinician_id = source.get("clinician", "")
    clinician = (
        Clinician.objects.filter(pk=int(clinician_id), is_active=True).first()
        if clinician_id.isdecimal()  # "²".isdigit(), but int("²") raises
        else None
    )
    if request.method == "POST":
        try:
            reschedule_appointment(
                appointment=appointment, start=start, clinician=clinician, by_patient=True
            )
        except SlotTaken as error:
            messages.error(request, error.message)
            return redirect("booking:reschedule", token)
        except BookingError as error:
            messages.error(request, error.message)
            return redirect("booking:manage", token)
        messages.success(request, "Your appointment has moved. We have emailed you the new time.")
        return redirect("booking:manage", token)
    return render(
        request,
        "booking/reschedule_confirm.html",
        {
            "appointment": appointment,
            "token": token,
            "start": start.astimezone(appointment.location.zone),
            "clinician": clinician or appointment.clinician,
        },
    )


@require_http_methods(["GET", "POST"])
@with_appointment
def safety(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    existing = _safety_answers(appointment)
    form = SafetyAnswersForm(request.POST or None, instance=existing, prefix="safety")
    if request.method == "POST" and form.is_valid():
        record_safety_answers(
            appointment=appointment,
            answers={field: form.cleaned_data[field] for field in SafetyAnswersForm.Meta.fields},
        )
        messages.success(request, "Thank you. Your answers are with the clinic.")
        return redirect("booking:manage", token)
    return render(
        request,
        "booking/safety.html",
        {"appointment": appointment, "token": token, "safety_form": form, "forms": [form]},
    )


@require_safe
@with_appointment
def calendar_file(request: HttpRequest, appointment: Appointment, token: str) -> HttpResponse:
    response = HttpResponse(
        appointment_calendar(appointment, manage_url=manage_url(appointment)),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response
