"""From due row to delivered message: the dispatcher's claims, the send, and what it says.

Sends are counted where they land: Django's locmem outbox for email and the file SMS
backend's JSON lines, so "sent once" means the channel received exactly one message.
"""

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from django.conf import settings as django_settings
from django.core import signing
from django.db.models import Model
from django.test import Client
from twilio.base.exceptions import TwilioRestException

from booking.links import manage_token
from booking.models import Appointment, AppointmentStatus, Patient, Site
from booking.notifications import manage_url
from booking.services import cancel_appointment
from followup import dispatch
from followup.channels import (
    FileSmsBackend,
    OutboundMessage,
    PermanentSendError,
    RecipientOptedOut,
    TransientSendError,
    TwilioSmsBackend,
)
from followup.content import SMS_OPT_OUT, unsubscribe_token
from followup.dispatch import dispatch_due_messages
from followup.models import (
    Channel,
    DispatcherRun,
    Message,
    MessageKind,
    MessageState,
    MessageTemplate,
)
from followup.reminders import plan_reminders
from followup.sending import Outcome, send_message
from tests.factories import (
    AppointmentFactory,
    LocationFactory,
    PatientFactory,
    day_1_check_in_message,
)
from tests.races import run_at_once

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 3, 14, tzinfo=UTC)  # Wednesday 3 June 2026, 10:00 in New York
PHONE = "+18605550123"


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


@pytest.fixture
def sms_sink(settings, tmp_path) -> Callable[[], list[dict]]:
    """SMS through the file backend; returns a reader of what it received."""
    path = tmp_path / "sms" / "sent.jsonl"
    settings.SMS_BACKEND = "followup.channels.FileSmsBackend"
    settings.SMS_FILE_PATH = str(path)

    def received() -> list[dict]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    return received


@pytest.fixture
def mail(db, settings, mailoutbox):
    # After `db`: starting a Django test case replaces mail.outbox.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mailoutbox


def make_patient(**fields: object) -> Patient:
    values = {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann.lee@example.com",
        "phone": PHONE,
        "consent_email": True,
        "consent_sms": True,
    }
    values.update(fields)
    return PatientFactory(**values)


def make_appointment(patient: Patient | None = None, **fields: object) -> Appointment:
    """A booked lumbar consult in New York, today 16:00 local unless told otherwise.

    Each gets its own clinician (the factory's), so any number may share a time.
    """
    values: dict[str, object] = {"start": ny(2026, 6, 3, 16), "site": lumbar()}
    values.update(fields)
    return AppointmentFactory(patient=patient or make_patient(), **values)


def lumbar() -> Site:
    return Site.objects.get(slug="lumbar")


def outbox_row(
    appointment: Appointment,
    *,
    channel: str = Channel.SMS,
    due_at: datetime = NOW,
    minutes_before: int = 120,
    **fields: object,
) -> Message:
    patient = appointment.patient
    recipient = patient.email if channel == Channel.EMAIL else str(patient.phone)
    values: dict[str, object] = {
        "appointment": appointment,
        "patient": patient,
        "kind": MessageKind.REMINDER,
        "channel": channel,
        "minutes_before": minutes_before,
        "recipient": recipient,
        "due_at": due_at,
    }
    values.update(fields)
    return Message.objects.create(**values)


def claim(now: datetime = NOW) -> list[int]:
    """One dispatcher run at `now`; the ids it enqueued, in order."""
    enqueued: list[int] = []
    dispatch_due_messages(enqueue=enqueued.append, now=now)
    return enqueued


def state_of(message: Message) -> str:
    message.refresh_from_db()
    return message.state


# --- the dispatcher ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dispatcher_claims_due_rows_only_and_enqueues_each_once(clock):
    appointment = make_appointment()
    due = [
        outbox_row(appointment, due_at=NOW - timedelta(hours=1), minutes_before=1),
        outbox_row(appointment, due_at=NOW - timedelta(minutes=1), minutes_before=2),
        outbox_row(appointment, due_at=NOW, minutes_before=3),
    ]
    future = [
        outbox_row(appointment, due_at=NOW + timedelta(seconds=1), minutes_before=4),
        outbox_row(appointment, due_at=NOW + timedelta(days=30), minutes_before=5),
    ]
    done = [
        outbox_row(appointment, due_at=NOW - timedelta(hours=2), minutes_before=10 + number, **f)
        for number, f in enumerate(
            [
                {"state": MessageState.SENT, "sent_at": NOW - timedelta(hours=2)},
                {"state": MessageState.FAILED},
                {"state": MessageState.CANCELLED},
                {"state": MessageState.SKIPPED},
            ]
        )
    ]

    enqueued = claim()

    assert enqueued == [message.pk for message in due]  # each once, oldest first
    for message in due:
        message.refresh_from_db()
        assert (message.state, message.claimed_at) == (MessageState.SENDING, NOW)
    assert [state_of(message) for message in future] == [MessageState.SCHEDULED] * 2
    assert [state_of(message) for message in done] == [
        MessageState.SENT,
        MessageState.FAILED,
        MessageState.CANCELLED,
        MessageState.SKIPPED,
    ]
    # Claimed rows are not claimed again by the next run; the future one comes when due.
    assert claim(NOW) == []
    assert claim(NOW + timedelta(seconds=1)) == [future[0].pk]


