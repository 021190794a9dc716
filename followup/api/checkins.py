"""The check-in link over the API, for a patient app: the questions and the state (GET), and
the answer (POST). No login: the signed link is the key, as on the page. Rate limited per
client address like the other public endpoints.

404: a link we did not make (tampered, foreign, unknown); 410: one we made whose check-in
is cancelled or past its grace period; 409: the answer is locked. None names anyone.
"""

from datetime import datetime
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from booking.api.errors import DetailSerializer
from booking.api.public import PublicAPIView
from followup.checkins import (
    AnswerDetails,
    CheckInClosed,
    CheckInLocked,
    CheckInStatus,
    LinkProblem,
    answer_of,
    answer_red_flags,
    answerable_until,
    can_change_until,
    check_in_from_token,
    check_in_status,
    edit_window_in_words,
    locked_reason,
    previous_pain,
    record_answer,
)
from followup.forms import (
    COMMENT_MAX,
    EXPECTED_AFTER_INJECTION,
    PAIN_ANCHORS,
    PAIN_MAX,
    PAIN_MIN,
    RELIEF_MAX,
    CheckInForm,
)
from followup.models import (
    Activity,
    AnswerRoute,
    CheckIn,
    CheckInAnswer,
    Medication,
    Pgic,
)
from followup.side_effects import (
    ANSWERS_TO_WARNING_SIGNS,
    EXPECTED,
    NONE_AND_A_SIGN,
    WARNING_SIGN_CHOICES,
    WARNING_SIGNS_MISSING,
    choices,
    expected_effects,
    warning_signs,
    warning_signs_problem,
)

INVALID_LINK = "This link is not valid. Please call the clinic."
CLOSED_LINK = "This check-in no longer takes answers. Please call the clinic if you need to."


def locked_detail() -> str:
    """The patient's wording of a locked answer, from the edit window setting."""
    return (
        f"Your answer was locked {edit_window_in_words()} after you first gave it. To change "
        "it, please call the clinic."
    )


# How an app should ask each question of the form.
QUESTION_TYPES = {
    "pain": "scale",
    "relief_percent": "integer",
    "pgic": "single_choice",
    "side_effects": "multiple_choice",
    "warning_signs": "multiple_choice",
    "activity": "single_choice",
    "medication": "single_choice",
    "comment": "text",
}
LIMITS = {
    "pain": (PAIN_MIN, PAIN_MAX),
    "relief_percent": (0, RELIEF_MAX),
    "comment": (None, COMMENT_MAX),
}


def _local(check_in: CheckIn, moment: datetime) -> str:
    """Times carry the location's UTC offset, like the appointment's own."""
    return moment.astimezone(check_in.episode.procedure.appointment.location.zone).isoformat()


def _clinic_phone(check_in: CheckIn) -> str:
    return check_in.episode.procedure.appointment.location.phone.as_e164


# --- shapes ------------------------------------------------------------------------------


class ChoiceSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="What to send: a number for pgic, else a string.")
    label = serializers.CharField()  # type: ignore[assignment]  # shadows Field.label on the class


class QuestionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The field to send in the POST.")
    type = serializers.ChoiceField(choices=sorted(set(QUESTION_TYPES.values())))
    # Named as the form's fields are; these shadow Field attributes only on the class.
    label = serializers.CharField()  # type: ignore[assignment]
    help_text = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]
    min = serializers.IntegerField(allow_null=True, help_text="Smallest value (length for text).")
    max = serializers.IntegerField(allow_null=True, help_text="Largest value (length for text).")
    anchors = serializers.DictField(
        child=serializers.CharField(), allow_null=True, help_text="Words for the scale's ends."
    )
    choices = ChoiceSerializer(many=True, allow_null=True)


def questions() -> list[dict[str, Any]]:
    """The check-in form's questions, as the page asks them."""
    listed = []
    for name, field in CheckInForm.base_fields.items():
        choices = None
        if name != "pain" and isinstance(field, forms.ChoiceField):
            options = cast(list[tuple[Any, Any]], field.choices)
            choices = [{"value": value, "label": str(label)} for value, label in options]
        low, high = LIMITS.get(name, (None, None))
        listed.append(
            {
                "name": name,
                "type": QUESTION_TYPES[name],
                "label": str(field.label),
                "help_text": str(field.help_text),
                "required": field.required,
                "min": low,
                "max": high,
                "anchors": {str(k): v for k, v in PAIN_ANCHORS.items()} if name == "pain" else None,
                "choices": choices,
            }
        )
    return listed


