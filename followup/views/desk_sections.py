"""followup's sections of the desk's pages (booking.desk.sections): on the home, the open
red-flag alerts and the failed messages; on a patient's record, the procedures, check-in
answers, check-ins and messages; on an arrived appointment, the way to complete it. Added
by `FollowupConfig.ready` through `add_sections`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse

from booking.desk.sections import APPOINTMENT, HOME, PATIENT_RECORD
from booking.models import Appointment, Patient
from booking.patients import can_read_clinical
from booking.roles import CLINIC_ADMIN, CLINICIAN, has_role, may_open
from config.logs import masked
from followup.models import Message, MessageState, Procedure
from followup.worklist import (
    open_alerts_at_the_desk,
    patient_answers,
    patient_check_ins,
    scope_for,
)

MESSAGES_SHOWN = 100


def add_sections() -> None:
    HOME.add("followup/staff/desk_home_attention.html", home_attention)
    PATIENT_RECORD.add("followup/staff/desk_patient_record.html", patient_record)
    APPOINTMENT.add("followup/staff/desk_appointment_completion.html", appointment_completion)


def appointment_completion(request: HttpRequest, appointment: Appointment) -> dict[str, Any]:
    """Clinicians complete an arrived visit; the desk may open the page but not complete it."""
    return {"can_complete": has_role(request.user, CLINICIAN, CLINIC_ADMIN)}


def home_attention(request: HttpRequest, now: datetime) -> dict[str, Any]:
    scope = scope_for(request.user)
    dashboard = reverse("followup:dashboard")
    return {
        "open_alerts": open_alerts_at_the_desk(scope, now=now),
        "alerts_are_mine": not scope.everyone and scope.clinician is not None,
        # Clinicians and clinic admins get cards to act on; reception, who reads no
        # clinical answers, the count with each alert's clinician, location and age.
        "alerts_as_cards": can_read_clinical(request.user),
        "alerts_show_clinician": scope.everyone,
        "alerts_url": dashboard if may_open(request.user, dashboard) else "",
        "failed_messages": Message.objects.filter(state=MessageState.FAILED).count(),
        # The admin's message list names patients, so it is clinic admins' (PatientDataAdmin):
        # others see the count.
        "failed_messages_url": (
            reverse("admin:followup_message_changelist") + "?state__exact=failed"
            if admin.site.get_model_admin(Message).has_view_permission(request)
            else ""
        ),
    }


@dataclass(frozen=True)
class MessageRow:
    message: Message
    due_at: datetime
    recipient: str


def patient_record(request: HttpRequest, patient: Patient, now: datetime) -> dict[str, Any]:
    clinical = can_read_clinical(request.user)
    procedures = list(
        Procedure.objects.filter(appointment__patient=patient)
        .select_related("site", "performed_by", "appointment__location")
        .prefetch_related("injectates")
        .order_by("-performed_at")
    )
    # Check-in messages are listed with their check-ins; alerts to staff are clinical.
    # Visits' messages and waitlist offers (to the patient) and alerts about their visits.
    visit_messages = Message.objects.filter(
        Q(patient=patient) | Q(appointment__patient=patient), check_in=None
    )
    if not clinical:
        visit_messages = visit_messages.filter(alert=None)
    message_rows = [
        MessageRow(
            message,
            message.due_at.astimezone(_zone_of(message)),
            masked(message.recipient),
        )
        for message in visit_messages.select_related(
            "appointment__location", "waitlist_offer__location"
        ).order_by("-due_at", "-pk")[:MESSAGES_SHOWN]
    ]
    return {
        "procedures": [
            (procedure, procedure.performed_at.astimezone(procedure.appointment.location.zone))
            for procedure in procedures
        ],
        # The answers are clinical: reception gets none of them (not only hidden).
        "answers": patient_answers(patient) if clinical else [],
        "messages_sent": message_rows,
        "check_ins": patient_check_ins(patient, now=now),
        "back_to": reverse("desk:patient", args=[patient.pk]),
    }


def _zone_of(message: Message) -> ZoneInfo:
    """The wall clock a message keeps: its visit's location, or its offer's."""
    place = message.appointment or message.waitlist_offer
    return place.location.zone if place is not None else ZoneInfo(settings.TIME_ZONE)
