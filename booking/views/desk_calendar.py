"""Reception calendar pages: day and week views, the printed day sheet, the appointment
page with its actions, booking for a patient and walk-ins.

Thin views: they check the role, parse the input and call the grid builder
(`booking.calendar_view`) and the booking verbs (`booking.services`). Every view of a
patient's appointment and every change is recorded in the audit log.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, overload
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking import audit
from booking.availability import free_slots
from booking.calendar_view import (
    CellKind,
    Grid,
    build_grid,
    clinicians_for,
    day_sheet,
    week_days,
)
from booking.desk_forms import (
    BookForm,
    CalendarFilterForm,
    CancelForm,
    DayForm,
    NewPatientForm,
    RescheduleForm,
    WalkInForm,
    WeekFilterForm,
)
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Clinician,
    Location,
    Patient,
    SafetyAnswers,
    Site,
)
from booking.patients import own_clinician, sees_whole_clinic, visible_appointments
from booking.roles import CLINIC_ADMIN, CLINICIAN, STAFF_ROLES, has_role, staff_only
from booking.services import (
    BookingError,
    NotBookable,
    PatientDetails,
    SlotTaken,
    book_at_desk,
    book_walk_in,
    cancel_appointment,
    mark_arrived,
    mark_no_show,
    reschedule_appointment,
)

SEARCH_LIMIT = 20


def _local_today(location: Location, now: datetime) -> date:
    return now.astimezone(location.zone).date()


def _default_location() -> Location:
    location = Location.objects.order_by("name", "pk").first()
    if location is None:
        raise Http404("No location yet.")
    return location


def _query(**params: object) -> str:
    return urlencode({key: value for key, value in params.items() if value not in (None, "")})


def _fill_book_links(grid: Grid) -> None:
    base = reverse("desk:book")
    for column in grid.columns:
        for cell in column.cells:
            if cell.kind == CellKind.FREE and not cell.past and cell.start is not None:
                cell.label = f"{cell.start:%H:%M}"
                cell.book_url = f"{base}?" + _query(
                    location=grid.location.pk,
                    clinician=column.clinician.pk,
                    start=cell.start.isoformat(),
                    site=grid.site.pk if grid.site else None,
                )


# --- day and week views ------------------------------------------------------------------


ID_FIELDS = ("location", "clinician", "site")


@overload
def _calendar_of(request: HttpRequest, asked: Clinician) -> Clinician: ...
@overload
def _calendar_of(request: HttpRequest, asked: None) -> Clinician | None: ...
def _calendar_of(request: HttpRequest, asked: Clinician | None) -> Clinician | None:
    """Whose calendar the user sees: the desk any clinician's (None: all of them); a
    clinician only their own, as their appointments are the ones they may open."""
    if sees_whole_clinic(request.user):
        return asked
    own = own_clinician(request.user)
    if own is None:
        raise Http404("No calendar of yours.")
    return own


def _filters(form: CalendarFilterForm | WeekFilterForm) -> dict[str, Any]:
    """The form's values; an unknown id is a 404, a bad date falls back to today."""
    if form.is_valid():
        return form.cleaned_data
    if any(name in form.errors for name in ID_FIELDS):
        raise Http404("No such location, clinician or site.")
    return {name: value for name, value in form.cleaned_data.items() if name != "date"}


