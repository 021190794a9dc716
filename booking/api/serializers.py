"""Output shapes shared by the public and staff endpoints, and input fields they share."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from booking.availability import Slot
from booking.models import Appointment, Clinician, Location, Site
from booking.notifications import manage_url
from booking.patients import can_read_clinical
from booking.services import date_of_birth_problem

NAME_MAX = 100


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset: a bare local time is ambiguous across the clinic's zones."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, e.g. 2026-12-01T09:00:00-05:00.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None  # out-of-range parts: the parent field reports the format
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)


class ActiveSiteField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "There is no bookable site {slug_name}={value}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Site.objects.active(), **kwargs)

    def to_internal_value(self, data: Any) -> Site:
        # PostgreSQL refuses a NUL character in a query (a 500); no slug holds one.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class ActiveClinicianField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "There is no clinician {pk_value}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Clinician.objects.filter(is_active=True), **kwargs)


class LocationField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "There is no location {pk_value}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Location.objects.all(), **kwargs)


# An address, or "" for a patient who gave only a phone: `format: email` alone would declare
# invalid the "" the API accepts and returns. (The type sits in each branch, or
# drf-spectacular adds `format: email` beside them from the field's validator.)
@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]}
)
class EmailOrBlankField(serializers.EmailField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, **kwargs)


class PatientInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=NAME_MAX)
    last_name = serializers.CharField(max_length=NAME_MAX)
    date_of_birth = serializers.DateField()
    email = EmailOrBlankField(required=False, default="")
    phone = PhoneNumberField(required=False, allow_blank=True, default="")

    def validate_date_of_birth(self, value: date) -> date:
        problem = date_of_birth_problem(value, today=timezone.localdate())
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs: dict) -> dict:
        attrs["phone"] = attrs["phone"].as_e164 if attrs.get("phone") else ""
        return attrs


class RemindersSerializer(serializers.Serializer):
    email = serializers.BooleanField(default=False)
    sms = serializers.BooleanField(default=False)


class CancelRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RescheduleRequestSerializer(serializers.Serializer):
    start = AwareDateTimeField()
    clinician = ActiveClinicianField(required=False)


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SlotSerializer(serializers.Serializer):
    """A free start time: the documented shape of `slot_rows`, which builds it."""

    start = serializers.DateTimeField(help_text="Local time with the location's UTC offset.")
    end = serializers.DateTimeField()
    clinician = NamedRefSerializer()
    location = NamedRefSerializer()

    def to_representation(self, slot: Slot) -> dict:
        # For JSONRenderer, whose encoder would write a UTC offset as "Z".
        row = slot_rows([slot])[0]
        return {**row, "start": slot.start.isoformat(), "end": slot.end.isoformat()}


def slot_rows(slots: Sequence[Slot]) -> list[dict[str, Any]]:
    """Slots in SlotSerializer's shape, built by hand: availability can return thousands.

    The times stay aware datetimes in the location's zone, for `OrjsonRenderer`, which
    writes them as `isoformat()` does, in C. Each clinician's and location's
    `{"id", "name"}` is one dict shared by its slots: fewer objects per response for the
    garbage collector to track.
    """
    clinicians = {slot.clinician_id: slot.clinician_name for slot in slots}
    locations = {slot.location_id: slot.location_name for slot in slots}
    clinician_refs = {pk: {"id": pk, "name": name} for pk, name in clinicians.items()}
    location_refs = {pk: {"id": pk, "name": name} for pk, name in locations.items()}
    return [
        {
            "start": slot.start,
            "end": slot.end,
            "clinician": clinician_refs[slot.clinician_id],
            "location": location_refs[slot.location_id],
        }
        for slot in slots
    ]


class AppointmentSerializer(serializers.Serializer):
    """An appointment as the patient who booked it may see it."""

    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    site = serializers.CharField(source="site.slug", help_text="The site's slug.")
    clinician = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    manage_url = serializers.SerializerMethodField()

    # Times carry the location's offset (DRF's DateTimeField would use the server's zone).
    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_start(self, appointment: Appointment) -> str:
        return appointment.local_start.isoformat()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, appointment: Appointment) -> str:
        return appointment.local_end.isoformat()

    @extend_schema_field(NamedRefSerializer)
    def get_clinician(self, appointment: Appointment) -> dict:
        return {"id": appointment.clinician_id, "name": appointment.clinician.display_name}

    @extend_schema_field(NamedRefSerializer)
    def get_location(self, appointment: Appointment) -> dict:
        return {"id": appointment.location_id, "name": appointment.location.name}

    @extend_schema_field(OpenApiTypes.URI)
    def get_manage_url(self, appointment: Appointment) -> str:
        return manage_url(appointment)


class StaffPatientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    email = EmailOrBlankField()
    phone = serializers.CharField()
    consent_email = serializers.BooleanField()
    consent_sms = serializers.BooleanField()


class StaffAppointmentSerializer(AppointmentSerializer):
    """Everything reception needs about an appointment, patient included."""

    patient = StaffPatientSerializer()
    # The booking's channel (online, reception); shadows Field.source only on the class.
    source = serializers.CharField()  # type: ignore[assignment]
    baseline_pain = serializers.SerializerMethodField(
        help_text="Pain (NRS 0-10) given at booking; null to reception, as it is clinical."
    )
    notes = serializers.CharField()
    cancellation_reason = serializers.CharField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    safety_flags = serializers.SerializerMethodField(
        help_text="Flags from the patient's safety answers; null until they answer."
    )
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_baseline_pain(self, appointment: Appointment) -> int | None:
        return (
            appointment.baseline_pain if can_read_clinical(self.context["request"].user) else None
        )

    def get_safety_flags(self, appointment: Appointment) -> list[str] | None:
        answers = getattr(appointment, "safety_answers", None)
        return None if answers is None else answers.flags
