"""The patient's waitlist pages: the join form from the booking flow and the offer page a
hold link opens. Thin: they parse forms and call `booking.waitlist`."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from booking.links import manage_token
from booking.models import AppointmentSource, OfferState, Site
from booking.offer_acceptance import OfferUnavailable, accept_offer, expire_if_due
from booking.services import find_or_create_patient, keep_given_details
from booking.views.throttled import shares_public_rate
from booking.waitlist import add_to_waitlist, offer_for_token
from booking.waitlist_forms import JoinWaitlistForm


@require_http_methods(["GET", "POST"])
@shares_public_rate
def join_waitlist(request: HttpRequest, site_slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.active(), slug=site_slug)
    form = JoinWaitlistForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        details = form.patient_details()
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
