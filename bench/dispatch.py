"""Outbox benchmark: how fast the dispatcher and one Celery worker send what is due, beside
a bare no-op task through the same broker and worker, and whether the dispatcher's claim
costs more when many messages wait in the future.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic \\
        .venv/bin/python -m bench.dispatch

PostgreSQL and Redis only (the claim's SKIP LOCKED and the broker are the point); it refuses
to run on SQLite. It never touches the developer's data or queues: it creates its own
throwaway database (`bench_dispatch`, not the test suite's `test_<name>`), uses its own
Redis database (`BENCH_REDIS_DB`, 2 by default, on the host and port of `REDIS_URL`; it
refuses 0 and a database another client is using, and empties it before and after), and
writes the channels' output (the file backends) into a temporary folder it removes.

What it does, in one run:

1. Seeds a clinic: `--appointments` booked visits, each with its own patient who agreed to
   email and SMS (valid E.164 numbers).
2. Times `claim_due_batch` (DISPATCH_BATCH_SIZE rows a batch, as the dispatcher calls it)
   over `--batches` batches with no future rows, then again after `--future` messages due
   in the next 60 days are added: the same due rows, fresh and vacuumed, each time.
3. Adds `--due` messages due now (half email, half SMS) and starts one worker as deployed
   (`celery -A config worker --pool prefork`, whose WORKER_CONCURRENCY children run the
   tasks beside their parent that reads the broker; `--concurrency N` for N children,
   `--pool solo` for a single process) on the bench database, the bench
   Redis and the file backends. Then, interleaved so a slow moment on a noisy machine
   hits both: `--noop` bare no-op tasks, the outbox
   (`followup.tasks.dispatch_and_enqueue_sends()` in this process until every
   due message is `sent`), no-op tasks again, and so on for `--rounds` outbox rounds (the
   due messages are made afresh for each round).
4. Counts messages lost and duplicated: the outbox's states against the SMS file's lines
   (by idempotency key) and the email files (by Message-ID).
5. Times `--in-process` more sends (2,000) called in this process, with no Celery and no
   broker.

With `--profile N` it then sends N more messages through a worker run under cProfile
(solo pool, so the task bodies run in the profiled process) and prints where the time goes.
"""

import os
from urllib.parse import urlsplit, urlunsplit

BENCH_REDIS_DB = os.environ.get("BENCH_REDIS_DB", "2")
BENCH_DATABASE = "bench_dispatch"


# The real settings, not the test settings (which run tasks eagerly in this process).
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["DEBUG"] = "false"  # DEBUG would record every query in memory
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ["STATIC_MANIFEST"] = "false"
# The host and port of REDIS_URL (local by default), with the bench's own database.
_redis_url = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
os.environ["REDIS_URL"] = urlunsplit(_redis_url._replace(path=f"/{BENCH_REDIS_DB}"))
os.environ["SMS_BACKEND"] = "followup.channels.FileSmsBackend"
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
# Caps high enough never to reroute or delay a benchmark message.
os.environ["SMS_MAX_PER_DAY"] = "1000000"
os.environ["SMS_MAX_PER_WEEK"] = "1000000"

import django  # noqa: E402

django.setup()

import argparse  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import celery  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402
from psycopg import sql  # noqa: E402

from bench.noop import noop  # noqa: E402
from bench.report import CpuMeter, percentile, table  # noqa: E402
from booking.models import AppointmentStatus  # noqa: E402
from config.celery import app as celery_app  # noqa: E402
from followup import dispatch  # noqa: E402
from followup.channels import check_phone_number  # noqa: E402
from followup.models import Channel, Message, MessageKind, MessageState  # noqa: E402
from followup.sending import Outcome, send_message  # noqa: E402
from followup.tasks import dispatch_and_enqueue_sends, dispatch_producer  # noqa: E402
from tests.clinic import Clinic  # noqa: E402
from tests.faults import harness  # noqa: E402
from tests.processes import stop_process  # noqa: E402

CLINICIANS = 50
# Plan steps (minutes_before) by the role of a row, so every row is unique per
# appointment, kind, channel and step, and each group can be found and deleted again.
BATCH_STEPS = 100_000
DUE_STEPS = 200_000
FUTURE_STEPS = 300_000
PROFILE_STEPS = 400_000
IN_PROCESS_STEPS = 500_000
COLUMNS = (
    "appointment_id",
    "patient_id",
    "kind",
    "channel",
    "minutes_before",
    "recipient",
    "due_at",
    "state",
    "attempts",
    "last_error",
    "skip_reason",
    "idempotency_key",
    "provider_message_id",
    "created",
)
WORKER_START_SECONDS = 60
POLL_SECONDS = 0.01


