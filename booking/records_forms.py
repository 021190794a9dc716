"""Forms of the staff patient record: editing details, choosing a duplicate, the audit
log's search."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from phonenumber_field.formfields import PhoneNumberField

from booking.models import AuditEvent, Patient


class PatientDetailsForm(forms.ModelForm):
    phone = PhoneNumberField(
        required=False,
        label="Mobile phone",
        help_text="International format, e.g. +1 860 555 0100.",
    )

    class Meta:
        model = Patient
        fields = [
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "consent_email",
            "consent_sms",
        ]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        labels = {
            "consent_email": "Agrees to email reminders",
            "consent_sms": "Agrees to SMS reminders",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        email, phone = data.get("email"), data.get("phone")
        if "email" in data and "phone" in data and not email and not phone:
            raise forms.ValidationError("Give an email address or a phone number.")
        if data.get("consent_email") and not email:
            self.add_error("consent_email", "Email reminders need an email address.")
        if data.get("consent_sms") and not phone:
            self.add_error("consent_sms", "SMS reminders need a phone number.")
        return data


class MergeConfirmForm(forms.Form):
    duplicate = forms.IntegerField(widget=forms.HiddenInput)
    different_birth_dates = forms.BooleanField(
        required=False,
        label="I have checked: these records are the same person although their dates of "
        "birth differ",
    )


# A day short of the calendar's ends, so that the day after the end and midnight in any
# zone are still dates Python holds.
SEARCHABLE_DAYS = [
    MinValueValidator(date.min + timedelta(days=1)),
    MaxValueValidator(date.max - timedelta(days=1)),
]


class AuditSearchForm(forms.Form):
    user = forms.CharField(required=False, label="User name")
    patient = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=models.BigIntegerField.MAX_BIGINT,
        label="Patient number",
    )
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEvent.Action.choices]
    )
    date_from = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=SEARCHABLE_DAYS,
    )
    date_to = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=SEARCHABLE_DAYS,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end is before the start.")
        return data
