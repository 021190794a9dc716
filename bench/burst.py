"""Burst: 10,000 check-ins falling due at one moment, drained by one worker as compose runs it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.burst

Check-ins fall due at CHECK_IN_HOUR (10:00) at their location: a clinic network's whole
morning of them at once. This seeds `--check-ins` real check-ins (completed visits, their
procedures and episodes, one check-in each with its message, email and SMS in turn, for
patients who agreed to both) due at one moment T, and measures how long after T the last
of them is sent, with:

- one worker started with docker-compose.yml's worker command, read from the file, and the
  settings compose leaves at the app's defaults (WORKER_CONCURRENCY pool children, one task
  prefetched per child, late acks, the SMS caps);
- a Redis server of its own, started with the options of compose's (an append-only file
  synced every second, no eviction), on a free port;
- beat's dispatcher: this process publishes `dispatch_due_messages_task` every `--interval`
  seconds (DISPATCH_INTERVAL_SECONDS, 15 by default, which compose keeps), as beat does,
  and the worker runs it. The first tick after T comes `--phase` seconds after it: by
  default a whole interval, the worst case (the tick before ran just before T and found
  nothing due);
- the file backends of bench.dispatch as channels.

Each of `--runs` runs has check-ins of its own (new patients: no SMS cap holds one back),
written before the first run, due a month ahead until their run moves them to T. It creates
and drops its own database (`<name>_bench_burst`). Exits 1 if a message was lost or
duplicated; whether every drain met `--target` seconds it prints (a busy machine misses it
without the code being wrong, so `make bench` still records the figures).
"""

import os

if __name__ == "__main__":  # the real settings, as the worker has them
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ["STATIC_MANIFEST"] = "false"
    import django

    django.setup()

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from django.conf import settings
from django.db import connection
from django.db.models import Min, QuerySet
from django.test.utils import setup_test_environment, teardown_test_environment
from django.utils import timezone

from bench.report import CpuMeter, percentile, table
from booking.models import AppointmentStatus
from config.celery import app as celery_app
from followup.models import Channel, CheckIn, Message, MessageKind, MessageState
from followup.tasks import dispatch_due_messages_task
from tests.clinic import Clinic
from tests.faults import harness

COMPOSE_FILE = Path(settings.BASE_DIR) / "docker-compose.yml"
LEAD_SECONDS = 2.0  # from moving a run's check-ins to T until T
POLL_SECONDS = 0.2
SETTLE_SECONDS = 1.0  # after the last send, time for a late duplicate to show up


class BurstError(Exception):
    """The run cannot go on: say why."""


def compose_command(service: str) -> list[str]:
    """The command docker-compose.yml runs for `service`."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    return [str(part) for part in document["services"][service]["command"]]


# --- The check-ins ---------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """One run's check-ins and their messages (each run's rows are one range of ids)."""

    check_ins: tuple[int, int]
    messages: tuple[int, int]
    expected: dict[str, str]  # idempotency key -> channel

    @property
    def count(self) -> int:
        return len(self.expected)

    def rows(self) -> QuerySet[Message]:
        first, last = self.messages
        return Message.objects.filter(pk__gte=first, pk__lte=last)

    def fall_due(self, moment: datetime) -> None:
        """The check-ins and their messages due at `moment`, open for 72 hours from it."""
        first, last = self.check_ins
        CheckIn.objects.filter(pk__gte=first, pk__lte=last).update(
            due_at=moment, expires_at=moment + timedelta(hours=72)
        )
        self.rows().update(due_at=moment)


def seed_bursts(runs: int, count: int, now: datetime) -> list[Burst]:
    """`runs` bursts of `count` check-ins each, due a month ahead for now."""
    clinic = Clinic.create("Burst", clinicians=50)
    later = now + timedelta(days=30)
    bursts = []
    for run in range(runs):
        patients = clinic.patients(count, first_index=run * count)
        visits = clinic.visits(
            patients,
            first=now.replace(minute=0, second=0, microsecond=0) - timedelta(days=60 - 20 * run),
            status=AppointmentStatus.COMPLETED,
        )
        check_ins = clinic.check_ins(visits, due_at=later)
        messages = Message.objects.bulk_create(
            (
                Message(
                    appointment=visit,
                    patient=patient,
                    check_in=check_in,
                    kind=MessageKind.CHECK_IN,
                    channel=channel,
                    recipient=patient.email if channel == Channel.EMAIL else patient.phone.as_e164,
                    due_at=later,
                )
                for i, (visit, patient, check_in) in enumerate(
                    zip(visits, patients, check_ins, strict=True)
                )
                for channel in [Channel.EMAIL if i % 2 == 0 else Channel.SMS]
            ),
            batch_size=5_000,
        )
        check_in_ids = [check_in.pk for check_in in check_ins]
        message_ids = [message.pk for message in messages]
        bursts.append(
            Burst(
                check_ins=(min(check_in_ids), max(check_in_ids)),
                messages=(min(message_ids), max(message_ids)),
                expected={str(m.idempotency_key): m.channel for m in messages},
            )
        )
        if max(message_ids) - min(message_ids) + 1 != count:
            raise BurstError("a run's messages did not get one range of ids")
    with connection.cursor() as cursor:
        for model in (Message, CheckIn):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    return bursts


# --- A run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    check_ins: int
    runs: int
    interval: float
    phase: float
    target: float


@dataclass
class RunFigures:
    count: int
    first_tick: float  # seconds after T
    claimed: float  # no message of the run left `scheduled`, after T
    first_sent: float  # sent_at of the first message, after T
    drained: float  # the last message seen `sent`, after T
    sent: int
    lost: int
    duplicated: int
    cpu_ms: dict[str, float]  # per message, by process

    @property
    def sending_rate(self) -> float:
        return self.count / (self.drained - self.first_tick)


class Rig:
    """The worker, its Redis and its sinks, kept for all runs, as a deployment keeps them."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        redis_options = compose_command("redis")
        if redis_options[0] != "redis-server":
            raise BurstError(f"compose's redis command is not redis-server: {redis_options}")
        self.redis = harness.RedisServer(folder, options=redis_options[1:])
        worker_command = compose_command("worker")
        if worker_command[:4] != ["celery", "-A", "config", "worker"]:
            raise BurstError(f"compose's worker command is not a Celery worker: {worker_command}")
        self.worker_options = worker_command[4:]
        self.folder = folder
        self.worker: harness.Worker | None = None

    def start(self) -> harness.Worker:
        self.redis.start()
        env = harness.process_env(self.redis)
        self.worker = harness.Worker(
            "worker", env, harness.Sinks(self.folder / "worker"), options=self.worker_options
        )
        self.worker.wait_ready()
        return self.worker

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()
        self.redis.kill()

    def tick(self) -> None:
        """What beat does every DISPATCH_INTERVAL_SECONDS: publish the dispatcher's task."""
        with celery_app.connection_for_write(self.redis.url) as broker:
            dispatch_due_messages_task.apply_async(connection=broker)