class StoredAnswerSerializer(serializers.Serializer):
    """An answer as stored, with what it means for the patient now."""

    day = serializers.IntegerField(source="check_in.day", help_text="The check-in's time point.")
    pain = serializers.IntegerField(min_value=PAIN_MIN, max_value=PAIN_MAX)
    relief_percent = serializers.IntegerField(allow_null=True)
    pgic = serializers.IntegerField(allow_null=True)
    side_effects = serializers.SerializerMethodField(
        help_text="The common effects ticked, in the question's order."
    )
    warning_signs = serializers.SerializerMethodField(
        help_text=(
            'The warning signs ticked, or ["none"]; "warning_sign" is a "Y" by text to '
            "the question about all of them. Empty: the question was not answered (an "
            "answer by text with only a score), which never means no symptoms."
        )
    )
    activity = serializers.CharField(help_text="more, same, less, or empty.")
    medication = serializers.CharField(help_text="less, same, more, or empty.")
    comment = serializers.CharField()
    route = serializers.ChoiceField(choices=AnswerRoute.choices)
    answered_at = serializers.SerializerMethodField()
    late = serializers.BooleanField(help_text="Given after the check-in expired (in the grace).")
    can_change_until = serializers.SerializerMethodField(
        help_text="A new POST replaces this answer until then; after it, 409."
    )
    red_flags = serializers.SerializerMethodField(
        help_text="Answers that need a clinician now; the clinic has been alerted."
    )
    call_clinic = serializers.SerializerMethodField(
        help_text="The clinic's phone (E.164) when a red flag fired: ask the patient to call now."
    )

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices(EXPECTED))))
    def get_side_effects(self, answer: CheckInAnswer) -> list[str]:
        return expected_effects(answer.side_effects)

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices(ANSWERS_TO_WARNING_SIGNS)))
    )
    def get_warning_signs(self, answer: CheckInAnswer) -> list[str]:
        return warning_signs(answer.side_effects)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_answered_at(self, answer: CheckInAnswer) -> str:
        return _local(answer.check_in, answer.answered_at)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_can_change_until(self, answer: CheckInAnswer) -> str:
        return _local(answer.check_in, can_change_until(answer))

    def get_red_flags(self, answer: CheckInAnswer) -> list[str]:
        return answer_red_flags(answer)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_call_clinic(self, answer: CheckInAnswer) -> str | None:
        return _clinic_phone(answer.check_in) if answer_red_flags(answer) else None


class CheckInStateSerializer(serializers.Serializer):
    day = serializers.IntegerField(help_text="Days after the procedure.")
    due_at = serializers.DateTimeField()
    answerable_until = serializers.DateTimeField(
        help_text="Answers after expires_at and until then are kept, marked late."
    )
    expires_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=[CheckInStatus.OPEN, CheckInStatus.CHANGEABLE, CheckInStatus.LOCKED],
        help_text="open: no answer yet; changeable: a POST replaces the answer; locked: 409.",
    )
    answered = serializers.BooleanField()
    can_change_until = serializers.DateTimeField(allow_null=True)
    previous_pain = serializers.IntegerField(
        allow_null=True, help_text="The patient's own pain at their previous check-in."
    )
    answer = StoredAnswerSerializer(allow_null=True)
    clinic_phone = serializers.CharField(help_text="E.164.")
    expected_after_injection = serializers.CharField()
    questions = QuestionSerializer(many=True)