@pytest.mark.django_db
def test_the_dispatcher_claims_in_batches_until_nothing_is_due(clock, settings, monkeypatch):
    settings.DISPATCH_BATCH_SIZE = 4
    appointment = make_appointment()
    rows = [
        outbox_row(appointment, due_at=NOW - timedelta(minutes=n), minutes_before=n + 1)
        for n in range(10)
    ]
    batches: list[int] = []
    real_claim = dispatch.claim_due_batch

    def counting_claim(**kwargs):
        ids = real_claim(**kwargs)
        batches.append(len(ids))
        return ids

    monkeypatch.setattr(dispatch, "claim_due_batch", counting_claim)

    enqueued = claim()

    assert batches == [4, 4, 2]
    assert sorted(enqueued) == sorted(row.pk for row in rows)
    assert len(set(enqueued)) == 10
    assert Message.objects.filter(state=MessageState.SENDING).count() == 10


@pytest.mark.django_db
def test_one_run_claims_no_more_than_dispatch_max_per_run(clock, settings):
    settings.DISPATCH_BATCH_SIZE = 4
    settings.DISPATCH_MAX_PER_RUN = 5
    appointment = make_appointment()
    for n in range(10):
        outbox_row(appointment, due_at=NOW - timedelta(minutes=n), minutes_before=n + 1)
    assert len(claim()) == 5


@pytest.mark.django_db
def test_each_run_records_itself_in_the_one_dispatcher_run_row(clock):
    appointment = make_appointment()
    outbox_row(appointment, minutes_before=1)
    outbox_row(appointment, minutes_before=2)

    assert claim() != []
    assert list(DispatcherRun.objects.values_list("pk", "finished_at", "claimed")) == [(1, NOW, 2)]

    later = NOW + timedelta(minutes=1)
    clock.move_to(later)
    assert claim(later) == []
    assert list(DispatcherRun.objects.values_list("pk", "finished_at", "claimed")) == [
        (1, later, 0)
    ]


@pytest.mark.django_db
def test_a_row_left_sending_by_a_crash_is_reclaimed_after_the_timeout_and_sent_once(
    clock, settings, sms_sink
):
    message = outbox_row(make_appointment())
    timeout = timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT)

    lost = claim()  # the worker dies, or the task is lost with the broker: no send
    assert lost == [message.pk]

    almost = NOW + timeout
    clock.move_to(almost)
    assert claim(almost) == []  # not before the timeout has passed
    assert state_of(message) == MessageState.SENDING

    after = NOW + timeout + timedelta(seconds=1)
    clock.move_to(after)
    again = claim(after)
    assert again == [message.pk]
    message.refresh_from_db()
    assert message.claimed_at == after

    assert send_message(message.pk, now=after) == Outcome.SENT
    # The first task turns up late after all (redelivered, or its worker came back).
    assert send_message(lost[0], now=after) == Outcome.NOT_SENDING
    assert send_message(again[0], now=after) == Outcome.NOT_SENDING

    assert len(sms_sink()) == 1
    message.refresh_from_db()
    assert (message.state, message.sent_at, message.attempts) == (MessageState.SENT, after, 1)
    assert claim(after + timeout * 2) == []


def _two_dispatchers_at_once(now: datetime) -> tuple[list[int], list[int]]:
    """Run two dispatchers at the same moment, each in its own thread and connection."""
    claimed: tuple[list[int], list[int]] = ([], [])
    run_at_once([partial(dispatch_due_messages, enqueue=mine.append, now=now) for mine in claimed])
    return claimed


def _assert_each_row_claimed_once(rows: list[int], now: datetime) -> None:
    first, second = _two_dispatchers_at_once(now)
    assert len(first) == len(set(first))
    assert len(second) == len(set(second))
    assert set(first) & set(second) == set()
    assert set(first) | set(second) == set(rows)
    assert Message.objects.filter(state=MessageState.SENDING, claimed_at=now).count() == len(rows)
    run = DispatcherRun.objects.get()
    assert run.claimed in {len(first), len(second)}


