"""Emails to the patient about their booking: confirmation, change and cancellation.

Each is an outbox row planned in the transaction that changed the appointment, so a
booking that rolled back sends none. They carry the time, place and preparation
instructions, never the site's name or anything clinical.
"""

from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from booking.ics import appointment_calendar
from booking.links import manage_token
from booking.models import Appointment


class AppointmentEvent(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


SUBJECTS = {
    AppointmentEvent.BOOKED: "Your appointment at {clinic} is booked",
    AppointmentEvent.RESCHEDULED: "Your appointment at {clinic} has moved",
    AppointmentEvent.CANCELLED: "Your appointment at {clinic} is cancelled",
}


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def manage_url(appointment: Appointment) -> str:
    return absolute_url(reverse("booking:manage", args=[manage_token(appointment)]))


def appointment_email(appointment: Appointment, event: AppointmentEvent) -> EmailMultiAlternatives:
    """The email for `event`, in plain text and HTML, with the .ics attached."""
    link = manage_url(appointment)
    context = {
        "appointment": appointment,
        "event": event.value,
        "clinic_name": settings.CLINIC_NAME,
        "manage_url": link,
        "book_url": absolute_url(reverse("home")),
    }
    message = EmailMultiAlternatives(
        subject=SUBJECTS[event].format(clinic=settings.CLINIC_NAME),
        body=render_to_string("booking/email/appointment.txt", context),
        to=[appointment.patient.email],
    )
    message.attach_alternative(
        render_to_string("booking/email/appointment.html", context), "text/html"
    )
    method = "CANCEL" if event == AppointmentEvent.CANCELLED else "REQUEST"
    message.attach(
        "appointment.ics",
        appointment_calendar(appointment, manage_url=link),
        f"text/calendar; method={method}; charset=utf-8",
    )
    return message
