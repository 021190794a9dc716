"""The public booking API: no login, rate limited per client address."""

import json
import uuid
from datetime import timedelta

from django.utils.crypto import salted_hmac
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.api.errors import BOOKING_CONFLICT_RESPONSE, DetailSerializer, booking_error_response
from booking.api.permissions import IsClinicStaff
from booking.api.renderers import OrjsonRenderer
from booking.api.serializers import (
    ActiveClinicianField,
    ActiveSiteField,
    AppointmentSerializer,
    AwareDateTimeField,
    LocationField,
    PatientInputSerializer,
    RemindersSerializer,
    SlotSerializer,
    slot_rows,
)
from booking.api.staff import AppointmentListView
from booking.api.throttling import PublicRateThrottle
from booking.availability import MAX_RANGE_DAYS, free_slots
from booking.client_address import client_address
from booking.models import AppointmentSource, Site
from booking.services import (
    BookingError,
    PatientDetails,
    book_appointment_once,
    contact_problems,
)

EXAMPLE_SLOT = {
    "start": "2026-12-01T09:00:00-05:00",
    "end": "2026-12-01T09:45:00-05:00",
    "clinician": {"id": 1, "name": "Dr. Maya Patel"},
    "location": {"id": 1, "name": "Riverside Pain Clinic, Main Street"},
}

# A client's key for one booking request, so that a retry cannot book twice.
IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_SALT = "booking.api.idempotency"
KEY_REUSED_RESPONSE = OpenApiResponse(
    DetailSerializer,
    description=(
        f"The {IDEMPOTENCY_KEY} was already used by another client or for another request: "
        "nothing was booked, and nothing of the first booking is shown."
    ),
)


def request_fingerprint(request: Request) -> str:
    """Who sent what: an HMAC of the client's address and the request's body, so a key
    gives its booking only to the same client retrying the same request. Keyed by the
    secret key, so the stored value tells nothing of the patient's details."""
    body = json.dumps(request.data, sort_keys=True, default=str)
    message = f"{client_address(request)}\n{body}"
    return salted_hmac(IDEMPOTENCY_SALT, message, algorithm="sha256").hexdigest()


class PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


class SiteListView(ListAPIView):
    """The injection sites that can be booked online."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]
    pagination_class = None

    class SiteSerializer(serializers.ModelSerializer):
        class Meta:
            model = Site
            fields = ["slug", "name", "duration_minutes", "description", "instructions"]

    serializer_class = SiteSerializer
    queryset = Site.objects.active()

    @extend_schema(tags=["booking"])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class AvailabilityView(PublicAPIView):
    """Free start times for a site, across its clinicians and their locations."""

    # Eight weeks is thousands of slots: orjson writes them, datetimes included.
    renderer_classes = [OrjsonRenderer, BrowsableAPIRenderer]

    class AvailabilityQuerySerializer(serializers.Serializer):
        site = ActiveSiteField()
        start = serializers.DateField(help_text="First day, in the location's zone.")
        end = serializers.DateField(help_text="Last day (inclusive).")
        clinician = ActiveClinicianField(required=False)
        location = LocationField(required=False)

        def validate(self, attrs: dict) -> dict:
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError({"end": "The end is before the start."})
            if attrs["end"] - attrs["start"] >= timedelta(days=MAX_RANGE_DAYS):
                raise serializers.ValidationError(
                    {"end": f"Ask for at most {MAX_RANGE_DAYS} days at a time."}
                )
            return attrs

    class AvailabilitySerializer(serializers.Serializer):
        slots = SlotSerializer(many=True)

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailabilitySerializer},
        examples=[OpenApiExample("Free times", value={"slots": [EXAMPLE_SLOT]})],
        tags=["booking"],
    )
    def get(self, request: Request) -> Response:
        query = self.AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        slots = free_slots(
            site=params["site"],
            first_day=params["start"],
            last_day=params["end"],
            clinician_id=params["clinician"].pk if params.get("clinician") else None,
            location_id=params["location"].pk if params.get("location") else None,
        )
        return Response({"slots": slot_rows(slots)})


class AppointmentsView(AppointmentListView):
    """POST books a consult (public); GET lists a day's appointments (staff)."""

    throttle_classes = [PublicRateThrottle]

    def get_permissions(self) -> list:
        return [AllowAny()] if self.request.method == "POST" else [IsClinicStaff()]

    def get_throttles(self) -> list:
        return super().get_throttles() if self.request.method == "POST" else []

    class BookingRequestSerializer(serializers.Serializer):
        site = ActiveSiteField()
        start = AwareDateTimeField()
        clinician = ActiveClinicianField(required=False)
        location = LocationField(required=False)
        patient = PatientInputSerializer()
        baseline_pain = serializers.IntegerField(
            min_value=0, max_value=10, required=False, allow_null=True
        )
        reminders = RemindersSerializer(required=False)
        notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)

        def validate(self, attrs: dict) -> dict:
            reminders = attrs.setdefault("reminders", {"email": False, "sms": False})
            problems = contact_problems(
                email=attrs["patient"]["email"],
                phone=attrs["patient"]["phone"],
                remind_by_email=reminders["email"],
                remind_by_sms=reminders["sms"],
            )
            if "email" in problems:
                raise serializers.ValidationError({"patient": {"email": [problems.pop("email")]}})
            if problems:
                raise serializers.ValidationError({"reminders": list(problems.values())})
            return attrs

    @extend_schema(
        request=BookingRequestSerializer,
        responses={
            201: AppointmentSerializer,
            409: BOOKING_CONFLICT_RESPONSE,
            422: KEY_REUSED_RESPONSE,
        },
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_KEY,
                OpenApiTypes.UUID,
                OpenApiParameter.HEADER,
                description=(
                    "A new random UUID the client makes for this booking. The same request "
                    "sent again with it from the same address (a retry after a timeout) "
                    "answers with the appointment the first one booked, instead of booking "
                    "twice or answering 409. The key sent with a different body, or from "
                    "another address, answers 422 and books nothing."
                ),
            )
        ],
        auth=[],
        examples=[
            OpenApiExample(
                "Book a lumbar consult",
                request_only=True,
                value={
                    "site": "lumbar",
                    "start": "2026-12-01T09:00:00-05:00",
                    "patient": {
                        "first_name": "Ana",
                        "last_name": "Silva",
                        "date_of_birth": "1971-04-12",
                        "email": "ana.silva@example.org",
                        "phone": "+18605550123",
                    },
                    "baseline_pain": 7,
                    "reminders": {"email": True, "sms": True},
                },
            )
        ],
        tags=["booking"],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_KEY)
        try:
            booking_key = uuid.UUID(key) if key else None
        except ValueError:
            return Response(
                {"detail": f"{IDEMPOTENCY_KEY} must be a UUID."}, status=status.HTTP_400_BAD_REQUEST
            )
        serializer = self.BookingRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            appointment = book_appointment_once(
                booking_key=booking_key,
                booking_fingerprint=request_fingerprint(request) if booking_key else "",
                site=data["site"],
                start=data["start"],
                clinician=data.get("clinician"),
                location=data.get("location"),
                patient=PatientDetails(**data["patient"]),
                source=AppointmentSource.ONLINE,
                baseline_pain=data.get("baseline_pain"),
                consent_email=data["reminders"]["email"],
                consent_sms=data["reminders"]["sms"],
                notes=data.get("notes", ""),
            )
        except BookingError as error:
            return booking_error_response(error)
        body = AppointmentSerializer(appointment, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)
