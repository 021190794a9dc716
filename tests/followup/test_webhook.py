"""The inbound SMS webhook: Twilio's signature, STOP / START / C, repeats, unknown numbers."""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from booking.models import AppointmentStatus, Site
from followup.inbound import handle_inbound_sms
from followup.models import Channel, InboundOutcome, InboundSms, Message, MessageState
from followup.reminders import plan_reminders
from tests.factories import AppointmentFactory, LocationFactory, PatientFactory
from tests.races import run_at_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
TOKEN = "twilio-test-auth-token"
PHONE = "+18605550123"
PATH = "/webhooks/sms/"
PUBLIC_URL = "https://clinic.example.org/webhooks/sms/"
PARALLEL = 8


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    # Twilio calls the public address; behind the proxy this process sees another host.
    settings.SITE_URL = "https://clinic.example.org"
    settings.CLINIC_NAME = "Riverside Pain Clinic"
    return settings


@pytest.fixture
def patient():
    return PatientFactory(first_name="Ana", phone=PHONE, consent_sms=True, consent_email=True)


@pytest.fixture
def appointment(patient):
    """A lumbar consult on Wednesday 09:00 with its reminders planned (24 h email, 2 h SMS)."""
    visit = AppointmentFactory(
        site=Site.objects.get(slug="lumbar"),
        location=LocationFactory(name="Main Street"),
        patient=patient,
        start=WEDNESDAY_9AM,
    )
    plan_reminders(visit, now=NOW)
    return visit


def _sms_row(appointment) -> Message:
    return Message.objects.get(appointment=appointment, channel=Channel.SMS)


def _email_rows(appointment) -> list[tuple[str, str]]:
    rows = Message.objects.filter(appointment=appointment, channel=Channel.EMAIL)
    return list(rows.order_by("due_at").values_list("state", "skip_reason"))


def twilio_params(body: str, *, sid: str = "SM0001", sender: str = PHONE) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC0001",
        "From": sender,
        "To": "+18605550100",
        "Body": body,
        "NumMedia": "0",
    }


def post(client, params: dict[str, str], *, signature: str | None = "sign", url=PUBLIC_URL):
    """POST as Twilio does: form-encoded, signed over the public URL with our token."""
    headers = {}
    if signature == "sign":
        signature = RequestValidator(TOKEN).compute_signature(url, params)
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(
        PATH, urlencode(params), content_type="application/x-www-form-urlencoded", **headers
    )


def text(client, body: str, **kwargs: str) -> str | None:
    """Send one text; return the reply's text (None when the TwiML has no message)."""
    response = post(client, twilio_params(body, **kwargs))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own reply
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


class TestSignature:
    def test_a_request_without_a_signature_is_refused(self, client, patient):
        response = post(client, twilio_params("STOP"), signature=None)
        assert response.status_code == 403
        assert not InboundSms.objects.exists()
        patient.refresh_from_db()
        assert patient.consent_sms is True

    def test_a_signature_made_with_another_token_is_refused(self, client, patient):
        params = twilio_params("STOP")
        forged = RequestValidator("not-our-token").compute_signature(PUBLIC_URL, params)
        assert post(client, params, signature=forged).status_code == 403
        assert not InboundSms.objects.exists()

    def test_a_body_changed_after_signing_is_refused(self, client, patient):
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL, twilio_params("HI"))
        assert post(client, twilio_params("STOP"), signature=signature).status_code == 403
        patient.refresh_from_db()
        assert patient.consent_sms is True

    def test_it_checks_the_public_url_not_the_host_the_request_reached(self, client, patient):
        own_host = "http://testserver/webhooks/sms/"
        assert post(client, twilio_params("HI"), url=own_host).status_code == 403
        assert post(client, twilio_params("HI")).status_code == 200

    def test_without_an_auth_token_nothing_is_accepted(self, client, patient, twilio_settings):
        twilio_settings.TWILIO_AUTH_TOKEN = ""
        params = twilio_params("STOP")
        unsigned = RequestValidator("").compute_signature(PUBLIC_URL, params)
        assert post(client, params, signature=unsigned).status_code == 403
        patient.refresh_from_db()
        assert patient.consent_sms is True

    def test_it_needs_no_csrf_token(self, patient):
        strict = Client(enforce_csrf_checks=True)
        assert post(strict, twilio_params("HI")).status_code == 200

    def test_only_post_is_allowed(self, client):
        assert client.get(PATH).status_code == 405

    def test_a_signed_request_without_a_message_id_is_400(self, client):
        params = twilio_params("HI")
        del params["MessageSid"], params["SmsSid"]
        assert post(client, params).status_code == 400
        assert not InboundSms.objects.exists()


