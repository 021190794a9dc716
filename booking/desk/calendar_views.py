"""The reception calendar: the day and week views and the printed day sheet.

Thin views: they check the role, parse the filters and call the grid builder
(`booking.desk.grid`). Every view is recorded in the audit log.
"""

from datetime import date, datetime, timedelta
from typing import Any, overload

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from booking import audit
from booking.desk.forms import CalendarFilterForm, WeekFilterForm
from booking.desk.grid import CellKind, Grid, build_grid, clinicians_for, day_sheet, week_days
from booking.desk.query import query_string
from booking.formats import clock
from booking.models import AuditEvent, Clinician, Location
from booking.patients import own_clinician, sees_whole_clinic
from booking.roles import STAFF_ROLES, staff_only


def _local_today(location: Location, now: datetime) -> date:
    return now.astimezone(location.zone).date()


def _default_location() -> Location:
    location = Location.objects.order_by("name", "pk").first()
    if location is None:
        raise Http404("No location yet.")
    return location


def _fill_book_links(grid: Grid) -> None:
    base = reverse("desk:book")
    for column in grid.columns:
        for cell in column.cells:
            if cell.kind == CellKind.FREE and not cell.past and cell.start is not None:
                cell.label = clock(cell.start)
                cell.book_url = f"{base}?" + query_string(
                    location=grid.location.pk,
                    clinician=column.clinician.pk,
                    start=cell.start.isoformat(),
                    site=grid.site.pk if grid.site else None,
                )


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
                "previous": query_string(**keep, date=(day - timedelta(days=1)).isoformat()),
                "next": query_string(**keep, date=(day + timedelta(days=1)).isoformat()),
                "today": query_string(**keep, date=today.isoformat()),
                "print": query_string(**keep, date=day.isoformat()),
            },
            "week_query": query_string(location=location.pk, date=day.isoformat()),
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
        return redirect(f"{reverse('desk:week')}?" + query_string(clinician=first.pk))
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
                "previous": query_string(**keep, date=(day - timedelta(days=7)).isoformat()),
                "next": query_string(**keep, date=(day + timedelta(days=7)).isoformat()),
                "today": query_string(**keep, date=today.isoformat()),
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
