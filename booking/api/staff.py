"""Staff endpoints: the day's appointments and the actions reception takes on them."""

from abc import ABC, abstractmethod
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.api.errors import BOOKING_CONFLICT_RESPONSE, CONFLICT_RESPONSE, booking_error_response
from booking.api.permissions import IsClinicStaff
from booking.api.serializers import (
    ActiveClinicianField,
    CancelRequestSerializer,
    LocationField,
    RescheduleRequestSerializer,
    StaffAppointmentSerializer,
)
from booking.audit import record
from booking.models import Appointment, AppointmentStatus, AuditEvent, Location
from booking.patients import visible_appointments
from booking.services import (
    BookingError,
    cancel_appointment,
    mark_arrived,
    mark_no_show,
    reschedule_appointment,
)


def _appointments(request: Request) -> QuerySet[Appointment]:
    """The ones the user may open: a clinician's own, the desk's all (booking.patients)."""
    return visible_appointments(request.user).select_related(
        "site", "clinician", "location", "patient", "safety_answers"
    )


def _staff_answer(request: Request, appointment: Appointment) -> Response:
    return Response(StaffAppointmentSerializer(appointment, context={"request": request}).data)


def _local_day_filter(day: date, locations: list[Location]) -> Q:
    """Appointments starting on `day` as each location's clock reads it."""
    query = Q(pk__in=[])
    for location in locations:
        start = datetime.combine(day, time(), tzinfo=location.zone)
        query |= Q(location=location, start__gte=start, start__lt=start + timedelta(days=1))
    return query


class AppointmentListView(APIView):
    permission_classes = [IsClinicStaff]

    class AppointmentQuerySerializer(serializers.Serializer):
        date = serializers.DateField(required=False, help_text="Local date; today by default.")
        clinician = ActiveClinicianField(required=False)
        location = LocationField(required=False)
        status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)

    @extend_schema(
        parameters=[AppointmentQuerySerializer],
        responses={200: StaffAppointmentSerializer(many=True)},
        tags=["staff"],
    )
    def get(self, request: Request) -> Response:
        query = self.AppointmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        day = params.get("date", timezone.localdate())
        location = params.get("location")
        locations = [location] if location else list(Location.objects.all())
        appointments = _appointments(request).filter(_local_day_filter(day, locations))
        if "clinician" in params:
            appointments = appointments.filter(clinician=params["clinician"])
        if "status" in params:
            appointments = appointments.filter(status=params["status"])
        filters = "; ".join(
            f"{name} {params[name]}"
            for name in ("clinician", "location", "status")
            if name in params
        )
        record(
            request,
            action=AuditEvent.Action.VIEW,
            summary=f"Listed the appointments of {day:%Y-%m-%d} through the staff API"
            + (f" ({filters})" if filters else ""),
        )
        data = StaffAppointmentSerializer(
            appointments.order_by("start", "clinician__display_name"),
            many=True,
            context={"request": request},
        ).data
        return Response(data)


class AppointmentDetailView(APIView):
    permission_classes = [IsClinicStaff]

    @extend_schema(responses={200: StaffAppointmentSerializer}, tags=["staff"])
    def get(self, request: Request, public_id: str) -> Response:
        appointment = get_object_or_404(_appointments(request), public_id=public_id)
        record(
            request,
            action=AuditEvent.Action.VIEW,
            summary=f"Viewed appointment {appointment.public_id} through the staff API",
            patient=appointment.patient,
            obj=appointment,
        )
        return _staff_answer(request, appointment)


class AppointmentActionView(ABC, APIView):
    """Base of the staff actions: find the appointment, act, answer with its new state."""

    permission_classes = [IsClinicStaff]

    request_serializer: type[serializers.Serializer] = serializers.Serializer
    done: str  # what the audit log says was done, e.g. "Cancelled"

    @abstractmethod
    def act(self, appointment: Appointment, data: dict) -> Appointment:
        """Apply the action through a booking function; each subclass names one."""

    def post(self, request: Request, public_id: str) -> Response:
        appointment = get_object_or_404(_appointments(request), public_id=public_id)
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            appointment = self.act(appointment, serializer.validated_data)
        except BookingError as error:
            return booking_error_response(error)
        record(
            request,
            action=AuditEvent.Action.CHANGE,
            summary=f"{self.done} appointment {appointment.public_id} through the staff API",
            patient=appointment.patient,
            obj=appointment,
        )
        return _staff_answer(request, _appointments(request).get(pk=appointment.pk))


ACTION_RESPONSES = {200: StaffAppointmentSerializer, 409: CONFLICT_RESPONSE}


@extend_schema(request=CancelRequestSerializer, responses=ACTION_RESPONSES, tags=["staff"])
class AppointmentCancelView(AppointmentActionView):
    done = "Cancelled"
    request_serializer = CancelRequestSerializer

    def act(self, appointment: Appointment, data: dict) -> Appointment:
        return cancel_appointment(
            appointment=appointment, reason=data.get("reason", ""), by_patient=False
        )


@extend_schema(
    request=RescheduleRequestSerializer,
    responses={200: StaffAppointmentSerializer, 409: BOOKING_CONFLICT_RESPONSE},
    tags=["staff"],
)
class AppointmentRescheduleView(AppointmentActionView):
    done = "Rescheduled"
    request_serializer = RescheduleRequestSerializer

    def act(self, appointment: Appointment, data: dict) -> Appointment:
        return reschedule_appointment(
            appointment=appointment,
            start=data["start"],
            clinician=data.get("clinician"),
            by_patient=False,
        )


@extend_schema(request=None, responses=ACTION_RESPONSES, tags=["staff"])
class AppointmentArriveView(AppointmentActionView):
    done = "Marked arrived"

    def act(self, appointment: Appointment, data: dict) -> Appointment:
        return mark_arrived(appointment=appointment)


@extend_schema(request=None, responses=ACTION_RESPONSES, tags=["staff"])
class AppointmentNoShowView(AppointmentActionView):
    done = "Marked a no-show"

    def act(self, appointment: Appointment, data: dict) -> Appointment:
        return mark_no_show(appointment=appointment)
