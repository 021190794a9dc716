"""Staff endpoints of the outbox: an appointment's message timeline."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.api.permissions import IsClinicStaff
from booking.audit import record
from booking.models import Appointment, AuditEvent
from booking.patients import can_read_clinical, visible_appointments
from config.logs import masked
from followup.models import Channel, Message, MessageKind, MessageState


class TimelineMessageSerializer(serializers.Serializer):
    """One message about an appointment, as staff follow it: a reminder, an appointment
    email, a check-in message, a waitlist offer, or (for clinicians) a red-flag alert."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    kind_label = serializers.CharField(source="get_kind_display", help_text="The kind in words.")
    check_in_day = serializers.IntegerField(
        source="check_in.day",
        allow_null=True,
        help_text="For a check-in's messages, the day of its time point; else null.",
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    recipient = serializers.SerializerMethodField(help_text="Masked: enough to tell apart.")
    due_at = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=MessageState.choices)
    attempts = serializers.IntegerField()
    sent_at = serializers.SerializerMethodField()
    last_error = serializers.CharField()
    skip_reason = serializers.CharField(help_text="Why it was skipped or cancelled, if it was.")

    def get_recipient(self, message: Message) -> str:
        return masked(message.recipient)

    # Times carry the location's offset, like the appointment's own.
    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.context["zone"]).isoformat()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_due_at(self, message: Message) -> str:
        return self._local(message.due_at)

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_sent_at(self, message: Message) -> str | None:
        return None if message.sent_at is None else self._local(message.sent_at)


def appointment_messages(appointment: Appointment, *, clinical: bool) -> QuerySet[Message]:
    """Every message about the appointment, earliest due first: its reminders and emails,
    the messages of the check-ins its procedure started, the waitlist offer it was booked
    from, and, for `clinical` readers only, the red-flag alerts sent to staff."""
    messages = Message.objects.filter(
        Q(appointment=appointment) | Q(waitlist_offer__appointment=appointment)
    )
    if not clinical:
        messages = messages.filter(alert=None)
    return messages.select_related("check_in").order_by("due_at", "pk")


class AppointmentMessagesView(APIView):
    permission_classes = [IsClinicStaff]

    @extend_schema(
        responses={200: TimelineMessageSerializer(many=True)},
        tags=["staff"],
        summary="The appointment's messages in due order",
        description=(
            "Reminders, booking emails, check-in messages, the waitlist offer the "
            "appointment was booked from and, for clinicians and clinic admins, red-flag "
            "alerts sent to staff. Recipients are masked; times carry the location's offset."
        ),
    )
    def get(self, request: Request, public_id: str) -> Response:
        appointment = get_object_or_404(
            visible_appointments(request.user).select_related("location", "patient"),
            public_id=public_id,
        )
        messages = appointment_messages(appointment, clinical=can_read_clinical(request.user))
        record(
            request,
            action=AuditEvent.Action.VIEW,
            summary=f"Viewed the messages of appointment {public_id} through the staff API",
            patient=appointment.patient,
            obj=appointment,
        )
        serializer = TimelineMessageSerializer(
            messages, many=True, context={"zone": appointment.location.zone}
        )
        return Response(serializer.data)
