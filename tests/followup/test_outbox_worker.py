"""The outbox with its real services: Celery's task options, Redis flushed under it, and a
real Celery worker process sending through Redis and PostgreSQL (not eager mode).
"""

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from kombu.exceptions import BatchPublishError

from booking.models import AppointmentSource, Site
from booking.services import PatientDetails, book_appointment
from config.celery import app as celery_app
from followup.dispatch import dispatch_due_messages
from followup.models import Channel, Message, MessageKind, MessageState
from followup.sending import send_message
from followup.tasks import dispatch_and_enqueue_sends, dispatch_due_messages_task, send_message_task
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    WorkingHoursFactory,
)
from tests.workers import celery_worker

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # Monday 1 June 2026, 08:00 in New York
PHONE = "+18605550123"
WORKER_DEADLINE_SECONDS = 45


@pytest.fixture
def sms_sink(settings, tmp_path) -> Callable[[], list[dict]]:
    path = tmp_path / "sms" / "sent.jsonl"
    settings.SMS_BACKEND = "followup.channels.FileSmsBackend"
    settings.SMS_FILE_PATH = str(path)
    return lambda: read_sms(path)


def read_sms(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def due_sms(*, due_at: datetime, start: datetime) -> Message:
    """A booked consult with its 2 h SMS reminder due at `due_at`."""
    patient = PatientFactory(first_name="Ann", phone=PHONE, consent_sms=True, consent_email=True)
    appointment = AppointmentFactory(
        patient=patient, site=Site.objects.get(slug="lumbar"), start=start
    )
    return Message.objects.create(
        appointment=appointment,
        patient=patient,
        kind=MessageKind.REMINDER,
        channel=Channel.SMS,
        minutes_before=120,
        recipient=PHONE,
        due_at=due_at,
    )


# --- Celery wiring (no services needed) ---------------------------------------------------


def test_send_tasks_ack_late_and_are_requeued_when_their_worker_is_lost():
    assert send_message_task.acks_late is True
    assert send_message_task.reject_on_worker_lost is True
    # One task reserved per pool child: a worker that dies holds no one else's message.
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_beat_runs_the_dispatcher_every_15_seconds():
    # Every message waits for a tick: a booking's confirmation, an alert, a 10:00 burst.
    entry = celery_app.conf.beat_schedule["dispatch-due-messages"]
    assert entry["task"] == dispatch_due_messages_task.name
    assert entry["schedule"] == 15.0


@pytest.mark.django_db
def test_the_dispatcher_task_enqueues_sends_now_never_with_an_eta_or_countdown(
    sms_sink, monkeypatch
):
    due = due_sms(due_at=NOW - timedelta(minutes=1), start=NOW + timedelta(hours=2))
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(
        send_message_task, "apply_async", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    with time_machine.travel(NOW, tick=False):
        assert dispatch_due_messages_task() == 1
    assert len(calls) == 1
    args, kwargs = calls[0]
    assert list(args[0]) == [due.pk]
    for timing in ("eta", "countdown"):
        assert kwargs.get(timing) is None


@pytest.mark.django_db
def test_the_send_task_run_twice_sends_once(sms_sink):
    message = due_sms(due_at=NOW, start=NOW + timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        dispatch_due_messages(enqueue=lambda message_id: None)
        # Eager here (settings_test): each call runs the task body in this process.
        first = send_message_task.delay(message.pk).get()
        second = send_message_task.delay(message.pk).get()
    assert (first, second) == ("sent", "not sending")
    assert len(sms_sink()) == 1


# --- Redis loses everything: the schedule is in the database --------------------------------


@pytest.fixture
def broker_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    try:
        yield client
    finally:
        client.close()


def queued_tasks(client: redis.Redis) -> list[dict]:
    """The headers of every task message waiting in the broker's Redis database."""
    headers = []
    for key in client.scan_iter():
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            with_headers = json.loads(raw)
            headers.append(with_headers.get("headers", {}))
    return headers


@pytest.fixture
def publishing(monkeypatch):
    """Tasks go to the real broker instead of running eagerly in this process."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)


@pytest.fixture
def new_york_clinic(db) -> SimpleNamespace:
    location = LocationFactory(name="Main Street", time_zone="America/New_York")
    lumbar = Site.objects.get(slug="lumbar")
    clinician = ClinicianFactory(display_name="Dr. Adams", sites=[lumbar], locations=[location])
    for weekday in range(5):
        WorkingHoursFactory(
            clinician=clinician,
            location=location,
            weekday=weekday,
            start_time=clock_time(8),
            end_time=clock_time(17),
        )
    return SimpleNamespace(location=location, site=lumbar)


@pytest.mark.redis
@pytest.mark.django_db
def test_redis_flushed_between_booking_and_due_time_the_reminder_is_still_sent(
    new_york_clinic,
    sms_sink,
    broker_redis,
    publishing,
    django_capture_on_commit_callbacks,
):
    broker_redis.flushdb()
    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        appointment = book_appointment(
            site=new_york_clinic.site,
            start=datetime(2026, 6, 10, 14, tzinfo=NEW_YORK),
            patient=PatientDetails("Ann", "Lee", date(1970, 5, 17), "ann@example.com", PHONE),
            source=AppointmentSource.ONLINE,
            consent_email=True,
            consent_sms=True,
            now=NOW,
        )
    # The booking put nothing on the broker: its confirmation email and its reminders are
    # rows, and no ETA or countdown task waits in Redis for a due time.
    assert queued_tasks(broker_redis) == []

    broker_redis.flushdb()  # Redis restarts with nothing on disk
    assert broker_redis.dbsize() == 0

    sms = Message.objects.get(appointment=appointment, channel=Channel.SMS)
    due = sms.due_at
    assert due == datetime(2026, 6, 10, 16, tzinfo=UTC)
    with time_machine.travel(due, tick=False):
        claimed: list[int] = []
        dispatch_due_messages(enqueue=claimed.append, now=due)
        assert sms.pk in claimed
        assert send_message_task.apply((sms.pk,)).get() == "sent"
    sms.refresh_from_db()
    assert sms.state == MessageState.SENT
    assert [line["key"] for line in sms_sink()] == [str(sms.idempotency_key)]


@pytest.mark.redis
@pytest.mark.django_db
def test_a_send_task_lost_with_redis_after_the_claim_is_reclaimed_and_sent_once(
    settings, sms_sink, broker_redis, publishing
):
    broker_redis.flushdb()
    message = due_sms(due_at=NOW, start=NOW + timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        assert dispatch_and_enqueue_sends() == 1
    [task] = queued_tasks(broker_redis)  # really on the broker, not run here
    assert task["task"] == send_message_task.name
    assert str(message.pk) in task["argsrepr"]

    broker_redis.flushdb()  # the task is lost with the broker
    message.refresh_from_db()
    assert message.state == MessageState.SENDING

    later = NOW + timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT + 60)
    with time_machine.travel(later, tick=False):
        claimed: list[int] = []
        dispatch_due_messages(enqueue=claimed.append, now=later)
        assert claimed == [message.pk]
        assert [send_message(message_id, now=later) for message_id in claimed] == ["sent"]
        assert send_message(message.pk, now=later) == "not sending"
    assert len(sms_sink()) == 1


@pytest.fixture
def pipelines_run(monkeypatch) -> list[int]:
    """How many tasks each Redis pipeline pushed onto a queue, in order (leaving out the
    pipelines that push none: kombu declaring its queue)."""
    sizes: list[int] = []
    execute = redis.client.Pipeline.execute

    def counted(pipeline: redis.client.Pipeline, *args, **kwargs):
        pushed = [command for command in pipeline.command_stack if command[0][0] == "LPUSH"]
        if pushed:
            sizes.append(len(pushed))
        return execute(pipeline, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counted)
    return sizes


@pytest.mark.redis
@pytest.mark.django_db
def test_each_claimed_batch_is_published_to_redis_in_one_pipeline(
    settings, sms_sink, broker_redis, publishing, pipelines_run
):
    settings.DISPATCH_BATCH_SIZE = 2
    broker_redis.flushdb()
    due = [due_sms(due_at=NOW, start=NOW + timedelta(hours=2)) for _ in range(5)]
    with time_machine.travel(NOW, tick=False):
        assert dispatch_and_enqueue_sends() == 5

    # Two full batches went out as they were claimed, the last one when the run ended.
    assert pipelines_run == [2, 2, 1]
    queued = queued_tasks(broker_redis)
    assert {task["task"] for task in queued} == {send_message_task.name}
    assert sorted(task["argsrepr"] for task in queued) == sorted(f"({m.pk},)" for m in due)
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.SENDING}


@pytest.mark.redis
@pytest.mark.django_db
def test_a_batch_redis_did_not_take_stays_sending_and_is_reclaimed_and_published_again(
    settings, sms_sink, broker_redis, publishing, monkeypatch
):
    broker_redis.flushdb()
    message = due_sms(due_at=NOW, start=NOW + timedelta(hours=2))

    def refused(pipeline: redis.client.Pipeline, *args, **kwargs):
        raise redis.ConnectionError("Connection reset by peer")

    with monkeypatch.context() as broken, time_machine.travel(NOW, tick=False):
        broken.setattr(redis.client.Pipeline, "execute", refused)
        with pytest.raises(BatchPublishError):
            dispatch_and_enqueue_sends()
    assert queued_tasks(broker_redis) == []
    message.refresh_from_db()
    assert message.state == MessageState.SENDING  # claimed, so no other run sends it meanwhile

    later = NOW + timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT + 60)
    with time_machine.travel(later, tick=False):
        assert dispatch_and_enqueue_sends() == 1
    [task] = queued_tasks(broker_redis)
    assert task["argsrepr"] == f"({message.pk},)"


# --- a real worker process ------------------------------------------------------------------


@pytest.fixture
def celery_worker_process(tmp_path) -> Iterator[SimpleNamespace]:
    """`celery -A config worker` in its own process, on a queue no one else uses."""
    queue = f"outbox-test-{uuid.uuid4().hex[:12]}"
    with celery_worker(tmp_path, name=queue, queue=queue) as worker:
        worker.queue = queue
        yield worker


def wait_for(condition: Callable[[], bool], worker: SimpleNamespace) -> None:
    deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited:\n{worker.log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"not done in {WORKER_DEADLINE_SECONDS} s; worker log:\n{worker.log.read_text()}")


# The start of a line the worker's logging writes (LOGGING's "plain" format).
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_text_the_console_backend_prints_stays_out_of_the_workers_log_records(
    tmp_path, publishing
):
    queue = f"outbox-test-{uuid.uuid4().hex[:12]}"
    console = "followup.channels.ConsoleSmsBackend"
    with celery_worker(tmp_path, name=queue, queue=queue, SMS_BACKEND=console) as worker:
        now = timezone.now()
        sms = due_sms(due_at=now - timedelta(minutes=1), start=now + timedelta(hours=2))
        dispatch_due_messages(enqueue=lambda pk: send_message_task.apply_async((pk,), queue=queue))
        wait_for(Message.objects.filter(pk=sms.pk, state=MessageState.SENT).exists, worker)
        output = worker.log.read_text().splitlines()

    assert f"SMS to {PHONE}:" in output  # printed for the developer running the worker
    records = [line for line in output if LOG_RECORD.match(line)]
    assert any("sent message" in line for line in records)
    assert not [line for line in records if PHONE in line or "Ann" in line]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_celery_worker_sends_a_due_reminder_once_through_redis(
    celery_worker_process, publishing
):
    worker = celery_worker_process
    now = timezone.now()  # the worker runs on the real clock
    sms = due_sms(due_at=now - timedelta(minutes=1), start=now + timedelta(hours=2))
    email = Message.objects.create(
        appointment=sms.appointment,
        patient=sms.patient,
        kind=MessageKind.REMINDER,
        channel=Channel.EMAIL,
        minutes_before=24 * 60,
        recipient=sms.appointment.patient.email,
        due_at=now - timedelta(minutes=2),
    )

    def enqueue(message_id: int) -> object:
        return send_message_task.apply_async((message_id,), queue=worker.queue)

    assert dispatch_due_messages(enqueue=enqueue) == 2

    def both_sent() -> bool:
        states = set(
            Message.objects.filter(pk__in=[sms.pk, email.pk]).values_list("state", flat=True)
        )
        return states == {MessageState.SENT}

    wait_for(both_sent, worker)

    time.sleep(1)  # room for a duplicate to show up, if there were one
    [line] = read_sms(worker.sms)
    sms.refresh_from_db()
    assert line["key"] == str(sms.idempotency_key)
    assert line["to"] == PHONE
    assert line["body"].endswith("Reply STOP to opt out.")
    assert sms.provider_message_id == f"file-{sms.idempotency_key}"
    assert sms.sent_at is not None
    assert sms.attempts == 1

    [email_file] = list(worker.email.iterdir())
    written = email_file.read_text()
    assert "List-Unsubscribe:" in written
    assert f"<{email.idempotency_key}@" in written

    # Nothing is left to claim, and the worker is still well.
    assert dispatch_due_messages(enqueue=enqueue) == 0
    assert worker.process.poll() is None
    assert "sent message" in worker.log.read_text()
