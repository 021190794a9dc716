"""A clinician's private iCal feed (RFC 5545) of their upcoming appointments.

The URL's token is the key: read-only, no login, revoked by replacing it. A calendar
provider (Google, Outlook) stores what it fetches on its own servers, so an event carries
no more than the patient's initials and the site: no name, no contact, nothing clinical
beyond what the clinician's own day needs.
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar, Event
from icalendar.enums import STATUS

from booking.ics import calendar_uid
from booking.models import Appointment, AppointmentStatus, CalendarFeed, Clinician

PRODID = "-//Clinic booking//Clinician feed//EN"
FEED_DAYS = 90
# Booked and arrived visits; completed ones are over and cancelled ones are not held.
FEED_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def feed_for(clinician: Clinician) -> CalendarFeed:
    """The clinician's feed, created with a fresh token on first use."""
    feed, _ = CalendarFeed.objects.get_or_create(
        clinician=clinician, defaults={"token": new_token()}
    )
    return feed


def revoke_and_renew(clinician: Clinician) -> CalendarFeed:
    """Replace the token: the old URL stops working at once."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(clinician=clinician).first()
        if feed is None:
            return CalendarFeed.objects.create(clinician=clinician, token=new_token())
        feed.token = new_token()
        feed.save(update_fields=["token"])
        return feed


def feed_by_token(token: str) -> CalendarFeed | None:
    if not token:
        return None
    return (
        CalendarFeed.objects.select_related("clinician")
        .filter(token=token, clinician__is_active=True)
        .first()
    )


def initials(first_name: str, last_name: str) -> str:
    letters = [name.strip()[0].upper() for name in (first_name, last_name) if name.strip()]
    return "".join(f"{letter}." for letter in letters) or "?"


def feed_summary(appointment: Appointment) -> str:
    patient = appointment.patient
    return f"{initials(patient.first_name, patient.last_name)} \N{EN DASH} {appointment.site.name}"


def upcoming_appointments(clinician: Clinician, *, now: datetime) -> list[Appointment]:
    return list(
        Appointment.objects.select_related("patient", "site", "location")
        .filter(
            clinician=clinician,
            status__in=FEED_STATUSES,
            end__gt=now,
            start__lt=now + timedelta(days=FEED_DAYS),
        )
        .order_by("start", "pk")
    )


def build_feed(clinician: Clinician, *, now: datetime | None = None) -> bytes:
    now = now or timezone.now()
    events = [
        Event.new(
            uid=calendar_uid(appointment),
            sequence=appointment.calendar_sequence,
            stamp=now,
            start=appointment.start,
            end=appointment.end,
            summary=feed_summary(appointment),
            location=appointment.location.name,
            status=STATUS.CONFIRMED,
        )
        for appointment in upcoming_appointments(clinician, now=now)
    ]
    calendar = Calendar.new(
        prodid=PRODID,
        name=f"{settings.CLINIC_NAME}: {clinician.display_name}",
        subcomponents=events,
    )
    return calendar.to_ical()
