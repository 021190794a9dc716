"""RFC 5545 calendar files for a patient's appointment, made with the icalendar package.

One UID per appointment for its whole life, so calendars update the same event: a change
raises SEQUENCE, a cancellation is METHOD:CANCEL with the same UID. Times are in UTC, which
every calendar reads without a VTIMEZONE. Nothing clinical goes in: no site, no injectate.
"""

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import STATUS

from booking.models import Appointment, AppointmentStatus

PRODID = "-//Clinic booking//Appointments//EN"


def calendar_uid(appointment: Appointment) -> str:
    return f"{appointment.public_id}@{settings.CALENDAR_UID_DOMAIN}"


def appointment_calendar(appointment: Appointment, *, manage_url: str) -> bytes:
    """The .ics for the appointment's current state (REQUEST, or CANCEL once cancelled)."""
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    location = appointment.location
    patient = appointment.booked_as  # the file is also the caller's: only what they typed
    event = Event.new(
        uid=calendar_uid(appointment),
        sequence=appointment.calendar_sequence,
        stamp=timezone.now(),
        start=appointment.start,
        end=appointment.end,
        summary=f"Appointment at {settings.CLINIC_NAME}",
        location=f"{location.name}, {', '.join(location.address.splitlines())}",
        description=(
            f"Your appointment at {settings.CLINIC_NAME}.\n"
            f"To change or cancel it: {manage_url}\n"
            f"Phone: {location.phone.as_national}"
        ),
        organizer=vCalAddress.new(settings.DEFAULT_FROM_EMAIL, cn=settings.CLINIC_NAME),
        attendees=[vCalAddress.new(patient.email, cn=str(patient), role="REQ-PARTICIPANT")]
        if patient.email
        else None,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        url=manage_url,
    )
    calendar = Calendar.new(
        prodid=PRODID, method="CANCEL" if cancelled else "REQUEST", subcomponents=[event]
    )
    return calendar.to_ical()