class BenchError(Exception):
    """The benchmark cannot go on: say why."""


# --- The clinic ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A booked visit and where its patient's messages go."""

    appointment_id: int
    patient_id: int
    email: str
    phone: str


def seed_clinic(count: int, now: datetime) -> list[Contact]:
    """`count` booked visits 90 days ahead, one patient each, spread over CLINICIANS
    clinicians without overlap."""
    clinic = Clinic.create("Bench", clinicians=CLINICIANS)
    patients = clinic.patients(count)
    for phone in {patient.phone.as_e164 for patient in patients}:
        check_phone_number(phone)  # raises if the sending path would refuse it
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=90)
    visits = clinic.visits(patients, first=first, status=AppointmentStatus.BOOKED)
    return [
        Contact(visit.pk, patient.pk, patient.email, patient.phone.as_e164)
        for visit, patient in zip(visits, patients, strict=True)
    ]


# --- Messages, written with COPY -----------------------------------------------------------

Row = tuple[int, int, str, str, int, str, datetime, str, int, str, str, uuid.UUID, str, datetime]


def message_rows(
    contacts: Sequence[Contact],
    count: int,
    *,
    steps: int,
    due_at: Callable[[int], datetime],
    created: datetime,
) -> Iterator[Row]:
    """`count` scheduled reminders spread over the visits, email and SMS in turn."""
    for j in range(count):
        contact = contacts[j % len(contacts)]
        channel = Channel.EMAIL if j % 2 == 0 else Channel.SMS
        yield (
            contact.appointment_id,
            contact.patient_id,
            MessageKind.REMINDER.value,
            channel.value,
            steps + j // len(contacts),
            contact.email if channel == Channel.EMAIL else contact.phone,
            due_at(j),
            MessageState.SCHEDULED.value,
            0,
            "",
            "",
            uuid.uuid4(),
            "",
            created,
        )


def copy_messages(rows: Iterator[Row]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(Message._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(column) for column in COLUMNS),
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def due_now(now: datetime) -> Callable[[int], datetime]:
    """Due in the last hour, in no particular order."""
    return lambda j: now - timedelta(seconds=60 + (j * 7_919) % 3_600)


def due_later(now: datetime) -> Callable[[int], datetime]:
    """Due between one hour and 60 days from now."""
    return lambda j: now + timedelta(hours=1, seconds=(j * 104_729) % (60 * 86_400))


def vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(Message._meta.db_table)).as_string()
        )


def in_steps(steps: int) -> dict[str, int]:
    """The lookup for the rows of one role (see BATCH_STEPS and friends)."""
    return {"minutes_before__gte": steps, "minutes_before__lt": steps + 100_000}


@dataclass
class DueSet:
    """The due messages of one outbox round: one run of ids, and each key's channel."""

    first_id: int
    last_id: int
    channels: dict[str, str]  # idempotency key -> channel

    @property
    def count(self) -> int:
        return self.last_id - self.first_id + 1

    def rows(self) -> QuerySet[Message]:
        return Message.objects.filter(pk__gte=self.first_id, pk__lte=self.last_id)

    def sent(self) -> int:
        return self.rows().filter(state=MessageState.SENT).count()


def make_due(contacts: Sequence[Contact], count: int, steps: int) -> DueSet:
    now = timezone.now()
    copy_messages(message_rows(contacts, count, steps=steps, due_at=due_now(now), created=now))
    vacuum_analyze()
    rows = list(
        Message.objects.filter(**in_steps(steps)).values_list("pk", "idempotency_key", "channel")
    )
    ids = [pk for pk, _, _ in rows]
    if len(ids) != count or max(ids) - min(ids) + 1 != count:
        raise BenchError("the due messages did not get one run of ids")
    return DueSet(min(ids), max(ids), {str(key): channel for _, key, channel in rows})


def delete_messages(steps: int) -> None:
    Message.objects.filter(**in_steps(steps)).delete()
    vacuum_analyze()