def _many_due_rows(count: int) -> list[int]:
    appointment = make_appointment()
    messages = Message.objects.bulk_create(
        Message(
            appointment=appointment,
            patient=appointment.patient,
            kind=MessageKind.REMINDER,
            channel=Channel.SMS,
            minutes_before=n + 1,
            recipient=PHONE,
            due_at=NOW - timedelta(seconds=n),
        )
        for n in range(count)
    )
    ids = list(Message.objects.values_list("pk", flat=True))
    assert len(ids) == len(messages) == count
    return ids


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_at_once_on_postgresql_claim_each_due_row_exactly_once(settings):
    settings.DISPATCH_BATCH_SIZE = 7  # many small claims, so the two runs interleave
    rows = _many_due_rows(300)
    with time_machine.travel(NOW, tick=False):
        _assert_each_row_claimed_once(rows, NOW)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_at_once_on_any_database_claim_each_due_row_exactly_once(settings):
    settings.DISPATCH_BATCH_SIZE = 10
    rows = _many_due_rows(60)
    with time_machine.travel(NOW, tick=False):
        _assert_each_row_claimed_once(rows, NOW)


# --- sending ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sending_a_message_twice_sends_it_once(clock, sms_sink):
    message = outbox_row(make_appointment())
    assert claim() == [message.pk]

    assert send_message(message.pk) == Outcome.SENT
    assert send_message(message.pk) == Outcome.NOT_SENDING

    received = sms_sink()
    assert len(received) == 1
    assert received[0]["to"] == PHONE
    assert received[0]["key"] == str(message.idempotency_key)
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert message.sent_at == NOW
    assert message.attempts == 1
    assert message.provider_message_id == f"file-{message.idempotency_key}"
    assert message.last_error == ""


@pytest.mark.django_db
def test_an_email_sent_twice_is_sent_once_with_its_idempotency_key(clock, mail):
    message = outbox_row(make_appointment(), channel=Channel.EMAIL, minutes_before=1440)
    claim()
    assert send_message(message.pk) == Outcome.SENT
    assert send_message(message.pk) == Outcome.NOT_SENDING
    assert len(mail) == 1
    assert mail[0].to == ["ann.lee@example.com"]
    message.refresh_from_db()
    assert mail[0].extra_headers["Message-ID"] == message.provider_message_id
    assert message.provider_message_id == f"<{message.idempotency_key}@testserver>"


@pytest.mark.django_db
def test_a_message_that_was_not_claimed_is_not_sent(clock, sms_sink):
    future = outbox_row(make_appointment(), due_at=NOW + timedelta(hours=1))
    assert send_message(future.pk) == Outcome.NOT_SENDING
    assert send_message(10**9) == Outcome.NOT_SENDING  # a deleted row
    assert sms_sink() == []
    assert state_of(future) == MessageState.SCHEDULED


@pytest.mark.django_db
def test_a_claimed_message_for_a_cancelled_visit_is_cancelled_not_sent(clock, sms_sink):
    appointment = make_appointment()
    message = outbox_row(appointment)
    claim()
    cancel_appointment(appointment=appointment, by_patient=False)

    assert send_message(message.pk) == Outcome.CANCELLED
    assert sms_sink() == []
    message.refresh_from_db()
    assert message.state == MessageState.CANCELLED
    assert message.skip_reason == "The visit is no longer booked."
    assert message.sent_at is None


@pytest.mark.django_db
def test_no_send_loads_a_column_its_locking_select_left_out(clock, sms_sink, mail, monkeypatch):
    """The send reads only some columns of the visit, patient, location and check-in
    (send_queries); one it left out would be loaded by a query of its own."""
    ann = make_patient()
    visit = make_appointment(ann)
    email, text, second_text = (
        outbox_row(visit, channel=Channel.EMAIL),
        outbox_row(visit, minutes_before=60),
        outbox_row(visit, minutes_before=30),  # over the daily cap: goes by email
    )
    cancelled_visit = make_appointment(make_patient(first_name="Bo"))
    of_cancelled_visit = outbox_row(cancelled_visit)
    check_in = day_1_check_in_message(make_patient(first_name="Cy"), Channel.SMS)
    Message.objects.filter(pk=check_in.pk).update(due_at=NOW)
    claim()
    cancel_appointment(appointment=cancelled_visit, by_patient=False)
    loaded: list[tuple[str, object]] = []
    load = Model.refresh_from_db

    def record_load(instance: Model, *args: object, **kwargs: object) -> None:
        loaded.append((type(instance).__name__, kwargs.get("fields")))
        load(instance, *args, **kwargs)

    monkeypatch.setattr(Model, "refresh_from_db", record_load)
    outcomes = [
        send_message(message.pk)
        for message in (email, text, second_text, of_cancelled_visit, check_in)
    ]
    monkeypatch.undo()

    assert outcomes == [Outcome.SENT, Outcome.SENT, Outcome.SENT, Outcome.CANCELLED, Outcome.SENT]
    assert loaded == []
    assert len(mail) == 2
    assert len(sms_sink()) == 2


