"""Waitlist pages: reception's list and add form, the patient's join form, and the offer
page a hold link opens. Thin: they parse forms and call `booking.waitlist`."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking import audit
from booking.links import manage_token
from booking.models import (
    AppointmentSource,
    AuditEvent,
    OfferState,
    Patient,
    Site,
    TimeOfDay,
    WaitlistEntry,
    WaitlistStatus,
    Weekday,
)
from booking.offer_acceptance import OfferUnavailable, accept_offer, expire_if_due
from booking.patients import search_patients, visible_patients
from booking.roles import DESK_ROLES, staff_only
from booking.services import PatientDetails, find_or_create_patient, keep_given_details
from booking.views.throttled import shares_public_rate
from booking.waitlist import add_to_waitlist, offer_for_token, remove_from_waitlist
from booking.waitlist_forms import DeskWaitlistForm, JoinWaitlistForm


def _patient_details(data: dict[str, Any]) -> PatientDetails:
    return PatientDetails(
        first_name=data["first_name"],
        last_name=data["last_name"],
        date_of_birth=data["date_of_birth"],
        email=data.get("email") or "",
        phone=data["phone"].as_e164 if data.get("phone") else "",
    )


# --- reception -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_only(*DESK_ROLES)
def desk_waitlist(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    chosen = None
    if str(request.GET.get("patient", "")).isdecimal():  # "²".isdigit(), but int("²") fails
        chosen = Patient.objects.filter(pk=request.GET["patient"]).first()
    if request.method == "POST":
        form = DeskWaitlistForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            patient = data["patient"] or find_or_create_patient(
                _patient_details(data),
                consent_email=data["consent_email"],
                consent_sms=data["consent_sms"],
                by_staff=True,
            )
            entry = add_to_waitlist(
                patient=patient,
                site=data["site"],
                source=AppointmentSource.RECEPTION,
                weekdays=data["weekdays"],
                times=data["times"],
                clinician=data["clinician"],
                location=data["location"],
                notes=data["notes"],
            )
            audit.record(
                request,
                action=AuditEvent.Action.CREATE,
                summary=f"Put {patient} on the {entry.site.name} waitlist",
                patient=patient,
                obj=entry,
            )
            messages.success(request, f"{patient} is on the {entry.site.name} waitlist.")
            return redirect("desk:waitlist")
    else:
        form = DeskWaitlistForm(initial={"patient": chosen.pk if chosen else None})
    site_filter = request.GET.get("site", "")
    entries = (
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING)
        .select_related("patient", "site", "clinician", "location")
        .prefetch_related("offers")
        .order_by("site__name", "created")
    )
    if site_filter:
        entries = entries.filter(site__slug=site_filter)
    entries_list = list(entries)
    audit.record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Viewed the waitlist ({len(entries_list)} patients)",
    )
    return render(
        request,
        "booking/desk/waitlist.html",
        {
            "form": form,
            "entries": [
                (
                    entry,
                    ", ".join(Weekday(day).label[:3] for day in entry.preferred_weekdays),
                    ", ".join(
                        TimeOfDay(value).label.split(" ")[0] for value in entry.preferred_times
                    ),
                )
                for entry in entries_list
            ],
            "forms": [form],
            "sites": Site.objects.active(),
            "site_filter": site_filter,
            "query": query,
            "results": search_patients(visible_patients(request.user), query),
            "chosen": chosen,
            "pending": OfferState.PENDING,
        },
    )


@require_POST
@staff_only(*DESK_ROLES)
def desk_waitlist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(
        WaitlistEntry.objects.select_related("patient", "site"),
        pk=entry_id,
        status=WaitlistStatus.WAITING,
    )
    remove_from_waitlist(entry)
    audit.record(
        request,
        action=AuditEvent.Action.CHANGE,
        summary=f"Took {entry.patient} off the {entry.site.name} waitlist",
        patient=entry.patient,
        obj=entry,
    )
    messages.success(request, f"{entry.patient} is off the {entry.site.name} waitlist.")
    return redirect("desk:waitlist")


# --- patients ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@shares_public_rate
def join_waitlist(request: HttpRequest, site_slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.active(), slug=site_slug)
    form = JoinWaitlistForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        details = _patient_details(data)
        consents = {"consent_email": data["consent_email"], "consent_sms": data["consent_sms"]}
        patient = find_or_create_patient(details, **consents)
        keep_given_details(patient, details, **consents)  # for reception, not the record
        add_to_waitlist(
            patient=patient,
            site=site,
            source=AppointmentSource.ONLINE,
            weekdays=data["weekdays"],
            times=data["times"],
            clinician=data["clinician"],
            location=data["location"],
        )
        return redirect("booking:waitlist_thanks", site.slug)
    return render(
        request, "booking/waitlist_join.html", {"site": site, "form": form, "forms": [form]}
    )


@require_safe
def waitlist_thanks(request: HttpRequest, site_slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.active(), slug=site_slug)
    return render(request, "booking/waitlist_thanks.html", {"site": site})


@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    found = offer_for_token(token)
    if found is None:
        return render(request, "booking/link_invalid.html", status=404)
    now = timezone.now()
    expire_if_due(found, now)
    state = found.state
    appointment = None
    if request.method == "POST" and state == OfferState.PENDING:
        try:
            appointment = accept_offer(found, now=now)
            state = OfferState.ACCEPTED
        except OfferUnavailable as unavailable:
            state = unavailable.state
    elif state == OfferState.ACCEPTED:
        appointment = found.appointment
    if state == OfferState.ACCEPTED and appointment is not None:
        return redirect("booking:booked", manage_token(appointment))
    if state != OfferState.PENDING:
        return render(
            request,
            "booking/waitlist_offer_closed.html",
            {"expired": state == OfferState.EXPIRED},
            status=410,
        )
    return render(
        request,
        "booking/waitlist_offer.html",
        {
            "offer": found,
            "start": found.start.astimezone(found.location.zone),
            "expires": found.expires_at.astimezone(found.location.zone),
        },
    )
