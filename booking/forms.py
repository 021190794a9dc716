"""Forms of the patient's booking pages. Rules shared with the API live in services."""

from typing import Any, cast

from django import forms
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField

from booking.models import Location, Pregnancy, SafetyAnswers, Site
from booking.services import contact_problems, date_of_birth_problem


def check_patient_details(
    form: forms.Form, data: dict[str, Any], *, email_consent: str, sms_consent: str
) -> None:
    """Add to `form` the errors of the rules every patient form shares (birth date, a way
    to reach the patient, a contact for each reminder channel agreed to). The rules live
    in booking.services, with the API's; this maps them onto the form's fields."""
    born = data.get("date_of_birth")
    problem = born and date_of_birth_problem(born, today=timezone.localdate())
    if problem and "date_of_birth" not in form.errors:
        form.add_error("date_of_birth", problem)
    problems = contact_problems(
        email=data.get("email") or "",
        phone=str(data.get("phone") or ""),
        remind_by_email=bool(data.get(email_consent)),
        remind_by_sms=bool(data.get(sms_consent)),
    )
    consent_fields = {"reminders_email": email_consent, "reminders_sms": sms_consent}
    for rule_field, message in problems.items():
        field = consent_fields.get(rule_field, rule_field)
        if field not in form.errors:
            form.add_error(field, message)


PAIN_CHOICES = [("", "Prefer not to say")] + [(str(n), str(n)) for n in range(11)]
YES_NO = [(True, "Yes"), (False, "No")]


class PatientDetailsForm(forms.Form):
    first_name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    date_of_birth = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        help_text="Month, day, year: for example 04/12/1971.",
    )
    email = forms.EmailField(
        required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = PhoneNumberField(
        label="Mobile phone",
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text="Give an email address, a mobile number, or both.",
    )
    baseline_pain = forms.TypedChoiceField(
        label="How bad is your pain today, from 0 (no pain) to 10 (worst imaginable)?",
        choices=PAIN_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    reminders_email = forms.BooleanField(
        label="Yes, email me reminders about this appointment.", required=False
    )
    reminders_sms = forms.BooleanField(
        label="Yes, text me reminders about this appointment. Message and data rates may apply; "
        "reply STOP to stop.",
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        check_patient_details(
            self, data, email_consent="reminders_email", sms_consent="reminders_sms"
        )
        return data


class YesNoField(forms.TypedChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=YES_NO,
            coerce=lambda value: value in {True, "True"},
            widget=forms.RadioSelect,
            **kwargs,
        )


class SafetyAnswersForm(forms.ModelForm):
    """The pre-procedure safety questions; every one must be answered yes or no."""

    takes_blood_thinners = YesNoField(
        label="Do you take blood thinners (for example warfarin, apixaban, clopidogrel, aspirin)?"
    )
    blood_thinner_names = forms.CharField(
        label="If yes, which ones?", max_length=200, required=False
    )
    allergy_local_anaesthetic = YesNoField(
        label="Are you allergic to local anesthetics (such as lidocaine)?"
    )
    allergy_steroid = YesNoField(label="Are you allergic to steroids?")
    allergy_latex = YesNoField(label="Are you allergic to latex?")
    allergy_iodine = YesNoField(label="Are you allergic to iodine?")
    pregnancy = forms.ChoiceField(
        label="Are you pregnant, or could you be?",
        choices=Pregnancy.choices,
        widget=forms.RadioSelect,
    )
    diabetes = YesNoField(label="Do you have diabetes?")
    infection_or_fever = YesNoField(label="Do you have an infection or a fever now?")
    recent_steroid_injection = YesNoField(
        label="Have you had a steroid injection anywhere else in the last three months?"
    )
    has_driver = YesNoField(label="Can someone drive you home after the visit?")

    class Meta:
        model = SafetyAnswers
        fields = [
            "takes_blood_thinners",
            "blood_thinner_names",
            "allergy_local_anaesthetic",
            "allergy_steroid",
            "allergy_latex",
            "allergy_iodine",
            "pregnancy",
            "diabetes",
            "infection_or_fever",
            "recent_steroid_injection",
            "has_driver",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("takes_blood_thinners") and not data.get("blood_thinner_names"):
            self.add_error("blood_thinner_names", "Tell us which blood thinners you take.")
        if data.get("takes_blood_thinners") is False:
            data["blood_thinner_names"] = ""
        return data


class TimeFilterForm(forms.Form):
    """The picker's optional narrowing: from which day, with whom, where."""

    start = forms.DateField(required=False, widget=forms.HiddenInput)
    clinician = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Clinician"
    )
    location = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Location"
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinicians = site.clinicians.filter(is_active=True).order_by("display_name")
        cast(forms.ChoiceField, self.fields["clinician"]).choices = [("", "Any clinician")] + [
            (str(c.pk), c.display_name) for c in clinicians
        ]
        locations = Location.objects.filter(clinicians__in=clinicians).distinct()
        cast(forms.ChoiceField, self.fields["location"]).choices = [("", "Any location")] + [
            (str(location.pk), location.name) for location in locations
        ]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
