"""Forms of the staff pages: completing a visit, entering a check-in answer given by phone,
sending a check-in's link again.

They only parse and check input; `followup.procedures.complete_visit` and
`followup.checkins.record_answer` hold the rules.
"""

from collections.abc import Iterator
from typing import Any

from django import forms

from booking.models import Site
from followup.forms import AnswerForm, side_effects_field, warning_signs_field
from followup.models import Activity, Channel, Injectate, Medication, Pgic, Side
from followup.procedures import InjectateDetails, ProcedureDetails

TRIGGER_POINTS_MAX = 100
PAIN_HELP = "0 is no pain, 10 the worst pain imaginable."


def pain_field(label: str, *, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=10,
        required=required,
        help_text=PAIN_HELP,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 10}),
    )


class ProcedureForm(forms.Form):
    """What was injected. Each injectate is a checkbox with its dose beside it."""

    site = forms.ModelChoiceField(
        queryset=Site.objects.all(), to_field_name="slug", empty_label=None
    )
    side = forms.ChoiceField(choices=Side.choices, widget=forms.RadioSelect)
    trigger_points = forms.IntegerField(
        label="Trigger points injected",
        min_value=1,
        max_value=TRIGGER_POINTS_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    pain_before = pain_field(
        "Pain just before the injection (0-10); leave empty to use the score given at booking",
        required=False,
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for value, label in Injectate.choices:
            self.fields[f"injectate_{value}"] = forms.BooleanField(label=label, required=False)
            self.fields[f"dose_{value}"] = forms.CharField(
                label=f"Dose of {label.split(' (')[0].lower()}",
                max_length=100,
                required=False,
                help_text="e.g. 40 mg, 2 ml of 1 %",
            )

    def injectate_rows(self) -> Iterator[tuple[forms.BoundField, forms.BoundField]]:
        for value in Injectate.values:
            yield self[f"injectate_{value}"], self[f"dose_{value}"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [value for value in Injectate.values if data.get(f"injectate_{value}")]
        for value in Injectate.values:
            if data.get(f"dose_{value}") and value not in chosen:
                self.add_error(f"dose_{value}", "Tick this injectate, or clear its dose.")
        if not chosen:
            self.add_error(
                f"injectate_{Injectate.values[0]}",
                "Tick at least one injectate, or complete the visit as a consult only.",
            )
        return data

    def details(self) -> ProcedureDetails:
        data = self.cleaned_data
        return ProcedureDetails(
            site=data["site"],
            side=data["side"],
            injectates=[
                InjectateDetails(value, data.get(f"dose_{value}", "").strip())
                for value in Injectate.values
                if data.get(f"injectate_{value}")
            ],
            trigger_points=data["trigger_points"],
            pain_before=data["pain_before"],
            notes=data["notes"].strip(),
        )


def _optional_choice(choices: list[tuple[Any, str]], empty: str) -> list[tuple[Any, str]]:
    return [("", empty), *choices]


class StaffAnswerForm(AnswerForm):
    """A check-in answer the patient gave on the phone, typed in by staff: the side-effect
    questions in the patient's words, read out as written."""

    pain = pain_field("Pain right now (0-10)")
    relief_percent = forms.IntegerField(
        label="Relief since the injection (%)",
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 100}),
    )
    pgic = forms.TypedChoiceField(
        label="Overall change since the injection (PGIC)",
        choices=_optional_choice(Pgic.choices, "Not asked"),
        coerce=int,
        empty_value=None,
        required=False,
    )
    side_effects = side_effects_field()
    warning_signs = warning_signs_field("Tick each one the patient has had, or “None of these”.")
    activity = forms.ChoiceField(
        label="Usual activities, compared with before the injection",
        choices=_optional_choice(Activity.choices, "Not asked"),
        required=False,
    )
    medication = forms.ChoiceField(
        label="Pain medication, compared with before the injection",
        choices=_optional_choice(Medication.choices, "Not asked"),
        required=False,
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )


class ResendForm(forms.Form):
    """Which channel to send a check-in's link again by; `next` is the page to go back to."""

    channel = forms.ChoiceField(choices=Channel.choices)
    next = forms.CharField(required=False, max_length=200)
