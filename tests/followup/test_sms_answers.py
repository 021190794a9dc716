"""A pain score by text: a reply that is just a number 0-10 answers the patient's open
check-in (route sms) and asks about the warning signs, which a Y or N answers; anything
else keeps STOP / START / C and otherwise gets help."""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
import time_machine
from twilio.request_validator import RequestValidator

from booking.models import Site
from config.logs import masked
from followup.checkins import AnswerDetails, record_answer
from followup.inbound import handle_inbound_sms, parse_pain
from followup.models import (
    Alert,
    AnswerRoute,
    CheckInAnswer,
    InboundOutcome,
    InboundSms,
)
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    WorkingHoursFactory,
    episode_after_procedure,
)
from tests.outbox import send_due

pytestmark = pytest.mark.usefixtures("clock")

PHONE = "+18605550123"
PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 1 December, 10:00 in New York
DAY_3_DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)
NOW = DAY_3_DUE + timedelta(hours=2)  # Friday 4 December, 12:00 in New York
FRIDAY_EVENING = datetime(2026, 12, 5, 0, tzinfo=UTC)  # 19:00 in New York, after hours
TOKEN = "twilio-test-auth-token"
PUBLIC_URL = "https://clinic.example.org/webhooks/sms/"
QUESTION = (
    "Riverside Pain Clinic: thanks. Do you have fever or chills; redness, warmth, swelling or "
    "pus where you were treated; new weakness or numbness; chest pain or breathlessness; rash, "
    "hives or swollen face or lips; severe headache; or new bowel or bladder problems? Reply Y "
    "or N. Reply STOP to opt out."
)
THANKS = (
    "Riverside Pain Clinic: thank you, your answer is with the clinic. To tell us more, open "
    "the link in our message. Reply STOP to opt out."
)
CALL_NOW = (
    "Riverside Pain Clinic: thank you for your answer. Please call the clinic now on "
    "(860) 555-0100: a clinician needs to hear from you. Reply STOP to opt out."
)
CALL_NOW_AFTER_HOURS = (
    "Riverside Pain Clinic: thank you for your answer. Please call the clinic now on "
    "(860) 555-0100: a clinician needs to hear from you. The clinic is closed now: if you "
    "cannot reach us or feel very unwell, call 911. Reply STOP to opt out."
)
NOTHING_OPEN = (
    "Riverside Pain Clinic: thank you. We have no check-in waiting for your answer just now, "
    "so nothing was recorded. If you need help, please call the clinic. Reply STOP to opt out."
)


def nothing_open_until(opens: str) -> str:
    """The reply to a score sent when no check-in takes one, naming when the next opens."""
    return NOTHING_OPEN.replace(
        "recorded. If", f"recorded. Your next check-in opens on {opens}. If"
    )


@pytest.mark.parametrize(
    ("body", "pain"),
    [
        ("7", 7),
        ("7/10", 7),
        (" 7 ", 7),
        ("7.", 7),
        ("10", 10),
        ("0", 0),
        ("10/10", 10),
        ("0/10", 0),
        ("7 / 10", 7),
        ("07", 7),
        ("\n7\n", 7),
        ("11", None),
        ("-1", None),
        ("4.5", None),
        ("seven", None),
        ("", None),
        ("7 8", None),
        ("100", None),
        ("7/5", None),
        ("7%", None),
        ("7/10 today", None),
        ("about 7", None),
        ("C", None),
        ("STOP", None),
        ("\u0667", None),  # an Arabic-Indic seven: digits are ASCII only
    ],
)
def test_parse_pain(body, pain):
    assert parse_pain(body) == pain


@pytest.fixture(autouse=True)
def sms_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SITE_URL = "https://clinic.example.org"
    settings.CLINIC_NAME = "Riverside Pain Clinic"
    return settings


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Ana", phone=PHONE, consent_sms=True)


@pytest.fixture
def episode(patient):
    """A lumbar procedure at Main Street, whose clinician works there Mon-Fri 08:00-17:00."""
    location = LocationFactory(name="Main Street", phone="+18605550100")
    clinician = ClinicianFactory(locations=[location])
    for weekday in range(5):
        WorkingHoursFactory(clinician=clinician, location=location, weekday=weekday)
    return episode_after_procedure(
        patient=patient,
        location=location,
        clinician=clinician,
        performed_at=PERFORMED,
        pain_before=6,
    )


_sids = iter(range(1, 10_000))


