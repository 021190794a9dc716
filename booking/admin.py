from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from booking.models import (
    Block,
    Clinician,
    Location,
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
