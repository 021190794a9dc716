"""The patient's booking pages: site, time, details, review, confirmation.

The pages keep what the patient typed in the session, so going back, or being sent back
because the time was taken, loses nothing. That is a birth date and safety answers, so a
draft lasts an hour after the patient's last step (so does a patient's session), and
once booked only its key stays. Each step calls the same domain functions as the API.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_safe

from booking.availability import shifts_offering
from booking.forms import PatientDetailsForm, SafetyAnswersForm
from booking.links import appointment_for_manage_token, manage_token
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    Location,
    Site,
)
from booking.services import (
    BookingError,
    PatientDetails,
    SlotTaken,
    TooManyOnlineBookings,
    book_appointment_once,
)
from booking.views.picker import picker_context
from booking.views.throttled import shares_public_rate


def _session_key(site: Site) -> str:
    return f"booking:{site.slug}"


DRAFT_MAX_AGE = timedelta(hours=1)


def _draft(request: HttpRequest, site: Site) -> dict[str, Any]:
    """The site's draft, or {} (and none kept) once an hour has passed since its last step."""
    draft = request.session.get(_session_key(site), {})
    saved = parse_datetime(str(draft.get("saved_at", "")))
    if saved is None or timezone.now() - saved > DRAFT_MAX_AGE:
        request.session.pop(_session_key(site), None)
        return {}
    return draft


def _save_draft(request: HttpRequest, site: Site, **changes: Any) -> None:
    _keep(request, site, {**_draft(request, site), **changes})


def _keep(request: HttpRequest, site: Site, draft: dict[str, Any]) -> None:
    request.session[_session_key(site)] = {**draft, "saved_at": timezone.now().isoformat()}
    if not request.user.is_authenticated:
        # A patient's session holds nothing else: it ends with the draft, so what was
        # typed is not kept in the session store either (staff sessions have their own).
        request.session.set_expiry(int(DRAFT_MAX_AGE.total_seconds()))


@dataclass(frozen=True)
class ChosenTime:
    start: datetime  # in the location's zone, for display
    clinician: Clinician | None
    location: Location | None


def _chosen_time(site: Site, draft: dict[str, Any]) -> ChosenTime | None:
    """The time picked on the times page, as kept in the draft; None if unusable."""
    start = parse_datetime(draft.get("start") or "")
    if start is None or start.tzinfo is None:
        return None
    clinician = location = None
    # isdecimal, not isdigit: "²".isdigit() is true and int("²") raises.
    if str(draft.get("clinician") or "").isdecimal():
        clinician = Clinician.objects.filter(
            pk=draft["clinician"], sites=site, is_active=True
        ).first()
    if str(draft.get("location") or "").isdecimal():
        location = Location.objects.filter(pk=draft["location"]).first()
    if location is None:  # an older link: the zone of whoever works at that time
        offering = shifts_offering(
            site=site, start=start, clinician_id=clinician.pk if clinician else None
        )
        zone = offering[0].location.zone if offering else None
    else:
        zone = location.zone
    return ChosenTime(
        start=start.astimezone(zone) if zone else start, clinician=clinician, location=location
    )


@require_safe
def choose_time(request: HttpRequest, site_slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.active(), slug=site_slug)
    context = picker_context(site, request.GET)
    context.update(site=site, details_url=reverse("booking:details", args=[site.slug]))
    context["alternatives"] = [
        {**slot, "start": parse_datetime(slot["start"])}
        for slot in request.session.pop("alternatives", [])
    ]
    return render(request, "booking/choose_time.html", context)


@require_http_methods(["GET", "POST"])
def details(request: HttpRequest, site_slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.active(), slug=site_slug)
    draft = _draft(request, site)
    if request.method == "GET" and "start" in request.GET:
        picked = {name: request.GET.get(name) for name in ("start", "clinician", "location")}
        draft.update(picked)
        _save_draft(request, site, **picked)
    chosen = _chosen_time(site, draft)
    if chosen is None:
        return redirect("booking:choose_time", site.slug)
    if request.method == "POST":
        patient_form = PatientDetailsForm(request.POST, prefix="patient")
        safety_form = SafetyAnswersForm(request.POST, prefix="safety")
        if patient_form.is_valid() and safety_form.is_valid():
            _save_draft(request, site, patient=request.POST.dict())
            return redirect("booking:review", site.slug)
    else:
        saved = draft.get("patient")
        patient_form = (
            PatientDetailsForm(saved, prefix="patient")
            if saved
            else PatientDetailsForm(prefix="patient")
        )
        safety_form = (
            SafetyAnswersForm(saved, prefix="safety")
            if saved
            else SafetyAnswersForm(prefix="safety")
        )
    return render(
        request,
        "booking/details.html",
        {
            "site": site,
            "chosen": chosen,
            "patient_form": patient_form,
            "safety_form": safety_form,
            "forms": [patient_form, safety_form],
        },
    )


