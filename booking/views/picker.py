"""The time picker shared by booking and rescheduling: a strip of days, one day's times.

The page shows two weeks of days, marking those with free times; the chosen day's times
(the first day with times unless `?day=YYYY-MM-DD` names another) grouped into morning,
afternoon and evening on the location's wall clock; and a shortcut to the first free time.
Everything is links, so it works without JavaScript.

A `day` that is not a date, or that lies outside the booking window (before today or past
the site's maximum advance), falls back to the first day with times, and the page says so.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date

from booking.availability import MAX_RANGE_DAYS, Slot, free_slots
from booking.forms import TimeFilterForm
from booking.models import Site

STRIP_DAYS = 14  # two weeks, Monday to Sunday, on a phone's width
# Parts of the day, by the hour their times start on the location's wall clock.
PARTS = (("Morning", 0), ("Afternoon", 12), ("Evening", 17))


@dataclass(frozen=True)
class StripDay:
    day: date
    times: int  # how many distinct start times are free
    chosen: bool
    bookable: bool  # inside the booking window


@dataclass(frozen=True)
class DayPart:
    name: str
    slots: list[Slot]


def _slots(
    site: Site,
    first_day: date,
    last_day: date,
    clinician_id: int | None,
    location_id: int | None,
) -> list[Slot]:
    """Free slots from first_day to last_day, asked in ranges the engine accepts."""
    slots: list[Slot] = []
    start = first_day
    while start <= last_day:
        end = min(last_day, start + timedelta(days=MAX_RANGE_DAYS - 1))
        slots += free_slots(
            site=site,
            first_day=start,
            last_day=end,
            clinician_id=clinician_id,
            location_id=location_id,
        )
        start = end + timedelta(days=1)
    return slots


def one_per_time(slots: Iterable[Slot], prefer_clinician_id: int | None = None) -> list[Slot]:
    """One slot per start time (and location): the patient picks a time, not a list of
    everyone free then. The preferred clinician (the one already booked) wins when free;
    the clinician filter narrows to one clinician anyway."""
    chosen: dict[tuple[str, int], Slot] = {}
    for slot in slots:
        key = (slot.start.isoformat(), slot.location_id)
        if key not in chosen or slot.clinician_id == prefer_clinician_id:
            chosen[key] = slot
    return list(chosen.values())


def day_parts(slots: Iterable[Slot]) -> list[DayPart]:
    """Morning, afternoon, evening (those with times), by each slot's own wall clock."""
    parts: dict[str, list[Slot]] = {name: [] for name, _ in PARTS}
    for slot in slots:
        name = [name for name, hour in PARTS if slot.start.hour >= hour][-1]
        parts[name].append(slot)
    return [DayPart(name, found) for name, found in parts.items() if found]


def _dates(first: date, count: int) -> Iterator[date]:
    return (first + timedelta(days=offset) for offset in range(count))


def _requested_day(query: QueryDict) -> tuple[date | None, bool]:
    """The day asked for (`day`, or `start` from older links) and whether one was asked."""
    raw = query.get("day") or query.get("start") or ""
    if not raw:
        return None, False
    try:
        return parse_date(raw), True
    except ValueError:  # well formed but impossible, such as 2026-02-30
        return None, True


def picker_context(
    site: Site,
    query: QueryDict,
    *,
    location_id: int | None = None,
    prefer_clinician_id: int | None = None,
) -> dict[str, Any]:
    """Everything the times template needs, from the page's query string."""
    filters = query.copy()
    filters.pop("start", None)  # the day is read below, whatever the filter form says of it
    form = TimeFilterForm(filters, site=site)
    params = form.cleaned_data if form.is_valid() else {}
    clinician_id = params.get("clinician")
    location_id = location_id or params.get("location")
    today = timezone.localdate()
    last_bookable = today + timedelta(days=site.max_advance_days)

    slots = one_per_time(
        _slots(site, today, last_bookable, clinician_id, location_id), prefer_clinician_id
    )
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.date(), []).append(slot)
    days_with_times = sorted(by_day)
    first_with_times = days_with_times[0] if days_with_times else today

    requested, asked = _requested_day(query)
    in_window = requested is not None and today <= requested <= last_bookable
    day = requested if requested is not None and in_window else first_with_times
    # Strips are fixed fortnights from this week's Monday, so choosing a day in the strip
    # never moves the strip under the patient's finger.
    this_monday = today - timedelta(days=today.weekday())
    strip_start = this_monday + timedelta(days=(day - this_monday).days // STRIP_DAYS * STRIP_DAYS)
    strip_end = strip_start + timedelta(days=STRIP_DAYS - 1)
    strip = [
        StripDay(
            day=each,
            times=len(by_day.get(each, [])),
            chosen=each == day,
            bookable=today <= each <= last_bookable,
        )
        for each in _dates(strip_start, STRIP_DAYS)
    ]
    before = [each for each in days_with_times if each < strip_start]
    earlier_fortnight = [each for each in before if each >= strip_start - timedelta(STRIP_DAYS)]
    after = [each for each in days_with_times if each > strip_end]
    kept = {"clinician": params.get("clinician"), "location": params.get("location")}
    day_slots = by_day.get(day, [])
    return {
        # The day links keep the patient's choice of clinician and location.
        "filter_query": urlencode({name: value for name, value in kept.items() if value}),
        "filter_form": form,
        "day": day,
        "day_parts": day_parts(day_slots),
        "strip": strip,
        "strip_start": strip_start,
        "strip_end": strip_end,
        "earlier": (earlier_fortnight or before)[0 if earlier_fortnight else -1]
        if before
        else None,
        "later": after[0] if after else None,
        "first_available": slots[0] if slots else None,
        "fell_back": asked and not in_window,
        "zones": sorted({str(slot.start.tzinfo) for slot in day_slots or slots[:1]}),
    }
