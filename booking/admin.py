from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from booking.models import (
    Appointment,
    Block,
    Clinician,
    Location,
    Patient,
    SafetyAnswers,
    ScheduleException,
    Site,
    WorkingHours,
    intervals_overlap,
)


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """Rejects overlapping intervals among the rows of one submit.

    `WorkingHours.clean` checks each row against the saved rows; rows added together
    are only visible to each other here.
    """

    def clean(self) -> None:
        super().clean()
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("start_time")
            and form.cleaned_data.get("end_time")
        ]
        for index, row in enumerate(rows):
            for other in rows[index + 1 :]:
                if row["weekday"] == other["weekday"] and intervals_overlap(
                    row["start_time"], row["end_time"], other["start_time"], other["end_time"]
                ):
                    raise ValidationError(
                        "Working hours overlap on "
                        f"{WorkingHours(weekday=row['weekday']).get_weekday_display()}."
                    )


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


class ScheduleExceptionInline(admin.TabularInline):
    model = ScheduleException
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "time_zone"]
    search_fields = ["name", "address"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "duration_minutes",
        "min_notice_hours",
        "max_advance_days",
        "slot_step_minutes",
        "buffer_after_minutes",
        "is_active",
    ]
    list_filter = ["is_active"]
    readonly_fields = ["slug"]


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "is_active"]
    list_filter = ["is_active", "sites", "locations"]
    search_fields = ["display_name", "user__username"]
    filter_horizontal = ["sites", "locations"]
    inlines = [WorkingHoursInline, ScheduleExceptionInline]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["clinician", "location", "weekday", "start_time", "end_time"]
    list_filter = ["clinician", "location", "weekday"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin):
    list_display = ["clinician", "location", "date", "start_time", "end_time", "reason"]
    list_filter = ["clinician", "location"]
    date_hierarchy = "date"


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ["clinician", "start", "end", "kind", "reason"]
    list_filter = ["clinician", "kind"]
    date_hierarchy = "start"


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "date_of_birth", "email", "phone", "created"]
    search_fields = ["last_name", "first_name", "email", "phone"]
    readonly_fields = ["created"]


class SafetyAnswersInline(admin.StackedInline):
    model = SafetyAnswers
    extra = 0
    readonly_fields = ["answered_at"]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """A read-mostly view: bookings change through the booking functions, not raw edits."""

    list_display = ["start", "site", "clinician", "location", "patient", "status", "source"]
    list_filter = ["status", "source", "site", "clinician", "location"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__email", "public_id"]
    date_hierarchy = "start"
    list_select_related = ["site", "clinician", "location", "patient"]
    readonly_fields = [
        "public_id",
        "site",
        "clinician",
        "location",
        "patient",
        "start",
        "end",
        "blocked_until",
        "status",
        "source",
        "baseline_pain",
        "cancellation_reason",
        "calendar_sequence",
        "created",
        "updated",
    ]
    inlines = [SafetyAnswersInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