@pytest.mark.django_db
def test_a_transient_failure_is_retried_with_backoff_then_failed_with_the_error_kept(
    clock, settings, sms_sink, monkeypatch
):
    settings.MESSAGE_MAX_ATTEMPTS = 4
    keys: list[str] = []

    def provider_down(self, outbound):
        keys.append(outbound.idempotency_key)
        raise TransientSendError("provider answered HTTP 503")

    monkeypatch.setattr(FileSmsBackend, "send", provider_down)
    message = outbox_row(make_appointment())

    at = NOW
    for attempt, wait_minutes in [(1, 1), (2, 2), (3, 4)]:
        clock.move_to(at)
        assert claim(at) == [message.pk]
        assert send_message(message.pk, now=at) == Outcome.RETRY_LATER
        message.refresh_from_db()
        retry_at = at + timedelta(minutes=wait_minutes)
        assert (message.state, message.attempts, message.due_at, message.last_error) == (
            MessageState.SCHEDULED,
            attempt,
            retry_at,
            "provider answered HTTP 503",
        )
        assert claim(retry_at - timedelta(seconds=1)) == []  # not due before its backoff
        at = retry_at

    clock.move_to(at)
    assert claim(at) == [message.pk]
    assert send_message(message.pk, now=at) == Outcome.FAILED
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (
        MessageState.FAILED,
        4,
        "provider answered HTTP 503",
    )
    assert claim(at + timedelta(days=1)) == []  # failed is final
    assert len(keys) == 4
    assert set(keys) == {str(message.idempotency_key)}  # every attempt carries the same key
    assert sms_sink() == []


@pytest.mark.django_db
def test_a_send_that_succeeds_on_retry_is_sent_once_and_clears_the_error(
    clock, sms_sink, monkeypatch
):
    real_send = FileSmsBackend.send
    failures = iter([TransientSendError("timed out")])

    def flaky(self, outbound):
        error = next(failures, None)
        if error is not None:
            raise error
        return real_send(self, outbound)

    monkeypatch.setattr(FileSmsBackend, "send", flaky)
    message = outbox_row(make_appointment())
    claim()
    assert send_message(message.pk) == Outcome.RETRY_LATER

    retry_at = NOW + timedelta(minutes=1)
    clock.move_to(retry_at)
    assert claim(retry_at) == [message.pk]
    assert send_message(message.pk, now=retry_at) == Outcome.SENT
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error, message.sent_at) == (
        MessageState.SENT,
        2,
        "",
        retry_at,
    )
    assert len(sms_sink()) == 1


@pytest.mark.django_db
def test_a_retry_is_not_due_inside_quiet_hours(clock, sms_sink, monkeypatch):
    evening = ny(2026, 6, 3, 20, 59)
    clock.move_to(evening)

    def provider_down(self, outbound):
        raise TransientSendError("provider answered HTTP 502")

    monkeypatch.setattr(FileSmsBackend, "send", provider_down)
    message = outbox_row(
        make_appointment(start=ny(2026, 6, 4, 10)), due_at=evening, minutes_before=781
    )
    claim(evening)
    assert send_message(message.pk, now=evening) == Outcome.RETRY_LATER
    message.refresh_from_db()
    assert message.due_at == ny(2026, 6, 4, 8)


# --- permanent failures: Twilio's answers and invalid numbers ---------------------------

INVALID = "+1555"


@pytest.fixture
def twilio(settings, monkeypatch) -> SimpleNamespace:
    """SMS through TwilioSmsBackend, with Twilio's client replaced by a recording fake.

    The fake answers like Twilio: 400 (error 21211) for a number that is not valid.
    """
    settings.SMS_BACKEND = "followup.channels.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000"
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+18605550199"
    fake = SimpleNamespace(sent=[], fail_with=None, clients=0, http_client=None)

    class FakeClient:
        def __init__(self, account_sid: str, auth_token: str, *, http_client) -> None:
            fake.clients += 1
            fake.http_client = http_client
            self.messages = self

        def create(self, *, to: str, from_: str, body: str):
            if fake.fail_with is not None:
                raise fake.fail_with
            if to == INVALID:
                raise TwilioRestException(
                    400,
                    "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages.json",
                    msg=f"The 'To' number {to} is not a valid phone number.",
                    code=21211,
                    method="POST",
                )
            fake.sent.append({"to": to, "from": from_, "body": body})
            return SimpleNamespace(sid=f"SM{len(fake.sent):032d}")

    monkeypatch.setattr("twilio.rest.Client", FakeClient)
    return fake


