"""How the clinic writes times, dates and time zones for people (US English, 12-hour clock)."""

from __future__ import annotations

import datetime as dt
import unicodedata

# Zones as people in the US say them; any other zone falls back to its city ("Paris time").
_ZONE_NAMES = {
    "America/New_York": "Eastern Time",
    "America/Detroit": "Eastern Time",
    "America/Indiana/Indianapolis": "Eastern Time",
    "America/Kentucky/Louisville": "Eastern Time",
    "America/Chicago": "Central Time",
    "America/Denver": "Mountain Time",
    "America/Boise": "Mountain Time",
    "America/Phoenix": "Mountain Time (Arizona)",
    "America/Los_Angeles": "Pacific Time",
    "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time",
    "America/Puerto_Rico": "Atlantic Time",
    "UTC": "UTC",
    "Etc/UTC": "UTC",
}


def zone_name(zone: object) -> str:
    """The time zone as people say it: "Eastern Time", not "America/New_York"."""
    key = str(getattr(zone, "key", zone) or "")
    if key in _ZONE_NAMES:
        return _ZONE_NAMES[key]
    city = key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time" if city else ""


def clock(moment: dt.datetime | dt.time) -> str:
    """A 12-hour time: "9:05 AM"."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def long_day(day: dt.date) -> str:
    """ "Wednesday, December 2, 2026"."""
    return f"{day:%A, %B} {day.day}, {day.year}"


def short_day(day: dt.date) -> str:
    """ "Mar 2, 2026"."""
    return f"{day:%b} {day.day}, {day.year}"


def day_and_time(moment: dt.datetime) -> str:
    """ "December 2, 2026, 9:00 AM"."""
    return f"{moment:%B} {moment.day}, {moment.year}, {clock(moment)}"


def strip_accents(text: str) -> str:
    """ "Chloë" → "Chloe": what SQLite's UNACCENT() does (PostgreSQL has the extension)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
