"""The fault harness: a scenario's throwaway database, Redis server, Celery workers and
dispatcher processes, the faults it injects while they send, and the count of each message's
copies in the sinks. `bench.faults` runs every scenario with many messages and reports the
figures (docs/performance.md, "Faults"); tests/faults/test_faults.py runs them with few.
PostgreSQL only; the workers and dispatchers run with the real settings (`process_env`).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from booking.models import (
    AppointmentSource,
    AppointmentStatus,
    Patient,
    WaitlistEntry,
    WaitlistOffer,
)
from followup.models import (
    Alert,
    AnswerRoute,
    Channel,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Message,
    MessageKind,
    MessageState,
    SideEffect,
)
from tests.clinic import Clinic
from tests.processes import free_port, parent_pid

QUEUE = "celery"  # Celery's default queue: each scenario has a Redis server of its own
START_SECONDS = 90  # a worker or Redis server that is not up by then has failed
SETTLE_SECONDS = 1.0  # after the last send, time for a late duplicate to show up
POLL_SECONDS = 0.1
MESSAGE_ID = re.compile(rb"^Message-ID: <([^@>]+)@", re.MULTILINE)


class FaultError(Exception):
    """The run cannot go on: say why."""


# --- Processes --------------------------------------------------------------------------


def database_url(settings_dict: dict) -> str:
    """DATABASE_URL for a Django database settings dict, to hand to another process."""
    credentials = ""
    if settings_dict.get("USER"):
        credentials = quote(settings_dict["USER"], safe="")
        if settings_dict.get("PASSWORD"):
            credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
        credentials += "@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise FaultError(f"{what}: not done in {seconds:.0f} s")
        time.sleep(POLL_SECONDS)


# A scenario's Redis keeps nothing on disk: restarted, it is empty.
FORGETFUL = ("--save", "", "--appendonly", "no")


class RedisServer:
    """A `redis-server` of the run's own on a free port, with `options`, that can be killed."""

    def __init__(self, folder: Path, options: Sequence[str] = FORGETFUL) -> None:
        self.folder = folder
        self.options = options
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis.from_url(self.url)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", *self.options, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--daemonize", "no"]
        command += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        try:
            self.process = subprocess.Popen(command)
        except FileNotFoundError as error:
            raise FaultError("redis-server is not installed") from error
        wait_until(self._answers, START_SECONDS, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def queued(self) -> int:
        return int(self.client.llen(QUEUE))

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.client.connection_pool.disconnect()


@dataclass
class Sinks:
    """Where one worker's file backends write."""

    folder: Path

    @property
    def sms(self) -> Path:
        return self.folder / "sms" / "sent.jsonl"

    @property
    def email(self) -> Path:
        return self.folder / "email"

    def sms_keys(self) -> Counter[str]:
        """Copies of each idempotency key among the SMS lines."""
        if not self.sms.exists():
            return Counter()
        lines = self.sms.read_text(encoding="utf-8").splitlines()
        return Counter(str(json.loads(line)["key"]) for line in lines)

    def email_keys(self) -> Counter[str]:
        """Copies of each idempotency key in the emails' Message-ID headers (the file backend
        may write several emails to one file)."""
        found: Counter[str] = Counter()
        if self.email.exists():
            for path in self.email.iterdir():
                found.update(key.decode() for key in MESSAGE_ID.findall(path.read_bytes()))
        return found

    def keys(self) -> Counter[str]:
        """Copies of each idempotency key, SMS and email."""
        return self.sms_keys() + self.email_keys()


class Process:
    """A child process of the harness in its own process group, logging to a file."""

    def __init__(self, command: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.killed = False  # by the harness, on purpose
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check(self) -> None:
        if not self.killed and self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3_000:]
            raise FaultError(f"{self.log.name} exited with {self.process.returncode}:\n{tail}")

    def kill(self) -> None:
        """SIGKILL the process and every process it started, as a lost machine would."""
        self.killed = True
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (a Celery worker's warm shutdown), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# A parent reading the broker and one pool child running the tasks.
ONE_CHILD = (
    *("--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO"),
    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
)


class Worker(Process):
    """`celery -A config worker` with `options`, its sinks in a folder of its own."""

    def __init__(
        self, name: str, env: dict[str, str], sinks: Sinks, options: Sequence[str] = ONE_CHILD
    ) -> None:
        sinks.folder.mkdir(parents=True)
        env = {**env, "SMS_FILE_PATH": str(sinks.sms), "EMAIL_FILE_PATH": str(sinks.email)}
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-n", f"{name}@%h"]
        command += options
        log = sinks.folder / f"{name}.log"
        super().__init__(command, {**env, "PGAPPNAME": f"faults-{name}"}, log)
        self.sinks = sinks

    def wait_ready(self) -> None:
        def ready() -> bool:
            self.check()
            return " ready." in self.log.read_text(errors="replace")

        wait_until(ready, START_SECONDS, f"{self.log.stem} ready")

    def pool_children(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return [int(pid) for pid in found]

    def kill_pool_child(self) -> None:
        """SIGKILL the process running the tasks; its parent lives and starts another. The
        parent may still be starting the one after an earlier kill: wait for it."""
        children: list[int] = []

        def started() -> bool:
            self.check()
            children[:] = self.pool_children()
            return bool(children)

        wait_until(started, START_SECONDS, "a pool child to kill")
        for pid in children:
            os.kill(pid, signal.SIGKILL)


def process_env(redis_server: RedisServer) -> dict[str, str]:
    """The environment of a worker or dispatcher: the real settings, on this process's
    database and `redis_server`, sending to the file backends."""
    keep = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": keep.get("SECRET_KEY", "bench-only-not-secret"),
        "STATIC_MANIFEST": "false",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_server.url,
        "SMS_BACKEND": "followup.channels.FileSmsBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "LOG_LEVEL": "INFO",
    }


# --- A scenario's world -----------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    messages: int  # due messages a scenario sends
    reclaim_seconds: int  # MESSAGE_SENDING_TIMEOUT_SECONDS for the run
    dispatch_interval: float  # seconds between a dispatcher's runs


@contextmanager
def scenario_database(suffix: str) -> Iterator[None]:
    """A clone of the current (test) database, used by this process until the block ends."""
    creation = connection.creation
    creation.clone_test_db(suffix=suffix, verbosity=0)
    source = connection.settings_dict["NAME"]
    clone = creation.get_test_db_clone_settings(suffix)["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = clone
    try:
        yield
    finally:
        terminate_backends()  # whatever a killed worker left behind
        connection.close()
        connection.settings_dict["NAME"] = source
        creation.destroy_test_db(verbosity=0, suffix=suffix)


def postmaster_pid() -> int:
    """The PostgreSQL server's main process, when it runs on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return parent_pid(int(cursor.fetchone()[0]))


def terminate_backends(application: str = "faults-%") -> int:
    """pg_terminate_backend every connection of the scenario's processes to its database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE %s",
            [application],
        )
        return int(cursor.fetchone()[0])


# What a scenario sends, in turn: every kind of message, by a channel it goes by.
MIX = (
    (MessageKind.REMINDER, Channel.EMAIL),
    (MessageKind.REMINDER, Channel.SMS),
    (MessageKind.CHECK_IN, Channel.EMAIL),
    (MessageKind.CHECK_IN, Channel.SMS),
    (MessageKind.APPOINTMENT_BOOKED, Channel.EMAIL),  # with the visit's .ics
    (MessageKind.WAITLIST_OFFER, Channel.SMS),
    (MessageKind.ALERT, Channel.EMAIL),  # to the treating clinician
)
ABOUT_A_VISIT = {MessageKind.REMINDER, MessageKind.APPOINTMENT_BOOKED}
AFTER_A_PROCEDURE = {MessageKind.CHECK_IN, MessageKind.ALERT}


def label(kind: str, channel: str) -> str:
    return f"{kind} {channel}"


def seed_due_messages(count: int, *, spread: timedelta = timedelta()) -> dict[str, str]:
    """`count` messages of every kind in turn (MIX), due from now over `spread`, each about
    a visit, check-in, offer or alert of its own; returns each message's idempotency key
    and what it is (its kind and channel)."""
    now = timezone.now()
    clinic = Clinic.create("Faults")
    clinician = clinic.clinicians[0]
    patients = clinic.patients(count)
    mix = [MIX[j % len(MIX)] for j in range(count)]
    ahead = [j for j, (kind, _) in enumerate(mix) if kind in ABOUT_A_VISIT]
    after = [j for j, (kind, _) in enumerate(mix) if kind in AFTER_A_PROCEDURE]
    offered = [j for j, (kind, _) in enumerate(mix) if kind == MessageKind.WAITLIST_OFFER]
    hour = now.replace(minute=0, second=0, microsecond=0)
    booked = clinic.visits(
        [patients[j] for j in ahead],
        first=hour + timedelta(days=2),
        status=AppointmentStatus.BOOKED,
    )
    completed = clinic.visits(
        [patients[j] for j in after],
        first=hour - timedelta(days=30),
        status=AppointmentStatus.COMPLETED,
    )
    check_ins = clinic.check_ins(completed, due_at=now - timedelta(minutes=1))
    visit_of = dict(zip(ahead + after, booked + completed, strict=True))
    check_in_of = dict(zip(after, check_ins, strict=True))
    alerted = [j for j in after if mix[j][0] == MessageKind.ALERT]
    alert_of = dict(zip(alerted, raise_alerts([check_in_of[j] for j in alerted], now), strict=True))
    offer_of = dict(
        zip(offered, offer_times(clinic, [patients[j] for j in offered], now), strict=True)
    )
    messages = Message.objects.bulk_create(
        Message(
            appointment=visit_of.get(j),
            patient=None if kind == MessageKind.ALERT else patients[j],
            check_in=None if kind == MessageKind.ALERT else check_in_of.get(j),
            waitlist_offer=offer_of.get(j),
            alert=alert_of.get(j),
            kind=kind,
            channel=channel,
            minutes_before=120 if kind == MessageKind.REMINDER else 0,
            recipient=(
                clinician.user.email
                if kind == MessageKind.ALERT
                else patients[j].email
                if channel == Channel.EMAIL
                else patients[j].phone.as_e164
            ),
            due_at=now - timedelta(minutes=1) + spread * j / count,
        )
        for j, (kind, channel) in enumerate(mix)
    )
    return {
        str(message.idempotency_key): label(message.kind, message.channel) for message in messages
    }


def raise_alerts(check_ins: list[CheckIn], now: datetime) -> list[Alert]:
    """A red-flag answer to each check-in, and its alert to the treating clinician."""
    answers = CheckInAnswer.objects.bulk_create(
        CheckInAnswer(
            check_in=check_in,
            pain=10,
            side_effects=[SideEffect.FEVER],
            route=AnswerRoute.WEB,
            first_answered_at=now,
            answered_at=now,
        )
        for check_in in check_ins
    )
    CheckIn.objects.filter(pk__in=[c.pk for c in check_ins]).update(state=CheckInState.ANSWERED)
    return Alert.objects.bulk_create(
        Alert(answer=answer, clinician=check_in.episode.procedure.performed_by, reasons=["Fever"])
        for answer, check_in in zip(answers, check_ins, strict=True)
    )


def offer_times(clinic: Clinic, patients: list[Patient], now: datetime) -> list[WaitlistOffer]:
    """A waitlist place for each patient, and a time offered to it, held for a day."""
    entries = WaitlistEntry.objects.bulk_create(
        WaitlistEntry(patient=patient, site=clinic.site, source=AppointmentSource.ONLINE)
        for patient in patients
    )
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    return WaitlistOffer.objects.bulk_create(
        WaitlistOffer(
            entry=entry,
            site=clinic.site,
            clinician=clinic.clinicians[0],
            location=clinic.location,
            start=start,
            expires_at=now + timedelta(days=1),
        )
        for entry in entries
    )


@dataclass
class Stage:
    """One scenario's running world: its database, Redis, sinks and processes."""

    folder: Path
    options: Options
    redis: RedisServer
    expected: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    dispatchers: list[Process] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    sigkills: int = 0  # processes killed while sending

    def env(self) -> dict[str, str]:
        return {
            **process_env(self.redis),
            "MESSAGE_SENDING_TIMEOUT_SECONDS": str(self.options.reclaim_seconds),
            # Start-up wants it under a third of the reclaim; the file sinks never wait.
            "PROVIDER_TIMEOUT_SECONDS": str((self.options.reclaim_seconds - 1) // 3),
            "SMS_MAX_PER_DAY": "1000000",  # no benchmark message is rerouted or held back
            "SMS_MAX_PER_WEEK": "1000000",
        }

    def start(self, *, workers: int = 1, dispatchers: int = 1) -> None:
        """Start the processes, all at once, and wait until the workers are ready."""
        started = [self.add_worker() for _ in range(workers)]
        for _ in range(dispatchers):
            self.add_dispatcher()
        for worker in started:
            worker.wait_ready()

    def add_worker(self) -> Worker:
        name = f"worker-{len(self.workers) + 1}"
        worker = Worker(name, self.env(), Sinks(self.folder / name))
        self.workers.append(worker)
        return worker

    def add_dispatcher(self) -> None:
        name = f"dispatcher-{len(self.dispatchers) + 1}"
        command = [sys.executable, "-m", "tests.faults.dispatcher"]
        command += [str(self.options.dispatch_interval)]
        env = {**self.env(), "PGAPPNAME": f"faults-{name}"}
        self.dispatchers.append(Process(command, env, self.folder / f"{name}.log"))

    def sent(self) -> int:
        return Message.objects.filter(state=MessageState.SENT).count()

    def wait_sent(self, share: float, seconds: float | None = None) -> None:
        """Until `share` of the messages are `sent`, while every live process stays up."""
        goal = share * len(self.expected)

        def reached() -> bool:
            for process in [*self.dispatchers, *self.workers]:
                process.check()
            return self.sent() >= goal

        limit = seconds or START_SECONDS + len(self.expected) / 5 + 3 * self.options.reclaim_seconds
        wait_until(reached, limit, f"{share:.0%} of the messages sent")

    def sigkill(self, worker: Worker, *, whole: bool) -> None:
        if whole:
            worker.kill()
        else:
            worker.kill_pool_child()
        self.sigkills += 1
        self.note("worker SIGKILLed" if whole else "pool child SIGKILLed")

    def note(self, event: str) -> None:
        self.events.append(f"{event} at {self.sent():,} sent")

    def stop(self) -> None:
        for process in [*self.dispatchers, *self.workers]:
            process.stop()


# --- Scenarios --------------------------------------------------------------------------


def worker_child_killed(stage: Stage) -> None:
    stage.start()
    for share in (0.2, 0.45, 0.7):
        stage.wait_sent(share)
        stage.sigkill(stage.workers[0], whole=False)


def worker_killed(stage: Stage) -> None:
    stage.start()
    stage.wait_sent(0.4)
    stage.sigkill(stage.workers[0], whole=True)
    stage.add_worker()


def redis_restarted(stage: Stage) -> None:
    stage.start()
    stage.wait_sent(0.2)
    queued = stage.redis.queued()
    stage.redis.kill()
    stage.note(f"Redis killed with {queued:,} sends queued")
    time.sleep(1)  # the worker and the dispatcher find it gone
    stage.redis.start()
    stage.note(f"Redis started empty ({stage.redis.queued()} queued)")


def two_dispatchers_two_workers(stage: Stage) -> None:
    stage.start(workers=2, dispatchers=2)


def database_connections_dropped(stage: Stage) -> None:
    stage.start()
    for share in (0.2, 0.45, 0.7):
        stage.wait_sent(share)
        stage.note(f"{terminate_backends()} backends terminated")


@dataclass(frozen=True)
class Scenario:
    name: str
    slug: str
    run: Callable[[Stage], None]
    spread_seconds: float = 0.0  # messages fall due over this long instead of all at once


SCENARIOS = (
    Scenario("worker child killed", "child", worker_child_killed),
    Scenario("worker killed", "worker", worker_killed),
    Scenario("Redis restarted", "redis", redis_restarted),
    Scenario("two dispatchers, two workers", "parallel", two_dispatchers_two_workers, 10.0),
    Scenario("PostgreSQL connections dropped", "postgres", database_connections_dropped),
)


@dataclass(frozen=True)
class KindFigures:
    expected: int
    lost: int
    duplicated: int


@dataclass
class Figures:
    scenario: str
    expected: int
    sent: int  # expected messages `sent` in the outbox
    delivered: int  # expected messages found in the sinks
    lost: int  # expected, and not both sent and in a sink
    duplicated: int  # copies beyond the first in the sinks
    unexpected: int  # sink entries of no expected message
    sigkills: int  # each may leave one message sent and not yet recorded: sent again
    seconds: float
    events: list[str]
    by_kind: dict[str, KindFigures]  # by label(): each kind and channel of MIX

    @property
    def correct(self) -> bool:
        return self.lost == self.unexpected == 0 and self.duplicated <= self.sigkills


def tally(stage: Stage, seconds: float) -> Figures:
    copies: Counter[str] = Counter()
    for worker in stage.workers:
        copies.update(worker.sinks.keys())
    sent = {
        str(key)
        for key in Message.objects.filter(state=MessageState.SENT).values_list(
            "idempotency_key", flat=True
        )
    }
    wanted = set(stage.expected)

    def of_kind(what: str) -> KindFigures:
        keys = {key for key, label in stage.expected.items() if label == what}
        return KindFigures(
            expected=len(keys),
            lost=len({key for key in keys if key not in sent or key not in copies}),
            duplicated=sum(copies[key] - 1 for key in keys if copies[key] > 1),
        )

    return Figures(
        scenario="",
        expected=len(wanted),
        sent=len(wanted & sent),
        delivered=len(wanted & set(copies)),
        lost=len({key for key in wanted if key not in sent or key not in copies}),
        duplicated=sum(count - 1 for count in copies.values() if count > 1),
        unexpected=sum(count for key, count in copies.items() if key not in wanted),
        sigkills=stage.sigkills,
        seconds=seconds,
        events=stage.events,
        by_kind={what: of_kind(what) for what in dict.fromkeys(stage.expected.values())},
    )


def run_scenario(scenario: Scenario, options: Options, folder: Path) -> Figures:
    """Run one scenario in its own database, Redis server and sink folder; count."""
    folder = folder / scenario.slug
    folder.mkdir(parents=True)
    redis_server = RedisServer(folder)
    redis_server.start()
    try:
        with scenario_database(f"faults_{scenario.slug}"):
            stage = Stage(folder, options, redis_server)
            stage.expected = seed_due_messages(
                options.messages, spread=timedelta(seconds=scenario.spread_seconds)
            )
            started = time.monotonic()
            try:
                scenario.run(stage)
                stage.wait_sent(1.0)
                wait_until(lambda: stage.redis.queued() == 0, 120, "the queue emptied")
                time.sleep(SETTLE_SECONDS)
            finally:
                stage.stop()
            figures = tally(stage, time.monotonic() - started)
    finally:
        redis_server.kill()
    figures.scenario = scenario.name
    return figures