class TestStop:
    @pytest.mark.parametrize(
        "word", ["STOP", "stop", " Stop. ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
    )
    def test_an_opt_out_word_ends_texts_and_cancels_the_scheduled_ones(
        self, client, appointment, patient, word
    ):
        assert _sms_row(appointment).state == MessageState.SCHEDULED
        emails_before = _email_rows(appointment)

        # Twilio confirms the opt-out itself and would refuse our reply, so we send none.
        assert text(client, word) is None

        patient.refresh_from_db()
        assert patient.consent_sms is False
        assert patient.consent_email is True
        sms = _sms_row(appointment)
        assert (sms.state, sms.skip_reason) == (MessageState.CANCELLED, "The patient opted out.")
        assert _email_rows(appointment) == emails_before
        assert InboundSms.objects.get().outcome == InboundOutcome.OPTED_OUT

    def test_it_opts_out_every_patient_with_that_number(self, client, patient):
        sibling = PatientFactory(first_name="Bea", phone=PHONE, consent_sms=True)
        other = PatientFactory(phone="+18605550199", consent_sms=True)
        text(client, "STOP")
        for person, consent in ((patient, False), (sibling, False), (other, True)):
            person.refresh_from_db()
            assert person.consent_sms is consent

    def test_sent_texts_stay_sent(self, client, appointment):
        Message.objects.filter(pk=_sms_row(appointment).pk).update(
            state=MessageState.SENT, sent_at=NOW
        )
        text(client, "STOP")
        assert _sms_row(appointment).state == MessageState.SENT


class TestStart:
    @pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
    def test_an_opt_in_word_brings_the_texts_back(self, client, appointment, patient, word):
        text(client, "STOP", sid="SM0001")
        reply = text(client, word, sid="SM0002")

        assert reply == (
            "Riverside Pain Clinic: you will get appointment reminders by text again. "
            "Reply STOP to opt out."
        )
        patient.refresh_from_db()
        assert patient.consent_sms is True
        sms = _sms_row(appointment)
        assert sms.state == MessageState.SCHEDULED
        # Two hours before is 07:00 in New York, inside quiet hours: 08:00.
        assert sms.due_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
        assert InboundSms.objects.get(provider_sid="SM0002").outcome == InboundOutcome.OPTED_IN

    def test_it_replans_only_future_booked_visits(self, client, appointment, patient):
        cancelled = AppointmentFactory(
            site=appointment.site,
            location=appointment.location,
            patient=patient,
            start=WEDNESDAY_9AM + timedelta(days=1),
            status=AppointmentStatus.CANCELLED,
        )
        text(client, "START")
        assert not Message.objects.filter(appointment=cancelled).exists()

    def test_a_patient_who_never_agreed_to_texts_gets_them_after_start(self, client, patient):
        patient.consent_sms = False
        patient.save()
        visit = AppointmentFactory(
            site=Site.objects.get(slug="lumbar"), patient=patient, start=WEDNESDAY_9AM
        )
        plan_reminders(visit, now=NOW)
        assert not Message.objects.filter(appointment=visit, channel=Channel.SMS).exists()
        text(client, "START")
        assert _sms_row(visit).state == MessageState.SCHEDULED

    def test_start_leaves_the_other_channels_rows_as_they_are(self, client, appointment):
        email = Message.objects.get(appointment=appointment, minutes_before=24 * 60)
        Message.objects.filter(pk=email.pk).update(
            state=MessageState.FAILED, attempts=5, last_error="email not accepted"
        )
        text(client, "START")
        email.refresh_from_db()
        assert email.state == MessageState.FAILED


class TestConfirm:
    def test_c_confirms_the_next_booked_appointment_and_says_when(
        self, client, appointment, patient
    ):
        later = AppointmentFactory(
            site=appointment.site,
            location=appointment.location,
            patient=patient,
            start=WEDNESDAY_9AM + timedelta(days=7),
        )
        AppointmentFactory(  # cancelled, and earlier: not the one
            site=appointment.site,
            location=appointment.location,
            patient=patient,
            start=WEDNESDAY_9AM - timedelta(days=1),
            status=AppointmentStatus.CANCELLED,
        )
        AppointmentFactory(  # already past
            site=appointment.site,
            location=appointment.location,
            patient=patient,
            start=NOW - timedelta(days=3),
        )

        reply = text(client, "C")

        assert reply == (
            "Riverside Pain Clinic: thank you, your appointment on Wednesday 2 December at "
            "9:00 AM EST is confirmed. Reply STOP to opt out."
        )
        appointment.refresh_from_db()
        later.refresh_from_db()
        assert appointment.confirmed_at == NOW
        assert later.confirmed_at is None
        assert InboundSms.objects.get().outcome == InboundOutcome.CONFIRMED

    def test_the_reply_names_nothing_clinical(self, client, appointment):
        reply = text(client, "c")
        assert reply is not None
        assert "Lumbar" not in reply
        assert "lumbar" not in reply
        assert "http" not in reply
        assert appointment.clinician.display_name not in reply

    def test_confirm_in_words_works_too(self, client, appointment):
        text(client, "Confirm")
        appointment.refresh_from_db()
        assert appointment.confirmed_at == NOW

    def test_with_nothing_upcoming_it_says_so(self, client, patient):
        reply = text(client, "C")
        assert reply is not None
        assert "no upcoming appointment" in reply
        assert InboundSms.objects.get().outcome == InboundOutcome.NOTHING_TO_CONFIRM

    def test_a_second_c_keeps_the_first_confirmation_time(self, client, appointment, clock):
        text(client, "C", sid="SM0001")
        clock.shift(timedelta(hours=1))
        text(client, "C", sid="SM0002")
        appointment.refresh_from_db()
        assert appointment.confirmed_at == NOW


class TestOtherTexts:
    def test_anything_else_gets_help_and_changes_nothing(self, client, appointment, patient):
        reply = text(client, "What time is it again?")
        assert reply == (
            "Riverside Pain Clinic: reply C to confirm your next appointment. To change or "
            "cancel it, use the link in your reminder or call the clinic. Reply STOP to opt out."
        )
        patient.refresh_from_db()
        appointment.refresh_from_db()
        assert patient.consent_sms is True
        assert appointment.confirmed_at is None
        assert _sms_row(appointment).state == MessageState.SCHEDULED
        assert InboundSms.objects.get().outcome == InboundOutcome.HELP

    def test_stop_inside_a_sentence_is_not_an_opt_out(self, client, patient):
        # Carriers and Twilio act on the keyword alone; so do we.
        text(client, "please stop the pain")
        patient.refresh_from_db()
        assert patient.consent_sms is True


class TestUnknownNumber:
    @pytest.mark.parametrize("word", ["C", "START", "hello"])
    def test_an_unknown_number_gets_the_neutral_help_and_nothing_changes(
        self, client, appointment, patient, word
    ):
        reply = text(client, word, sender="+18605550999")
        assert reply is not None
        assert reply.startswith("Riverside Pain Clinic: reply C to confirm")
        assert "Ana" not in reply
        record = InboundSms.objects.get()
        assert (record.outcome, record.from_number) == (
            InboundOutcome.UNKNOWN_NUMBER,
            "+18605550999",
        )
        appointment.refresh_from_db()
        patient.refresh_from_db()
        assert appointment.confirmed_at is None
        assert patient.consent_sms is True

    def test_stop_from_an_unknown_number_is_recorded_without_a_reply(self, client, patient):
        assert text(client, "STOP", sender="+18605550999") is None
        assert InboundSms.objects.get().outcome == InboundOutcome.UNKNOWN_NUMBER
        patient.refresh_from_db()
        assert patient.consent_sms is True

    def test_a_sender_that_is_no_phone_number_is_kept_as_given(self, client, patient):
        text(client, "hello", sender="CLINIC")
        assert InboundSms.objects.get().from_number == "CLINIC"


class TestRepeatedDelivery:
    def test_a_repeat_gets_the_same_reply_and_changes_nothing_again(
        self, client, appointment, patient, clock
    ):
        first = text(client, "START", sid="SM0001")
        text(client, "STOP", sid="SM0002")
        clock.shift(timedelta(minutes=5))

        # Twilio delivers the START again: the later STOP must still hold.
        assert text(client, "START", sid="SM0001") == first

        patient.refresh_from_db()
        assert patient.consent_sms is False
        assert _sms_row(appointment).state == MessageState.CANCELLED
        assert InboundSms.objects.count() == 2

    def test_a_repeated_confirmation_confirms_once(self, client, appointment, clock):
        first = text(client, "C", sid="SM0001")
        appointment.confirmed_at = None
        appointment.save()
        clock.shift(timedelta(minutes=1))
        assert text(client, "C", sid="SM0001") == first
        appointment.refresh_from_db()
        assert appointment.confirmed_at is None  # the repeat did not act again

    def test_the_function_answers_a_repeat_from_the_stored_reply(self, patient):
        first = handle_inbound_sms(sid="SM9", from_number=PHONE, body="hello", now=NOW)
        again = handle_inbound_sms(sid="SM9", from_number=PHONE, body="STOP", now=NOW)
        assert again == first
        patient.refresh_from_db()
        assert patient.consent_sms is True


def test_logs_name_neither_the_text_nor_the_whole_number(client, appointment, caplog):
    caplog.set_level(logging.DEBUG)
    text(client, "C")
    text(client, "my secret words", sid="SM0002")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SM0001" in logged
    assert PHONE not in logged
    assert "secret" not in logged


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_text_delivered_many_times_at_once_is_acted_on_once(appointment):
    """Parallel deliveries of one MessageSid, each on its own connection: one row, one reply."""
    params = twilio_params("C", sid="SM-RACE")

    def deliver() -> tuple[int, bytes]:
        response = post(Client(), params)
        return response.status_code, response.content

    answers = run_at_once([deliver] * PARALLEL)

    assert len(answers) == PARALLEL
    assert {status for status, _ in answers} == {200}
    assert len({content for _, content in answers}) == 1
    assert b"is confirmed" in answers[0][1]
    assert InboundSms.objects.filter(provider_sid="SM-RACE").count() == 1
    appointment.refresh_from_db()
    assert appointment.confirmed_at == NOW