class AnswerInputSerializer(serializers.Serializer):
    pain = serializers.IntegerField(
        min_value=PAIN_MIN,
        max_value=PAIN_MAX,
        help_text="Pain right now: 0 no pain, 10 the worst pain imaginable. A whole number.",
    )
    relief_percent = serializers.IntegerField(
        min_value=0, max_value=RELIEF_MAX, required=False, allow_null=True
    )
    pgic = serializers.ChoiceField(choices=Pgic.choices, required=False, allow_null=True)
    side_effects = serializers.ListField(
        child=serializers.ChoiceField(choices=choices(EXPECTED)),
        required=False,
        max_length=len(EXPECTED),
        help_text="The common effects since the injection; may be empty.",
    )
    warning_signs = serializers.ListField(
        child=serializers.ChoiceField(choices=choices(WARNING_SIGN_CHOICES)),
        max_length=len(WARNING_SIGN_CHOICES),
        error_messages={"required": WARNING_SIGNS_MISSING},
        help_text='Each warning sign the patient has had, or ["none"]: one of the two.',
    )
    # Labelled by what they compare: the two questions share values and the model labels.
    activity = serializers.ChoiceField(
        choices=[(choice.value, f"{choice.label} (usual activities)") for choice in Activity],
        required=False,
        allow_blank=True,
    )
    medication = serializers.ChoiceField(
        choices=[(choice.value, f"{choice.label} (pain medication)") for choice in Medication],
        required=False,
        allow_blank=True,
    )
    comment = serializers.CharField(
        max_length=COMMENT_MAX, required=False, allow_blank=True, trim_whitespace=True
    )

    def validate_warning_signs(self, chosen: list[str]) -> list[str]:
        if problem := warning_signs_problem(chosen):
            raise serializers.ValidationError(problem)
        return chosen

    def details(self) -> AnswerDetails:
        data = self.validated_data
        return AnswerDetails(
            pain=data["pain"],
            relief_percent=data.get("relief_percent"),
            pgic=data.get("pgic"),
            side_effects=[*data.get("side_effects", []), *data["warning_signs"]],
            activity=data.get("activity", ""),
            medication=data.get("medication", ""),
            comment=data.get("comment", ""),
        )


# --- examples ----------------------------------------------------------------------------

EXAMPLE_ANSWER = {
    "day": 7,
    "pain": 3,
    "relief_percent": 60,
    "pgic": 2,
    "side_effects": ["soreness"],
    "warning_signs": ["none"],
    "activity": "more",
    "medication": "less",
    "comment": "",
    "route": "web",
    "answered_at": "2026-12-08T10:42:00-05:00",
    "late": False,
    "can_change_until": "2026-12-09T10:42:00-05:00",
    "red_flags": [],
    "call_clinic": None,
}
EXAMPLE_FLAGGED = EXAMPLE_ANSWER | {
    "pain": 9,
    "side_effects": [],
    "warning_signs": ["fever", "redness"],
    "red_flags": ["Fever or chills", "Redness, swelling or warmth at the site"],
    "call_clinic": "+18605550100",
}
EXAMPLE_STATE = {
    "day": 7,
    "due_at": "2026-12-08T10:00:00-05:00",
    "expires_at": "2026-12-11T10:00:00-05:00",
    "answerable_until": "2026-12-14T10:00:00-05:00",
    "status": "open",
    "answered": False,
    "can_change_until": None,
    "previous_pain": 5,
    "answer": None,
    "clinic_phone": "+18605550100",
    "expected_after_injection": EXPECTED_AFTER_INJECTION,
    "questions": [
        {
            "name": "pain",
            "type": "scale",
            "label": "How bad is your pain right now?",
            "help_text": "0 means no pain, 10 the worst pain imaginable.",
            "required": True,
            "min": 0,
            "max": 10,
            "anchors": {"0": "no pain", "10": "worst pain imaginable"},
            "choices": None,
        },
        {
            "name": "activity",
            "type": "single_choice",
            "label": "Compared with before the injection, how much of your usual activities "
            "can you do?",
            "help_text": "",
            "required": False,
            "min": None,
            "max": None,
            "anchors": None,
            "choices": [
                {"value": "more", "label": "More than before"},
                {"value": "same", "label": "About the same"},
                {"value": "less", "label": "Less than before"},
            ],
        },
    ],
}
NOT_FOUND = OpenApiResponse(
    DetailSerializer,
    description="Not a link we made (tampered, foreign or unknown).",
    examples=[OpenApiExample("Invalid link", value={"detail": INVALID_LINK})],
)
GONE = OpenApiResponse(
    DetailSerializer,
    description="The check-in was cancelled or is past its grace period.",
    examples=[OpenApiExample("Closed", value={"detail": CLOSED_LINK})],
)


# --- views -------------------------------------------------------------------------------