def run_burst(rig: Rig, worker: harness.Worker, burst: Burst, options: Options) -> RunFigures:
    """Move the burst's check-ins to T, tick as beat does from T + phase, and wait until
    every message is `sent`."""
    meter = open_meter(worker, rig.redis)
    before = meter.read() if meter else {}
    moment = timezone.now() + timedelta(seconds=LEAD_SECONDS)
    burst.fall_due(moment)
    due = time.monotonic() + (moment - timezone.now()).total_seconds()
    deadline = due + options.phase + max(600.0, burst.count / 5)
    ticks, claimed = 0, None
    while burst.rows().exclude(state=MessageState.SENT).exists():
        now = time.monotonic()
        if now >= due + options.phase + ticks * options.interval:
            rig.tick()
            ticks += 1
        if claimed is None and ticks and not scheduled(burst):
            claimed = now - due
        worker.check()
        if now > deadline:
            raise BurstError(f"not every message was sent after {now - due:.0f} s")
        time.sleep(POLL_SECONDS)
    drained = time.monotonic() - due
    time.sleep(SETTLE_SECONDS)
    cpu = meter.since(before) if meter else {}
    first_sent = burst.rows().aggregate(first=Min("sent_at"))["first"]
    return RunFigures(
        count=burst.count,
        first_tick=options.phase,
        claimed=drained if claimed is None else claimed,
        first_sent=(first_sent - moment).total_seconds(),
        drained=drained,
        **tally(burst, worker),
        cpu_ms={part: seconds / burst.count * 1000 for part, seconds in cpu.items()},
    )


def scheduled(burst: Burst) -> bool:
    return burst.rows().filter(state=MessageState.SCHEDULED).exists()


def open_meter(worker: harness.Worker, redis_server: harness.RedisServer) -> CpuMeter | None:
    if redis_server.process is None:
        return None
    try:
        return CpuMeter(
            worker=worker.process.pid,
            postmaster=harness.postmaster_pid(),
            redis=redis_server.process.pid,
        )
    except (OSError, ValueError, IndexError):
        return None  # PostgreSQL on another machine: no CPU figures


def tally(burst: Burst, worker: harness.Worker) -> dict[str, int]:
    """The burst's messages `sent` in the outbox, lost (not both sent and in a sink) and
    duplicated (copies beyond the first in the sinks)."""
    copies = worker.sinks.keys()
    sent = {
        str(key)
        for key in burst.rows()
        .filter(state=MessageState.SENT)
        .values_list("idempotency_key", flat=True)
    }
    wanted = set(burst.expected)
    return {
        "sent": len(wanted & sent),
        "lost": len({key for key in wanted if key not in sent or key not in copies}),
        "duplicated": sum(copies[key] - 1 for key in wanted if copies[key] > 1),
    }


# --- Report ----------------------------------------------------------------------------


