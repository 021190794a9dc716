from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from booking.models import (
    Appointment,
    AuditEvent,
    Block,
    CalendarFeed,
    Clinician,
    Location,
    Patient,
    SafetyAnswers,
    ScheduleException,
    Site,
    WorkingHours,
    intervals_overlap,
)
from booking.roles import CLINIC_ADMIN, has_role


class PatientDataAdmin(admin.ModelAdmin):
    """Pages of patient data (a patient, their appointments, answers, messages): clinic
    admins only, superusers too, whatever permissions a group holds. Reception and
    clinicians work from the desk and staff pages, which show each of them only the
    patients and the answers theirs to see (booking.patients)."""

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return has_role(request.user, CLINIC_ADMIN) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return has_role(request.user, CLINIC_ADMIN) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, CLINIC_ADMIN) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return has_role(request.user, CLINIC_ADMIN) and super().has_delete_permission(request, obj)


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


ALERTS_HELP = (
    "Who hears of a red flag on a check-in (docs/operations.md, "
    "“Red-flag alerts and escalation”). Only clinic admins change these."
)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "time_zone", "on_call_name"]
    search_fields = ["name", "address"]
    fieldsets = [
        (None, {"fields": ["name", "address", "phone", "time_zone"]}),
        (
            "Red-flag alerts",
            {
                "fields": ["alert_email", "on_call_name", "on_call_email", "on_call_phone"],
                "description": ALERTS_HELP,
            },
        ),
    ]


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
    fieldsets = [
        (None, {"fields": ["user", "display_name", "sites", "locations", "is_active"]}),
        (
            "Red-flag alerts",
            {"fields": ["mobile_phone", "alert_texts_agreed"], "description": ALERTS_HELP},
        ),
    ]


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
class PatientAdmin(PatientDataAdmin):
    list_display = ["last_name", "first_name", "date_of_birth", "email", "phone", "created"]
    search_fields = ["last_name", "first_name", "email", "phone"]
    readonly_fields = ["created"]


class SafetyAnswersInline(admin.StackedInline):
    model = SafetyAnswers
    extra = 0
    readonly_fields = ["answered_at"]


@admin.register(Appointment)
class AppointmentAdmin(PatientDataAdmin):
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


@admin.register(AuditEvent)
class AuditEventAdmin(PatientDataAdmin):
    """The audit log, read-only: events are written by the code, never by hand."""

    list_display = ["at", "user", "action", "patient", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = [
        "summary",
        "user__username",
        "patient__last_name",
        "patient__first_name",
        "=patient__id",
        "=object_id",
        "ip_address",
    ]
    date_hierarchy = "at"
    list_select_related = ["user", "patient"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Clinicians' feeds. The token is a key, so it is never shown; a clinic admin can
    revoke a feed (the clinician's desk page makes a new link)."""

    list_display = ["clinician", "created"]
    search_fields = ["clinician__display_name"]
    fields = ["clinician", "created"]
    readonly_fields = ["clinician", "created"]
    list_select_related = ["clinician"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