def sms(body: str, *, sender: str = PHONE, sid: str | None = None, now: datetime = NOW) -> str:
    return handle_inbound_sms(
        sid=sid or f"SM{next(_sids):04d}", from_number=sender, body=body, now=now
    )


def last_outcome() -> str:
    return InboundSms.objects.order_by("-pk").first().outcome


@pytest.mark.django_db
class TestRecording:
    @pytest.mark.parametrize("body", ["7", "7/10", " 7 ", "7."])
    def test_a_bare_score_answers_the_open_check_in(self, day_3, body):
        assert sms(body) == QUESTION
        stored = CheckInAnswer.objects.get()
        assert stored.check_in == day_3
        assert (stored.pain, stored.route) == (7, AnswerRoute.SMS)
        assert (stored.answered_at, stored.first_answered_at) == (NOW, NOW)
        assert stored.late is False
        assert last_outcome() == InboundOutcome.PAIN_RECORDED

    def test_the_reply_never_carries_the_score(self, day_3):
        reply = sms("8")
        assert "8" not in reply
        assert "lumbar" not in reply.lower()

    def test_a_flare_after_day_2_asks_the_patient_to_call_now(self, day_3):
        assert sms("9") == CALL_NOW
        assert Alert.objects.get().reasons == ["Pain 9/10, 3 above baseline"]

    def test_a_flare_after_hours_adds_the_emergency_number(self, day_3):
        assert sms("9", now=FRIDAY_EVENING) == CALL_NOW_AFTER_HOURS

    def test_a_flare_on_day_1_is_expected(self, episode, clock):
        day_1 = episode.check_ins.get(day=1)
        assert sms("10", now=day_1.due_at + timedelta(minutes=5)) == QUESTION
        assert CheckInAnswer.objects.get().check_in == day_1
        assert not Alert.objects.exists()

    def test_it_answers_the_most_recent_due_check_in(self, episode, day_3):
        sms("5")
        assert not CheckInAnswer.objects.filter(check_in=episode.check_ins.get(day=1)).exists()
        assert CheckInAnswer.objects.get().check_in == day_3

    def test_a_late_answer_within_the_grace_is_marked_late(self, day_3):
        moment = day_3.expires_at + timedelta(hours=1)
        assert sms("4", now=moment) == QUESTION
        assert CheckInAnswer.objects.get().late is True


@pytest.mark.django_db
class TestReplaceThenLock:
    def test_a_second_score_within_24_hours_replaces_only_the_score(self, day_3):
        record_answer(
            check_in=day_3,
            answer=AnswerDetails(pain=4, relief_percent=50, side_effects=["soreness"]),
            route=AnswerRoute.WEB,
            now=NOW,
        )
        assert sms("3", now=NOW + timedelta(hours=3)) == QUESTION
        stored = CheckInAnswer.objects.get()
        assert (stored.pain, stored.relief_percent, stored.side_effects) == (3, 50, ["soreness"])
        assert stored.route == AnswerRoute.SMS
        assert stored.first_answered_at == NOW

    def test_after_24_hours_nothing_is_recorded(self, day_3):
        sms("4")
        reply = sms("2", now=NOW + timedelta(hours=24, seconds=1))
        # Day 7 of a Dec 1 injection: Dec 8, at 10:00 in New York.
        assert reply == nothing_open_until("Dec 8, 2026 at 10:00 AM")
        assert CheckInAnswer.objects.get().pain == 4
        assert last_outcome() == InboundOutcome.NO_OPEN_CHECK_IN


