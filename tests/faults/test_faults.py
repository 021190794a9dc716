"""The outbox under faults: real workers, dispatchers and Redis servers killed, PostgreSQL
connections dropped, and every message still sent exactly once (tests/faults/harness.py's
scenarios, which bench/faults.py runs with more messages)."""

from pathlib import Path

import psycopg
import pytest
from celery.signals import task_prerun
from django.db import OperationalError, connection
from django.db.models import QuerySet

from config.celery import app as celery_app
from followup.channels import FileSmsBackend, OutboundMessage
from followup.dispatch import dispatch_due_messages
from followup.models import Channel, Message, MessageState
from followup.sending import send_message
from followup.tasks import dispatch_due_messages_task, send_message_task
from tests.faults.harness import (
    MIX,
    SCENARIOS,
    Options,
    Scenario,
    database_url,
    label,
    run_scenario,
    seed_due_messages,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SMALL = Options(messages=30, reclaim_seconds=5, dispatch_interval=0.3)


@pytest.mark.redis
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.slug for scenario in SCENARIOS])
def test_no_message_is_lost_or_sent_twice(scenario: Scenario, tmp_path: Path):
    figures = run_scenario(scenario, SMALL, tmp_path)
    assert figures.events or scenario.slug == "parallel"  # the fault did happen
    assert (figures.lost, figures.unexpected) == (0, 0)
    assert figures.sent == figures.delivered == figures.expected == SMALL.messages
    # Only a SIGKILL between the provider's acceptance and the commit sends one twice.
    assert figures.duplicated <= figures.sigkills
    assert set(figures.by_kind) == {label(kind, channel) for kind, channel in MIX}
    for kind in figures.by_kind.values():
        assert kind.expected >= 4
        assert kind.lost == 0


class SmsThenConnectionDropped(FileSmsBackend):
    """The provider takes the text; then PostgreSQL ends the sender's connection."""

    def send(self, message: OutboundMessage) -> str:
        provider_id = super().send(message)
        drop_this_connection()
        return provider_id


def test_a_text_sent_as_the_database_connection_drops_is_recorded_and_not_sent_again(
    settings, tmp_path
):
    settings.SMS_BACKEND = f"{__name__}.SmsThenConnectionDropped"
    settings.SMS_FILE_PATH = str(tmp_path / "sent.jsonl")
    settings.MESSAGE_SENDING_TIMEOUT = 0  # any `sending` row could be reclaimed at once
    seed_due_messages(2)
    claimed: list[int] = []
    dispatch_due_messages(enqueue=claimed.append)
    sms = Message.objects.get(channel=Channel.SMS)
    assert sms.pk in claimed

    assert send_message(sms.pk) == "sent"

    sms.refresh_from_db()
    assert sms.state == MessageState.SENT
    assert sms.provider_message_id == f"file-{sms.idempotency_key}"
    assert sms.attempts == 1
    again: list[int] = []
    dispatch_due_messages(enqueue=again.append)
    assert sms.pk not in again
    assert len((tmp_path / "sent.jsonl").read_text().splitlines()) == 1


def test_a_text_whose_sent_cannot_be_recorded_at_once_is_recorded_by_a_later_try(
    settings, tmp_path, monkeypatch
):
    """The provider takes the text, the connection drops, and the first try at recording
    `sent` on a new connection fails too (PostgreSQL not back yet): a later try records it,
    so the reclaim does not send the text a second time."""
    settings.SMS_BACKEND = f"{__name__}.SmsThenConnectionDropped"
    settings.SMS_FILE_PATH = str(tmp_path / "sent.jsonl")
    settings.MESSAGE_SENDING_TIMEOUT = 0  # any `sending` row could be reclaimed at once
    monkeypatch.setattr("followup.sending.RECORD_SENT_WAITS", (0.01, 0.01))
    seed_due_messages(2)
    dispatch_due_messages_ids()
    sms = Message.objects.get(channel=Channel.SMS)
    update = QuerySet.update
    refused: list[str] = []

    def not_back_yet_once(queryset: QuerySet, **values: object) -> int:
        if not refused:
            refused.append("refused")
            raise OperationalError("the database system is starting up")
        return update(queryset, **values)

    monkeypatch.setattr(QuerySet, "update", not_back_yet_once)

    assert send_message(sms.pk) == "sent"

    monkeypatch.setattr(QuerySet, "update", update)
    assert refused == ["refused"]
    sms.refresh_from_db()
    assert sms.state == MessageState.SENT
    assert sms.pk not in dispatch_due_messages_ids()
    assert len((tmp_path / "sent.jsonl").read_text().splitlines()) == 1


def drop_this_connection() -> int:
    """End this process's PostgreSQL connection from another, as a restart would; its pid."""
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(database_url(connection.settings_dict)) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])
    return dropped


def test_a_connection_dropped_between_two_sends_is_replaced_by_the_next_one(
    settings, tmp_path, caplog
):
    """A worker keeps its connection between sends and does not check it before each; if
    PostgreSQL ended it meanwhile, the next send fails its first statement and runs again
    on a new connection."""
    settings.SMS_FILE_PATH = str(tmp_path / "sent.jsonl")
    seed_due_messages(2)
    first, second = sorted(dispatch_due_messages_ids())
    assert send_message(first) == "sent"
    dropped = drop_this_connection()

    assert send_message(second) == "sent"

    assert connection.connection.info.backend_pid != dropped
    assert Message.objects.filter(state=MessageState.SENT).count() == 2
    assert f"message {second}: OperationalError; sending on a new connection" in caplog.text


def test_a_send_with_no_database_to_reach_fails_and_its_message_waits_for_the_reclaim(
    settings, tmp_path, monkeypatch, mailoutbox
):
    settings.SMS_FILE_PATH = str(tmp_path / "sent.jsonl")
    seed_due_messages(2)
    claimed = dispatch_due_messages_ids()[0]
    drop_this_connection()
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")  # nothing listens there

    with pytest.raises(OperationalError):
        send_message(claimed)

    monkeypatch.undo()
    connection.close()
    assert Message.objects.get(pk=claimed).state == MessageState.SENDING
    assert not mailoutbox
    assert not (tmp_path / "sent.jsonl").exists()


def test_the_worker_checks_its_connection_before_each_task_but_a_send():
    """Other tasks have no way to replace a dropped connection, so the worker checks it
    before they run (CONN_HEALTH_CHECKS); the send replaces one itself (above)."""
    send, dispatch = (
        celery_app.tasks[task.name] for task in (send_message_task, dispatch_due_messages_task)
    )
    Message.objects.exists()  # the connection is open
    drop_this_connection()

    task_prerun.send(sender=send, task_id="send", task=send, args=(1,), kwargs={})
    with pytest.raises(OperationalError):
        Message.objects.exists()

    connection.close()
    Message.objects.exists()
    drop_this_connection()
    task_prerun.send(sender=dispatch, task_id="dispatch", task=dispatch, args=(), kwargs={})
    assert Message.objects.count() == 0  # answered, on a new connection


def dispatch_due_messages_ids() -> list[int]:
    claimed: list[int] = []
    dispatch_due_messages(enqueue=claimed.append)
    return claimed
