"""The patient's check-in form, and what the staff's form for an answer given by phone
shares with it (`AnswerForm`). They parse and check input only: the rules (who may answer,
replacing within the edit window, red flags) are in `followup.checkins`.

The patient API asks the same questions: it lists this form's fields (labels, help,
choices, limits), so the page and the app cannot drift apart.
"""

from typing import Any

from django import forms

from followup.checkins import AnswerDetails
from followup.models import Activity, CheckInAnswer, Medication, Pgic
from followup.side_effects import (
    EXPECTED,
    WARNING_SIGN_CHOICES,
    WARNING_SIGNS_MISSING,
    choices,
    expected_effects,
    warning_signs,
    warning_signs_problem,
)

PAIN_MIN, PAIN_MAX = 0, 10
PAIN_ANCHORS = {PAIN_MIN: "no pain", PAIN_MAX: "worst pain imaginable"}
RELIEF_MAX = 100
COMMENT_MAX = 2000
EXPECTED_AFTER_INJECTION = (
    "A flare of pain in the first 48 hours is expected, and so is facial flushing for a "
    "few days after a steroid injection."
)
PAIN_ERROR = "Choose a whole number from 0 (no pain) to 10 (worst pain imaginable)."
RELIEF_ERROR = "Give a whole number from 0 to 100, or leave it empty."


def side_effects_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Since the injection, have you had any of these common effects?",
        help_text=f"Tick all that apply. {EXPECTED_AFTER_INJECTION}",
        choices=choices(EXPECTED),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}),
    )


def warning_signs_field(help_text: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Since the injection, have you had any of these warning signs?",
        help_text=help_text,
        choices=choices(WARNING_SIGN_CHOICES),
        error_messages={"required": WARNING_SIGNS_MISSING},
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}),
    )


class AnswerForm(forms.Form):
    """What the patient's form and the staff's share: fields named as `AnswerDetails`'s,
    with the two side-effect questions stored as one list, and the warning-sign rule."""

    def clean_warning_signs(self) -> list[str]:
        chosen = self.cleaned_data["warning_signs"]
        if problem := warning_signs_problem(chosen):
            raise forms.ValidationError(problem)
        return chosen

    @staticmethod
    def initial_from(answer: CheckInAnswer) -> dict[str, Any]:
        """The form filled with a stored answer, to change it."""
        return {
            "pain": str(answer.pain),
            "relief_percent": answer.relief_percent,
            "pgic": answer.pgic,
            "side_effects": expected_effects(answer.side_effects),
            "warning_signs": warning_signs(answer.side_effects),
            "activity": answer.activity,
            "medication": answer.medication,
            "comment": answer.comment,
        }

    def details(self) -> AnswerDetails:
        data = self.cleaned_data
        return AnswerDetails(
            pain=data["pain"],
            relief_percent=data["relief_percent"],
            pgic=data["pgic"],
            side_effects=[*data["side_effects"], *data["warning_signs"]],
            activity=data["activity"],
            medication=data["medication"],
            comment=data["comment"],
        )


class CheckInForm(AnswerForm):
    pain = forms.TypedChoiceField(
        label="How bad is your pain right now?",
        help_text="0 means no pain, 10 the worst pain imaginable.",
        choices=[(str(n), str(n)) for n in range(PAIN_MIN, PAIN_MAX + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": PAIN_ERROR, "invalid_choice": PAIN_ERROR},
    )
    relief_percent = forms.IntegerField(
        label="How much relief has the injection given you, in percent?",
        help_text="0 means no relief, 100 complete relief. Leave it empty if you are not sure.",
        min_value=0,
        max_value=RELIEF_MAX,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        error_messages={
            "invalid": RELIEF_ERROR,
            "min_value": RELIEF_ERROR,
            "max_value": RELIEF_ERROR,
        },
    )
    pgic = forms.TypedChoiceField(
        label="Since the injection, how would you describe the change in your condition overall?",
        choices=Pgic.choices,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "choice-list"}),
    )
    side_effects = side_effects_field()
    warning_signs = warning_signs_field(
        "Tick each one you have had, or “None of these”. If you have one now, call the "
        "clinic: do not wait for a reply."
    )
    activity = forms.ChoiceField(
        label="Compared with before the injection, how much of your usual activities can you do?",
        choices=Activity.choices,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "choice-list"}),
    )
    medication = forms.ChoiceField(
        label="Compared with before the injection, how much pain medication do you take?",
        choices=Medication.choices,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "choice-list"}),
    )
    comment = forms.CharField(
        label="Anything else you want your clinician to know?",
        max_length=COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