# --- The dispatcher's claim, batch by batch ----------------------------------------------


@dataclass
class BatchFigures:
    future: int
    due: int
    samples: list[float]  # ms per claim_due_batch call
    plan: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)


def explain_claim(selects: Sequence[str], now: datetime) -> str:
    """PostgreSQL's plans of a claim, run (EXPLAIN ANALYZE) and rolled back: the dispatcher's
    SELECTs as they ran, then the equivalent of its UPDATE on the rows those SELECTs find."""
    plans, ids = [], []
    with transaction.atomic(), connection.cursor() as cursor:
        for select in selects:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {select}")
            plans.append("\n".join(str(line[0]) for line in cursor.fetchall()))
            cursor.execute(select)
            ids += [row[0] for row in cursor.fetchall()]
        update = sql.SQL(
            "EXPLAIN (ANALYZE, BUFFERS, WAL) UPDATE {} SET state = %s, claimed_at = %s "
            "WHERE id = ANY(%s)"
        ).format(sql.Identifier(Message._meta.db_table))
        cursor.execute(update.as_string(), [MessageState.SENDING.value, now, ids])
        lines = [str(line[0]) for line in cursor.fetchall()]
        transaction.set_rollback(True)
    # The id list makes the UPDATE's plan unreadable: cut it.
    lines = [re.sub(r"ANY \('\{[^}]*\}'", "ANY ('{...}'", line) for line in lines]
    return "\n\n".join(plans) + "\n\nUPDATE of the claimed rows:\n" + "\n".join(lines)


