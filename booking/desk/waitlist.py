"""Reception's waitlist: the list of waiting patients, adding one (found or new) and taking
one off. Thin: the rules are in `booking.waitlist`."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from booking import audit
from booking.desk.forms import DeskWaitlistForm
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
from booking.patients import search_patients, visible_patients
from booking.roles import DESK_ROLES, staff_only
from booking.services import find_or_create_patient
from booking.waitlist import add_to_waitlist, remove_from_waitlist


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
                form.patient_details(),
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
        .prefetch_related("offers__location")
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
