"""Reception's schedule pages: clinicians' weekly hours, dated exceptions and blocks.

Thin: the forms are in `booking.desk.forms`, the rules in `booking.schedules`. Clinic
admins and reception may edit; every change is written to the audit log.
"""

from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from booking import audit
from booking.desk.forms import BlockForm, ExceptionForm, HoursForm
from booking.models import (
    Appointment,
    AuditEvent,
    Block,
    Clinician,
    ScheduleException,
    WorkingHours,
)
from booking.roles import DESK_ROLES, staff_only
from booking.schedules import (
    BlockConflicts,
    add_block,
    add_schedule_exception,
    add_working_hours,
    remove_block,
    remove_schedule_exception,
    remove_working_hours,
)


def clinician_zone(clinician: Clinician) -> ZoneInfo:
    """The zone block times are typed in: the clinician's first location's, else the clinic's."""
    location = clinician.locations.order_by("name").first()
    return location.zone if location else ZoneInfo(settings.TIME_ZONE)


def appointment_url(appointment: Appointment) -> str:
    return reverse("desk:appointment", args=[appointment.public_id])


@require_safe
@staff_only(*DESK_ROLES)
def clinician_list(request: HttpRequest) -> HttpResponse:
    clinicians = Clinician.objects.prefetch_related("locations", "sites").order_by(
        "-is_active", "display_name"
    )
    return render(request, "booking/desk/schedule_list.html", {"clinicians": clinicians})


def _page(
    request: HttpRequest,
    clinician: Clinician,
    *,
    status: int = 200,
    conflicts: list[Appointment] | None = None,
    **forms_given: forms.Form,
) -> HttpResponse:
    zone = clinician_zone(clinician)
    now = timezone.now()
    context = {
        "clinician": clinician,
        "zone": zone,
        "hours": WorkingHours.objects.filter(clinician=clinician).select_related("location"),
        "exceptions": ScheduleException.objects.filter(
            clinician=clinician, date__gte=now.astimezone(zone).date()
        ).select_related("location"),
        "blocks": [
            (block, block.start.astimezone(zone), block.end.astimezone(zone))
            for block in Block.objects.filter(clinician=clinician, end__gt=now)
        ],
        "hours_form": forms_given.get("hours_form") or HoursForm(clinician=clinician),
        "exception_form": forms_given.get("exception_form") or ExceptionForm(clinician=clinician),
        "block_form": forms_given.get("block_form") or BlockForm(zone=zone),
        "conflicts": [
            (appointment, appointment.local_start, appointment_url(appointment))
            for appointment in conflicts or []
        ],
    }
    return render(request, "booking/desk/schedule.html", context, status=status)


def _clinician(clinician_id: int) -> Clinician:
    return get_object_or_404(Clinician, pk=clinician_id)


def _changed(request: HttpRequest, clinician: Clinician, summary: str, obj: object) -> None:
    audit.record(
        request, action=AuditEvent.Action.CHANGE, summary=f"{clinician}: {summary}", obj=obj
    )
    messages.success(request, summary)


@require_safe
@staff_only(*DESK_ROLES)
def schedule(request: HttpRequest, clinician_id: int) -> HttpResponse:
    return _page(request, _clinician(clinician_id))


@require_POST
@staff_only(*DESK_ROLES)
def hours_add(request: HttpRequest, clinician_id: int) -> HttpResponse:
    clinician = _clinician(clinician_id)
    form = HoursForm(request.POST, clinician=clinician)
    if form.is_valid():
        data = form.cleaned_data
        try:
            hours = add_working_hours(
                clinician=clinician,
                location=data["location"],
                weekday=data["weekday"],
                start_time=data["start_time"],
                end_time=data["end_time"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _changed(request, clinician, f"Added hours {hours}", hours)
            return redirect("desk:schedule", clinician.pk)
    return _page(request, clinician, status=400, hours_form=form)


@require_POST
@staff_only(*DESK_ROLES)
def hours_remove(request: HttpRequest, clinician_id: int, hours_id: int) -> HttpResponse:
    clinician = _clinician(clinician_id)
    hours = get_object_or_404(WorkingHours, pk=hours_id, clinician=clinician)
    summary = f"Removed hours {hours}"
    remove_working_hours(hours)
    _changed(request, clinician, summary, clinician)
    return redirect("desk:schedule", clinician.pk)


@require_POST
@staff_only(*DESK_ROLES)
def exception_add(request: HttpRequest, clinician_id: int) -> HttpResponse:
    clinician = _clinician(clinician_id)
    form = ExceptionForm(request.POST, clinician=clinician)
    if form.is_valid():
        data = form.cleaned_data
        try:
            exception = add_schedule_exception(
                clinician=clinician,
                location=data["location"],
                day=data["date"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                reason=data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _changed(request, clinician, f"Added exception {exception}", exception)
            return redirect("desk:schedule", clinician.pk)
    return _page(request, clinician, status=400, exception_form=form)


@require_POST
@staff_only(*DESK_ROLES)
def exception_remove(request: HttpRequest, clinician_id: int, exception_id: int) -> HttpResponse:
    clinician = _clinician(clinician_id)
    exception = get_object_or_404(ScheduleException, pk=exception_id, clinician=clinician)
    summary = f"Removed exception {exception}"
    remove_schedule_exception(exception)
    _changed(request, clinician, summary, clinician)
    return redirect("desk:schedule", clinician.pk)


@require_POST
@staff_only(*DESK_ROLES)
def block_add(request: HttpRequest, clinician_id: int) -> HttpResponse:
    clinician = _clinician(clinician_id)
    form = BlockForm(request.POST, zone=clinician_zone(clinician))
    conflicts: list[Appointment] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            block = add_block(
                clinician=clinician,
                start=data["start"],
                end=data["end"],
                kind=data["kind"],
                reason=data["reason"],
                confirm=data["confirm"],
            )
        except BlockConflicts as error:
            conflicts = error.appointments
            form.add_error(
                None,
                f"This block overlaps {len(conflicts)} booked appointment(s). Tick the box to "
                "add it anyway, then move them.",
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            summary = f"Added block {block.get_kind_display()} {block.reason}"
            under = request.POST.get("confirm") and _count_under(block)
            if under:
                summary += f" over {under} booked appointment(s) to move"
            _changed(request, clinician, summary, block)
            return redirect("desk:schedule", clinician.pk)
    return _page(request, clinician, status=400, block_form=form, conflicts=conflicts)


def _count_under(block: Block) -> int:
    return (
        Appointment.objects.active()
        .overlapping(block.start, block.end)
        .filter(clinician=block.clinician_id)
        .count()
    )


@require_POST
@staff_only(*DESK_ROLES)
def block_remove(request: HttpRequest, clinician_id: int, block_id: int) -> HttpResponse:
    clinician = _clinician(clinician_id)
    block = get_object_or_404(Block, pk=block_id, clinician=clinician)
    summary = f"Removed block {block.get_kind_display()} {block.reason}"
    remove_block(block)
    _changed(request, clinician, summary, clinician)
    return redirect("desk:schedule", clinician.pk)