@require_http_methods(["GET", "POST"])
@shares_public_rate
def review(request: HttpRequest, site_slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.active(), slug=site_slug)
    draft = _draft(request, site)
    if request.method == "POST":
        booked_already = _booked_by_this_session(draft, request.POST.get("key", ""))
        if booked_already is not None:  # the same form posted twice books once
            return redirect("booking:booked", manage_token(booked_already))
    chosen = _chosen_time(site, draft)
    patient_form = PatientDetailsForm(draft.get("patient"), prefix="patient")
    safety_form = SafetyAnswersForm(draft.get("patient"), prefix="safety")
    if chosen is None or not (patient_form.is_valid() and safety_form.is_valid()):
        return redirect("booking:details", site.slug)
    if request.method == "POST":
        return _confirm(request, site, chosen, patient_form, safety_form)
    if "key" not in draft:
        _save_draft(request, site, key=str(uuid.uuid4()))
    return _review_page(request, site, chosen, patient_form, safety_form)


def _review_page(
    request: HttpRequest,
    site: Site,
    chosen: ChosenTime,
    patient_form: PatientDetailsForm,
    safety_form: SafetyAnswersForm,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "booking/review.html",
        {
            "site": site,
            "chosen": chosen,
            "patient": patient_form.cleaned_data,
            "safety": safety_form.instance,
            "key": _draft(request, site)["key"],
            "error": error,
        },
        status=400 if error else 200,
    )


def _booked_by_this_session(draft: dict[str, Any], key: str) -> Appointment | None:
    """The booking this session's own review form made with `key`. Only a key the
    session issued counts: any other (another patient's, an API client's) opens nothing."""
    if not key or key != draft.get("booked"):
        return None
    return Appointment.objects.filter(booking_key=uuid.UUID(key)).first()


def _confirm(
    request: HttpRequest,
    site: Site,
    chosen: ChosenTime,
    patient_form: PatientDetailsForm,
    safety_form: SafetyAnswersForm,
) -> HttpResponse:
    key = request.POST.get("key", "")
    existing = None
    if key == _draft(request, site).get("key"):
        data = patient_form.cleaned_data
        try:
            # A double click can lose the race to itself: it then gets the first's booking.
            existing = book_appointment_once(
                site=site,
                start=chosen.start,
                clinician=chosen.clinician,
                location=chosen.location,
                patient=PatientDetails(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    date_of_birth=data["date_of_birth"],
                    email=data["email"],
                    phone=data["phone"].as_e164 if data["phone"] else "",
                ),
                source=AppointmentSource.ONLINE,
                baseline_pain=data["baseline_pain"],
                consent_email=data["reminders_email"],
                consent_sms=data["reminders_sms"],
                safety_answers={
                    field: safety_form.cleaned_data[field] for field in safety_form.Meta.fields
                },
                booking_key=uuid.UUID(key),
            )
        except TooManyOnlineBookings as error:  # another time would not help
            return _review_page(request, site, chosen, patient_form, safety_form, error.message)
        except BookingError as error:
            return _back_to_times(request, site, error)
    if existing is None:
        return redirect("booking:review", site.slug)
    # Booked: the draft has done its job, so what was typed goes; only its key stays, for
    # the same form posted again. A reload of the review goes back to the start.
    _keep(request, site, {"booked": key})
    return redirect("booking:booked", manage_token(existing))


def _back_to_times(request: HttpRequest, site: Site, error: BookingError) -> HttpResponse:
    """The time was taken (or no longer allowed): back to the times, details kept."""
    messages.error(request, error.message)
    alternatives = error.alternatives if isinstance(error, SlotTaken) else []
    request.session["alternatives"] = [
        {
            "start": slot.start.isoformat(),
            "clinician": slot.clinician_id,
            "clinician_name": slot.clinician_name,
            "location": slot.location_id,
        }
        for slot in alternatives
    ]
    first = alternatives[0].start.date().isoformat() if alternatives else ""
    url = reverse("booking:choose_time", args=[site.slug])
    return redirect(f"{url}?{urlencode({'day': first})}" if first else url)


@require_safe
def booked(request: HttpRequest, token: str) -> HttpResponse:
    appointment = appointment_for_manage_token(token)
    if appointment is None:
        return render(request, "booking/link_invalid.html", status=404)
    if appointment.status != AppointmentStatus.BOOKED:
        return redirect("booking:manage", token)
    return render(request, "booking/booked.html", {"appointment": appointment, "token": token})