def describe(worker_options: Sequence[str], options: Options) -> str:
    return (
        f"{options.check_ins:,} check-ins due at T, one message each (email and SMS in turn); "
        f"{options.runs} run(s). Worker: `celery -A config worker {' '.join(worker_options)}` "
        f"(docker-compose.yml), {settings.CELERY_WORKER_CONCURRENCY} pool children "
        f"(WORKER_CONCURRENCY), prefetch multiplier {settings.CELERY_WORKER_PREFETCH_MULTIPLIER}"
        f", SMS caps {settings.SMS_MAX_PER_DAY} a day and {settings.SMS_MAX_PER_WEEK} a week; "
        f"Redis as compose starts it; the dispatcher's task published every "
        f"{options.interval:g} s, the first after T at T + {options.phase:g} s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start."
    )


def runs_table(results: Sequence[RunFigures]) -> str:
    parts = list(results[0].cpu_ms)
    return table(
        "Each run: seconds after T (when the check-ins fell due), messages sent per second "
        "from the first tick, and CPU per message by process (ms; PostgreSQL's includes "
        "every client of the server)",
        [
            "run",
            "first tick",
            "claimed",
            "first sent",
            "last sent",
            "per s",
            "sent",
            "lost",
            "duplicated",
            *(f"CPU {part}" for part in parts),
        ],
        [
            [
                index + 1,
                f"{figures.first_tick:.0f}",
                f"{figures.claimed:.1f}",
                f"{figures.first_sent:.1f}",
                f"{figures.drained:.1f}",
                f"{figures.sending_rate:.0f}",
                f"{figures.sent:,}",
                figures.lost,
                figures.duplicated,
                *(f"{figures.cpu_ms[part]:.2f}" for part in parts),
            ]
            for index, figures in enumerate(results)
        ],
    )


def verdict(results: Sequence[RunFigures], options: Options) -> str:
    drains = [figures.drained for figures in results]
    lost = sum(figures.lost for figures in results)
    duplicated = sum(figures.duplicated for figures in results)
    met = max(drains) <= options.target and lost == duplicated == 0
    return (
        f"\nDrained {options.check_ins:,} check-ins in median {statistics.median(drains):.1f} s, "
        f"p95 {percentile(drains, 0.95):.1f} s, longest {max(drains):.1f} s after T "
        f"(target {options.target:g} s); {lost} lost, {duplicated} duplicated: "
        f"{'met' if met else 'NOT met'}."
    )


# --- Main ------------------------------------------------------------------------------


def run_all(options: Options, folder: Path) -> list[RunFigures]:
    setup_test_environment()
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"{name}_bench_burst"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    rig = Rig(folder)
    try:
        bursts = seed_bursts(options.runs, options.check_ins, timezone.now())
        print(f"  seeded {options.runs} x {options.check_ins:,} check-ins", file=sys.stderr)
        worker = rig.start()
        results = []
        for index, burst in enumerate(bursts):
            results.append(run_burst(rig, worker, burst, options))
            print(f"  run {index + 1}: {results[-1].drained:.1f} s", file=sys.stderr, flush=True)
        return results
    finally:
        rig.stop()
        harness.terminate_backends()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    interval = settings.CELERY_BEAT_SCHEDULE["dispatch-due-messages"]["schedule"]
    parser.add_argument("--check-ins", type=int, default=10_000, help="due at T (10000)")
    parser.add_argument("--runs", type=int, default=3, help="bursts, one after another (3)")
    parser.add_argument(
        "--interval",
        type=float,
        default=interval,
        help=f"seconds between the dispatcher's ticks (DISPATCH_INTERVAL_SECONDS: {interval:g})",
    )
    parser.add_argument(
        "--phase", type=float, help="seconds from T to the first tick (default: the interval)"
    )
    parser.add_argument("--target", type=float, default=120.0, help="drain within (120 s)")
    parser.add_argument("--keep", type=Path, metavar="FOLDER", help="keep logs and sinks here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench.burst needs PostgreSQL: set DATABASE_URL=postgres://…")
    if not 0 < arguments.runs * arguments.check_ins <= 40_000:
        parser.error("--runs x --check-ins must be between 1 and 40,000 (patients' numbers)")
    phase = arguments.interval if arguments.phase is None else arguments.phase
    options = Options(
        arguments.check_ins, arguments.runs, arguments.interval, phase, arguments.target
    )
    # SIGTERM unwinds like Ctrl-C: the worker, Redis and the database go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench.burst: terminated"))
    rig_options = compose_command("worker")[4:]
    try:
        if arguments.keep:
            results = run_all(options, arguments.keep)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-burst-") as scratch:
                results = run_all(options, Path(scratch))
    except (BurstError, harness.FaultError) as error:
        sys.exit(f"bench.burst: {error}")
    if arguments.json:
        print(json.dumps({"runs": [asdict(figures) for figures in results]}))
    else:
        print(describe(rig_options, options))
        print(runs_table(results))
        print(verdict(results, options))
    if any(figures.lost or figures.duplicated for figures in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