UNSUBSCRIBED = TwilioRestException(
    400, "uri", msg="Attempt to send to unsubscribed recipient", code=21610, method="POST"
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TwilioRestException(500, "uri", msg="Internal Server Error"), TransientSendError),
        (TwilioRestException(503, "uri", msg="Service Unavailable"), TransientSendError),
        (TwilioRestException(429, "uri", msg="Too Many Requests"), TransientSendError),
        (requests.exceptions.ConnectTimeout("timed out"), TransientSendError),
        (TwilioRestException(400, "uri", msg="not a valid phone number"), PermanentSendError),
        (TwilioRestException(401, "uri", msg="Authenticate"), PermanentSendError),
        (UNSUBSCRIBED, RecipientOptedOut),
    ],
    ids=["500", "503", "429", "timeout", "400", "401", "21610"],
)
def test_twilio_errors_are_sorted_into_transient_and_permanent(twilio, error, expected):
    twilio.fail_with = error
    with pytest.raises(expected):
        TwilioSmsBackend().send(OutboundMessage(recipient=PHONE, body="hi", idempotency_key="k"))


@pytest.mark.django_db
def test_an_invalid_stored_number_fails_its_message_at_once_and_the_others_still_send(
    clock, twilio
):
    broken = make_patient(first_name="Bea", email="bea@example.com")
    Patient.objects.filter(pk=broken.pk).update(phone=INVALID)
    invalid = outbox_row(
        make_appointment(Patient.objects.get(pk=broken.pk)),
        recipient=INVALID,
        due_at=NOW - timedelta(minutes=1),
    )
    fine = outbox_row(make_appointment())

    assert claim() == [invalid.pk, fine.pk]
    assert send_message(invalid.pk) == Outcome.FAILED
    assert send_message(fine.pk) == Outcome.SENT

    invalid.refresh_from_db()
    assert (invalid.state, invalid.attempts) == (MessageState.FAILED, 1)
    assert "phone number is not valid" in invalid.last_error
    assert [sms["to"] for sms in twilio.sent] == [PHONE]
    fine.refresh_from_db()
    assert fine.provider_message_id == f"SM{1:032d}"
    assert claim(NOW + timedelta(days=1)) == []  # not retried


@pytest.mark.django_db
def test_a_number_on_twilios_stop_list_is_recorded_as_opted_out_and_its_texts_stop(clock, twilio):
    patient = make_patient(email="ann@example.com")
    text = outbox_row(make_appointment(patient), due_at=NOW - timedelta(minutes=1))
    later_text = outbox_row(make_appointment(patient), due_at=NOW + timedelta(days=1))
    email = outbox_row(
        make_appointment(patient), channel=Channel.EMAIL, due_at=NOW + timedelta(days=1)
    )
    twilio.fail_with = UNSUBSCRIBED  # the patient replied STOP; the webhook never heard it

    assert claim() == [text.pk]
    assert send_message(text.pk) == Outcome.CANCELLED

    text.refresh_from_db()
    assert text.state == MessageState.CANCELLED
    assert text.skip_reason == "The patient opted out."
    assert "unsubscribed recipient" in text.last_error
    patient.refresh_from_db()
    assert not patient.consent_sms
    later_text.refresh_from_db()
    assert later_text.state == MessageState.CANCELLED
    email.refresh_from_db()
    assert email.state == MessageState.SCHEDULED  # email consent is untouched
    assert twilio.sent == []


@pytest.mark.django_db
def test_a_process_sends_all_its_texts_through_one_twilio_client(clock, twilio, settings):
    first = outbox_row(make_appointment())
    second = outbox_row(make_appointment(), due_at=NOW - timedelta(minutes=1))

    assert sorted(claim()) == sorted([first.pk, second.pk])
    assert [send_message(first.pk), send_message(second.pk)] == [Outcome.SENT, Outcome.SENT]

    assert len(twilio.sent) == 2
    assert twilio.clients == 1  # its HTTPS connections kept, not made again for each text
    assert twilio.http_client.timeout == settings.PROVIDER_TIMEOUT  # never waits for ever


