"""Staff follow each check-in of a patient (its state and messages) and send its link
again: `resend_check_in`, the staff page of a patient's check-ins, the desk's patient
record, and the answer given by phone, which waits for the check-in to be due."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from booking.models import AuditEvent
from booking.roles import CLINICIAN
from followup.checkins import (
    NotAllowedToResend,
    ResendRefused,
    check_in_url,
    resend_check_in,
)
from followup.models import (
    Channel,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Message,
    MessageKind,
    MessageState,
)
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)
from tests.outbox import send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
NOW = datetime(2026, 12, 4, 16, tzinfo=UTC)  # Friday 11:00: days 1 and 3 are open, 7 is not due
DAY_3_DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)
PHONE = "+18605550123"


@pytest.fixture
def colleague():
    clinician = ClinicianFactory(display_name="Dr. Sam Okafor", user__username="dr.okafor")
    clinician.user.groups.add(Group.objects.get(name=CLINICIAN))
    return clinician


@pytest.fixture
def patient():
    return PatientFactory(
        first_name="Ana",
        last_name="Lopez",
        email="ana@example.org",
        phone=PHONE,
        consent_email=True,
        consent_sms=True,
    )


@pytest.fixture
def episode(clinician, patient):
    return episode_after_procedure(
        clinician=clinician,
        location=LocationFactory(name="Main Street", time_zone="America/New_York"),
        patient=patient,
        performed_at=PERFORMED,
    )


@pytest.fixture
def sms_sink(settings, tmp_path) -> Callable[[], list[dict]]:
    path = tmp_path / "sms.jsonl"
    settings.SMS_BACKEND = "followup.channels.FileSmsBackend"
    settings.SMS_FILE_PATH = str(path)
    return lambda: [json.loads(line) for line in path.read_text().splitlines()]


def resends(check_in: CheckIn):
    return Message.objects.filter(check_in=check_in, kind=MessageKind.CHECK_IN_RESENT)


def lost_with_the_phone(check_in: CheckIn) -> None:
    """The patient's earlier texts were never read: none of them counts in today's cap."""
    Message.objects.filter(check_in__episode=check_in.episode).update(state=MessageState.CANCELLED)


def words(response) -> str:
    """The page's HTML with each run of white space as one space."""
    return " ".join(response.content.decode().split())


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def resend_url(check_in: CheckIn) -> str:
    return f"/staff/check-ins/{check_in.pk}/resend/"


def page_url(patient) -> str:
    return f"/staff/patients/{patient.pk}/check-ins/"


# --- the domain function -----------------------------------------------------------------


