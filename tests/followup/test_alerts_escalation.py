"""Red-flag alerts reach the treating clinician and the location at once, and escalate to
the location's on-call contact until someone acknowledges them: through the outbox, as
beat and a worker send them (tests.outbox.send_due)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client

from booking.models import AuditEvent, Clinician, Location
from booking.roles import CLINICIAN
from followup.alerts import acknowledge_alert
from followup.channels import EmailSender, FileSmsBackend, PermanentSendError
from followup.checkins import AnswerDetails, record_answer
from followup.models import Alert, AnswerRoute, Channel, Message, MessageKind, MessageState
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    WorkingHoursFactory,
    episode_after_procedure,
)
from tests.outbox import send_due

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
IN_HOURS = datetime(2026, 12, 4, 11, tzinfo=NEW_YORK)  # Friday: the clinic opens 08:00-17:00
AFTER_HOURS = datetime(2026, 12, 4, 20, tzinfo=NEW_YORK)

CLINICIAN_EMAIL = "maya.patel@clinic.example.org"
CLINICIAN_MOBILE = "+18605550123"
ALERT_CONTACT = "main-street-desk@clinic.example.org"
ON_CALL_EMAIL = "on-call@clinic.example.org"
ON_CALL_MOBILE = "+18605550199"


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


@pytest.fixture
def location() -> Location:
    return LocationFactory(
        name="Main Street",
        time_zone="America/New_York",
        alert_email=ALERT_CONTACT,
        on_call_name="Dr. Jo Reyes",
        on_call_email=ON_CALL_EMAIL,
        on_call_phone=ON_CALL_MOBILE,
    )


@pytest.fixture
def clinician(clinician_user, location) -> Clinician:
    clinician_user.email = CLINICIAN_EMAIL
    clinician_user.save()
    clinician = ClinicianFactory(
        user=clinician_user,
        display_name="Dr. Maya Patel",
        mobile_phone=CLINICIAN_MOBILE,
        alert_texts_agreed=True,
        locations=[location],
    )
    WorkingHoursFactory(
        clinician=clinician, location=location, weekday=4, start_time=time(8), end_time=time(17)
    )
    return clinician


@pytest.fixture
def episode(clinician, location):
    # A patient who agreed to no messages: what the outbox sends is the alert's alone.
    patient = PatientFactory(first_name="Ana", last_name="Lopez", email="ana@example.org")
    return episode_after_procedure(
        clinician=clinician, location=location, patient=patient, performed_at=PERFORMED
    )


@pytest.fixture
def sms(settings, tmp_path) -> Callable[[], list[dict]]:
    """Texts go to a file; returns a reader of the texts sent."""
    path = tmp_path / "sms.jsonl"
    settings.SMS_BACKEND = "followup.channels.FileSmsBackend"
    settings.SMS_FILE_PATH = str(path)
    return lambda: (
        [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    )


def raise_alert(episode, at: datetime) -> Alert:
    """The patient answers the day-3 check-in at `at` with a fever: a red flag."""
    with time_machine.travel(at, tick=False):
        _, flags = record_answer(
            check_in=episode.check_ins.get(day=3),
            answer=AnswerDetails(pain=5, side_effects=["fever"], comment="Shivery since Tuesday"),
            route=AnswerRoute.WEB,
            now=at,
        )
    assert flags == ["Fever or chills"]
    return Alert.objects.get()


def sent_to(mailoutbox, sms, since: int = 0) -> list[str]:
    """Who received an email or a text, in order (emails first), from the `since`-th on."""
    received = [email.to[0] for email in mailoutbox] + [text["to"] for text in sms()]
    return sorted(received[since:])


class TestToldAtOnce:
    def test_the_clinician_by_email_and_text_and_the_locations_alert_contact(
        self, episode, mailoutbox, sms
    ):
        raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        assert sorted(email.to[0] for email in mailoutbox) == sorted(
            [CLINICIAN_EMAIL, ALERT_CONTACT]
        )
        assert [text["to"] for text in sms()] == [CLINICIAN_MOBILE]

    def test_no_text_to_a_clinician_who_did_not_agree(self, clinician, episode, mailoutbox, sms):
        Clinician.objects.filter(pk=clinician.pk).update(alert_texts_agreed=False)
        raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        assert sorted(email.to[0] for email in mailoutbox) == sorted(
            [CLINICIAN_EMAIL, ALERT_CONTACT]
        )
        assert sms() == []

    def test_a_location_without_an_alert_contact_tells_the_clinics_address(
        self, settings, location, episode, mailoutbox, sms
    ):
        settings.CLINIC_ALERT_EMAIL = "alerts@clinic.example.org"
        Location.objects.filter(pk=location.pk).update(alert_email="")
        raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        assert "alerts@clinic.example.org" in [email.to[0] for email in mailoutbox]

    def test_the_texts_name_no_patient_and_nothing_clinical(self, episode, mailoutbox, sms):
        raise_alert(episode, AFTER_HOURS)  # the on-call is told at once too
        send_due(AFTER_HOURS)
        words = [email.subject + email.body for email in mailoutbox] + [t["body"] for t in sms()]
        assert len(words) == 5  # clinician x2, alert contact, on-call x2
        for text in words:
            assert "a red flag on a check-in" in text.lower()
            assert "http://testserver/staff/" in text
            for private in (
                "Ana",
                "Lopez",
                "ana@example.org",
                "Lumbar",
                "Fever",
                "fever",
                "Shivery",
                "5/10",
            ):
                assert private not in text

    def test_staff_texts_carry_no_opt_out_wording(self, episode, sms):
        # Staff are told by their role, not by a patient's consent a STOP withdraws.
        raise_alert(episode, AFTER_HOURS)
        send_due(AFTER_HOURS)
        assert sms()
        for text in sms():
            assert "STOP" not in text["body"]


class TestEscalation:
    def test_in_clinic_hours_the_on_call_gets_it_after_30_minutes_then_every_30(
        self, episode, mailoutbox, sms
    ):
        raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        told = len(mailoutbox) + len(sms())
        send_due(IN_HOURS + minutes(29))
        assert sent_to(mailoutbox, sms, since=told) == []

        send_due(IN_HOURS + minutes(30))
        assert _on_call_received(mailoutbox, sms) == 2  # email and text
        escalation = mailoutbox[-1]
        assert escalation.to == [ON_CALL_EMAIL]
        assert "escalated" in escalation.subject
        assert "open 30 min" in escalation.subject
        assert "escalation 1" in escalation.body

        send_due(IN_HOURS + minutes(59))
        assert _on_call_received(mailoutbox, sms) == 2
        send_due(IN_HOURS + minutes(60))
        assert _on_call_received(mailoutbox, sms) == 4
        assert "open 1 h" in mailoutbox[-1].subject
        assert "escalation 2" in mailoutbox[-1].body

    def test_the_times_are_the_settings(self, settings, episode, mailoutbox, sms):
        settings.ALERT_ESCALATE_AFTER_MINUTES = 10
        settings.ALERT_REPEAT_MINUTES = 15
        raise_alert(episode, IN_HOURS)
        for moment in (0, 9, 10, 24, 25):
            send_due(IN_HOURS + minutes(moment))
        assert _on_call_received(mailoutbox, sms) == 4  # at 10 and at 25 minutes

    def test_after_hours_the_on_call_gets_it_at_once(self, episode, mailoutbox, sms):
        raise_alert(episode, AFTER_HOURS)
        send_due(AFTER_HOURS)
        assert _on_call_received(mailoutbox, sms) == 2
        send_due(AFTER_HOURS + minutes(30))
        assert _on_call_received(mailoutbox, sms) == 4

    def test_a_day_off_is_after_hours(self, clinician, location, episode, mailoutbox, sms):
        clinician.schedule_exceptions.create(location=location, date=IN_HOURS.date())
        raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        assert _on_call_received(mailoutbox, sms) == 2

    def test_each_round_is_planned_once_however_many_of_its_messages_are_sent(
        self, episode, mailoutbox, sms
    ):
        alert = raise_alert(episode, AFTER_HOURS)
        send_due(AFTER_HOURS)
        rounds = Message.objects.filter(alert=alert, kind=MessageKind.ALERT_ESCALATION)
        assert sorted(rounds.values_list("minutes_before", "channel", "state")) == [
            (1, Channel.EMAIL, MessageState.SENT),
            (1, Channel.SMS, MessageState.SENT),
            (2, Channel.EMAIL, MessageState.SCHEDULED),
            (2, Channel.SMS, MessageState.SCHEDULED),
        ]

    def test_a_round_the_providers_refuse_for_good_still_plans_the_next(
        self, episode, sms, monkeypatch
    ):
        def refused(self, outbound):
            raise PermanentSendError("the address or number is refused")

        monkeypatch.setattr(FileSmsBackend, "send", refused)
        monkeypatch.setattr(EmailSender, "send", refused)
        alert = raise_alert(episode, AFTER_HOURS)
        send_due(AFTER_HOURS)
        rounds = Message.objects.filter(alert=alert, kind=MessageKind.ALERT_ESCALATION)
        # The chase goes on; the failures show to operators.
        assert sorted(rounds.values_list("minutes_before", "channel", "state")) == [
            (1, Channel.EMAIL, MessageState.FAILED),
            (1, Channel.SMS, MessageState.FAILED),
            (2, Channel.EMAIL, MessageState.SCHEDULED),
            (2, Channel.SMS, MessageState.SCHEDULED),
        ]

    def test_a_location_without_an_on_call_contact_escalates_to_its_alert_contact(
        self, location, episode, mailoutbox, sms
    ):
        Location.objects.filter(pk=location.pk).update(on_call_email="", on_call_phone="")
        raise_alert(episode, AFTER_HOURS)
        send_due(AFTER_HOURS)
        escalations = [email for email in mailoutbox if "escalated" in email.subject]
        assert [email.to for email in escalations] == [[ALERT_CONTACT]]


class TestAcknowledging:
    def test_before_the_escalation_nothing_more_is_sent(self, clinician, episode, mailoutbox, sms):
        alert = raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        told = len(mailoutbox) + len(sms())
        acknowledge_alert(alert=alert, user=clinician.user, now=IN_HOURS + minutes(10))
        for later in (30, 60, 24 * 60):
            send_due(IN_HOURS + minutes(later))
        assert len(mailoutbox) + len(sms()) == told
        assert not Message.objects.filter(alert=alert, state=MessageState.SCHEDULED).exists()

    def test_between_rounds_nothing_more_is_sent(self, clinician, episode, mailoutbox, sms):
        alert = raise_alert(episode, IN_HOURS)
        send_due(IN_HOURS)
        send_due(IN_HOURS + minutes(30))
        assert _on_call_received(mailoutbox, sms) == 2
        acknowledge_alert(alert=alert, user=clinician.user, now=IN_HOURS + minutes(40))
        for later in (60, 90, 24 * 60):
            send_due(IN_HOURS + minutes(later))
        assert _on_call_received(mailoutbox, sms) == 2

    def test_a_round_planned_as_it_was_acknowledged_is_not_sent(
        self, clinician, episode, mailoutbox, sms
    ):
        # The acknowledgement commits after the round's send read the alert open.
        alert = raise_alert(episode, AFTER_HOURS)
        send_due(AFTER_HOURS)
        acknowledge_alert(alert=alert, user=clinician.user, now=AFTER_HOURS + minutes(1))
        Message.objects.filter(alert=alert, minutes_before=2).update(
            state=MessageState.SCHEDULED, skip_reason=""
        )
        send_due(AFTER_HOURS + minutes(30))
        assert _on_call_received(mailoutbox, sms) == 2
        assert set(Message.objects.filter(alert=alert, minutes_before=2).values_list("state")) == {
            (MessageState.CANCELLED,)
        }


class MailServerDown(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        raise ConnectionRefusedError("Connection refused")


def test_a_mail_server_down_retries_the_alert_never_loses_it(settings, episode, mailoutbox, sms):
    alert = raise_alert(episode, IN_HOURS)
    settings.EMAIL_BACKEND = "tests.followup.test_alerts_escalation.MailServerDown"
    send_due(IN_HOURS)
    emails = Message.objects.filter(alert=alert, kind=MessageKind.ALERT, channel=Channel.EMAIL)
    assert {(row.state, row.due_at) for row in emails} == {
        (MessageState.SCHEDULED, IN_HOURS + minutes(1))
    }
    assert all("Connection refused" in row.last_error for row in emails)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_due(IN_HOURS + minutes(1))
    assert sorted(email.to[0] for email in mailoutbox) == sorted([CLINICIAN_EMAIL, ALERT_CONTACT])


def _on_call_received(mailoutbox, sms) -> int:
    return sum(1 for to in sent_to(mailoutbox, sms) if to in {ON_CALL_EMAIL, ON_CALL_MOBILE})


# --- What staff see -----------------------------------------------------------------------


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class TestTheHomes:
    def test_the_desk_shows_reception_the_open_alert_its_age_and_clinician_not_why(
        self, receptionist, episode
    ):
        raise_alert(episode, IN_HOURS)
        with time_machine.travel(IN_HOURS + minutes(42), tick=False):
            content = logged_in(receptionist).get("/desk/").content.decode()
        assert '<strong id="open-alerts">1</strong>' in content
        assert "Open 42 min · Dr. Maya Patel · Main Street" in content
        for clinical in ("Fever", "Shivery", "Ana", "Lopez"):
            assert clinical not in content

    def test_a_clinicians_desk_lists_their_own_alerts(self, clinician, episode, location):
        raise_alert(episode, IN_HOURS)
        colleague = ClinicianFactory(display_name="Dr. Sam Okafor", user__username="dr.okafor")
        colleague.user.groups.add(clinician.user.groups.get(name=CLINICIAN))
        with time_machine.travel(IN_HOURS + minutes(5), tick=False):
            assert (
                "Raised 5 minutes ago" in logged_in(clinician.user).get("/desk/").content.decode()
            )
            theirs = logged_in(colleague.user).get("/desk/").content.decode()
        assert '<strong id="open-alerts">0</strong>' in theirs

    def test_the_staff_dashboard_shows_each_open_alert_with_its_age(self, clinician, episode):
        raise_alert(episode, IN_HOURS)
        with time_machine.travel(IN_HOURS + timedelta(hours=2, minutes=5), tick=False):
            content = logged_in(clinician.user).get("/staff/").content.decode()
        assert "Raised 2 hours ago" in content

    def test_an_acknowledged_alert_leaves_the_desk(self, receptionist, clinician, episode):
        alert = raise_alert(episode, IN_HOURS)
        acknowledge_alert(alert=alert, user=clinician.user)
        content = logged_in(receptionist).get("/desk/").content.decode()
        assert '<strong id="open-alerts">0</strong>' in content


class TestTheAuditLog:
    def test_it_lists_who_acknowledged_which_patients_alert_and_when(
        self, clinic_admin, clinician, episode
    ):
        alert = raise_alert(episode, IN_HOURS)
        with time_machine.travel(IN_HOURS + minutes(12), tick=False):
            response = logged_in(clinician.user).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        assert response.status_code == 302
        event = AuditEvent.objects.get(object_type="Alert")
        assert (event.user, event.patient, event.action, event.at) == (
            clinician.user,
            episode.patient,
            AuditEvent.Action.CHANGE,
            IN_HOURS + minutes(12),
        )
        content = logged_in(clinic_admin).get("/desk/audit/").content.decode()
        assert (
            "Acknowledged the red-flag alert raised Dec 4, 2026, 11:00 AM EST for Dr. Maya Patel"
            in (content)
        )
        assert f"#{episode.patient.pk}" in content

    def test_a_second_acknowledgement_is_not_logged(self, clinic_admin, clinician, episode):
        alert = raise_alert(episode, IN_HOURS)
        logged_in(clinician.user).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        logged_in(clinic_admin).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        assert AuditEvent.objects.filter(object_type="Alert").count() == 1

    def test_a_refused_acknowledgement_is_not_logged(self, receptionist, episode):
        alert = raise_alert(episode, IN_HOURS)
        response = logged_in(receptionist).post(f"/staff/alerts/{alert.pk}/acknowledge/")
        assert response.status_code == 403
        assert not AuditEvent.objects.filter(object_type="Alert").exists()


# --- Who edits the contacts ----------------------------------------------------------------


def location_form(location: Location, **changes: str) -> dict[str, str]:
    return {
        "name": location.name,
        "address": location.address,
        "phone": str(location.phone),
        "time_zone": location.time_zone,
        "alert_email": location.alert_email,
        "on_call_name": location.on_call_name,
        "on_call_email": location.on_call_email,
        "on_call_phone": str(location.on_call_phone),
        **changes,
    }


def clinician_form(clinician: Clinician, **changes: str) -> dict[str, str]:
    return {
        "user": str(clinician.user.pk),
        "display_name": clinician.display_name,
        "is_active": "on",
        "mobile_phone": str(clinician.mobile_phone),
        **({"alert_texts_agreed": "on"} if clinician.alert_texts_agreed else {}),
        **{
            f"{prefix}-{name}": "0"
            for prefix in ("working_hours", "schedule_exceptions")
            for name in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
        **changes,
    }


class TestEditingTheContacts:
    def test_a_clinic_admin_changes_the_on_call_contact(self, clinic_admin, location):
        url = f"/admin/booking/location/{location.pk}/change/"
        changes = {"on_call_name": "Dr. Lee Park", "on_call_phone": "+18605550177"}
        response = logged_in(clinic_admin).post(url, location_form(location, **changes))
        assert response.status_code == 302
        location.refresh_from_db()
        assert (location.on_call_name, str(location.on_call_phone)) == (
            "Dr. Lee Park",
            "+18605550177",
        )

    @pytest.mark.parametrize("role", ["receptionist", "clinician_user"])
    def test_reception_and_clinicians_may_not(self, request, role, location):
        url = f"/admin/booking/location/{location.pk}/change/"
        user = request.getfixturevalue(role)
        response = logged_in(user).post(url, location_form(location, on_call_name="Someone"))
        assert response.status_code == 403
        location.refresh_from_db()
        assert location.on_call_name == "Dr. Jo Reyes"

    def test_a_number_that_is_not_a_phone_number_is_refused(self, clinic_admin, location):
        url = f"/admin/booking/location/{location.pk}/change/"
        form = location_form(location, on_call_phone="call me", on_call_email="not-an-address")
        response = logged_in(clinic_admin).post(url, form)
        assert response.status_code == 200
        assert "Enter a valid phone number" in response.content.decode()
        assert "Enter a valid email address" in response.content.decode()
        location.refresh_from_db()
        assert str(location.on_call_phone) == ON_CALL_MOBILE

    def test_alert_texts_need_a_mobile(self, clinic_admin, clinician):
        url = f"/admin/booking/clinician/{clinician.pk}/change/"
        response = logged_in(clinic_admin).post(url, clinician_form(clinician, mobile_phone=""))
        assert response.status_code == 200
        assert "Give the mobile the alerts are texted to." in response.content.decode()
        clinician.refresh_from_db()
        assert str(clinician.mobile_phone) == CLINICIAN_MOBILE