@pytest.mark.django_db
def test_an_invalid_stored_number_fails_with_a_clear_error_whatever_the_sms_backend(
    clock, sms_sink
):
    patient = make_patient()
    Patient.objects.filter(pk=patient.pk).update(phone=INVALID)
    message = outbox_row(make_appointment(Patient.objects.get(pk=patient.pk)), recipient=INVALID)
    claim()
    assert send_message(message.pk) == Outcome.FAILED
    assert sms_sink() == []


# --- the SMS cap: at most 1 a day and 3 in any 7 days, per patient ------------------------


def sent_sms(patient: Patient, at: datetime) -> Message:
    """An SMS already sent to `patient` at `at`, for another of their appointments."""
    return outbox_row(
        make_appointment(patient, start=at + timedelta(hours=2)),
        due_at=at,
        state=MessageState.SENT,
        sent_at=at,
    )


@pytest.mark.django_db
def test_a_second_sms_the_same_day_goes_by_email_when_the_patient_agreed(clock, sms_sink, mail):
    ann = make_patient()
    sent_sms(ann, NOW - timedelta(hours=3))
    message = outbox_row(make_appointment(ann, start=NOW + timedelta(days=2)), minutes_before=2880)
    claim()

    assert send_message(message.pk) == Outcome.SENT

    assert sms_sink() == []
    [email] = mail
    assert email.to == ["ann.lee@example.com"]
    # The email's own wording, not the text's: a subject, an unsubscribe link, no STOP.
    assert django_settings.CLINIC_NAME in email.subject
    assert "To stop these emails" in email.body
    assert SMS_OPT_OUT not in email.body
    message.refresh_from_db()
    assert (message.state, message.channel, message.recipient) == (
        MessageState.SENT,
        Channel.EMAIL,
        "ann.lee@example.com",
    )


@pytest.mark.django_db
def test_a_second_sms_the_same_day_waits_for_the_next_allowed_time_without_email(
    clock, sms_sink, mail
):
    ann = make_patient(consent_email=False)
    sent_sms(ann, NOW - timedelta(hours=3))  # 07:00 in New York
    message = outbox_row(make_appointment(ann, start=NOW + timedelta(days=2)), minutes_before=2880)
    claim()

    assert send_message(message.pk) == Outcome.RETRY_LATER

    message.refresh_from_db()
    # 24 h after the last SMS is 07:00 tomorrow, inside quiet hours: 08:00 tomorrow.
    allowed = ny(2026, 6, 4, 8)
    assert (message.state, message.channel, message.due_at) == (
        MessageState.SCHEDULED,
        Channel.SMS,
        allowed,
    )
    assert sms_sink() == []
    assert mail == []

    clock.move_to(allowed)
    assert claim(allowed) == [message.pk]
    assert send_message(message.pk, now=allowed) == Outcome.SENT
    assert len(sms_sink()) == 1


@pytest.mark.django_db
def test_a_second_sms_the_same_day_is_skipped_when_the_next_allowed_time_is_after_the_visit(
    clock, sms_sink, mail
):
    ann = make_patient(consent_email=False)
    sent_sms(ann, NOW - timedelta(hours=3))
    message = outbox_row(make_appointment(ann, start=NOW + timedelta(hours=2)))
    claim()

    send_message(message.pk)

    message.refresh_from_db()
    assert message.state == MessageState.SKIPPED
    assert message.skip_reason == "Over the patient's SMS limit."
    assert sms_sink() == []
    assert mail == []
    assert claim(NOW + timedelta(days=2)) == []


@pytest.mark.django_db
def test_a_fourth_sms_in_seven_days_waits_until_the_oldest_is_a_week_old(clock, sms_sink):
    ann = make_patient(consent_email=False)
    for days_ago in (6, 4, 2):
        sent_sms(ann, NOW - timedelta(days=days_ago))
    message = outbox_row(make_appointment(ann, start=NOW + timedelta(days=3)), minutes_before=4000)
    claim()

    assert send_message(message.pk) == Outcome.RETRY_LATER
    message.refresh_from_db()
    assert message.due_at == NOW + timedelta(days=1)  # 10:00 tomorrow in New York
    assert sms_sink() == []


@pytest.mark.django_db
def test_the_sms_cap_counts_only_the_same_patients_texts(clock, sms_sink):
    sent_sms(make_patient(first_name="Bea", email="bea@example.com"), NOW - timedelta(hours=1))
    message = outbox_row(make_appointment())
    claim()
    assert send_message(message.pk) == Outcome.SENT
    assert len(sms_sink()) == 1