class TestResendCheckIn:
    def test_it_makes_a_row_due_now_to_the_patients_number(self, day_3, clinician):
        message = resend_check_in(day_3, Channel.SMS, clinician.user, now=NOW)
        assert (message.kind, message.channel, message.recipient) == (
            MessageKind.CHECK_IN_RESENT,
            Channel.SMS,
            PHONE,
        )
        assert (message.due_at, message.state, message.check_in) == (
            NOW,
            MessageState.SCHEDULED,
            day_3,
        )
        assert message.patient == day_3.episode.patient

    def test_it_goes_out_with_the_check_ins_link(self, day_3, clinician, sms_sink):
        lost_with_the_phone(day_3)
        resend_check_in(day_3, Channel.SMS, clinician.user, now=NOW)
        send_due(NOW)
        [text] = [sms for sms in sms_sink() if check_in_url(day_3) in sms["body"]]
        assert text["to"] == PHONE
        assert resends(day_3).get().state == MessageState.SENT

    def test_over_the_sms_cap_it_goes_by_email(self, day_3, clinician, sms_sink, mailoutbox):
        send_due(DAY_3_DUE)  # the day-3 text went at 10:00: today's one text
        assert len(sms_sink()) == 1
        resend_check_in(day_3, Channel.SMS, clinician.user, now=NOW)
        send_due(NOW)
        resent = resends(day_3).get()
        assert (resent.state, resent.channel, resent.recipient) == (
            MessageState.SENT,
            Channel.EMAIL,
            "ana@example.org",
        )
        assert len(sms_sink()) == 1
        assert check_in_url(day_3) in mailoutbox[-1].body

    def test_over_the_sms_cap_without_email_it_waits_for_the_next_allowed_day(
        self, day_3, clinician, patient, sms_sink
    ):
        patient.consent_email = False
        patient.save(update_fields=["consent_email"])
        send_due(DAY_3_DUE)
        resend_check_in(day_3, Channel.SMS, clinician.user, now=NOW)
        send_due(NOW)
        resent = resends(day_3).get()
        assert (resent.state, resent.due_at) == (MessageState.SCHEDULED, DAY_3_DUE + timedelta(1))
        assert len(sms_sink()) == 1

    def test_a_text_asked_for_at_night_waits_for_eight(self, day_3, clinician):
        night = datetime(2026, 12, 5, 2, tzinfo=UTC)  # Friday 21:00 in New York
        message = resend_check_in(day_3, Channel.SMS, clinician.user, now=night)
        assert message.due_at == datetime(2026, 12, 5, 13, tzinfo=UTC)  # Saturday 08:00

    def test_an_email_asked_for_at_night_goes_at_once(self, day_3, clinician):
        night = datetime(2026, 12, 5, 2, tzinfo=UTC)
        assert resend_check_in(day_3, Channel.EMAIL, clinician.user, now=night).due_at == night

    def test_a_text_the_night_would_hold_past_the_expiry_is_refused(self, episode, clinician):
        day_1 = episode.check_ins.get(day=1)
        CheckIn.objects.filter(pk=day_1.pk).update(
            expires_at=datetime(2026, 12, 5, 12, tzinfo=UTC)  # Saturday 07:00
        )
        night = datetime(2026, 12, 5, 3, tzinfo=UTC)  # Friday 22:00
        with pytest.raises(ResendRefused, match="after the check-in expires"):
            resend_check_in(day_1, Channel.SMS, clinician.user, now=night)
        assert not resends(day_1).exists()

    def test_a_check_in_not_yet_due_is_refused(self, episode, clinician):
        day_7 = episode.check_ins.get(day=7)
        with pytest.raises(ResendRefused, match="not due yet: its link goes out on December 8"):
            resend_check_in(day_7, Channel.EMAIL, clinician.user, now=NOW)
        assert not resends(day_7).exists()

    def test_an_answered_check_in_is_refused(self, episode, day_3, clinician):
        answer_check_in(episode, 3, 4)
        with pytest.raises(ResendRefused, match="answered"):
            resend_check_in(day_3, Channel.EMAIL, clinician.user, now=NOW)
        assert not resends(day_3).exists()

    def test_a_cancelled_check_in_is_refused(self, day_3, clinician):
        CheckIn.objects.filter(pk=day_3.pk).update(state=CheckInState.CANCELLED)
        with pytest.raises(ResendRefused, match="no longer takes answers"):
            resend_check_in(day_3, Channel.EMAIL, clinician.user, now=NOW)

    def test_an_expired_check_in_is_refused_while_staff_may_still_enter_an_answer(
        self, day_3, clinician
    ):
        after_expiry = day_3.expires_at + timedelta(hours=1)  # within the grace period
        with pytest.raises(ResendRefused, match="expired: enter the answer given by phone"):
            resend_check_in(day_3, Channel.EMAIL, clinician.user, now=after_expiry)

    @pytest.mark.parametrize(
        ("consents", "channel"),
        [({"consent_sms": False}, Channel.SMS), ({"email": ""}, Channel.EMAIL)],
    )
    def test_a_channel_the_patient_has_not_agreed_to_is_refused(
        self, day_3, clinician, patient, consents, channel
    ):
        for name, value in consents.items():
            setattr(patient, name, value)
        patient.save()
        with pytest.raises(ResendRefused, match="has not agreed to messages by"):
            resend_check_in(day_3, channel, clinician.user, now=NOW)
        assert not resends(day_3).exists()

    def test_a_second_request_on_a_channel_within_the_hour_sends_nothing_more(
        self, day_3, clinician, clinic_admin
    ):
        lost_with_the_phone(day_3)
        resend_check_in(day_3, Channel.SMS, clinician.user, now=NOW)
        with pytest.raises(ResendRefused, match="waiting to go out"):
            resend_check_in(day_3, Channel.SMS, clinic_admin, now=NOW + timedelta(seconds=1))
        send_due(NOW)
        with pytest.raises(ResendRefused, match="less than an hour ago"):
            resend_check_in(day_3, Channel.SMS, clinician.user, now=NOW + timedelta(minutes=59))
        # The other channel is its own.
        resend_check_in(day_3, Channel.EMAIL, clinician.user, now=NOW + timedelta(minutes=59))
        assert resends(day_3).count() == 2

    def test_an_hour_after_the_last_one_went_it_may_go_again(self, day_3, clinician):
        resend_check_in(day_3, Channel.EMAIL, clinician.user, now=NOW)
        send_due(NOW)
        later = NOW + timedelta(hours=1, minutes=1)
        resend_check_in(day_3, Channel.EMAIL, clinician.user, now=later)
        assert resends(day_3).count() == 2

    def test_one_that_failed_may_be_sent_again_at_once(self, day_3, clinician):
        failed = resend_check_in(day_3, Channel.EMAIL, clinician.user, now=NOW)
        Message.objects.filter(pk=failed.pk).update(
            state=MessageState.FAILED, last_error="550 mailbox unavailable"
        )
        resend_check_in(day_3, Channel.EMAIL, clinician.user, now=NOW + timedelta(minutes=2))
        assert resends(day_3).count() == 2

    def test_a_channel_the_clinic_does_not_have_is_an_error(self, day_3, clinician):
        with pytest.raises(ValueError, match="fax"):
            resend_check_in(day_3, "fax", clinician.user, now=NOW)
        assert not resends(day_3).exists()

    def test_staff_who_may_not_open_the_patient_may_not(self, day_3, colleague, patient_user):
        for user in (colleague.user, patient_user):
            with pytest.raises(NotAllowedToResend):
                resend_check_in(day_3, Channel.EMAIL, user, now=NOW)
        assert not resends(day_3).exists()

    def test_reception_and_clinic_admins_may(self, day_3, receptionist, clinic_admin):
        resend_check_in(day_3, Channel.EMAIL, receptionist, now=NOW)
        resend_check_in(day_3, Channel.SMS, clinic_admin, now=NOW)
        assert resends(day_3).count() == 2


