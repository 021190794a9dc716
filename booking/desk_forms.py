"""Forms of the reception calendar: parse and validate, no rules (those are in services)."""

import uuid
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField

from booking.forms import check_patient_details
from booking.models import Clinician, Location, Site
from booking.services import PatientDetails


class CalendarFilterForm(forms.Form):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    location = forms.ModelChoiceField(Location.objects.all(), required=False, empty_label=None)
    clinician = forms.ModelChoiceField(
        Clinician.objects.filter(is_active=True), required=False, empty_label="All clinicians"
    )
    site = forms.ModelChoiceField(Site.objects.active(), required=False, empty_label="All sites")
    show_cancelled = forms.BooleanField(required=False, label="Show cancelled")


class WeekFilterForm(forms.Form):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    clinician = forms.ModelChoiceField(Clinician.objects.filter(is_active=True), empty_label=None)
    location = forms.ModelChoiceField(Location.objects.all(), required=False, empty_label=None)
    site = forms.ModelChoiceField(Site.objects.active(), required=False, empty_label="All sites")
    show_cancelled = forms.BooleanField(required=False, label="Show cancelled")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput)


class RescheduleForm(forms.Form):
    start = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"])

    def clean_start(self) -> datetime:
        start: datetime = self.cleaned_data["start"]
        if timezone.is_naive(start):
            raise forms.ValidationError("Choose one of the times offered.")
        return start


class DayForm(forms.Form):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class NewPatientForm(forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    email = forms.EmailField(required=False)
    phone = PhoneNumberField(required=False, region="US", label="Mobile phone")
    consent_email = forms.BooleanField(required=False, label="Agrees to email reminders")
    consent_sms = forms.BooleanField(required=False, label="Agrees to text reminders")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        check_patient_details(self, data, email_consent="consent_email", sms_consent="consent_sms")
        return data

    def details(self) -> PatientDetails:
        data = self.cleaned_data
        phone = data.get("phone")
        return PatientDetails(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            email=data.get("email") or "",
            phone=phone.as_e164 if phone else "",
        )


class BookingOnceForm(forms.Form):
    """A booking form sent twice (a double click, a reload) books once: the key, new with
    each page, makes the repeat find the first's appointment."""

    booking_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False)


class BookForm(BookingOnceForm):
    site = forms.ModelChoiceField(Site.objects.active(), empty_label=None)
    override = forms.BooleanField(
        required=False,
        label="Book outside working hours (override, recorded in the audit log)",
    )
    notes = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class WalkInForm(BookingOnceForm):
    site = forms.ModelChoiceField(Site.objects.active(), empty_label=None)
    location = forms.ModelChoiceField(Location.objects.all(), empty_label=None)
