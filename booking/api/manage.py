"""The patient's manage link over the API: see, cancel or move one appointment."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from booking.api.errors import BOOKING_CONFLICT_RESPONSE, CONFLICT_RESPONSE, booking_error_response
from booking.api.public import PublicAPIView
from booking.api.serializers import (
    AppointmentSerializer,
    CancelRequestSerializer,
    RescheduleRequestSerializer,
)
from booking.links import appointment_for_manage_token
from booking.models import Appointment, AppointmentStatus
from booking.services import BookingError, cancel_appointment, reschedule_appointment

INVALID_LINK = "This link is not valid or has expired. Please call the clinic."


def appointment_or_404(token: str) -> Appointment:
    appointment = appointment_for_manage_token(token)
    if appointment is None:
        raise Http404(INVALID_LINK)
    return appointment


class ManagedAppointmentSerializer(AppointmentSerializer):
    can_change = serializers.SerializerMethodField(
        help_text="False inside the site's minimum notice: the patient must call the clinic."
    )
    clinic_phone = serializers.SerializerMethodField()

    def get_can_change(self, appointment: Appointment) -> bool:
        notice = appointment.site.min_notice_hours * 3600
        return (
            appointment.status == AppointmentStatus.BOOKED
            and (appointment.start - timezone.now()).total_seconds() >= notice
        )

    def get_clinic_phone(self, appointment: Appointment) -> str:
        return appointment.location.phone.as_international


def _answer(request: Request, appointment: Appointment) -> Response:
    return Response(ManagedAppointmentSerializer(appointment, context={"request": request}).data)


class ManageView(PublicAPIView):
    @extend_schema(responses={200: ManagedAppointmentSerializer}, auth=[], tags=["manage"])
    def get(self, request: Request, token: str) -> Response:
        return _answer(request, appointment_or_404(token))


class ManageCancelView(PublicAPIView):
    @extend_schema(
        request=CancelRequestSerializer,
        responses={200: ManagedAppointmentSerializer, 409: CONFLICT_RESPONSE},
        auth=[],
        tags=["manage"],
    )
    def post(self, request: Request, token: str) -> Response:
        appointment = appointment_or_404(token)
        serializer = CancelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            appointment = cancel_appointment(
                appointment=appointment,
                reason=serializer.validated_data.get("reason", ""),
                by_patient=True,
            )
        except BookingError as error:
            return booking_error_response(error)
        return _answer(request, appointment)


class ManageRescheduleView(PublicAPIView):
    @extend_schema(
        request=RescheduleRequestSerializer,
        responses={200: ManagedAppointmentSerializer, 409: BOOKING_CONFLICT_RESPONSE},
        auth=[],
        tags=["manage"],
    )
    def post(self, request: Request, token: str) -> Response:
        appointment = appointment_or_404(token)
        serializer = RescheduleRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            appointment = reschedule_appointment(
                appointment=appointment,
                start=serializer.validated_data["start"],
                clinician=serializer.validated_data.get("clinician"),
                by_patient=True,
            )
        except BookingError as error:
            return booking_error_response(error)
        return _answer(request, appointment)