def time_claims(contacts: Sequence[Contact], batches: int, future: int) -> BatchFigures:
    """`batches` timed calls of claim_due_batch(limit=DISPATCH_BATCH_SIZE), as one dispatcher
    run makes them, over fresh, vacuumed due rows; one untimed call first, whose query is
    explained. The rows are deleted afterwards."""
    size = settings.DISPATCH_BATCH_SIZE
    count = (batches + 1) * size
    now = timezone.now()
    copy_messages(
        message_rows(contacts, count, steps=BATCH_STEPS, due_at=due_now(now), created=now)
    )
    vacuum_analyze()
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        dispatch.claim_due_batch(now=now, limit=size)
    selects = [query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"]]
    plan = explain_claim(selects, now)
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        claimed = dispatch.claim_due_batch(now=now, limit=size)
        samples.append((time.perf_counter() - started) * 1000)
        if len(claimed) != size:
            raise BenchError(f"a batch claimed {len(claimed)} rows, not {size}")
    delete_messages(BATCH_STEPS)
    return BatchFigures(future=future, due=count, samples=samples, plan=plan)


# --- The worker and the broker -----------------------------------------------------------


class Sinks(harness.Sinks):
    """The worker's file sinks, as the fault harness reads them, and its log."""

    @property
    def log(self) -> Path:
        return self.folder / "worker.log"


class Worker:
    """`celery -A config worker` on the bench database, the bench Redis and file sinks in
    its own folder."""

    def __init__(
        self,
        sinks: Sinks,
        pool: str,
        settings_module: str,
        concurrency: int = 1,  # the profile's solo worker
        profile: Path | None = None,
    ) -> None:
        self.sinks = sinks
        sinks.folder.mkdir(parents=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": harness.database_url(connection.settings_dict),
            "SMS_FILE_PATH": str(sinks.sms),
            "EMAIL_FILE_PATH": str(sinks.email),
        }
        command = [sys.executable]
        if profile is not None:
            command += ["-m", "cProfile", "-o", str(profile)]
        command += [
            *("-m", "celery", "-A", "config", "worker", "--pool", pool),
            *("--concurrency", str(concurrency)),
            *("--include", "bench.noop", "-n", f"bench-dispatch-{os.getpid()}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"),
        ]
        with sinks.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our arguments
                command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while " ready." not in self.sinks.log.read_text(errors="replace"):
            self.check()
            if time.monotonic() > deadline:
                raise BenchError(f"the worker was not ready in {WORKER_START_SECONDS} s")
            time.sleep(0.1)

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.sinks.log.read_text(errors="replace")[-3_000:]
            raise BenchError(f"the worker exited with {self.process.returncode}:\n{tail}")

    def stop(self) -> None:
        stop_process(self.process, grace=60)


@dataclass
class Broker:
    client: redis.Redis
    queue: str

    def waiting(self) -> int:
        """Task messages on the queue, or delivered and not yet acknowledged (late acks)."""
        return int(self.client.llen(self.queue)) + int(self.client.hlen("unacked"))

    def wait_drained(self, worker: Worker, timeout: float) -> float:
        """perf_counter() when the broker first holds nothing left for the worker."""
        deadline = time.perf_counter() + timeout
        while True:
            now = time.perf_counter()
            if self.waiting() == 0:
                return now
            worker.check()
            if now > deadline:
                raise BenchError(f"{self.waiting()} tasks still waiting after {timeout:.0f} s")
            time.sleep(POLL_SECONDS)


def open_broker() -> Broker:
    """The bench's own Redis database, emptied; refuse one that is 0 or in use."""
    if not BENCH_REDIS_DB.isdigit() or BENCH_REDIS_DB == "0":
        raise BenchError(
            f"BENCH_REDIS_DB must name a Redis database other than 0 (got {BENCH_REDIS_DB!r})."
        )
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        raise BenchError(
            f"Redis is not reachable ({settings.CELERY_BROKER_URL}): {error}"
        ) from error
    me = int(client.client_id())
    others = [
        peer
        for peer in client.client_list()
        if str(peer.get("db")) == BENCH_REDIS_DB and int(peer["id"]) != me
    ]
    if others:
        raise BenchError(
            f"{len(others)} other client(s) use Redis database {BENCH_REDIS_DB}; "
            "choose a free one with BENCH_REDIS_DB."
        )
    client.flushdb()
    return Broker(client, celery_app.conf.task_default_queue)


# --- Timed runs --------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    count: int
    seconds: float
    publish_seconds: float  # until the last task was on the broker
    claim_ms: list[float] = field(default_factory=list)  # full batches (outbox only)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by part, over the run

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def open_meter(worker: Worker, broker: Broker) -> CpuMeter | None:
    try:
        return CpuMeter(
            worker=worker.process.pid,
            postmaster=harness.postmaster_pid(),
            redis=int(broker.client.info("server")["process_id"]),
            publisher=os.getpid(),
        )
    except (OSError, ValueError, IndexError):
        return None  # a server on another machine: no CPU table


def noop_run(broker: Broker, worker: Worker, count: int, label: str) -> Run:
    started = time.perf_counter()
    with dispatch_producer() as producer:  # as the dispatcher publishes
        for _ in range(count):
            noop.apply_async(producer=producer)
    published = time.perf_counter()
    finished = broker.wait_drained(worker, timeout=max(120.0, count / 20))
    return Run(label, count, finished - started, published - started)


@dataclass
class RoundResult:
    due: DueSet
    states: Counter[str]
    sent_keys: set[str]
    max_attempts: int


def outbox_run(broker: Broker, worker: Worker, due: DueSet, label: str) -> tuple[Run, RoundResult]:
    """The dispatcher in this process, the worker in its own, until every due message is
    sent (or nothing more happens for 30 s after the broker is empty)."""
    claim_ms: list[float] = []
    claim = dispatch.claim_due_batch
    size = settings.DISPATCH_BATCH_SIZE

    def timed_claim(*, now: datetime, limit: int) -> list[int]:
        started = time.perf_counter()
        ids = claim(now=now, limit=limit)
        if len(ids) == size:
            claim_ms.append((time.perf_counter() - started) * 1000)
        return ids

    setattr(dispatch, "claim_due_batch", timed_claim)  # noqa: B010 - restored below
    try:
        started = time.perf_counter()
        claimed = dispatch_and_enqueue_sends()
        published = time.perf_counter()
    finally:
        setattr(dispatch, "claim_due_batch", claim)  # noqa: B010
    if claimed != due.count:
        raise BenchError(f"the dispatcher claimed {claimed} messages, not {due.count}")
    finished = broker.wait_drained(worker, timeout=max(300.0, due.count / 10))
    # Every task has run. If a message is not sent yet (put back on the schedule by a
    # retry), the run is not over: wait, and count what never arrives as lost.
    deadline = finished + 30
    while due.sent() < due.count and time.perf_counter() < deadline:
        time.sleep(0.2)
        finished = time.perf_counter()
    rows = list(due.rows().values_list("idempotency_key", "state", "attempts"))
    result = RoundResult(
        due=due,
        states=Counter(state for _, state, _ in rows),
        sent_keys={str(key) for key, state, _ in rows if state == MessageState.SENT},
        max_attempts=max(attempts for _, _, attempts in rows),
    )
    return Run(label, due.count, finished - started, published - started, claim_ms), result


# --- Lost and duplicated -----------------------------------------------------------------


@dataclass
class Tally:
    channel: str
    expected: int
    sent: int  # outbox rows `sent`
    delivered: int  # expected keys found in the sink
    lost: int  # expected, and not both sent and in the sink
    duplicated: int  # copies beyond the first in the sink
    unexpected: int  # sink entries of keys not expected


def tally(rounds: Sequence[RoundResult], sinks: Sinks) -> list[Tally]:
    expected: dict[str, str] = {}
    sent: set[str] = set()
    for result in rounds:
        expected.update(result.due.channels)
        sent |= result.sent_keys
    found = {Channel.EMAIL.value: sinks.email_keys(), Channel.SMS.value: sinks.sms_keys()}
    tallies = []
    for channel, keys in found.items():
        wanted = {key for key, value in expected.items() if value == channel}
        tallies.append(
            Tally(
                channel=channel,
                expected=len(wanted),
                sent=len(wanted & sent),
                delivered=len(wanted & set(keys)),
                lost=len({key for key in wanted if key not in sent or key not in keys}),
                duplicated=sum(copies - 1 for copies in keys.values() if copies > 1),
                unexpected=sum(copies for key, copies in keys.items() if key not in wanted),
            )
        )
    return tallies


# --- Profile -----------------------------------------------------------------------------


def time_sends_in_process(contacts: Sequence[Contact], count: int, scratch: Path) -> str:
    """`send_message` called in this process, one due message after another, with no Celery
    and no broker but the worker's file backends: what a send itself costs."""
    due = make_due(contacts, count, IN_PROCESS_STEPS)
    now = timezone.now()
    while dispatch.claim_due_batch(now=now, limit=settings.DISPATCH_BATCH_SIZE):
        pass
    sinks = scratch / "in-process"
    sent_log = logging.getLogger("followup.sending")
    samples = []
    sent_log.disabled = True  # a line per send on this terminal; the worker's log keeps them
    try:
        with override_settings(  # the worker's file backends (the test set-up chose locmem)
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(sinks),
            SMS_FILE_PATH=str(sinks / "sms.jsonl"),
        ):
            for message_id in range(due.first_id, due.last_id + 1):
                started = time.perf_counter()
                outcome = send_message(message_id)
                samples.append((time.perf_counter() - started) * 1000)
                if outcome != Outcome.SENT:
                    raise BenchError(f"message {message_id} was not sent: {outcome}")
    finally:
        sent_log.disabled = False
    return (
        f"\nA send alone, in this process (send_message to the file backends, no Celery, no "
        "broker, log lines off), "
        f"{count:,} messages: median {statistics.median(samples):.2f} ms, p95 "
        f"{percentile(samples, 0.95):.2f} ms."
    )


def profile_worker(
    broker: Broker, scratch: Path, contacts: Sequence[Contact], count: int, settings_module: str
) -> str:
    """Send `count` more messages through a solo worker under cProfile; its top functions."""
    due = make_due(contacts, count, PROFILE_STEPS)
    stats_path = scratch / "worker.prof"
    worker = Worker(
        Sinks(scratch / "profile"), pool="solo", settings_module=settings_module, profile=stats_path
    )
    try:
        worker.wait_ready()
        outbox_run(broker, worker, due, "profiled")
    finally:
        worker.stop()
    if not stats_path.exists():
        raise BenchError("the profiled worker wrote no profile")
    text = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=text)
    rows = []
    for suffix, function, label in PROFILE_FOCUS:
        calls, seconds = 0, 0.0
        for (path, _, name), (_, ncalls, _, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
            if name == function and path.endswith(suffix):
                calls += ncalls
                seconds += cumtime
        rows.append([label, f"{calls / count:.1f}", f"{seconds / count * 1000:.2f}"])
    text.write(
        table(
            f"Where a send's time goes: cProfile of a solo worker sending {count:,} messages "
            "(per message; cProfile slows small calls, so read the shares)",
            ["", "calls", "ms"],
            rows,
        )
    )
    text.write("\n\nThe worker's top functions by cumulative time:\n")
    stats.strip_dirs().sort_stats("cumulative").print_stats(40)
    return text.getvalue()


# Functions whose cumulative time says where a send goes: (path suffix, name, label).
PROFILE_FOCUS = (
    ("celery/app/trace.py", "trace_task", "a task as Celery runs it, all below included"),
    ("followup/sending.py", "send_message", "  send_message, the task's body"),
    ("django/db/backends/utils.py", "_execute", "    queries through Django's cursor"),
    ("django/db/backends/base/base.py", "connect", "    opening a database connection"),
    ("django/db/transaction.py", "__exit__", "    COMMIT (leaving atomic)"),
    ("followup/sending.py", "_locked", "    the locking SELECT, models built"),
    ("followup/sending.py", "_sms_sent_this_week", "    the SMS cap query"),
    ("followup/message_kinds.py", "render", "    rendering the kind's wording, links"),
    ("followup/channels.py", "check_phone_number", "    checking the phone number"),
    ("followup/channels.py", "send", "    the channel's send (file backends)"),
    ("followup/sending.py", "_finish", "    the UPDATE to sent"),
    ("django/db/backends/postgresql/base.py", "is_usable", "  the connection's health check"),
    ("celery/fixups/django.py", "_close_database", "  closing the connection after the task"),
    ("logging/__init__.py", "_log", "  log lines written (Celery's and ours)"),
)


# --- Report ------------------------------------------------------------------------------


def describe_machine(broker: Broker, options: "Options") -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = str(cursor.fetchone()[0]).split(" ")[0]
    redis_version = broker.client.info("server")["redis_version"]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"PostgreSQL {postgres}, Redis {redis_version} (database {BENCH_REDIS_DB}), Python "
        f"{platform.python_version()}, Django {django.get_version()}, Celery "
        f"{celery.__version__}; {os.cpu_count()} CPUs ({platform.machine()}), load average "
        f"{load}. Worker: --pool {options.pool} --concurrency {options.concurrency}"
        " --loglevel INFO, settings "
        f"{options.worker_settings}."
    )