@require_safe
@staff_only(*STAFF_ROLES)
def day_view(request: HttpRequest) -> HttpResponse:
    form = CalendarFilterForm(request.GET or None)
    data = _filters(form) if request.GET else {}
    if request.GET and not form.is_valid():
        messages.error(request, "That date was not understood: showing today.")
    location = data.get("location") or _default_location()
    now = timezone.now()
    day = data.get("date") or _local_today(location, now)
    clinician = _calendar_of(request, data.get("clinician"))
    site = data.get("site")
    show_cancelled = bool(data.get("show_cancelled"))
    clinicians = clinicians_for(
        location, clinician_id=clinician.pk if clinician else None, site=site
    )
    grid = build_grid(
        location=location,
        clinicians=clinicians,
        days=[day],
        now=now,
        site=site,
        show_cancelled=show_cancelled,
    )
    can_book = sees_whole_clinic(request.user)
    if can_book:
        _fill_book_links(grid)
    audit.record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Viewed the day view of {location} on {day:%Y-%m-%d}",
        obj=location,
    )
    keep = {
        "location": location.pk,
        "clinician": clinician.pk if clinician else None,
        "site": site.pk if site else None,
        "show_cancelled": 1 if show_cancelled else None,
    }
    today = _local_today(location, now)
    return render(
        request,
        "booking/desk/calendar_day.html",
        {
            "grid": grid,
            "day": day,
            "is_today": day == today,
            "can_book": can_book,
            "form": CalendarFilterForm(
                initial={**keep, "date": day, "show_cancelled": show_cancelled}
            ),
            "location": location,
            "nav": {
                "previous": _query(**keep, date=(day - timedelta(days=1)).isoformat()),
                "next": _query(**keep, date=(day + timedelta(days=1)).isoformat()),
                "today": _query(**keep, date=today.isoformat()),
                "print": _query(**keep, date=day.isoformat()),
            },
            "week_query": _query(location=location.pk, date=day.isoformat()),
        },
    )


@require_safe
@staff_only(*STAFF_ROLES)
def week_view(request: HttpRequest) -> HttpResponse:
    if not request.GET.get("clinician"):
        first = (
            _calendar_of(request, None)
            or Clinician.objects.filter(is_active=True).order_by("display_name", "pk").first()
        )
        if first is None:
            raise Http404("No clinician yet.")
        return redirect(f"{reverse('desk:week')}?" + _query(clinician=first.pk))
    form = WeekFilterForm(request.GET)
    data = _filters(form)
    clinician = _calendar_of(request, data["clinician"])
    location = data.get("location") or (
        clinician.locations.order_by("name", "pk").first() or _default_location()
    )
    now = timezone.now()
    day = data.get("date") or _local_today(location, now)
    site = data.get("site")
    show_cancelled = bool(data.get("show_cancelled"))
    days = week_days(day)
    grid = build_grid(
        location=location,
        clinicians=[clinician],
        days=days,
        now=now,
        site=site,
        show_cancelled=show_cancelled,
    )
    can_book = sees_whole_clinic(request.user)
    if can_book:
        _fill_book_links(grid)
    audit.record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Viewed the week of {clinician} from {days[0]:%Y-%m-%d}",
        obj=clinician,
    )
    keep = {
        "clinician": clinician.pk,
        "location": location.pk,
        "site": site.pk if site else None,
        "show_cancelled": 1 if show_cancelled else None,
    }
    today = _local_today(location, now)
    return render(
        request,
        "booking/desk/calendar_week.html",
        {
            "grid": grid,
            "day": day,
            "days": days,
            "today": today,
            "clinician": clinician,
            "location": location,
            "form": WeekFilterForm(initial={**keep, "date": day}),
            "nav": {
                "previous": _query(**keep, date=(day - timedelta(days=7)).isoformat()),
                "next": _query(**keep, date=(day + timedelta(days=7)).isoformat()),
                "today": _query(**keep, date=today.isoformat()),
            },
        },
    )


@require_safe
@staff_only(*STAFF_ROLES)
def day_print(request: HttpRequest) -> HttpResponse:
    form = CalendarFilterForm(request.GET or None)
    data = _filters(form) if request.GET else {}
    location = data.get("location") or _default_location()
    day = data.get("date") or _local_today(location, timezone.now())
    clinician = _calendar_of(request, data.get("clinician"))
    clinicians = clinicians_for(
        location, clinician_id=clinician.pk if clinician else None, site=data.get("site")
    )
    sheets = day_sheet(location=location, clinicians=clinicians, day=day)
    audit.record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Printed the day sheet of {location} on {day:%Y-%m-%d}",
        obj=location,
    )
    return render(
        request,
        "booking/desk/calendar_print.html",
        {"sheets": sheets, "day": day, "location": location, "zone": location.zone},
    )


