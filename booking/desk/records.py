"""The reception desk's home, patient records, merging duplicates, and the audit log.

Thin views: they check the role and the user's right to the patient (a patient the user
may not open is a 404, the same as one that does not exist), parse forms, call
`booking.patients`, and record every view and change of patient data in the audit log.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from booking.audit import record
from booking.desk.forms import AuditSearchForm, MergeConfirmForm, PatientRecordForm
from booking.desk.sections import HOME, PATIENT_RECORD
from booking.models import Appointment, AppointmentStatus, AuditEvent, Location, Patient
from booking.patients import (
    MergeRefused,
    can_edit_patients,
    can_read_clinical,
    merge_patients,
    merged_into,
    search_patients,
    visible_appointments,
    visible_patients,
)
from booking.roles import CLINIC_ADMIN, CLINICIAN, DESK_ROLES, STAFF_ROLES, has_role, staff_only

View = Callable[..., HttpResponse]
AUDIT_PAGE_SIZE = 50


def _url(name: str, fallback: str, *, query: dict[str, Any] | None = None) -> str:
    """A URL by name, or its literal path while the page's module does not name it yet."""
    try:
        url = reverse(name)
    except NoReverseMatch:
        url = fallback
    return f"{url}?{urlencode(query)}" if query else url


def _day_range(day: date, location: Location) -> tuple[datetime, datetime]:
    zone = location.zone
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


# --- home --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationDay:
    location: Location
    day: date
    booked: int
    arrived: int
    no_shows: int
    day_url: str