def _send_at_once(message_ids: list[int], monkeypatch) -> bool:
    """Two workers send two claimed messages at the same moment, each in its own thread
    and connection; True if both reached the provider together.

    Each send waits (briefly) at the provider for the other: if the database serialises
    the two, that wait times out and the first goes on alone.
    """
    barrier = threading.Barrier(len(message_ids))
    met: list[bool] = []
    real_send = FileSmsBackend.send

    def send_in_step(self, outbound):
        try:
            barrier.wait(timeout=2)
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        return real_send(self, outbound)

    monkeypatch.setattr(FileSmsBackend, "send", send_in_step)
    run_at_once([partial(send_message, message_id, now=NOW) for message_id in message_ids])
    return bool(met) and all(met)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_sending_one_patients_texts_at_once_keep_the_daily_cap(sms_sink, monkeypatch):
    # Two visits whose 2 h texts are due together (say both moved to 08:00 by quiet hours).
    # The cap holds on PostgreSQL only because send_message's FOR UPDATE over its
    # select_related join also locks the patient's row: keep that lock if the query
    # changes. (On SQLite, BEGIN IMMEDIATE runs the two sends one after the other.)
    with time_machine.travel(NOW, tick=False):
        ann = make_patient(consent_email=False)
        first = outbox_row(make_appointment(ann, start=NOW + timedelta(hours=1)))
        second = outbox_row(make_appointment(ann, start=NOW + timedelta(hours=2)))
        assert sorted(claim()) == sorted([first.pk, second.pk])
        assert _send_at_once([first.pk, second.pk], monkeypatch) is False

    assert len(sms_sink()) == 1
    states = set(Message.objects.values_list("state", flat=True))
    assert states == {MessageState.SENT, MessageState.SKIPPED}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_sending_to_two_patients_of_one_site_do_not_wait_for_each_other(
    sms_sink, monkeypatch
):
    with time_machine.travel(NOW, tick=False):
        first = outbox_row(make_appointment(make_patient(), location=LocationFactory()))
        second = outbox_row(
            make_appointment(make_patient(email="bea@example.com"), location=LocationFactory())
        )
        claim()
        assert _send_at_once([first.pk, second.pk], monkeypatch) is True
    assert len(sms_sink()) == 2


@pytest.mark.django_db
def test_a_patient_who_opted_out_after_planning_gets_no_further_sms(clock, sms_sink, mail):
    appointment = make_appointment(start=ny(2026, 6, 5, 14))
    plan_reminders(appointment, now=NOW)
    Patient.objects.filter(pk=appointment.patient_id).update(consent_sms=False)  # texted STOP

    sms_due = Message.objects.get(appointment=appointment, channel=Channel.SMS).due_at
    clock.move_to(sms_due)
    assert claim(sms_due) != []  # every reminder from 72 h to 2 h before was due by then
    outcomes = {
        message.channel: send_message(message.pk, now=sms_due)
        for message in Message.objects.filter(state=MessageState.SENDING)
    }

    sms = Message.objects.get(appointment=appointment, channel=Channel.SMS)
    assert outcomes[Channel.SMS] == Outcome.CANCELLED
    assert (sms.state, sms.skip_reason) == (MessageState.CANCELLED, "The patient opted out.")
    assert sms_sink() == []
    assert outcomes[Channel.EMAIL] == Outcome.SENT  # email consent still stands


# --- what a message says ------------------------------------------------------------------


@pytest.fixture
def lumbar_visit(db) -> Appointment:
    """Ann's lumbar consult, Wednesday 10 June 2026 at 14:00 in New York, with clinical
    details on record that no message may carry."""
    return make_appointment(
        start=ny(2026, 6, 10, 14),
        notes="Left L4 trigger point; lidocaine with triamcinolone",
        baseline_pain=8,
    )


def test_the_sms_carries_first_name_clinic_date_time_and_link_and_ends_with_opt_out(
    clock, sms_sink, lumbar_visit
):
    message = outbox_row(lumbar_visit)
    claim()
    send_message(message.pk)

    [sms] = sms_sink()
    body = sms["body"]
    assert body.endswith("Reply STOP to opt out.")
    assert body.endswith(SMS_OPT_OUT)
    assert "Ann" in body
    assert django_settings.CLINIC_NAME in body
    assert "Wednesday 10 June" in body
    assert "2:00 PM EDT" in body
    assert manage_url(lumbar_visit) in body
    assert_nothing_clinical(body, lumbar_visit)


def assert_nothing_clinical(text: str, appointment: Appointment) -> None:
    # Links carry random signed tokens, where any short word may turn up by chance.
    lowered = re.sub(r"https?://\S+", "<link>", text).lower()
    site = appointment.site
    assert site.name.lower() not in lowered
    assert site.slug not in lowered
    assert site.instructions.lower() not in lowered
    for word in ("lidocaine", "triamcinolone", "trigger point", "l4", "pain score"):
        assert word not in lowered
    assert appointment.patient.last_name.lower() not in lowered