def _problem(problem: LinkProblem | None) -> Response:
    if problem == LinkProblem.CLOSED:
        return Response({"detail": CLOSED_LINK}, status=status.HTTP_410_GONE)
    return Response({"detail": INVALID_LINK}, status=status.HTTP_404_NOT_FOUND)


class CheckInView(PublicAPIView):
    """A patient's check-in, from the link in the check-in message."""

    @extend_schema(
        operation_id="check_in_retrieve",
        summary="The check-in's questions and state",
        responses={200: CheckInStateSerializer, 404: NOT_FOUND, 410: GONE},
        examples=[OpenApiExample("Not answered yet", value=EXAMPLE_STATE, response_only=True)],
        auth=[],
        tags=["check-ins"],
    )
    def get(self, request: Request, token: str) -> Response:
        now = timezone.now()
        check_in, problem = check_in_from_token(token, now=now)
        if check_in is None:
            return _problem(problem)
        return Response(self._state(check_in, now))

    @extend_schema(
        operation_id="check_in_answer",
        summary="Answer the check-in (again within the edit window to replace the answer)",
        request=AnswerInputSerializer,
        responses={
            201: OpenApiResponse(StoredAnswerSerializer, description="The first answer."),
            200: OpenApiResponse(
                StoredAnswerSerializer, description="The answer replaced an earlier one."
            ),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Field errors: each bad field with its messages; nothing saved.",
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                DetailSerializer,
                description=lazy(locked_reason, str)(),
                examples=[OpenApiExample("Locked", value={"detail": lazy(locked_detail, str)()})],
            ),
            410: GONE,
        },
        examples=[
            OpenApiExample(
                "A week after the injection",
                request_only=True,
                value={
                    "pain": 3,
                    "relief_percent": 60,
                    "pgic": 2,
                    "side_effects": ["soreness"],
                    "warning_signs": ["none"],
                    "activity": "more",
                    "medication": "less",
                    "comment": "",
                },
            ),
            OpenApiExample(
                "Only what is required",
                request_only=True,
                value={"pain": 4, "warning_signs": ["none"]},
            ),
            OpenApiExample(
                "Stored", value=EXAMPLE_ANSWER, response_only=True, status_codes=["201"]
            ),
            OpenApiExample(
                "Stored, with red flags: ask the patient to call",
                value=EXAMPLE_FLAGGED,
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Bad input",
                value={
                    "pain": ["Ensure this value is less than or equal to 10."],
                    "relief_percent": ["Ensure this value is less than or equal to 100."],
                    "warning_signs": [NONE_AND_A_SIGN],
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        auth=[],
        tags=["check-ins"],
    )
    def post(self, request: Request, token: str) -> Response:
        now = timezone.now()
        check_in, problem = check_in_from_token(token, now=now)
        if check_in is None:
            return _problem(problem)
        if check_in_status(check_in, now=now) == CheckInStatus.LOCKED:
            return Response({"detail": locked_detail()}, status=status.HTTP_409_CONFLICT)
        serializer = AnswerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        replacing = answer_of(check_in) is not None
        try:
            answer, _ = record_answer(
                check_in=check_in, answer=serializer.details(), route=AnswerRoute.WEB, now=now
            )
        except CheckInClosed:
            return _problem(LinkProblem.CLOSED)
        except CheckInLocked:
            return Response({"detail": locked_detail()}, status=status.HTTP_409_CONFLICT)
        answer.check_in = check_in  # its episode, site and location are loaded
        return Response(
            StoredAnswerSerializer(answer).data,
            status=status.HTTP_200_OK if replacing else status.HTTP_201_CREATED,
        )

    def _state(self, check_in: CheckIn, now: datetime) -> dict[str, Any]:
        answer = answer_of(check_in)
        return {
            "day": check_in.day,
            "due_at": _local(check_in, check_in.due_at),
            "expires_at": _local(check_in, check_in.expires_at),
            "answerable_until": _local(check_in, answerable_until(check_in)),
            "status": check_in_status(check_in, now=now),
            "answered": answer is not None,
            "can_change_until": (
                _local(check_in, can_change_until(answer)) if answer is not None else None
            ),
            "previous_pain": previous_pain(check_in),
            "answer": StoredAnswerSerializer(answer).data if answer is not None else None,
            "clinic_phone": _clinic_phone(check_in),
            "expected_after_injection": EXPECTED_AFTER_INJECTION,
            "questions": questions(),
        }
