"""The desk's appointment page and its actions: arrived, no-show (and their undo), cancel
and reschedule.

Thin views: they check the role, parse the input and call the booking verbs
(`booking.services`). Every view of an appointment and every change is recorded in the
audit log.
"""

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from booking import audit
from booking.availability import free_slots
from booking.desk import sections
from booking.desk.forms import CancelForm, DayForm, RescheduleForm
from booking.desk.query import query_string
from booking.formats import clock, long_day
from booking.models import Appointment, AppointmentStatus, AuditEvent, Clinician, SafetyAnswers
from booking.patients import visible_appointments
from booking.roles import STAFF_ROLES, staff_only
from booking.services import (
    BookingError,
    SlotTaken,
    cancel_appointment,
    mark_arrived,
    mark_no_show,
    reschedule_appointment,
    undo_arrival,
    undo_no_show,
)


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
            # What the services would refuse is not offered (they still check).
            "can_mark_no_show": appointment.status == AppointmentStatus.BOOKED
            and appointment.start <= now,
            "can_undo_no_show": appointment.status == AppointmentStatus.NO_SHOW
            and now.astimezone(zone).date() == appointment.start.astimezone(zone).date(),
            "day_query": query_string(
                location=appointment.location_id,
                date=appointment.start.astimezone(zone).date().isoformat(),
            ),
        }
        | sections.APPOINTMENT.context(request, appointment),
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
def undo_no_show_view(request: HttpRequest, public_id: UUID) -> HttpResponse:
    to = request.POST.get("to", "")

    def act(appointment: Appointment) -> str | None:
        if to not in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
            messages.error(request, "Nothing was changed: choose booked or arrived.")
            return None
        undo_no_show(appointment=appointment, to=to)
        outcome = "booked again" if to == AppointmentStatus.BOOKED else "marked arrived"
        return f"The no-show of {appointment.patient} is undone: {outcome}"

    return _action(request, public_id, act)


@require_POST
@staff_only(*STAFF_ROLES)
def undo_arrival_view(request: HttpRequest, public_id: UUID) -> HttpResponse:
    def act(appointment: Appointment) -> str:
        undo_arrival(appointment=appointment)
        return f"The arrival of {appointment.patient} is undone: booked again"

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
            f"The appointment of {moved.patient} is moved to {long_day(local)}, {clock(local)} "
            f"with {moved.clinician}"
        )

    return _action(request, public_id, act)
