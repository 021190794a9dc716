"""The time picker shared by booking and rescheduling: a week of free times by day."""

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone

from booking.availability import MAX_RANGE_DAYS, Slot, free_slots
from booking.forms import TimeFilterForm
from booking.models import Site

PICKER_DAYS = 7


@dataclass(frozen=True)
class Day:
    day: date
    slots: list[Slot]


def _first_day_with_times(
    site: Site, today: date, clinician_id: int | None, location_id: int | None
) -> date:
    """The first day with a free time, so the patient is not shown empty weeks."""
    horizon = min(site.max_advance_days, MAX_RANGE_DAYS - 1)
    slots = free_slots(
        site=site,
        first_day=today,
        last_day=today + timedelta(days=horizon),
        clinician_id=clinician_id,
        location_id=location_id,
    )
    return slots[0].start.date() if slots else today


def picker_context(
    site: Site, query: QueryDict, *, location_id: int | None = None
) -> dict[str, Any]:
    """Everything the times template needs, from the page's query string."""
    form = TimeFilterForm(query, site=site)
    params = form.cleaned_data if form.is_valid() else {}
    clinician_id = params.get("clinician")
    location_id = location_id or params.get("location")
    today = timezone.localdate()
    first_day = params.get("start")
    if first_day is None or first_day < today:
        first_day = _first_day_with_times(site, today, clinician_id, location_id)
    last_day = first_day + timedelta(days=PICKER_DAYS - 1)
    slots = free_slots(
        site=site,
        first_day=first_day,
        last_day=last_day,
        clinician_id=clinician_id,
        location_id=location_id,
    )
    days = [
        Day(day=day, slots=list(day_slots))
        for day, day_slots in groupby(slots, key=lambda slot: slot.start.date())
    ]
    earlier = max(first_day - timedelta(days=PICKER_DAYS), today)
    kept = {"clinician": params.get("clinician"), "location": params.get("location")}
    return {
        # The week links keep the patient's choice of clinician and location.
        "filter_query": urlencode({name: value for name, value in kept.items() if value}),
        "filter_form": form,
        "days": days,
        "first_day": first_day,
        "last_day": last_day,
        "earlier": earlier if first_day > today else None,
        "later": last_day + timedelta(days=1)
        if last_day < today + timedelta(days=site.max_advance_days)
        else None,
        "zones": sorted({str(slot.start.tzinfo) for slot in slots}),
    }