# --- the appointment page and its actions ------------------------------------------------


def _appointment(request: HttpRequest, public_id: UUID) -> Appointment:
    """One the user may open: a clinician opens their own (booking.patients)."""
    return get_object_or_404(
        visible_appointments(request.user).select_related(
            "site", "clinician", "location", "patient"
        ),
        public_id=public_id,
    )


def _flags(appointment: Appointment) -> list[str]:
    try:
        return appointment.safety_answers.flags
    except SafetyAnswers.DoesNotExist:
        return []


@require_safe
@staff_only(*STAFF_ROLES)
def appointment_page(request: HttpRequest, public_id: UUID) -> HttpResponse:
    appointment = _appointment(request, public_id)
    zone = appointment.location.zone
    now = timezone.now()
    day_form = DayForm(request.GET or None)
    day = (day_form.cleaned_data.get("date") if day_form.is_valid() else None) or (
        appointment.start.astimezone(zone).date()
    )
    times = []
    if appointment.status == AppointmentStatus.BOOKED:
        times = free_slots(
            site=appointment.site,
            first_day=day,
            last_day=day,
            location_id=appointment.location_id,
            now=now,
            with_notice=False,
        )
    audit.record(
        request,
        action=AuditEvent.Action.VIEW,
        summary=f"Viewed appointment {appointment.public_id}",
        patient=appointment.patient,
        obj=appointment,
    )
    return render(
        request,
        "booking/desk/calendar_appointment.html",
        {
            "appointment": appointment,
            "start": appointment.start.astimezone(zone),
            "end": appointment.end.astimezone(zone),
            "flags": _flags(appointment),
            "times": times,
            "reschedule_day": day,
            "day_form": DayForm(initial={"date": day}),
            "cancel_form": CancelForm(),
            "is_booked": appointment.status == AppointmentStatus.BOOKED,
            "is_arrived": appointment.status == AppointmentStatus.ARRIVED,
            "can_complete": has_role(request.user, CLINICIAN, CLINIC_ADMIN),
            "day_query": _query(
                location=appointment.location_id,
                date=appointment.start.astimezone(zone).date().isoformat(),
            ),
        },
    )


def _after_action(request: HttpRequest, appointment: Appointment, summary: str) -> None:
    audit.record(
        request,
        action=AuditEvent.Action.CHANGE,
        summary=f"{summary} ({appointment.public_id})",
        patient=appointment.patient,
        obj=appointment,
    )
    messages.success(request, summary + ".")


def _action(
    request: HttpRequest, public_id: UUID, act: Callable[[Appointment], str | None]
) -> HttpResponse:
    appointment = _appointment(request, public_id)
    try:
        summary = act(appointment)
    except SlotTaken as error:
        messages.error(request, f"Nothing was changed: {error.message}")
    except BookingError as error:
        messages.error(request, f"Nothing was changed: {error.message}")
    else:
        if summary:
            _after_action(request, appointment, summary)
    return redirect("desk:appointment", public_id=appointment.public_id)


@require_POST
@staff_only(*STAFF_ROLES)
def arrive(request: HttpRequest, public_id: UUID) -> HttpResponse:
    def act(appointment: Appointment) -> str:
        mark_arrived(appointment=appointment)
        return f"{appointment.patient} is marked arrived"

    return _action(request, public_id, act)


@require_POST
@staff_only(*STAFF_ROLES)
def no_show(request: HttpRequest, public_id: UUID) -> HttpResponse:
    def act(appointment: Appointment) -> str:
        mark_no_show(appointment=appointment)
        return f"{appointment.patient} is marked as a no-show"

    return _action(request, public_id, act)


