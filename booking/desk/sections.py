"""Sections that apps built on booking add to the desk's pages.

The desk's home, a patient's record and an appointment are booking's pages, yet part of what
they show is followup's: the open red-flag alerts and failed messages on the home; the
procedures, check-in answers, check-ins and messages on the record; the way to complete an
arrived visit on the appointment. booking never imports followup, so
followup adds its sections here when it loads (`FollowupConfig.ready`): each section is a
template and a function that gives the template its context. A page merges the sections'
contexts into its own and includes their templates, in the order they were added.

A registry rather than a record page of followup's own: the record stays one page at one
URL, and `add` is the one place to look for what other apps show on it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, ParamSpec

from django.http import HttpRequest

from booking.models import Appointment, Patient

P = ParamSpec("P")


@dataclass(frozen=True)
class Section(Generic[P]):
    template: str
    context: Callable[P, Mapping[str, Any]]


class DeskPage(Generic[P]):
    """One desk page's sections from other apps, called with the page's arguments `P`."""

    def __init__(self) -> None:
        self._sections: dict[str, Section[P]] = {}

    def add(self, template: str, context: Callable[P, Mapping[str, Any]]) -> None:
        """Show `template` on the page, with the context `context` gives. Keyed by the
        template, so a `ready` that runs twice (Django allows it) adds it once."""
        self._sections[template] = Section(template, context)

    def context(self, *args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        """Every section's context, and `desk_sections`: their templates, in order."""
        merged: dict[str, Any] = {"desk_sections": list(self._sections)}
        for section in self._sections.values():
            merged |= section.context(*args, **kwargs)
        return merged


# The desk's home: called with the request and the time the page shows.
HOME: DeskPage[[HttpRequest, datetime]] = DeskPage()
# A patient's record: called with the request, the patient and the time the page shows.
PATIENT_RECORD: DeskPage[[HttpRequest, Patient, datetime]] = DeskPage()
# An appointment: called with the request and the appointment.
APPOINTMENT: DeskPage[[HttpRequest, Appointment]] = DeskPage()