# --- the pages -----------------------------------------------------------------------------


class TestResendButton:
    def test_the_treating_clinician_sends_the_link_again(self, day_3, clinician):
        response = logged_in(clinician.user).post(
            resend_url(day_3), {"channel": "sms", "next": "/desk/"}
        )
        assert response.status_code == 302
        assert response.url == "/desk/"
        message = resends(day_3).get()
        assert (message.channel, message.due_at) == (Channel.SMS, NOW)
        event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE)
        assert (event.user, event.patient, event.object_type, event.object_id) == (
            clinician.user,
            day_3.episode.patient,
            "Message",
            str(message.pk),
        )
        assert event.summary == "Sent the day 3 check-in's link again by SMS"

    def test_it_says_when_the_link_goes(self, day_3, clinician):
        client = logged_in(clinician.user)
        response = client.post(resend_url(day_3), {"channel": "email"}, follow=True)
        assert "The day 3 check-in&#x27;s link goes again by email within a minute." in (
            response.content.decode()
        )

    @pytest.mark.parametrize("role", ["receptionist", "clinic_admin"])
    def test_reception_and_clinic_admins_may(self, day_3, role, request):
        client = logged_in(request.getfixturevalue(role))
        assert client.post(resend_url(day_3), {"channel": "email"}).status_code == 302
        assert resends(day_3).count() == 1

    def test_a_clinician_not_caring_for_the_patient_gets_404(self, day_3, colleague):
        client = logged_in(colleague.user)
        assert client.post(resend_url(day_3), {"channel": "email"}).status_code == 404
        assert client.get(page_url(day_3.episode.patient)).status_code == 404
        assert not resends(day_3).exists()

    def test_it_needs_a_login_and_a_staff_role(self, client, day_3, patient_user):
        response = client.post(resend_url(day_3), {"channel": "email"})
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
        assert logged_in(patient_user).post(
            resend_url(day_3), {"channel": "email"}
        ).status_code == (403)
        assert not resends(day_3).exists()

    def test_it_takes_post_only_with_the_csrf_token(self, day_3, clinician):
        client = Client(enforce_csrf_checks=True)
        client.force_login(clinician.user)
        assert client.get(resend_url(day_3)).status_code == 405
        assert client.post(resend_url(day_3), {"channel": "email"}).status_code == 403
        assert not resends(day_3).exists()

    @pytest.mark.parametrize("channel", ["", "fax", "EMAIL"])
    def test_an_unknown_channel_is_400_and_sends_nothing(self, day_3, clinician, channel):
        response = logged_in(clinician.user).post(resend_url(day_3), {"channel": channel})
        assert response.status_code == 400
        assert "Choose email or SMS" in response.content.decode()
        assert not resends(day_3).exists()

    def test_a_check_in_not_yet_due_is_409_with_the_reason(self, episode, clinician):
        day_7 = episode.check_ins.get(day=7)
        response = logged_in(clinician.user).post(resend_url(day_7), {"channel": "email"})
        assert response.status_code == 409
        assert "not due yet: its link goes out on December 8, 2026, 10:00 AM" in (
            response.content.decode()
        )
        assert not resends(day_7).exists()
        assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREATE).exists()

    def test_a_double_click_sends_once(self, day_3, clinician):
        client = logged_in(clinician.user)
        assert client.post(resend_url(day_3), {"channel": "sms"}).status_code == 302
        response = client.post(resend_url(day_3), {"channel": "sms"})
        assert response.status_code == 409
        assert "already sent again by SMS" in response.content.decode()
        assert resends(day_3).count() == 1

    def test_it_goes_back_only_to_a_page_of_ours(self, day_3, clinician):
        response = logged_in(clinician.user).post(
            resend_url(day_3), {"channel": "email", "next": "https://evil.example/"}
        )
        assert response.url == page_url(day_3.episode.patient)

    def test_an_unknown_check_in_is_404(self, clinician):
        response = logged_in(clinician.user).post(
            "/staff/check-ins/999/resend/", {"channel": "sms"}
        )
        assert response.status_code == 404


