"""Check-in messages go out after the visit: their deadline is the check-in's expiry."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from followup.channels import EmailSender, TransientSendError
from followup.dispatch import claim_due_batch
from followup.models import Channel, FollowUpStep, MessageState
from followup.sending import Outcome, send_message
from tests.factories import PatientFactory, day_1_check_in_message, episode_after_procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def day_1_email():
    patient = PatientFactory(email="ana@example.org", consent_email=True, consent_sms=False)
    return day_1_check_in_message(patient, Channel.EMAIL)


def test_a_check_in_is_sent_although_its_visit_is_over(day_1_email, mailoutbox):
    with time_machine.travel(day_1_email.due_at, tick=False):
        assert claim_due_batch(now=day_1_email.due_at, limit=10) == [day_1_email.pk]
        assert send_message(day_1_email.pk) == Outcome.SENT
    assert "/check-in/" in mailoutbox[0].body


def test_a_failed_check_in_send_is_retried_until_the_check_in_expires(day_1_email, monkeypatch):
    def provider_down(self, outbound):
        raise TransientSendError("SMTP timed out")

    monkeypatch.setattr(EmailSender, "send", provider_down)
    now = day_1_email.due_at
    claim_due_batch(now=now, limit=10)
    assert send_message(day_1_email.pk, now=now) == Outcome.RETRY_LATER
    day_1_email.refresh_from_db()
    assert day_1_email.state == MessageState.SCHEDULED
    assert day_1_email.due_at == now + timedelta(minutes=1)


def test_the_check_in_day_1_is_due_at_ten_in_the_morning_local_time(day_1_email):
    # The procedure was at 10:00 New York on Tuesday 1 December.
    assert day_1_email.due_at == datetime(2026, 12, 2, 15, tzinfo=UTC)


def test_a_step_in_minutes_is_due_that_long_after_the_procedure():
    FollowUpStep.objects.filter(site__slug="lumbar", day=1).update(minutes_after=2)
    patient = PatientFactory(email="ana@example.org", consent_email=True, consent_sms=False)
    episode = episode_after_procedure(patient=patient)
    day_1 = episode.check_ins.get(day=1)
    assert day_1.due_at == episode.started_at + timedelta(minutes=2)