def test_an_admin_edited_template_cannot_reach_the_site_or_the_notes(clock, sms_sink, lumbar_visit):
    MessageTemplate.objects.filter(kind="reminder", channel="sms").update(
        body=(
            "{{ first_name }} {{ site }} {{ site.name }} {{ appointment.site.name }} "
            "{{ message.appointment.notes }} {{ patient.last_name }} {{ notes }}"
        )
    )
    message = outbox_row(lumbar_visit)
    claim()
    send_message(message.pk)
    [sms] = sms_sink()
    assert sms["body"] == f"Ann {SMS_OPT_OUT}"


def test_the_email_has_an_unsubscribe_link_and_list_unsubscribe_headers(clock, mail, lumbar_visit):
    message = outbox_row(lumbar_visit, channel=Channel.EMAIL, minutes_before=1440)
    claim()
    send_message(message.pk)

    [email] = mail
    unsubscribe = email.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://testserver/unsubscribe/")
    assert unsubscribe.endswith("/>")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in email.body
    assert manage_url(lumbar_visit) in email.body
    assert "Ann" in email.body
    assert "Wednesday 10 June" in email.body
    assert "2:00 PM EDT" in email.body
    assert email.subject == (
        f"Reminder: your appointment at {django_settings.CLINIC_NAME} on Wednesday 10 June"
    )
    assert_nothing_clinical(email.subject, lumbar_visit)
    assert_nothing_clinical(email.body, lumbar_visit)


def _unsubscribe_path(mail) -> str:
    return urlsplit(mail[-1].extra_headers["List-Unsubscribe"].strip("<>")).path


def test_the_unsubscribe_page_turns_email_consent_off_on_post_only(clock, mail, lumbar_visit):
    first = outbox_row(lumbar_visit, channel=Channel.EMAIL, minutes_before=4320)
    later = outbox_row(
        lumbar_visit,
        channel=Channel.EMAIL,
        minutes_before=1440,
        due_at=NOW + timedelta(days=1),
    )
    claim()
    send_message(first.pk)
    path = _unsubscribe_path(mail)
    patient = lumbar_visit.patient
    client = Client(enforce_csrf_checks=True)

    page = client.get(path)  # a link scanner or a preview must not unsubscribe
    assert page.status_code == 200
    assert "Stop reminder emails" in page.content.decode()
    patient.refresh_from_db()
    assert patient.consent_email is True

    done = client.post(path)
    assert done.status_code == 200
    assert "no more reminder emails" in done.content.decode()
    patient.refresh_from_db()
    assert patient.consent_email is False
    assert patient.consent_sms is True  # only the email channel

    # The next email reminder is cancelled, not sent.
    tomorrow = NOW + timedelta(days=1)
    clock.move_to(tomorrow)
    assert claim(tomorrow) == [later.pk]
    assert send_message(later.pk, now=tomorrow) == Outcome.CANCELLED
    assert len(mail) == 1


def test_one_click_unsubscribe_from_a_mail_client_needs_no_page_visit(clock, mail, lumbar_visit):
    message = outbox_row(lumbar_visit, channel=Channel.EMAIL, minutes_before=1440)
    claim()
    send_message(message.pk)
    response = Client(enforce_csrf_checks=True).post(
        _unsubscribe_path(mail), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert Patient.objects.get(pk=lumbar_visit.patient_id).consent_email is False


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_unsubscribe_token_shows_the_invalid_link_page_and_changes_nothing(
    client, lumbar_visit, method
):
    patient = lumbar_visit.patient
    good = unsubscribe_token(patient.pk)
    tokens = [
        good[:-3] + ("abc" if not good.endswith("abc") else "xyz"),  # tampered
        "not-a-token",
        manage_token(lumbar_visit),  # a real link, for another purpose
        signing.dumps(patient.pk, salt="another.purpose"),
    ]
    for token in tokens:
        response = getattr(client, method)(f"/unsubscribe/{token}/")
        assert response.status_code == 404, token
        assert "This link is not valid any more" in response.content.decode()
    patient.refresh_from_db()
    assert patient.consent_email is True


def test_a_visit_that_is_no_longer_booked_is_not_reminded(clock, sms_sink, lumbar_visit):
    Appointment.objects.filter(pk=lumbar_visit.pk).update(status=AppointmentStatus.NO_SHOW)
    message = outbox_row(lumbar_visit)
    claim()
    assert send_message(message.pk) == Outcome.CANCELLED
    assert sms_sink() == []
