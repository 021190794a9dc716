"""Staff endpoint: a clinician completes an arrived visit, with the procedure or none."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.api.errors import CONFLICT_RESPONSE, booking_error_response
from booking.api.serializers import NamedRefSerializer, StaffAppointmentSerializer
from booking.models import Appointment, Site
from booking.patients import visible_appointments
from booking.roles import CLINIC_ADMIN, CLINICIAN, has_role
from booking.services import BookingError
from followup.audit import record_completion
from followup.models import CheckIn, Episode, Injectate, Procedure, Side
from followup.procedures import InjectateDetails, ProcedureDetails, complete_visit
from followup.staff_forms import TRIGGER_POINTS_MAX
from followup.worklist import performing_clinician


class IsClinician(BasePermission):
    """Clinicians and clinic admins: reception does not record what was injected."""

    message = "Only clinicians record a visit's procedure."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, CLINICIAN, CLINIC_ADMIN)


# --- request -----------------------------------------------------------------------------


class InjectateDoseSerializer(serializers.Serializer):
    injectate = serializers.ChoiceField(choices=Injectate.choices)
    dose = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="e.g. 40 mg"
    )


class NewProcedureSerializer(serializers.Serializer):
    site = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Site.objects.all(),
        required=False,
        help_text="The site's slug; the booked site when left out.",
    )
    side = serializers.ChoiceField(choices=Side.choices)
    injectates = InjectateDoseSerializer(
        many=True, allow_empty=False, help_text="At least one; each injectate once."
    )
    trigger_points = serializers.IntegerField(min_value=1, max_value=TRIGGER_POINTS_MAX)
    pain_before = serializers.IntegerField(
        min_value=0,
        max_value=10,
        required=False,
        allow_null=True,
        default=None,
        help_text="NRS 0-10 just before injecting; without it the booking's score is the "
        "episode's baseline.",
    )
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    def validate_injectates(self, value: list[dict]) -> list[dict]:
        names = [item["injectate"] for item in value]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("Give each injectate once.")
        return value


class CompleteVisitSerializer(serializers.Serializer):
    procedure = NewProcedureSerializer(
        allow_null=True, help_text="What was injected; null for a consult with no injection."
    )


# --- response ----------------------------------------------------------------------------


class _LocalTimes(serializers.Serializer):
    # Times carry the location's offset, like the appointment's own.
    def _local(self, moment: datetime) -> str:
        zone: ZoneInfo = self.context["zone"]
        return moment.astimezone(zone).isoformat()


class ProcedureSerializer(_LocalTimes):
    """What was injected, by whom and when (in the location's offset)."""

    id = serializers.IntegerField()
    site = serializers.CharField(source="site.slug", help_text="The site's slug.")
    side = serializers.ChoiceField(choices=Side.choices)
    injectates = InjectateDoseSerializer(many=True)
    trigger_points = serializers.IntegerField()
    pain_before = serializers.IntegerField(allow_null=True)
    notes = serializers.CharField()
    performed_by = serializers.SerializerMethodField()
    performed_at = serializers.SerializerMethodField()

    @extend_schema_field(NamedRefSerializer)
    def get_performed_by(self, procedure: Procedure) -> dict:
        return {"id": procedure.performed_by_id, "name": procedure.performed_by.display_name}

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_performed_at(self, procedure: Procedure) -> str:
        return self._local(procedure.performed_at)


class ScheduledCheckInSerializer(_LocalTimes):
    """One time point of the follow-up, due at 10:00 in the location's zone."""

    id = serializers.IntegerField()
    day = serializers.IntegerField(help_text="Days after the procedure.")
    due_at = serializers.SerializerMethodField()
    expires_at = serializers.SerializerMethodField()
    state = serializers.CharField(help_text="scheduled, answered, expired or cancelled.")

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_due_at(self, check_in: CheckIn) -> str:
        return self._local(check_in.due_at)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_expires_at(self, check_in: CheckIn) -> str:
        return self._local(check_in.expires_at)


class EpisodeSerializer(_LocalTimes):
    """The follow-up the procedure started, with its check-ins in day order."""

    id = serializers.IntegerField()
    baseline_pain = serializers.IntegerField(
        allow_null=True, help_text="The pre-procedure score, else the one given at booking."
    )
    started_at = serializers.SerializerMethodField()
    check_ins = ScheduledCheckInSerializer(many=True)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_started_at(self, episode: Episode) -> str:
        return self._local(episode.started_at)


class CompletedVisitSerializer(serializers.Serializer):
    appointment = StaffAppointmentSerializer()
    procedure = ProcedureSerializer(allow_null=True, help_text="Null for a consult only.")
    episode = EpisodeSerializer(
        allow_null=True, help_text="The follow-up the procedure started; null for none."
    )


EXAMPLE_REQUEST = OpenApiExample(
    "Lumbar corticosteroid",
    request_only=True,
    value={
        "procedure": {
            "site": "lumbar",
            "side": "left",
            "injectates": [
                {"injectate": "local_anaesthetic", "dose": "2 ml of 1 %"},
                {"injectate": "corticosteroid", "dose": "40 mg"},
            ],
            "trigger_points": 3,
            "pain_before": 7,
            "notes": "",
        }
    },
)
EXAMPLE_CONSULT_ONLY = OpenApiExample("Consult only", request_only=True, value={"procedure": None})


class AppointmentCompleteView(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        request=CompleteVisitSerializer,
        responses={
            201: CompletedVisitSerializer,
            200: CompletedVisitSerializer,
            409: CONFLICT_RESPONSE,
        },
        examples=[EXAMPLE_REQUEST, EXAMPLE_CONSULT_ONLY],
        tags=["staff"],
        summary="Complete an arrived visit, recording the procedure (or none)",
        description=(
            "Clinicians and clinic admins only. A procedure starts a follow-up episode whose "
            "check-ins are listed with their due times (201); `null` records a consult with "
            "no injection, which starts none (200). 409 unless the patient has arrived."
        ),
    )
    def post(self, request: Request, public_id: str) -> Response:
        appointment = get_object_or_404(
            visible_appointments(request.user).select_related(
                "site", "location", "clinician", "patient"
            ),
            public_id=public_id,
        )
        serializer = CompleteVisitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data["procedure"]
        details = None
        if given is not None:
            details = ProcedureDetails(
                site=given.get("site") or appointment.site,
                side=given["side"],
                injectates=[
                    InjectateDetails(item["injectate"], item["dose"].strip())
                    for item in given["injectates"]
                ],
                trigger_points=given["trigger_points"],
                pain_before=given["pain_before"],
                notes=given["notes"].strip(),
            )
        try:
            procedure = complete_visit(
                appointment=appointment,
                procedure=details,
                clinician=performing_clinician(request.user, appointment),
            )
        except BookingError as error:
            return booking_error_response(error)
        record_completion(request, appointment, procedure)
        return Response(
            completed_visit_data(request, appointment, procedure),
            status=status.HTTP_200_OK if procedure is None else status.HTTP_201_CREATED,
        )


def completed_visit_data(
    request: Request, appointment: Appointment, procedure: Procedure | None
) -> dict:
    appointment = Appointment.objects.select_related(
        "site", "clinician", "location", "patient", "safety_answers"
    ).get(pk=appointment.pk)
    context = {"request": request, "zone": appointment.location.zone}
    episode = None
    if procedure is not None:
        procedure = (
            Procedure.objects.select_related("site", "performed_by", "episode")
            .prefetch_related("injectates", "episode__check_ins")
            .get(pk=procedure.pk)
        )
        episode = procedure.episode
    return {
        "appointment": StaffAppointmentSerializer(appointment, context=context).data,
        "procedure": None
        if procedure is None
        else ProcedureSerializer(procedure, context=context).data,
        "episode": None if episode is None else EpisodeSerializer(episode, context=context).data,
    }
