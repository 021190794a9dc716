"""Forms of the waitlist: the patient's join form, and the preferences and new-patient
fields it shares with reception's form (`booking.desk.forms`)."""

from typing import Any

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from booking.forms import check_patient_details
from booking.models import Clinician, Location, Site, TimeOfDay, Weekday
from booking.services import PatientDetails


class PreferencesForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        label="Days that suit you",
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked if any day suits.",
    )
    times = forms.MultipleChoiceField(
        label="Times of day that suit you",
        choices=TimeOfDay.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked if any time suits.",
    )
    clinician = forms.ModelChoiceField(
        queryset=Clinician.objects.none(), required=False, empty_label="Any clinician"
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="Any location"
    )

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinicians = Clinician.objects.filter(is_active=True)
        if site is not None:
            clinicians = clinicians.filter(sites=site)
        self.fields["clinician"].queryset = clinicians  # type: ignore[attr-defined]
        self.fields["location"].queryset = Location.objects.all()  # type: ignore[attr-defined]


class NewPatientMixin(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    date_of_birth = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    email = forms.EmailField(required=False)
    phone = PhoneNumberField(
        label="Mobile phone", required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    consent_email = forms.BooleanField(
        label="Yes, email me when a time comes free.", required=False
    )
    consent_sms = forms.BooleanField(
        label="Yes, text me when a time comes free. Message and data rates may apply; "
        "reply STOP to stop.",
        required=False,
    )

    def check_new_patient(self, data: dict[str, Any]) -> None:
        for name in ("first_name", "last_name", "date_of_birth"):
            if not data.get(name) and name not in self.errors:
                self.add_error(name, "This field is required.")
        check_patient_details(self, data, email_consent="consent_email", sms_consent="consent_sms")

    def patient_details(self) -> PatientDetails:
        data = self.cleaned_data
        return PatientDetails(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            email=data.get("email") or "",
            phone=data["phone"].as_e164 if data.get("phone") else "",
        )


class JoinWaitlistForm(NewPatientMixin, PreferencesForm):
    """The patient's own form, from the booking flow when no time suits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "date_of_birth"):
            self.fields[name].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_new_patient(data)
        if not (data.get("consent_email") or data.get("consent_sms")) and not self.errors:
            self.add_error(
                "consent_email", "Tick at least one way for us to tell you about a free time."
            )
        return data