@pytest.mark.django_db
class TestNothingRecorded:
    def test_no_open_check_in_gets_a_polite_reply(self, episode):
        before_day_1 = episode.check_ins.get(day=1).due_at - timedelta(minutes=1)
        assert sms("7", now=before_day_1) == nothing_open_until("Dec 2, 2026 at 10:00 AM")
        assert not CheckInAnswer.objects.exists()
        assert last_outcome() == InboundOutcome.NO_OPEN_CHECK_IN

    def test_a_patient_without_follow_up_gets_the_polite_reply(self, patient):
        assert sms("7") == NOTHING_OPEN
        assert not CheckInAnswer.objects.exists()

    def test_an_unknown_number_gets_the_neutral_reply(self, day_3):
        reply = sms("7", sender="+18605550999")
        assert reply.startswith("Riverside Pain Clinic: reply C to confirm")
        assert "Ana" not in reply
        assert not CheckInAnswer.objects.exists()
        assert last_outcome() == InboundOutcome.UNKNOWN_NUMBER

    @pytest.mark.parametrize("body", ["11", "-1", "4.5", "seven", "", "7 8", "it hurts"])
    def test_anything_else_gets_help_that_mentions_the_score(self, day_3, body):
        reply = sms(body)
        assert reply == (
            "Riverside Pain Clinic: reply with a number from 0 (no pain) to 10 (worst pain "
            "imaginable) for your pain right now, or open the link in our message. Reply C to "
            "confirm your next appointment. Reply STOP to opt out."
        )
        assert not CheckInAnswer.objects.exists()
        assert last_outcome() == InboundOutcome.HELP

    def test_without_an_open_check_in_the_help_is_the_usual_one(self, patient):
        assert sms("hello").startswith("Riverside Pain Clinic: reply C to confirm")

    def test_a_repeated_delivery_records_once(self, day_3, clock):
        first = sms("7", sid="SMREPEAT")
        sms("5", sid="SMOTHER", now=NOW + timedelta(minutes=1))
        assert sms("7", sid="SMREPEAT", now=NOW + timedelta(minutes=2)) == first
        assert CheckInAnswer.objects.get().pain == 5


@pytest.mark.django_db
class TestKeywordsStillWork:
    def test_stop_with_an_open_check_in_opts_out(self, day_3, patient):
        assert sms("STOP") == ""
        patient.refresh_from_db()
        assert patient.consent_sms is False
        assert not CheckInAnswer.objects.exists()

    def test_c_with_an_open_check_in_is_about_appointments(self, day_3):
        assert "no upcoming appointment" in sms("C")
        assert last_outcome() == InboundOutcome.NOTHING_TO_CONFIRM

    def test_start_with_an_open_check_in_opts_in(self, day_3, patient):
        sms("STOP")
        assert "reminders by text again" in sms("START")


def webhook(client, body: str, *, sid: str, now: datetime = NOW) -> str:
    """Text through the webhook as Twilio does (form-encoded, signed); the TwiML reply."""
    params = {"MessageSid": sid, "From": PHONE, "To": "+18605550100", "Body": body}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL, params)
    with time_machine.travel(now, tick=False):
        response = client.post(
            "/webhooks/sms/",
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own reply
    return root.find("Message").text


@pytest.mark.django_db
def test_the_webhook_records_a_signed_reply(client, day_3):
    assert webhook(client, "7/10", sid="SMHOOK1") == QUESTION
    assert CheckInAnswer.objects.get().pain == 7


@pytest.mark.django_db
def test_logs_carry_no_score(day_3, caplog):
    caplog.set_level(logging.DEBUG)
    sms("7", sid="SMLOG1")
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name == "followup.inbound"
    )
    assert "SMLOG1" in logged
    assert "pain_recorded" in logged
    assert "7" not in logged.replace("SMLOG1", "").replace(masked(PHONE), "")


def side_effects() -> list[str]:
    return CheckInAnswer.objects.get().side_effects


