"""Operating the outbox: sending a failed message again (function, admin action and button),
the admin pages of plans, wording and messages, the staff roles, and list_stuck_messages."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command

from booking.models import AppointmentStatus, Site
from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION
from followup.dispatch import dispatch_due_messages
from followup.models import (
    Channel,
    InboundOutcome,
    InboundSms,
    Message,
    MessageKind,
    MessageState,
    MessageTemplate,
    ReminderStep,
)
from followup.operations import retry_failed
from followup.reminders import plan_reminders
from followup.sending import send_message
from tests.admin_forms import site_change_form
from tests.factories import AppointmentFactory, LocationFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
PHONE = "+18605550123"


@pytest.fixture
def appointment():
    """Wednesday 09:00 in New York, with its 24 h email and 2 h SMS reminders scheduled."""
    visit = AppointmentFactory(
        site=Site.objects.get(slug="lumbar"),
        location=LocationFactory(name="Main Street"),
        patient=PatientFactory(
            first_name="Ana",
            email="ana@example.org",
            phone=PHONE,
            consent_email=True,
            consent_sms=True,
        ),
        start=WEDNESDAY_9AM,
    )
    plan_reminders(visit, now=NOW)
    return visit


@pytest.fixture
def failed(appointment) -> Message:
    """The 24 h email reminder, failed after its attempts."""
    message = Message.objects.get(appointment=appointment, minutes_before=24 * 60)
    Message.objects.filter(pk=message.pk).update(
        state=MessageState.FAILED,
        attempts=5,
        last_error="email not accepted: Connection refused",
        claimed_at=NOW - timedelta(hours=1),
    )
    message.refresh_from_db()
    return message


def _login(client, user):
    client.force_login(user)
    return client


def _codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def test_only_clinic_admins_see_and_change_messages_in_the_admin():
    # Messages name patients: reception and clinicians follow them on the desk's pages.
    for role in (RECEPTION, CLINICIAN):
        assert not {"view_message", "change_message"} & _codenames(role)
    assert {"change_message", "change_reminderstep", "change_messagetemplate"} <= _codenames(
        CLINIC_ADMIN
    )


class TestRetryFailed:
    def test_a_failed_message_is_due_again_now_with_fresh_attempts(self, failed):
        result = retry_failed([failed.pk])
        failed.refresh_from_db()
        assert (result.scheduled, result.refused) == (1, 0)
        assert (failed.state, failed.due_at, failed.attempts) == (MessageState.SCHEDULED, NOW, 0)
        assert failed.claimed_at is None
        # The error stays visible until the next attempt replaces or clears it.
        assert failed.last_error == "email not accepted: Connection refused"

    def test_the_dispatcher_then_sends_it_once(self, failed):
        retry_failed([failed.pk])
        assert dispatch_due_messages(enqueue=send_message) == 1
        failed.refresh_from_db()
        assert (failed.state, failed.sent_at, failed.last_error) == (MessageState.SENT, NOW, "")
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["ana@example.org"]

    def test_other_states_are_left_alone(self, appointment, failed):
        sms = Message.objects.get(appointment=appointment, channel=Channel.SMS)
        result = retry_failed([failed.pk, sms.pk, failed.pk])
        assert (result.scheduled, result.refused) == (1, 1)
        sms.refresh_from_db()
        assert sms.due_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)

    def test_a_second_retry_does_nothing(self, failed):
        retry_failed([failed.pk])
        assert retry_failed([failed.pk]).scheduled == 0

    def test_in_quiet_hours_it_waits_for_8_am(self, failed, clock):
        clock.move_to(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 22:00 in New York
        retry_failed([failed.pk])
        failed.refresh_from_db()
        assert failed.due_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 08:00

    def test_a_reminder_of_a_cancelled_visit_is_not_sent_again(self, appointment, failed):
        appointment.status = AppointmentStatus.CANCELLED
        appointment.save()
        assert retry_failed([failed.pk]).refused == 1
        failed.refresh_from_db()
        assert failed.state == MessageState.FAILED

    def test_a_reminder_of_a_visit_already_begun_is_not_sent_again(self, failed, clock):
        clock.move_to(WEDNESDAY_9AM + timedelta(minutes=5))
        assert retry_failed([failed.pk]).scheduled == 0


class TestMessageAdmin:
    CHANGELIST = "/admin/followup/message/"

    def test_the_send_again_action_reschedules_the_selected_failed_messages(
        self, client, clinic_admin, failed
    ):
        _login(client, clinic_admin)
        response = client.post(
            self.CHANGELIST,
            {"action": "send_again_action", "_selected_action": [failed.pk]},
            follow=True,
        )
        assert "1 message(s) will be sent again" in response.content.decode()
        failed.refresh_from_db()
        assert (failed.state, failed.due_at) == (MessageState.SCHEDULED, NOW)

    def test_the_action_reports_what_it_could_not_send_again(
        self, client, clinic_admin, appointment, failed
    ):
        sent = Message.objects.get(appointment=appointment, channel=Channel.SMS)
        _login(client, clinic_admin)
        response = client.post(
            self.CHANGELIST,
            {"action": "send_again_action", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )
        assert "1 message(s) not sent again" in response.content.decode()

    def test_reception_neither_sees_the_list_nor_sends_again(self, client, receptionist, failed):
        _login(client, receptionist)
        page = client.get(self.CHANGELIST)
        assert page.status_code == 403
        client.post(
            self.CHANGELIST, {"action": "send_again_action", "_selected_action": [failed.pk]}
        )
        failed.refresh_from_db()
        assert failed.state == MessageState.FAILED

    def test_the_list_filters_by_state_channel_and_kind_and_masks_recipients(
        self, client, clinic_admin, failed
    ):
        _login(client, clinic_admin)
        page = client.get(
            self.CHANGELIST,
            {"state__exact": "failed", "channel__exact": "email", "kind__exact": "reminder"},
        )
        content = page.content.decode()
        assert page.context["cl"].result_count == 1
        assert "a***@example.org" in content
        assert client.get(self.CHANGELIST, {"state__exact": "sent"}).context["cl"].result_count == 0

    def test_it_searches_by_recipient(self, client, clinic_admin, appointment):
        _login(client, clinic_admin)
        assert client.get(self.CHANGELIST, {"q": PHONE}).context["cl"].result_count == 1
        assert client.get(self.CHANGELIST, {"q": "ana@example.org"}).context["cl"].result_count == 2

    def test_a_message_page_is_read_only_with_a_send_again_button(
        self, client, clinic_admin, failed
    ):
        _login(client, clinic_admin)
        content = client.get(f"{self.CHANGELIST}{failed.pk}/change/").content.decode()
        assert 'name="_save"' not in content
        assert f'formaction="/admin/followup/message/{failed.pk}/send-again/"' in content
        assert 'name="recipient"' not in content
        assert "Connection refused" in content

    def test_messages_cannot_be_added_or_deleted(self, client, clinic_admin, failed):
        _login(client, clinic_admin)
        assert client.get(f"{self.CHANGELIST}add/").status_code == 403
        assert client.get(f"{self.CHANGELIST}{failed.pk}/delete/").status_code == 403


class TestSendAgainButton:
    def url(self, message: Message) -> str:
        return f"/admin/followup/message/{message.pk}/send-again/"

    def test_it_sends_again_and_returns_to_the_appointment(
        self, client, clinic_admin, appointment, failed
    ):
        _login(client, clinic_admin)
        back = f"/admin/booking/appointment/{appointment.pk}/change/"
        response = client.post(self.url(failed), {"next": back})
        assert response.status_code == 302
        assert response["Location"] == back
        failed.refresh_from_db()
        assert failed.state == MessageState.SCHEDULED

    def test_it_never_redirects_off_the_site(self, client, clinic_admin, failed):
        _login(client, clinic_admin)
        response = client.post(self.url(failed), {"next": "https://evil.example/"})
        assert response["Location"] == f"/admin/followup/message/{failed.pk}/change/"

    def test_reception_may_not(self, client, receptionist, failed):
        _login(client, receptionist)
        assert client.post(self.url(failed)).status_code == 403
        failed.refresh_from_db()
        assert failed.state == MessageState.FAILED

    def test_it_takes_post_only(self, client, clinic_admin, failed):
        _login(client, clinic_admin)
        assert client.get(self.url(failed)).status_code == 405

    def test_it_needs_a_login(self, client, failed):
        response = client.post(self.url(failed))
        assert response.status_code == 302
        assert "/login/" in response["Location"]


class TestAppointmentTimeline:
    def url(self, appointment) -> str:
        return f"/admin/booking/appointment/{appointment.pk}/change/"

    def test_the_appointment_page_shows_its_messages_with_send_again(
        self, client, clinic_admin, appointment, failed
    ):
        _login(client, clinic_admin)
        content = client.get(self.url(appointment)).content.decode()
        assert "messages (timeline)" in content.lower()
        assert "a***@example.org" in content
        assert "***0123" in content
        assert PHONE not in content
        assert f'formaction="/admin/followup/message/{failed.pk}/send-again/"' in content
        assert "Confirmed at" in content

    def test_the_timeline_lists_messages_in_due_order(self, client, clinic_admin, appointment):
        _login(client, clinic_admin)
        content = client.get(self.url(appointment)).content.decode()
        # 72 h email (skipped), then 24 h email, then the 2 h SMS.
        first = content.index("Its time had passed")
        assert first < content.index("Dec. 1, 2026") < content.index("***0123")

    def test_the_appointment_can_still_be_saved_with_the_timeline_on_it(
        self, client, clinic_admin, appointment, failed
    ):
        _login(client, clinic_admin)
        messages = Message.objects.filter(appointment=appointment).order_by("due_at", "pk")
        rows = {f"messages-{index}-id": message.pk for index, message in enumerate(messages)} | {
            f"messages-{index}-appointment": appointment.pk for index in range(len(messages))
        }
        response = client.post(
            self.url(appointment),
            {
                "notes": "Prefers mornings.",
                "safety_answers-TOTAL_FORMS": 0,
                "safety_answers-INITIAL_FORMS": 0,
                "messages-TOTAL_FORMS": len(messages),
                "messages-INITIAL_FORMS": len(messages),
                **rows,
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        appointment.refresh_from_db()
        assert appointment.notes == "Prefers mornings."
        failed.refresh_from_db()
        assert failed.state == MessageState.FAILED

    def test_reception_does_not_see_the_appointment_in_the_admin(
        self, client, receptionist, appointment, failed
    ):
        _login(client, receptionist)  # the desk's appointment page is theirs
        response = client.get(self.url(appointment))
        assert response.status_code == 403
        assert "***0123" not in response.content.decode()


class TestReminderPlanAndWording:
    def test_the_site_page_edits_its_reminder_plan(self, client, clinic_admin):
        site = Site.objects.get(slug="lumbar")
        steps = list(ReminderStep.objects.filter(site=site).order_by("-minutes_before"))
        assert [(s.minutes_before, s.channel) for s in steps] == [
            (4320, "email"),
            (1440, "email"),
            (120, "sms"),
        ]
        rows: list[dict[str, object]] = [
            {
                "id": step.pk,
                "site": site.pk,
                "minutes_before": step.minutes_before,
                "channel": step.channel,
            }
            for step in steps
        ]
        rows[2]["minutes_before"] = 60  # SMS one hour before instead of two
        _login(client, clinic_admin)
        response = client.post(
            f"/admin/booking/site/{site.pk}/change/",
            site_change_form(site, reminder_steps=rows),  # the follow-up plan left as it is
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert set(site.reminder_steps.values_list("minutes_before", "channel")) == {
            (4320, "email"),
            (1440, "email"),
            (60, "sms"),
        }

    def test_reception_sees_sites_without_editing_plans(self, client, receptionist):
        site = Site.objects.get(slug="lumbar")
        _login(client, receptionist)
        assert client.get(f"/admin/booking/site/{site.pk}/change/").status_code == 200

    def test_the_wording_page_lists_the_variables(self, client, clinic_admin):
        template = MessageTemplate.objects.get(kind=MessageKind.REMINDER, channel=Channel.SMS)
        _login(client, clinic_admin)
        content = client.get(
            f"/admin/followup/messagetemplate/{template.pk}/change/"
        ).content.decode()
        for variable in ("first_name", "clinic_name", "date", "time", "link"):
            assert f"{{{{ {variable} }}}}" in content

    def test_a_template_that_does_not_compile_is_refused(self, client, clinic_admin):
        template = MessageTemplate.objects.get(kind=MessageKind.REMINDER, channel=Channel.SMS)
        _login(client, clinic_admin)
        response = client.post(
            f"/admin/followup/messagetemplate/{template.pk}/change/",
            {"kind": "reminder", "channel": "sms", "subject": "", "body": "Hi {% if %}"},
        )
        assert response.status_code == 200
        assert "This template has an error" in response.content.decode()
        template.refresh_from_db()
        assert "{% if %}" not in template.body

    def test_a_good_edit_is_saved(self, client, clinic_admin):
        template = MessageTemplate.objects.get(kind=MessageKind.REMINDER, channel=Channel.SMS)
        _login(client, clinic_admin)
        response = client.post(
            f"/admin/followup/messagetemplate/{template.pk}/change/",
            {"kind": "reminder", "channel": "sms", "subject": "", "body": "See you {{ date }}."},
        )
        assert response.status_code == 302
        template.refresh_from_db()
        assert template.body == "See you {{ date }}."

    def test_wording_cannot_be_deleted(self, client, clinic_admin):
        template = MessageTemplate.objects.first()
        _login(client, clinic_admin)
        url = f"/admin/followup/messagetemplate/{template.pk}/delete/"
        assert client.get(url).status_code == 403


def test_inbound_texts_are_listed_read_only_with_masked_numbers(client, clinic_admin):
    InboundSms.objects.create(
        provider_sid="SM1",
        from_number=PHONE,
        body="C",
        received_at=NOW,
        outcome=InboundOutcome.CONFIRMED,
    )
    _login(client, clinic_admin)
    content = client.get("/admin/followup/inboundsms/").content.decode()
    assert "***0123" in content
    assert client.get("/admin/followup/inboundsms/add/").status_code == 403


class TestListStuckMessages:
    @pytest.fixture
    def troubles(self, appointment, failed, clock, settings):
        """At 09:00: one stuck in sending, one failed, one overdue; and three that are fine."""
        settings.MESSAGE_SENDING_TIMEOUT = 600
        other = AppointmentFactory(
            site=appointment.site,
            location=appointment.location,
            patient=PatientFactory(
                email="bo@example.org", phone="+18605550456", consent_email=True, consent_sms=True
            ),
            start=WEDNESDAY_9AM + timedelta(hours=2),
        )
        plan_reminders(other, now=NOW)
        sms = Message.objects.get(appointment=appointment, channel=Channel.SMS)
        Message.objects.filter(pk=sms.pk).update(
            state=MessageState.SENDING,
            due_at=NOW - timedelta(minutes=20),
            claimed_at=NOW - timedelta(minutes=11),
            attempts=1,
        )
        email_24h = Message.objects.get(appointment=other, minutes_before=24 * 60)
        Message.objects.filter(pk=email_24h.pk).update(due_at=NOW - timedelta(minutes=6))
        fine_sending = Message.objects.get(appointment=other, channel=Channel.SMS)
        Message.objects.filter(pk=fine_sending.pk).update(
            state=MessageState.SENDING,
            due_at=NOW - timedelta(minutes=1),
            claimed_at=NOW - timedelta(minutes=1),
        )
        fine_scheduled = Message.objects.get(appointment=other, minutes_before=72 * 60)
        Message.objects.filter(pk=fine_scheduled.pk).update(
            state=MessageState.SCHEDULED, due_at=NOW - timedelta(minutes=4)
        )
        return {"stuck": sms.pk, "failed": failed.pk, "overdue": email_24h.pk}

    def run(self, *args: str) -> str:
        out = StringIO()
        call_command("list_stuck_messages", *args, stdout=out)  # raises on a non-zero exit
        return out.getvalue()

    def test_it_lists_each_problem_with_masked_recipients(self, troubles):
        output = self.run()
        assert "Stuck in sending (claimed longer ago than MESSAGE_SENDING_TIMEOUT): 1" in output
        assert "Failed: 1" in output
        assert "overdue by over 5 minutes (is the dispatcher running?): 1" in output
        assert (
            f"#{troubles['stuck']} reminder sms ***0123 due 2026-11-30T08:40-05:00 sending "
            "attempts=1"
        ) in output
        assert (
            f"#{troubles['failed']} reminder email a***@example.org due 2026-12-01T09:00-05:00 "
            "failed attempts=5 error: email not accepted: Connection refused"
        ) in output
        assert f"#{troubles['overdue']} reminder email b***@example.org" in output
        assert PHONE not in output
        assert "ana@example.org" not in output
        assert "3 message(s) need a look." in output

    def test_json(self, troubles):
        report = json.loads(self.run("--json"))
        assert {name: [m["id"] for m in part["messages"]] for name, part in report.items()} == {
            "stuck_sending": [troubles["stuck"]],
            "failed": [troubles["failed"]],
            "overdue": [troubles["overdue"]],
        }
        assert report["failed"]["messages"][0] == {
            "id": troubles["failed"],
            "kind": "reminder",
            "channel": "email",
            "recipient": "a***@example.org",
            "due_at": "2026-12-01T09:00-05:00",
            "state": "failed",
            "attempts": 5,
            "last_error": "email not accepted: Connection refused",
        }

    def test_old_failures_fall_outside_the_window(self, troubles, clock):
        clock.move_to(NOW + timedelta(days=9))
        assert json.loads(self.run("--json"))["failed"]["count"] == 0
        assert json.loads(self.run("--json", "--days", "30"))["failed"]["count"] == 1

    def test_the_limit_shortens_long_lists(self, troubles):
        output = self.run("--limit", "0")
        assert "… and 1 more" in output

    def test_a_healthy_outbox_says_so(self, appointment):
        assert "No stuck, failed or overdue messages." in self.run()
