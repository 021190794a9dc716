"""Forms of the reception desk: the calendar, booking and walk-ins, patient records, the
audit log, schedules and the waitlist. They parse and validate; the rules are in the
domain modules they feed."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField

from booking.forms import check_patient_details
from booking.models import (
    AuditEvent,
    Block,
    Clinician,
    GivenDetails,
    Location,
    Patient,
    Site,
    Weekday,
)
from booking.services import PatientDetails
from booking.waitlist_forms import NewPatientMixin, PreferencesForm

# --- the calendar, booking and walk-ins --------------------------------------------------


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


# --- patient records and the audit log ---------------------------------------------------


class PatientRecordForm(forms.ModelForm):
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


APPLY, KEEP = "apply", "keep"


class ResolveForm(forms.Form):
    given = forms.ModelChoiceField(queryset=GivenDetails.objects.none())
    action = forms.ChoiceField(choices=[(APPLY, "Apply"), (KEEP, "Keep the record")])

    def __init__(self, *args: object, pending: QuerySet[GivenDetails], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["given"].queryset = pending  # type: ignore[attr-defined]


# --- schedules ---------------------------------------------------------------------------


TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class LocationForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)

    def __init__(self, *args: Any, clinician: Clinician, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = clinician.locations.all()  # type: ignore[attr-defined]


class HoursForm(LocationForm):
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int)
    start_time = forms.TimeField(widget=TIME)
    end_time = forms.TimeField(widget=TIME)


class ExceptionForm(LocationForm):
    date = forms.DateField(widget=DATE)
    day_off = forms.BooleanField(required=False, label="Day off (no hours at this location)")
    start_time = forms.TimeField(widget=TIME, required=False)
    end_time = forms.TimeField(widget=TIME, required=False)
    reason = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("day_off"):
            data["start_time"] = data["end_time"] = None
        elif not (data.get("start_time") and data.get("end_time")):
            raise ValidationError("Give both a start and an end, or tick day off.")
        return data


class BlockForm(forms.Form):
    start = forms.DateTimeField(widget=DATETIME)
    end = forms.DateTimeField(widget=DATETIME)
    kind = forms.ChoiceField(choices=Block.Kind.choices)
    reason = forms.CharField(max_length=200)
    confirm = forms.BooleanField(
        required=False, label="Add the block anyway; I will move these appointments."
    )

    def __init__(self, *args: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def _aware(self, value: datetime) -> datetime:
        # The browser sends wall-clock time; read it in the clinician's zone, not the server's.
        return value.replace(tzinfo=None).replace(tzinfo=self.zone)

    def clean_start(self) -> datetime:
        return self._aware(self.cleaned_data["start"])

    def clean_end(self) -> datetime:
        return self._aware(self.cleaned_data["end"])


# --- the waitlist ------------------------------------------------------------------------


class DeskWaitlistForm(NewPatientMixin, PreferencesForm):
    """Reception's form: an existing patient (found by search) or a new one."""

    field_order = ["patient", "site"]

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        required=False,
        widget=forms.HiddenInput,
    )
    site = forms.ModelChoiceField(queryset=Site.objects.active())
    notes = forms.CharField(max_length=500, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("patient") is None:
            self.check_new_patient(data)
        return data