@pytest.mark.django_db
class TestWarningSigns:
    def test_a_texted_y_raises_an_alert_end_to_end(self, client, day_3, mailoutbox, settings):
        assert webhook(client, "6", sid="SMPAIN") == QUESTION
        reply = webhook(client, "Y", sid="SMSIGN", now=NOW + timedelta(minutes=3))
        send_due(NOW + timedelta(minutes=3))

        assert reply == CALL_NOW
        answer = CheckInAnswer.objects.get()
        assert (answer.check_in, answer.pain, answer.side_effects) == (day_3, 6, ["warning_sign"])
        (alert,) = Alert.objects.filter(answer=answer)
        assert alert.reasons == ["A warning sign reported by text"]
        # Staff hear of it by the outbox, the clinic's alert address among them.
        assert [settings.CLINIC_ALERT_EMAIL] in [email.to for email in mailoutbox]
        assert last_outcome() == InboundOutcome.WARNING_SIGNS

    def test_after_hours_a_y_adds_the_emergency_number(self, day_3):
        sms("4", now=FRIDAY_EVENING)
        assert sms("Y", now=FRIDAY_EVENING + timedelta(minutes=5)) == CALL_NOW_AFTER_HOURS

    @pytest.mark.parametrize("body", ["Y", "y", "Yes", " YES. ", "S", "si", "Si!", "Sí", "SÍ"])
    def test_a_yes_in_english_or_spanish_reports_a_warning_sign(self, day_3, body):
        sms("4")
        assert sms(body) == CALL_NOW
        assert side_effects() == ["warning_sign"]

    @pytest.mark.parametrize("body", ["N", "n", "No", "NO."])
    def test_a_no_records_none_of_these(self, day_3, body):
        sms("4")
        assert sms(body) == THANKS
        assert side_effects() == ["none"]
        assert not Alert.objects.exists()
        assert last_outcome() == InboundOutcome.NO_WARNING_SIGNS

    def test_without_a_reply_it_stays_not_answered_and_a_late_y_records_nothing(self, day_3):
        sms("4")
        after_the_window = NOW + timedelta(hours=24, seconds=1)
        assert sms("Y", now=after_the_window) == NOTHING_OPEN
        assert side_effects() == []
        assert not Alert.objects.exists()
        assert last_outcome() == InboundOutcome.NO_OPEN_CHECK_IN

    def test_a_provider_retry_answers_the_same_and_changes_nothing(self, client, day_3):
        webhook(client, "6", sid="SMPAIN")
        first = webhook(client, "Y", sid="SMSIGN", now=NOW + timedelta(minutes=1))
        answered_at = CheckInAnswer.objects.get().answered_at

        assert webhook(client, "Y", sid="SMSIGN", now=NOW + timedelta(minutes=2)) == first
        answer = CheckInAnswer.objects.get()
        assert (answer.side_effects, answer.answered_at) == (["warning_sign"], answered_at)
        assert Alert.objects.count() == 1
        assert InboundSms.objects.count() == 2

    def test_a_yes_keeps_the_rest_of_the_answer(self, day_3):
        record_answer(
            check_in=day_3,
            answer=AnswerDetails(pain=4, relief_percent=50, side_effects=["soreness"]),
            route=AnswerRoute.WEB,
            now=NOW,
        )
        assert sms("3") == QUESTION
        sms("Y")
        answer = CheckInAnswer.objects.get()
        assert (answer.pain, answer.relief_percent) == (3, 50)
        assert answer.side_effects == ["soreness", "warning_sign"]
        assert answer.first_answered_at == NOW

    def test_a_later_no_never_hides_a_yes(self, day_3):
        sms("4")
        sms("Y")
        assert sms("N") == NOTHING_OPEN
        assert side_effects() == ["warning_sign"]

    def test_a_new_score_keeps_the_answer_and_asks_no_more(self, day_3):
        sms("4")
        sms("N")
        assert sms("3") == THANKS
        assert (CheckInAnswer.objects.get().pain, side_effects()) == (3, ["none"])

    def test_a_flare_asks_to_call_instead_so_a_y_answers_nothing(self, day_3):
        assert sms("9") == CALL_NOW
        assert sms("Y") == NOTHING_OPEN
        assert side_effects() == []

    def test_a_y_before_any_score_records_nothing(self, day_3):
        assert sms("Y") == NOTHING_OPEN
        assert not CheckInAnswer.objects.exists()

    def test_a_patient_without_follow_up_gets_the_polite_reply(self, patient):
        assert sms("N") == NOTHING_OPEN

    def test_yes_with_no_question_still_opts_in(self, day_3, patient):
        sms("STOP")
        assert "reminders by text again" in sms("YES")
        patient.refresh_from_db()
        assert patient.consent_sms is True

    def test_the_page_answers_the_warning_signs_itself(self, day_3):
        record_answer(check_in=day_3, answer=AnswerDetails(pain=4), route=AnswerRoute.WEB, now=NOW)
        assert sms("Y") == NOTHING_OPEN
        assert side_effects() == []

    def test_a_score_after_the_page_said_none_is_only_thanked(self, day_3):
        record_answer(
            check_in=day_3,
            answer=AnswerDetails(pain=4, side_effects=["none"]),
            route=AnswerRoute.WEB,
            now=NOW,
        )
        assert sms("3") == THANKS


@pytest.mark.django_db
def test_texts_carry_no_site_procedure_or_score(day_3):
    replies = [sms("8"), sms("Y"), sms("9", now=FRIDAY_EVENING)]
    for reply in replies:
        # The clinic's phone number is the only digits (and the emergency number).
        words = reply.replace("(860) 555-0100", "").replace("911", "").lower()
        assert not any(character.isdigit() for character in words), reply
        for name in [*Site.objects.values_list("name", flat=True), "injection", "steroid"]:
            assert name.lower() not in words, reply
        assert reply.isascii(), reply
        assert len(reply) <= 2 * 153, reply  # two GSM-7 segments at most
