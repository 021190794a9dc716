"""Booking at the desk: an appointment for a patient found by search or typed in, and
walk-ins. Thin views over `booking.services`; searches and bookings are audited.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from booking import audit
from booking.desk.forms import BookForm, NewPatientForm, WalkInForm
from booking.desk.query import query_string
from booking.formats import clock, long_day
from booking.models import Appointment, AuditEvent, Clinician, Location, Patient, Site
from booking.patients import search_patients, visible_patients
from booking.roles import DESK_ROLES, staff_only
from booking.services import (
    BookingError,
    NotBookable,
    PatientDetails,
    SlotTaken,
    book_at_desk,
    book_walk_in,
)


# Booking is the desk's: an appointment made by staff puts the patient in the clinician's
# care (booking.patients), so a clinician may not make one for themselves.
def _search(request: HttpRequest, query: str) -> list[Patient]:
    """Search, and log that staff saw the patients found (principle 6)."""
    results = list(search_patients(visible_patients(request.user), query))
    if results:
        audit.record(
            request,
            action=AuditEvent.Action.VIEW,
            summary=f"Searched patients for {query.strip()!r}: {len(results)} found",
        )
    return results


def _chosen_patient(
    request: HttpRequest,
) -> tuple[PatientDetails | None, bool, bool, NewPatientForm]:
    """The patient picked from the search (`patient=<id>`) or the new one typed in."""
    new_form = NewPatientForm(request.POST, prefix="new")
    choice = request.POST.get("patient", "")
    if choice and choice != "new":
        if not choice.isdecimal():
            raise Http404("No such patient.")
        patient = get_object_or_404(Patient, pk=int(choice))
        details = PatientDetails(
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            email=patient.email,
            phone=patient.phone.as_e164 if patient.phone else "",
        )
        return details, patient.consent_email, patient.consent_sms, NewPatientForm(prefix="new")
    if choice == "new" and new_form.is_valid():
        data = new_form.cleaned_data
        return new_form.details(), data["consent_email"], data["consent_sms"], new_form
    return None, False, False, new_form


def _parse_start(value: str) -> datetime | None:
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


def _booked(request: HttpRequest, appointment: Appointment, how: str) -> HttpResponse:
    local = appointment.start.astimezone(appointment.location.zone)
    summary = (
        f"{how} {appointment.site} for {appointment.patient} on {long_day(local)} "
        f"at {clock(local)} with {appointment.clinician}"
    )
    audit.record(
        request,
        action=AuditEvent.Action.CREATE,
        summary=summary,
        patient=appointment.patient,
        obj=appointment,
    )
    messages.success(request, summary + ".")
    return redirect("desk:appointment", public_id=appointment.public_id)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only(*DESK_ROLES)
def book(request: HttpRequest) -> HttpResponse:
    params = request.GET
    location = get_object_or_404(Location, pk=_int(params.get("location")))
    clinician = get_object_or_404(Clinician, pk=_int(params.get("clinician")))
    start = _parse_start(params.get("start", ""))
    if start is None:
        raise Http404("No time given.")
    start = start.astimezone(location.zone)
    # A time already under way is not offered (the booking verbs refuse it too).
    started = start < timezone.now()
    site_param = params.get("site", "")
    site_id = int(site_param) if site_param.isdecimal() else None
    initial_site = Site.objects.filter(pk=site_id).first() if site_id else None
    if initial_site is None:
        initial_site = clinician.sites.filter(is_active=True).order_by("name").first()
    book_form = BookForm(
        request.POST if request.method == "POST" else None,
        initial={"site": initial_site.pk if initial_site else None},
    )
    new_form = NewPatientForm(prefix="new")
    offer_override = False
    alternatives: list[Any] = []
    if request.method == "POST" and started:
        messages.error(request, "Nothing was booked: that time has already started.")
    elif request.method == "POST":
        details, consent_email, consent_sms, new_form = _chosen_patient(request)
        if details is None:
            messages.error(request, "Choose a patient from the search, or enter a new one.")
        elif book_form.is_valid():
            override = book_form.cleaned_data["override"]
            try:
                booked = book_at_desk(
                    site=book_form.cleaned_data["site"],
                    start=start,
                    clinician=clinician,
                    location=location,
                    patient=details,
                    consent_email=consent_email,
                    consent_sms=consent_sms,
                    notes=book_form.cleaned_data["notes"],
                    booking_key=book_form.cleaned_data["booking_key"],
                    override_hours=override,
                )
            except SlotTaken as error:
                alternatives = error.alternatives
                messages.error(request, f"Nothing was booked: {error.message}")
            except BookingError as error:
                offer_override = isinstance(error, NotBookable) and not override
                messages.error(request, f"Nothing was booked: {error.message}")
            else:
                if not booked.overridden_rule:
                    return _booked(request, booked.appointment, "Booked")
                audit.record(
                    request,
                    action=AuditEvent.Action.OVERRIDE,
                    summary=booked.override_summary,
                    patient=booked.appointment.patient,
                    obj=booked.appointment,
                )
                return _booked(request, booked.appointment, "Booked (override)")
    query = params.get("q", "")
    results = _search(request, query)
    return render(
        request,
        "booking/desk/calendar_book.html",
        {
            "location": location,
            "clinician": clinician,
            "start": start,
            "book_form": book_form,
            "new_form": new_form,
            "query": query,
            "results": results,
            "chosen": request.POST.get("patient", ""),
            "offer_override": offer_override,
            "started": started,
            "alternatives": alternatives,
            "hidden": {
                "location": location.pk,
                "clinician": clinician.pk,
                "start": start.isoformat(),
                "site": site_id or "",
            },
            "action_query": query_string(
                location=location.pk,
                clinician=clinician.pk,
                start=start.isoformat(),
                site=site_id,
                q=query,
            ),
        },
    )


def _int(value: str | None) -> int:
    # isdecimal, not isdigit: "²".isdigit() is true and int("²") raises.
    if value is None or not value.isdecimal():
        raise Http404("Not found.")
    return int(value)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only(*DESK_ROLES)
def walk_in(request: HttpRequest) -> HttpResponse:
    form = WalkInForm(
        request.POST if request.method == "POST" else None,
        initial={
            "location": _int(request.GET["location"])
            if request.GET.get("location", "").isdecimal()
            else None,
            "site": _int(request.GET["site"]) if request.GET.get("site", "").isdecimal() else None,
        },
    )
    new_form = NewPatientForm(prefix="new")
    if request.method == "POST":
        details, consent_email, consent_sms, new_form = _chosen_patient(request)
        if details is None:
            messages.error(request, "Choose a patient from the search, or enter a new one.")
        elif form.is_valid():
            try:
                appointment = book_walk_in(
                    site=form.cleaned_data["site"],
                    location=form.cleaned_data["location"],
                    patient=details,
                    consent_email=consent_email,
                    consent_sms=consent_sms,
                    booking_key=form.cleaned_data["booking_key"],
                )
            except BookingError as error:
                messages.error(request, f"Nothing was booked: {error.message}")
            else:
                return _booked(request, appointment, "Walk-in booked:")
    query = request.GET.get("q", "")
    results = _search(request, query)
    return render(
        request,
        "booking/desk/calendar_walk_in.html",
        {
            "form": form,
            "new_form": new_form,
            "query": query,
            "results": results,
            "chosen": request.POST.get("patient", ""),
            "action_query": request.GET.urlencode(),
        },
    )