class TestCheckInsPage:
    def test_it_shows_each_check_in_with_its_state_and_messages(self, episode, clinician):
        answer_check_in(episode, 1, 4)
        CheckIn.objects.filter(episode=episode, day=180).update(
            state=CheckInState.CANCELLED, cancel_reason="A new procedure at this site."
        )
        send_due(DAY_3_DUE)
        content = words(logged_in(clinician.user).get(page_url(episode.patient)))

        assert "Lumbar, injected Dec 1, 2026" in content
        assert "<td>Answered</td>" in content  # day 1
        assert "<td>Open</td>" in content  # day 3
        assert "<td>Scheduled</td>" in content  # day 7 and later
        assert "<td>Cancelled: A new procedure at this site.</td>" in content
        assert "Fri, Dec 4, 2026, 10:00 AM EST" in content
        assert "Check-in by SMS to ***0123: <strong>sent</strong> Fri, Dec 4, 10:00 AM" in content
        assert (
            "Check-in reminder by Email to a***@example.org: <strong>scheduled</strong> "
            "(due Sat, Dec 5, 10:00 AM)"
        ) in content
        assert PHONE not in content
        assert "ana@example.org" not in content

    def test_an_open_check_in_has_a_button_per_agreed_channel(self, episode, day_3, clinician):
        content = logged_in(clinician.user).get(page_url(episode.patient)).content.decode()
        action = f'action="{resend_url(day_3)}"'
        assert content.count(action) == 2
        assert "Send the link again by email" in content
        assert "Send the link again by SMS" in content
        day_7 = episode.check_ins.get(day=7)
        assert resend_url(day_7) not in content  # not due: no button

    def test_a_skipped_or_failed_message_shows_why(self, day_3, clinician):
        Message.objects.filter(check_in=day_3, channel=Channel.SMS, kind="check_in").update(
            state=MessageState.FAILED, last_error="Twilio 21614: not a mobile number"
        )
        Message.objects.filter(check_in=day_3, channel=Channel.EMAIL, kind="check_in").update(
            state=MessageState.SKIPPED, skip_reason="Over the patient's SMS limit."
        )
        content = logged_in(clinician.user).get(page_url(day_3.episode.patient)).content.decode()
        assert "Last error: Twilio 21614: not a mobile number" in content
        assert "Over the patient&#x27;s SMS limit." in content

    def test_reception_sees_states_and_messages_but_no_answer(self, episode, receptionist):
        answer_check_in(episode, 1, 4, comment="Walking again")
        content = logged_in(receptionist).get(page_url(episode.patient)).content.decode()
        assert "<td>Answered</td>" in content
        assert "Send the link again by SMS" in content
        assert "Walking again" not in content
        assert "4/10" not in content
        assert "/answer/" not in content  # reception enters no answers

    def test_a_clinician_links_to_the_answers(self, episode, clinician):
        day_7 = episode.check_ins.get(day=7)
        content = logged_in(clinician.user).get(page_url(episode.patient)).content.decode()
        assert f"/staff/check-ins/{episode.check_ins.get(day=3).pk}/answer/" in content
        assert f"/staff/check-ins/{day_7.pk}/answer/" not in content  # not due

    def test_viewing_it_is_an_audit_row(self, episode, receptionist):
        logged_in(receptionist).get(page_url(episode.patient))
        event = AuditEvent.objects.get()
        assert (event.action, event.patient, event.user) == (
            AuditEvent.Action.VIEW,
            episode.patient,
            receptionist,
        )

    def test_the_queries_do_not_grow_with_the_episodes(
        self, episode, clinician, django_assert_max_num_queries
    ):
        client = logged_in(clinician.user)
        client.get(page_url(episode.patient))
        with django_assert_max_num_queries(12) as few:
            client.get(page_url(episode.patient))
        for month in (2, 3):
            episode_after_procedure(
                clinician=clinician,
                patient=episode.patient,
                site_slug="cervical-trigger-point",
                performed_at=PERFORMED - timedelta(days=30 * month),
            )
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get(page_url(episode.patient))