@require_POST
@staff_only(*STAFF_ROLES)
def cancel(request: HttpRequest, public_id: UUID) -> HttpResponse:
    form = CancelForm(request.POST)

    def act(appointment: Appointment) -> str | None:
        if not form.is_valid():
            messages.error(request, "Nothing was changed: give a reason to cancel.")
            return None
        cancel_appointment(
            appointment=appointment, reason=form.cleaned_data["reason"], by_patient=False
        )
        return f"The appointment of {appointment.patient} is cancelled"

    return _action(request, public_id, act)


@require_POST
@staff_only(*STAFF_ROLES)
def reschedule(request: HttpRequest, public_id: UUID) -> HttpResponse:
    # A time picked from the list is "start|clinician id"; a bare start keeps the clinician
    # when free (the booking verbs' preference).
    start, _, clinician_id = request.POST.get("slot", "").partition("|")
    form = RescheduleForm({"start": start or request.POST.get("start", "")})

    def act(appointment: Appointment) -> str | None:
        if not form.is_valid():
            messages.error(request, "Nothing was changed: choose one of the times offered.")
            return None
        clinician = (
            get_object_or_404(Clinician, pk=int(clinician_id)) if clinician_id.isdecimal() else None
        )
        moved = reschedule_appointment(
            appointment=appointment,
            start=form.cleaned_data["start"],
            by_patient=False,
            clinician=clinician,
        )
        local = moved.start.astimezone(moved.location.zone)
        return (
            f"The appointment of {moved.patient} is moved to {local:%A %-d %B %Y, %H:%M} "
            f"with {moved.clinician}"
        )

    return _action(request, public_id, act)


# --- booking for a patient and walk-ins --------------------------------------------------


def search_patients(query: str) -> QuerySet[Patient]:
    """Patients whose name, date of birth (YYYY-MM-DD) or phone matches `query`."""
    query = query.strip()
    if not query:
        return Patient.objects.none()
    condition = Q()
    try:
        born = date.fromisoformat(query)
    except ValueError:
        born = None
    digits = "".join(ch for ch in query if ch.isdigit())
    if born is not None:
        condition = Q(date_of_birth=born)
    elif len(digits) >= 4 and len(digits) >= len(query.replace(" ", "")) - 3:
        condition = Q(phone__contains=digits[-10:])
    else:
        for word in query.split():
            condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return Patient.objects.filter(condition).order_by("last_name", "first_name", "pk")[
        :SEARCH_LIMIT
    ]


def _refuse_unless_desk(request: HttpRequest) -> None:
    """Booking is the desk's: an appointment made by staff puts the patient in the
    clinician's care (booking.patients), so a clinician may not make one for themselves."""
    if not sees_whole_clinic(request.user):
        raise PermissionDenied


def _search(request: HttpRequest, query: str) -> list[Patient]:
    """Search, and log that staff saw the patients found (principle 6)."""
    results = list(search_patients(query))
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
        f"{how} {appointment.site} for {appointment.patient} on {local:%A %-d %B %Y at %H:%M} "
        f"with {appointment.clinician}"
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
@staff_only(*STAFF_ROLES)
def book(request: HttpRequest) -> HttpResponse:
    _refuse_unless_desk(request)
    params = request.GET
    location = get_object_or_404(Location, pk=_int(params.get("location")))
    clinician = get_object_or_404(Clinician, pk=_int(params.get("clinician")))
    start = _parse_start(params.get("start", ""))
    if start is None:
        raise Http404("No time given.")
    start = start.astimezone(location.zone)
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
    if request.method == "POST":
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
            "alternatives": alternatives,
            "hidden": {
                "location": location.pk,
                "clinician": clinician.pk,
                "start": start.isoformat(),
                "site": site_id or "",
            },
            "action_query": _query(
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
@staff_only(*STAFF_ROLES)
def walk_in(request: HttpRequest) -> HttpResponse:
    _refuse_unless_desk(request)
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