def round_ratios(runs: Sequence[Run]) -> list[float]:
    """Each outbox run's rate over the mean rate of the no-op runs either side of it. The
    machine's speed drifts (a shared virtual machine can lose a third of it for minutes);
    runs side by side share the drift, so a round's ratio holds where its rates do not."""
    return [
        run.rate / statistics.mean((runs[index - 1].rate, runs[index + 1].rate))
        for index, run in enumerate(runs)
        if run.label.startswith("outbox")
    ]


def throughput_table(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        claims = (
            f"{statistics.median(run.claim_ms):.1f} / {percentile(run.claim_ms, 0.95):.1f}"
            if run.claim_ms
            else ""
        )
        rows.append(
            [
                run.label,
                f"{run.count:,}",
                f"{run.publish_seconds:.1f}",
                f"{run.seconds:.1f}",
                f"{run.rate:,.0f}",
                claims,
            ]
        )
    return table(
        "Throughput: one process publishing (the dispatcher, or a loop publishing no-ops "
        "the same way), "
        "one worker (its pool as above) running the tasks; in run order",
        [
            "run",
            "tasks",
            "published after s",
            "all done after s",
            "per second",
            "claim ms/batch median / p95",
        ],
        rows,
    )


def cpu_table(runs: Sequence[Run]) -> str:
    parts = list(runs[0].cpu_seconds)
    rows = []
    for run in runs:
        per_task = [run.cpu_seconds[part] / run.count * 1000 for part in parts]
        busy = sum(run.cpu_seconds.values()) / run.seconds
        rows.append(
            [run.label, *(f"{ms:.2f}" for ms in per_task), f"{sum(per_task):.2f}", f"{busy:.2f}"]
        )
    return table(
        "CPU per task by process (ms, user + system, from /proc), and the cores kept busy "
        f"(of {os.cpu_count()})",
        ["run", *parts, "all", "cores busy"],
        rows,
    )


def claims_table(figures: Sequence[BatchFigures]) -> str:
    base = figures[0]
    return table(
        f"claim_due_batch(limit={settings.DISPATCH_BATCH_SIZE}): ms per batch, "
        f"{len(base.samples)} batches in a row as one dispatcher run makes them (after one "
        "untimed); the rows claimed before stay `sending` as in a run whose worker lags",
        [
            "future rows",
            "due rows at start",
            "median",
            "p95",
            "first",
            "last",
            "median ratio",
            "p95 ratio",
        ],
        [
            [
                f"{figure.future:,}",
                f"{figure.due:,}",
                f"{figure.median:.1f}",
                f"{figure.p95:.1f}",
                f"{figure.samples[0]:.1f}",
                f"{figure.samples[-1]:.1f}",
                f"{figure.median / base.median:.2f}",
                f"{figure.p95 / base.p95:.2f}",
            ]
            for figure in figures
        ],
    )


def tally_table(tallies: Sequence[Tally], future_touched: int, max_attempts: int) -> str:
    return table(
        "Lost and duplicated: the outbox's states against the sinks (SMS file lines by "
        "idempotency key, email files by Message-ID)",
        ["channel", "expected", "sent in outbox", "in sink", "lost", "duplicated", "unexpected"],
        [
            [
                t.channel,
                f"{t.expected:,}",
                f"{t.sent:,}",
                f"{t.delivered:,}",
                t.lost,
                t.duplicated,
                t.unexpected,
            ]
            for t in tallies
        ],
    ) + (
        f"\n\nFuture messages no longer scheduled: {future_touched}. "
        f"Most attempts of a due message: {max_attempts}."
    )


# --- Main --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    appointments: int
    due: int
    future: int
    noop: int
    rounds: int
    batches: int
    pool: str
    concurrency: int
    in_process: int
    profile: int
    explain: bool
    worker_settings: str


def progress(text: str) -> None:
    """Progress goes to stderr; stdout holds only the figures docs/performance.md quotes."""
    print(f"  {text}", file=sys.stderr, flush=True)


def run(options: Options, broker: Broker, scratch: Path) -> None:
    started = time.perf_counter()

    def elapsed() -> str:
        return f"{time.perf_counter() - started:.0f} s"

    print(describe_machine(broker, options))
    now = timezone.now()
    contacts = seed_clinic(options.appointments, now)
    progress(f"seeded {len(contacts):,} booked visits with their patients ({elapsed()})")

    claims = [time_claims(contacts, options.batches, future=0)]
    progress(f"timed claims with no future rows ({elapsed()})")
    copy_messages(
        message_rows(
            contacts, options.future, steps=FUTURE_STEPS, due_at=due_later(now), created=now
        )
    )
    vacuum_analyze()
    progress(f"seeded {options.future:,} future messages ({elapsed()})")
    claims.append(time_claims(contacts, options.batches, future=options.future))
    progress(f"timed claims with {options.future:,} future rows ({elapsed()})")

    runs: list[Run] = []
    rounds: list[RoundResult] = []
    sinks = Sinks(scratch / "worker")
    worker = Worker(
        sinks,
        pool=options.pool,
        settings_module=options.worker_settings,
        concurrency=options.concurrency,
    )
    try:
        worker.wait_ready()
        meter = open_meter(worker, broker)

        def noop(label: str) -> None:
            before = meter.read() if meter else {}
            runs.append(noop_run(broker, worker, options.noop, label))
            runs[-1].cpu_seconds = meter.since(before) if meter else {}
            progress(f"{label}: {runs[-1].rate:,.0f}/s ({elapsed()})")

        for index in range(options.rounds):
            due = make_due(contacts, options.due, DUE_STEPS)
            noop(f"no-op {index + 1}")
            before = meter.read() if meter else {}
            run_, result = outbox_run(broker, worker, due, f"outbox {index + 1}")
            run_.cpu_seconds = meter.since(before) if meter else {}
            runs.append(run_)
            rounds.append(result)
            progress(f"{run_.label}: {run_.rate:,.0f}/s ({elapsed()})")
            if index + 1 < options.rounds:
                delete_messages(DUE_STEPS)
        noop(f"no-op {options.rounds + 1}")
    finally:
        worker.stop()

    future_touched = (
        Message.objects.filter(**in_steps(FUTURE_STEPS))
        .exclude(state=MessageState.SCHEDULED)
        .count()
    )
    tallies = tally(rounds, sinks)
    outbox = statistics.median(run.rate for run in runs if run.label.startswith("outbox"))
    bare = statistics.median(run.rate for run in runs if run.label.startswith("no-op"))
    ratios = round_ratios(runs)
    live_claims = [ms for run in runs for ms in run.claim_ms]

    print(throughput_table(runs))
    if all(run.cpu_seconds for run in runs):
        print(cpu_table(runs))
    print(
        "\nOutbox over bare no-op, each round against the no-op runs either side of it: "
        f"{', '.join(f'{ratio:.2f}' for ratio in ratios)}; median ratio "
        f"{statistics.median(ratios):.2f} (target at least 0.50). Median rates: outbox "
        f"{outbox:,.0f} messages/s, no-op {bare:,.0f} tasks/s."
    )
    print(
        f"Dispatcher alone (claim and publish, while the worker runs): "
        f"{statistics.median(r.count / r.publish_seconds for r in runs if r.claim_ms):,.0f} "
        f"messages/s; claim per full batch in the live runs: median "
        f"{statistics.median(live_claims):.1f} ms, p95 {percentile(live_claims, 0.95):.1f} ms."
    )
    print(claims_table(claims))
    if options.explain:
        for figure in claims:
            print(f"\nPlan of the claim with {figure.future:,} future rows:\n{figure.plan}")
    print(tally_table(tallies, future_touched, max(r.max_attempts for r in rounds)))
    problems = future_touched > 0 or any(t.lost or t.duplicated or t.unexpected for t in tallies)
    if options.in_process:
        print(time_sends_in_process(contacts, options.in_process, scratch))
    if options.profile:
        print()
        print(profile_worker(broker, scratch, contacts, options.profile, options.worker_settings))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nTotal time {elapsed()}; load average now {load}.")
    if problems:
        raise BenchError("messages were lost or duplicated (see above)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--appointments", type=int, default=20_000, help="booked visits (20000)")
    parser.add_argument("--due", type=int, default=20_000, help="messages due now (20000)")
    parser.add_argument("--future", type=int, default=500_000, help="future messages (500000)")
    parser.add_argument("--noop", type=int, default=20_000, help="no-op tasks a run (20000)")
    parser.add_argument("--rounds", type=int, default=3, help="outbox rounds (3)")
    parser.add_argument("--batches", type=int, default=30, help="timed claims per case (30)")
    parser.add_argument("--pool", choices=("prefork", "solo", "threads"), default="prefork")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=settings.CELERY_WORKER_CONCURRENCY,
        help=f"the worker's pool size (WORKER_CONCURRENCY: {settings.CELERY_WORKER_CONCURRENCY})",
    )
    parser.add_argument(
        "--in-process",
        type=int,
        default=2_000,
        metavar="N",
        help="then time N sends in this process, without Celery (2000; 0 for none)",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="then profile N more sends (off)"
    )
    parser.add_argument("--explain", action="store_true", help="print the claim's plans")
    parser.add_argument(
        "--worker-settings",
        default="config.settings",
        metavar="MODULE",
        help="the worker's DJANGO_SETTINGS_MODULE (config.settings); to measure a proposed "
        "change, a module that imports config.settings and changes it",
    )
    options = Options(**vars(parser.parse_args()))
    # Each visit holds at most 100,000 rows of one role (see in_steps).
    largest = max(
        options.due,
        options.future,
        (options.batches + 1) * 500,
        options.profile,
        options.in_process,
    )
    if options.appointments < 2 or largest > options.appointments * 99_999:
        parser.error("too few --appointments for the messages asked for")
    if options.due < settings.DISPATCH_BATCH_SIZE:
        parser.error(
            f"--due below DISPATCH_BATCH_SIZE ({settings.DISPATCH_BATCH_SIZE}) times no claim"
        )

    if connection.vendor != "postgresql":
        sys.exit(
            "bench.dispatch needs PostgreSQL and Redis: the claim's FOR UPDATE SKIP LOCKED and "
            f"a real broker are what it measures, and this is {connection.vendor}. Run it as\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic "
            ".venv/bin/python -m bench.dispatch"
        )
    try:
        broker = open_broker()
    except BenchError as error:
        sys.exit(f"bench.dispatch: {error}")

    setup_test_environment()
    # Not test_<name>: the test suite may be using that one right now.
    connection.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as scratch:
            run(options, broker, Path(scratch))
    except BenchError as error:
        sys.exit(f"bench.dispatch: {error}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        broker.client.flushdb()
        broker.client.close()


if __name__ == "__main__":
    main()