class TestTheDeskRecord:
    def test_it_lists_the_check_ins_with_their_messages_and_buttons(
        self, episode, day_3, receptionist
    ):
        url = f"/desk/patients/{episode.patient.pk}/"
        content = words(logged_in(receptionist).get(url))
        assert "Check-ins and their messages" in content
        assert "Check-in by SMS to ***0123" in content
        assert f'action="{resend_url(day_3)}"' in content
        assert f'name="next" value="{url}#check-in-{day_3.pk}"' in content

    def test_the_button_brings_reception_back_to_the_record(self, episode, day_3, receptionist):
        url = f"/desk/patients/{episode.patient.pk}/"
        client = logged_in(receptionist)
        response = client.post(resend_url(day_3), {"channel": "email", "next": url})
        assert response.url == url
        assert "link goes again by email" in client.get(url).content.decode()

    def test_reception_sees_no_alert_sent_to_staff(self, episode, receptionist, clinician):
        answer_check_in(episode, 3, 5, side_effects=["fever"])
        assert Message.objects.filter(kind=MessageKind.ALERT).exists()
        url = f"/desk/patients/{episode.patient.pk}/"
        assert "Red-flag alert" not in logged_in(receptionist).get(url).content.decode()
        assert "Red-flag alert" in logged_in(clinician.user).get(url).content.decode()


class TestAnAnswerGivenByPhoneWaitsForTheDueTime:
    def test_the_page_of_a_check_in_not_yet_due_shows_no_form(self, episode, clinician):
        day_7 = episode.check_ins.get(day=7)
        content = logged_in(clinician.user).get(f"/staff/check-ins/{day_7.pk}/answer/")
        text = content.content.decode()
        assert "not due yet: it takes answers from December 8, 2026, 10:00 AM" in text
        assert 'name="pain"' not in text

    def test_posting_one_anyway_is_409_and_saves_nothing(self, episode, clinician):
        day_7 = episode.check_ins.get(day=7)
        response = logged_in(clinician.user).post(
            f"/staff/check-ins/{day_7.pk}/answer/", {"pain": "3", "warning_signs": ["none"]}
        )
        assert response.status_code == 409
        assert "not due yet" in response.content.decode()
        assert not CheckInAnswer.objects.exists()
