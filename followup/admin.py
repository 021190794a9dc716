"""Admin of the outbox: reminder and follow-up plans and repeat-injection limits on each
site, wording, the messages themselves; and, read-only, procedures, episodes, check-in
answers and alerts. Pages naming a patient are clinic admins' (booking.admin.PatientDataAdmin).

Messages are read-only here: they change through the outbox's functions. A failed one
can be sent again (followup.operations.retry_failed), from the message list, from the
message's page, or from the timeline on its appointment's page. Procedures are recorded
by completing a visit (staff pages, API) and answers by the check-in routes, so the admin
only shows them; alerts can be acknowledged here too (followup.alerts.acknowledge_and_audit).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import Template, TemplateSyntaxError
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from booking.admin import AppointmentAdmin, PatientDataAdmin, SiteAdmin
from booking.models import Appointment, Site
from config.logs import masked
from followup.alerts import NotAllowedToAcknowledge, acknowledge_and_audit
from followup.content import SMS_OPT_OUT
from followup.models import (
    Alert,
    CheckIn,
    CheckInAnswer,
    EligibilityPolicy,
    Episode,
    FollowUpStep,
    InboundSms,
    Message,
    MessageState,
    MessageTemplate,
    Procedure,
    ProcedureInjectate,
    ReminderStep,
)
from followup.operations import retry_failed

RETRY_PERMISSION = "followup.change_message"


class ReminderStepInline(admin.TabularInline):
    model = ReminderStep
    extra = 0
    verbose_name = "reminder"
    verbose_name_plural = "reminder plan (applies to visits booked or moved after a change)"


class FollowUpStepInline(admin.TabularInline):
    model = FollowUpStep
    extra = 0
    verbose_name = "check-in"
    verbose_name_plural = (
        "follow-up plan: check-ins, in days after the procedure (applies to procedures "
        "recorded after a change)"
    )


class EligibilityPolicyForm(forms.ModelForm):
    def has_changed(self) -> bool:
        # A new site's limits are saved as shown (the defaults) even when left untouched.
        return self.instance._state.adding or super().has_changed()


class EligibilityPolicyInline(admin.StackedInline):
    model = EligibilityPolicy
    form = EligibilityPolicyForm
    min_num = 1
    extra = 0
    can_delete = False
    verbose_name_plural = (
        "repeat-injection limits (the patient's trend page judges one more injection here by them)"
    )


admin.site.unregister(Site)


@admin.register(Site)
class SiteWithRemindersAdmin(SiteAdmin):
    inlines = [*SiteAdmin.inlines, ReminderStepInline, FollowUpStepInline, EligibilityPolicyInline]


VARIABLES_HELP = (
    "A Django template. Variables: {{ first_name }}, {{ clinic_name }}, {{ date }}, "
    "{{ time }}, {{ link }} (the patient's manage link); nothing else reaches it, so no "
    f"site, injectate or pain score can. Texts end with '{SMS_OPT_OUT}' and emails with "
    "an unsubscribe link, added when sent."
)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "channel", "subject", "body"]
        help_texts = {"body": VARIABLES_HELP, "subject": f"Email only. {VARIABLES_HELP}"}

    def _clean_template(self, name: str) -> str:
        text = self.cleaned_data[name]
        try:
            Template(text)
        except TemplateSyntaxError as error:
            raise forms.ValidationError(f"This template has an error: {error}") from error
        return text

    def clean_subject(self) -> str:
        return self._clean_template("subject")

    def clean_body(self) -> str:
        return self._clean_template("body")


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["__str__", "subject"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # every kind and channel must have its wording when a message is sent


class MessageDisplayMixin:
    """Columns shared by the message list, its page and the appointment's timeline.

    "Send again" is a button on failed messages for users who may change messages. The
    pages that show it are admin change forms, so the button submits that form (with its
    CSRF token) to the message admin's send-again view by `formaction`.
    """

    return_to_appointment = False

    @admin.display(description="recipient")
    def recipient_masked(self, message: Message) -> str:
        return masked(message.recipient)

    @admin.display(description="")
    def send_again(self, message: Message) -> str:
        if message.state != MessageState.FAILED:
            return ""
        back = (
            reverse("admin:booking_appointment_change", args=[message.appointment_id])
            if self.return_to_appointment
            else reverse("admin:followup_message_change", args=[message.pk])
        )
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            'name="next" value="{}">Send again</button>',
            reverse("admin:followup_message_send_again", args=[message.pk]),
            back,
        )

    def with_send_again(self, request: HttpRequest, fields: list[str]) -> tuple[str, ...]:
        allowed = request.user.has_perm(RETRY_PERMISSION)
        return (*fields, "send_again") if allowed else tuple(fields)


TIMELINE_FIELDS = [
    "kind",
    "channel",
    "recipient_masked",
    "due_at",
    "state",
    "attempts",
    "sent_at",
    "last_error",
    "skip_reason",
]


class MessageInline(MessageDisplayMixin, admin.TabularInline):
    """The appointment's messages in due order: its timeline."""

    model = Message
    extra = 0
    can_delete = False
    ordering = ["due_at", "pk"]
    verbose_name_plural = "messages (timeline)"
    show_change_link = True
    return_to_appointment = True

    def get_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return self.with_send_again(request, TIMELINE_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return self.get_fields(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


admin.site.unregister(Appointment)


@admin.register(Appointment)
class AppointmentWithMessagesAdmin(AppointmentAdmin):
    readonly_fields = [*AppointmentAdmin.readonly_fields, "confirmed_at"]
    inlines = [*AppointmentAdmin.inlines, MessageInline]


@admin.register(Message)
class MessageAdmin(MessageDisplayMixin, PatientDataAdmin):
    list_display = [
        "id",
        "due_at",
        "kind",
        "channel",
        "recipient_masked",
        "state",
        "attempts",
        "sent_at",
        "appointment_link",
    ]
    list_filter = ["state", "channel", "kind"]
    search_fields = ["recipient", "=appointment__public_id", "=provider_message_id"]
    date_hierarchy = "due_at"
    list_select_related = ["appointment"]
    actions = ["send_again_action"]
    DETAIL_FIELDS = [
        "appointment_link",
        *TIMELINE_FIELDS,
        "minutes_before",
        "claimed_at",
        "provider_message_id",
        "idempotency_key",
        "created",
    ]

    @admin.display(description="appointment")
    def appointment_link(self, message: Message) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:booking_appointment_change", args=[message.appointment_id]),
            message.appointment_id,
        )

    def get_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return self.with_send_again(request, self.DETAIL_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return self.get_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # Nothing on the page is editable: no save buttons.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Send again (failed messages)", permissions=["change"])
    def send_again_action(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        result = retry_failed(queryset.values_list("pk", flat=True))
        self._report(request, result.scheduled, result.refused)

    def get_urls(self) -> list[URLPattern]:
        send_again = self.admin_site.admin_view(require_POST(self.send_again_view))
        return [
            path("<int:message_id>/send-again/", send_again, name="followup_message_send_again"),
            *super().get_urls(),
        ]

    def send_again_view(self, request: HttpRequest, message_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        result = retry_failed([message_id])
        self._report(request, result.scheduled, result.refused)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:followup_message_change", args=[message_id])
        return HttpResponseRedirect(target)

    def _report(self, request: HttpRequest, scheduled: int, refused: int) -> None:
        if scheduled:
            self.message_user(
                request,
                f"{scheduled} message(s) will be sent again in the next minute "
                "(at 08:00 if asked in quiet hours).",
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                f"{refused} message(s) not sent again: not failed, or a reminder of a "
                "visit that is past or no longer booked.",
                messages.WARNING,
            )


@admin.register(InboundSms)
class InboundSmsAdmin(PatientDataAdmin):
    """Texts patients sent, and what we did: read-only."""

    list_display = ["received_at", "from_masked", "outcome", "provider_sid"]
    list_filter = ["outcome"]
    search_fields = ["from_number", "=provider_sid"]
    date_hierarchy = "received_at"
    readonly_fields = ["provider_sid", "from_number", "received_at", "body", "outcome", "reply"]

    @admin.display(description="from")
    def from_masked(self, sms: InboundSms) -> str:
        return masked(sms.from_number)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- After the injection: shown here, changed through the domain functions ----------------


class ReadOnlyAdminMixin:
    """Rows written only by the domain functions: listed and viewed, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ProcedureInjectateInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProcedureInjectate
    fields = ["injectate", "dose"]


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyAdminMixin, PatientDataAdmin):
    list_display = ["performed_at", "site", "side", "patient", "performed_by", "trigger_points"]
    list_filter = ["site", "side", "performed_by"]
    search_fields = ["appointment__patient__last_name", "=appointment__public_id"]
    date_hierarchy = "performed_at"
    list_select_related = ["site", "performed_by", "appointment__patient"]
    fields = [
        "appointment",
        "site",
        "side",
        "trigger_points",
        "pain_before",
        "notes",
        "performed_by",
        "performed_at",
    ]
    inlines = [ProcedureInjectateInline]

    @admin.display(description="patient")
    def patient(self, procedure: Procedure) -> str:
        return str(procedure.appointment.patient)


class CheckInInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CheckIn
    fields = ["day", "due_at", "expires_at", "state", "cancel_reason", "pain"]
    readonly_fields = ["pain"]
    ordering = ["day"]

    @admin.display(description="pain")
    def pain(self, check_in: CheckIn) -> str:
        answer = CheckInAnswer.objects.filter(check_in=check_in).first()
        return "" if answer is None else f"{answer.pain}/10"


@admin.register(Episode)
class EpisodeAdmin(ReadOnlyAdminMixin, PatientDataAdmin):
    list_display = ["started_at", "patient", "site", "baseline_pain", "closed_at"]
    list_filter = ["site"]
    search_fields = ["patient__last_name", "patient__first_name"]
    date_hierarchy = "started_at"
    list_select_related = ["patient", "site"]
    fields = [
        "procedure",
        "patient",
        "site",
        "baseline_pain",
        "started_at",
        "closed_at",
        "close_reason",
    ]
    inlines = [CheckInInline]


@admin.register(CheckInAnswer)
class CheckInAnswerAdmin(ReadOnlyAdminMixin, PatientDataAdmin):
    list_display = ["answered_at", "patient", "day", "pain", "relief_percent", "route", "late"]
    list_filter = ["route", "late", "check_in__episode__site"]
    search_fields = ["check_in__episode__patient__last_name"]
    date_hierarchy = "answered_at"
    list_select_related = ["check_in__episode__patient"]

    @admin.display(description="patient")
    def patient(self, answer: CheckInAnswer) -> str:
        return str(answer.check_in.episode.patient)

    @admin.display(description="day")
    def day(self, answer: CheckInAnswer) -> int:
        return answer.check_in.day


class AlertStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", "Open"), ("no", "Acknowledged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {"yes", "no"}:
            return queryset.filter(acknowledged_at__isnull=self.value() == "yes")
        return queryset


@admin.register(Alert)
class AlertAdmin(PatientDataAdmin):
    list_display = ["created", "clinician", "patient", "reasons_text", "acknowledged"]
    list_filter = [AlertStateFilter, "clinician"]
    date_hierarchy = "created"
    list_select_related = ["clinician", "acknowledged_by", "answer__check_in__episode__patient"]
    fields = readonly_fields = (
        "answer",
        "clinician",
        "reasons",
        "created",
        "acknowledged_at",
        "acknowledged_by",
    )
    actions = ["acknowledge_action"]

    @admin.display(description="patient")
    def patient(self, alert: Alert) -> str:
        return str(alert.answer.check_in.episode.patient)

    @admin.display(description="reasons")
    def reasons_text(self, alert: Alert) -> str:
        return ", ".join(alert.reasons)

    @admin.display(description="acknowledged")
    def acknowledged(self, alert: Alert) -> str:
        if alert.acknowledged_at is None:
            return ""
        return f"{alert.acknowledged_by} at {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Acknowledge the selected alerts", permissions=["change"])
    def acknowledge_action(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = refused = 0
        for alert in queryset.filter(acknowledged_at__isnull=True):
            try:
                if acknowledge_and_audit(request, alert):
                    done += 1
            except NotAllowedToAcknowledge:
                refused += 1
        if done:
            self.message_user(request, f"{done} alert(s) acknowledged.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"{refused} alert(s) left open: only the treating clinician or a clinic admin "
                "may acknowledge them.",
                messages.WARNING,
            )