@require_safe
@staff_only(*STAFF_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    days = []
    for location in Location.objects.all():
        day = now.astimezone(location.zone).date()
        start, end = _day_range(day, location)
        counts = Appointment.objects.filter(location=location, start__gte=start, start__lt=end)
        numbers = counts.aggregate(
            booked=Count("pk", filter=Q(status=AppointmentStatus.BOOKED)),
            arrived=Count("pk", filter=Q(status=AppointmentStatus.ARRIVED)),
            no_shows=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
        )
        days.append(
            LocationDay(
                location=location,
                day=day,
                day_url=_url(
                    "desk:day",
                    "/desk/day/",
                    query={"date": day.isoformat(), "location": location.pk},
                ),
                **numbers,
            )
        )
    context = {
        "days": days,
        "totals": {
            key: sum(getattr(row, key) for row in days) for key in ("booked", "arrived", "no_shows")
        },
        "can_see_audit": has_role(request.user, CLINIC_ADMIN),
        "is_clinician": has_role(request.user, CLINICIAN),
    } | HOME.context(request, now)
    return render(request, "booking/desk/home.html", context)


# --- patient records ---------------------------------------------------------------------


def _patient_or_404(request: HttpRequest, patient_id: int) -> Patient:
    return get_object_or_404(visible_patients(request.user), pk=patient_id)


@require_safe
@staff_only(*STAFF_ROLES)
def patient_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    results = list(search_patients(visible_patients(request.user), query)) if query else []
    if query:
        record(
            request,
            action=AuditEvent.Action.VIEW,
            summary=f"Searched patients for “{query}” ({len(results)} found)",
        )
    return render(request, "booking/desk/patients.html", {"query": query, "results": results})


def _record_context(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    now = timezone.now()
    clinical = can_read_clinical(request.user)
    appointments = list(
        patient.appointments.select_related("site", "clinician", "location").order_by("-start")
    )
    return {
        "patient": patient,
        # A clinician opens the appointments booked with them, not a colleague's.
        "openable": set(
            visible_appointments(request.user).filter(patient=patient).values_list("pk", flat=True)
        ),
        # A visit completed (or missed) today is done, not upcoming, even before its end time.
        "upcoming": [a for a in reversed(appointments) if a.end >= now and not _done(a)],
        "past": [a for a in appointments if a.end < now or _done(a)],
        "show_clinical": clinical,
        "can_edit": can_edit_patients(request.user),
    } | PATIENT_RECORD.context(request, patient, now)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only(*STAFF_ROLES)
def patient_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient_or_404(request, patient_id)
    kept = merged_into(patient)
    if kept is not None and visible_patients(request.user).filter(pk=kept.pk).exists():
        messages.info(request, f"That record was merged into this one ({kept}).")
        return redirect("desk:patient", kept.pk)
    form = None
    status = 200
    if request.method == "POST":
        if not can_edit_patients(request.user):
            raise PermissionDenied
        # Edit a fresh copy, so a refused edit leaves the page's details as they are saved.
        form = PatientRecordForm(request.POST, instance=Patient.objects.get(pk=patient.pk))
        if form.is_valid():
            changed = form.changed_data
            if changed:
                form.save()
                record(
                    request,
                    action=AuditEvent.Action.CHANGE,
                    patient=patient,
                    obj=patient,
                    summary=f"Changed the patient's {', '.join(changed)}",
                )
                messages.success(request, "Details saved.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("desk:patient", patient.pk)
        status = 400
    elif can_edit_patients(request.user):
        form = PatientRecordForm(instance=patient)
    if request.method != "POST":
        record(
            request,
            action=AuditEvent.Action.VIEW,
            patient=patient,
            obj=patient,
            summary="Viewed the patient record",
        )
    context = _record_context(request, patient) | {"form": form, "forms": [form] if form else []}
    return render(request, "booking/desk/patient.html", context, status=status)


# --- merging duplicates ------------------------------------------------------------------


def _summary(patient: Patient) -> dict[str, Any]:
    return {
        "patient": patient,
        "appointments": patient.appointments.count(),
        "episodes": patient.episodes.count(),
        "waitlist": patient.waitlist.count(),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only(*DESK_ROLES)
def patient_merge(request: HttpRequest, patient_id: int) -> HttpResponse:
    keep = _patient_or_404(request, patient_id)
    if merged_into(keep) is not None:
        raise Http404
    patients = visible_patients(request.user)
    context: dict[str, Any] = {"keep": keep, "keep_summary": _summary(keep)}
    status = 200
    duplicate_id = request.POST.get("duplicate") or request.GET.get("duplicate")
    if duplicate_id:
        if not str(duplicate_id).isdecimal():  # "²".isdigit(), but int("²") raises
            raise Http404
        duplicate = get_object_or_404(patients, pk=int(duplicate_id))
        form = MergeConfirmForm(
            request.POST if request.method == "POST" else None,
            initial={"duplicate": duplicate.pk},
        )
        if request.method == "POST" and form.is_valid():
            try:
                result = merge_patients(
                    keep,
                    duplicate,
                    allow_different_birth_dates=form.cleaned_data["different_birth_dates"],
                )
            except MergeRefused as refused:
                form.add_error(
                    "different_birth_dates" if refused.needs_confirmation else None,
                    refused.message,
                )
                status = 409 if refused.needs_confirmation else 400
            else:
                for patient, summary in result.audit_summaries:
                    record(
                        request,
                        action=AuditEvent.Action.CHANGE,
                        patient=patient,
                        obj=keep,
                        summary=summary,
                    )
                messages.success(request, f"Merged the duplicate record into {keep}.")
                return redirect("desk:patient", keep.pk)
        elif request.method == "POST":
            status = 400
        if request.method != "POST":
            for patient in (keep, duplicate):
                record(
                    request,
                    action=AuditEvent.Action.VIEW,
                    patient=patient,
                    obj=patient,
                    summary=f"Compared patients #{keep.pk} and #{duplicate.pk} to merge them",
                )
        context |= {
            "duplicate": duplicate,
            "duplicate_summary": _summary(duplicate),
            "same_person_checks": {
                "date_of_birth": keep.date_of_birth == duplicate.date_of_birth,
            },
            "form": form,
            "forms": [form],
        }
    else:
        query = request.GET.get("q", "").strip()[:100]
        results = list(search_patients(patients, query, exclude=keep)) if query else []
        if query:
            record(
                request,
                action=AuditEvent.Action.VIEW,
                summary=f"Searched patients for “{query}” to merge into #{keep.pk} "
                f"({len(results)} found)",
            )
        context |= {"query": query, "results": results}
    return render(request, "booking/desk/patient_merge.html", context, status=status)


# --- the audit log -----------------------------------------------------------------------


@require_safe
@staff_only(CLINIC_ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    events = AuditEvent.objects.select_related("user", "patient").order_by("-at", "-pk")
    zone = timezone.get_default_timezone()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["user"]:
            events = events.filter(user__username__iexact=data["user"])
        if data["patient"]:
            events = events.filter(patient_id=data["patient"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["date_from"]:
            events = events.filter(at__gte=datetime.combine(data["date_from"], time(), tzinfo=zone))
        if data["date_to"]:
            after = data["date_to"] + timedelta(days=1)
            events = events.filter(at__lt=datetime.combine(after, time(), tzinfo=zone))
    elif form.is_bound:
        events = events.none()
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "booking/desk/audit.html",
        {
            "form": form,
            "forms": [form],
            "page": page,
            "rows": [(event, event.at.astimezone(zone)) for event in page],
            "zone": zone,
            "query": query.urlencode(),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _done(appointment: Appointment) -> bool:
    return appointment.status in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)
