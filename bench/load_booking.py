"""Contested booking under load: many clients race for the same free times over the public
API, served by gunicorn on PostgreSQL, beside bare INSERTs into a table with the same
exclusion constraint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic \\
        .venv/bin/python -m bench.load_booking

PostgreSQL only (its exclusion constraint is what is under test). In one run it:

1. creates its own throwaway database (`test_<name>_load`, not the suite's `test_<name>`)
   with Django's test-database machinery, and seeds a clinic of ten clinicians who inject
   `lumbar`, Monday to Friday 08:00-17:00 (bench.availability's clinic, with no bookings);
2. picks `--slots` free slots, none overlapping another of the same clinician, so each slot
   can be booked exactly once;
3. starts `--servers` gunicorn processes (`config.wsgi:application`, `--workers` sync
   workers each, as in production), each on a free loopback port of its own against the
   one database, with DEBUG off and `PUBLIC_API_RATE=0` (no rate limit: every client comes
   from 127.0.0.1). Each booking's confirmation email is an outbox row; no dispatcher or
   worker runs, so nothing is sent and no broker is shared;
4. starts `--clients` threads, each with its own HTTP connection, spread evenly over the
   slots and round-robin over the servers (so each slot is contested through every
   server), and releases them together with a barrier: each POSTs a full booking (its own
   patient, the slot's clinician) to `/api/v1/appointments/`;
5. the same race as bare INSERTs through psycopg into a scratch table carrying a copy of the
   appointments' exclusion constraint: the same threads and slots, sharing a pool of as
   many connections as the servers have workers in all, as the HTTP clients share them;
6. counts overlapping active rows in both tables with SQL, prints the figures, stops
   the servers and drops the database, and exits 1 if a correctness figure is wrong
   (successes != slots, any 5xx or unanswered request, any overlap).

Latency is from the barrier's release to the end of the answer (or commit), so it includes
the wait for a free worker (or pooled connection). Rates divide by the wall time from the
release to the last answer. Progress goes to stderr; `--json` prints the figures as JSON.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ["PUBLIC_API_RATE"] = "0"  # the in-process requests come from one address too

import django

django.setup()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import queue  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402
from psycopg import sql  # noqa: E402

from bench.availability import (  # noqa: E402
    SITE_SLUG,
    describe_machine,
    first_monday_after,
    seed_group,
    seed_location,
)
from bench.report import percentile, table  # noqa: E402
from booking.availability import Slot, free_slots  # noqa: E402
from booking.models import ACTIVE_STATUSES, Site  # noqa: E402
from booking.services import NO_OVERLAP_CONSTRAINT  # noqa: E402
from tests.processes import free_port, stop_process  # noqa: E402

BOOKING_PATH = "/api/v1/appointments/"
READY_PATH = "/api/v1/sites/"
SEARCH_DAYS = 14  # where the slots are picked from, starting on a Monday
SERVER_START_SECONDS = 60
CLIENT_TIMEOUT_SECONDS = 120
BARE_TABLE = "load_bare_insert"
ACCESS_LOG = "access-*.log"  # one per server


class BenchError(Exception):
    """The benchmark cannot go on: say why."""


# --- The race ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One client's attempt: `result` is the HTTP status, or what the INSERT did."""

    result: str
    started: float
    finished: float
    alternatives: int = 0  # free times offered with a 409

    @property
    def seconds(self) -> float:
        return self.finished - self.started


Attempt = Callable[[Callable[[], object]], Outcome]  # called with the barrier's wait


def race(attempts: Sequence[Attempt]) -> tuple[list[Outcome], float]:
    """Run each attempt in its own thread, all released at once; also the wall time from
    the release to the last finish."""
    released: list[float] = []
    barrier = threading.Barrier(len(attempts), action=lambda: released.append(time.perf_counter()))
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def run(attempt: Attempt) -> None:
        outcome = attempt(barrier.wait)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(outcomes) != len(attempts):
        raise BenchError(f"{len(attempts) - len(outcomes)} clients failed before the race")
    return outcomes, max(outcome.finished for outcome in outcomes) - released[0]


@dataclass(frozen=True)
class Timing:
    p50_ms: float
    p95_ms: float
    wall_seconds: float
    successes_per_second: float
    attempts_per_second: float


def timing(outcomes: Sequence[Outcome], wall: float, successes: int) -> Timing:
    latencies = [outcome.seconds * 1000 for outcome in outcomes]
    return Timing(
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        wall_seconds=wall,
        successes_per_second=successes / wall,
        attempts_per_second=len(outcomes) / wall,
    )


# --- The clinic and its contested slots -----------------------------------------------------


def contested_slots(count: int) -> list[Slot]:
    """`count` free slots, earliest first, none overlapping another of its clinician."""
    site = Site.objects.get(slug=SITE_SLUG)
    held = held_time(site)
    location = seed_location()
    seed_group(site, location, "load")
    first_day = first_monday_after(timezone.localdate(timezone.now(), location.zone), days=2)
    chosen: list[Slot] = []
    for slot in free_slots(
        site=site, first_day=first_day, last_day=first_day + timedelta(days=SEARCH_DAYS - 1)
    ):
        clash = any(
            taken.clinician_id == slot.clinician_id and taken.start + held > slot.start
            for taken in chosen
        )
        if not clash:
            chosen.append(slot)
        if len(chosen) == count:
            return chosen
    raise BenchError(f"only {len(chosen)} separate free slots in {SEARCH_DAYS} days")


def held_time(site: Site) -> timedelta:
    """How long one booking holds its clinician: the consult and the buffer after it."""
    return timedelta(minutes=site.duration_minutes + site.buffer_after_minutes)


def assign(slots: Sequence[Slot], clients: int) -> list[Slot]:
    """The slot each client tries for, in even runs of neighbours (clients 0-3 the first
    slot, 4-7 the next, ...), so a slot's clients reach the workers together."""
    return [slots[number * len(slots) // clients] for number in range(clients)]


# --- The booking API under gunicorn ---------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL with the bench database's name, for gunicorn."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


@contextmanager
def gunicorns(servers: int, workers: int, folder: Path) -> Iterator[list[int]]:
    """`servers` gunicorn processes side by side, as replicas behind a load balancer; yields
    their ports once every one answers, and stops them all whatever happens."""
    with ExitStack() as stack:
        yield [stack.enter_context(gunicorn(workers, folder, n)) for n in range(servers)]


@contextmanager
def gunicorn(workers: int, folder: Path, number: int) -> Iterator[int]:
    """gunicorn serving the bench database on a free loopback port, logging into `folder`;
    yields the port and stops the server (SIGTERM, then SIGKILL if it hangs) whatever
    happens."""
    port = free_port()
    log = folder / f"gunicorn-{number}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "PUBLIC_API_RATE": "0",
        "STATIC_MANIFEST": "false",
        # Celery reads this before its settings: nothing reaches a shared broker.
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)  # the cache too stays in the worker (throttling is off)
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync"),
        # Loaded once before forking, so every worker is ready when the first answers.
        *("--preload", "--timeout", str(CLIENT_TIMEOUT_SECONDS), "--log-level", "warning"),
        # Method, status and time in the worker (microseconds) of every request.
        *("--access-logfile", str(folder / ACCESS_LOG.replace("*", str(number)))),
        *("--access-logformat", "%(m)s %(s)s %(D)s"),
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - this interpreter, our arguments
            command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(server, port, log)
        yield port
    finally:
        stop_process(server, grace=30)


def wait_ready(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-3_000:]
            raise BenchError(f"gunicorn exited with {server.returncode}:\n{tail}")
        try:
            if request(port, "GET", READY_PATH)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer {READY_PATH} in {SERVER_START_SECONDS} s")


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_SECONDS)
    try:
        client.request(method, path, body, {"Content-Type": "application/json"})
        response = client.getresponse()
        return response.status, response.read()
    finally:
        client.close()


def booking_body(number: int, slot: Slot) -> bytes:
    """A full online booking of `slot` by patient `number`, who is new to the clinic."""
    return json.dumps(
        {
            "site": SITE_SLUG,
            "start": slot.start.isoformat(),
            "clinician": slot.clinician_id,
            "patient": {
                "first_name": "Load",
                "last_name": f"Client {number}",
                "date_of_birth": "1980-01-01",
                "email": f"load.client{number}@example.org",
                "phone": f"+1860555{number % 10_000:04d}",
            },
            "baseline_pain": 6,
            "reminders": {"email": True, "sms": True},
        }
    ).encode()


def booking_attempt(port: int, body: bytes) -> Attempt:
    def attempt(wait: Callable[[], object]) -> Outcome:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_SECONDS)
        try:
            client.connect()
            wait()
            started = time.perf_counter()
            try:
                client.request("POST", BOOKING_PATH, body, {"Content-Type": "application/json"})
                response = client.getresponse()
                answer = response.read()
            except OSError as error:
                return Outcome(f"no answer: {error!r}", started, time.perf_counter())
            finished = time.perf_counter()
        finally:
            client.close()
        offered = 0
        if response.status == 409:
            offered = len(json.loads(answer).get("alternatives", []))
        return Outcome(str(response.status), started, finished, offered)

    return attempt


@dataclass(frozen=True)
class BookingFigures:
    attempts: int
    successes: int
    conflicts: int
    conflicts_with_alternatives: int
    other_4xx: int
    server_errors: int
    no_answer: int
    overlaps: int
    timing: Timing
    worker_ms: dict[str, float]  # median time in the worker, by status


def worker_times(access_logs: Sequence[Path]) -> dict[str, float]:
    """Median milliseconds a gunicorn worker spent on a booking, by status: the latency
    without the wait for a free worker."""
    by_status: dict[str, list[float]] = {}
    lines = [line for log in access_logs for line in log.read_text().splitlines()]
    for line in lines:
        method, status, micros = line.split()
        if method == "POST":
            by_status.setdefault(status, []).append(int(micros) / 1000)
    return {status: percentile(times, 0.5) for status, times in sorted(by_status.items())}


def book_race(ports: Sequence[int], assigned: Sequence[Slot], folder: Path) -> BookingFigures:
    """Client n books through server n mod servers: a slot's neighbouring clients reach
    different servers, so the race for it crosses processes."""
    outcomes, wall = race(
        [
            booking_attempt(ports[n % len(ports)], booking_body(n, slot))
            for n, slot in enumerate(assigned)
        ]
    )
    answered = [o for o in outcomes if o.result.isdigit()]
    conflicts = [o for o in answered if o.result == "409"]
    successes = sum(o.result == "201" for o in answered)
    return BookingFigures(
        attempts=len(outcomes),
        successes=successes,
        conflicts=len(conflicts),
        conflicts_with_alternatives=sum(o.alternatives > 0 for o in conflicts),
        other_4xx=sum(o.result.startswith("4") and o.result != "409" for o in answered),
        server_errors=sum(o.result.startswith("5") for o in answered),
        no_answer=len(outcomes) - len(answered),
        overlaps=overlapping_rows(sql.Identifier("booking_appointment")),
        timing=timing(outcomes, wall, successes),
        worker_ms=worker_times(sorted(folder.glob(ACCESS_LOG))),
    )


def booking_queries(*, free: Slot, taken: Slot) -> dict[str, int]:
    """SQL queries of a booking that succeeds and of one that finds its time taken, through
    Django's test client in this process. They include the outbox rows a booking writes in
    its transaction (its confirmation email and reminders), as under gunicorn."""
    counts: dict[str, int] = {}
    client = Client()
    for expected, slot in (("201", free), ("409", taken)):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                BOOKING_PATH,
                booking_body(10_000 + len(counts), slot),
                content_type="application/json",
            )
        if str(response.status_code) != expected:
            raise BenchError(f"a booking to count queries got {response.status_code}")
        counts[expected] = len(queries)
    return counts


# --- Bare INSERTs under the same constraint -------------------------------------------------


def create_bare_table() -> None:
    """A table of just the constrained columns, with a copy of the appointments' exclusion
    constraint (read back from the catalogue, so it is the same one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            [NO_OVERLAP_CONSTRAINT],
        )
        (definition,) = cursor.fetchone()
        cursor.execute(
            sql.SQL(
                "CREATE TABLE {table} (id bigserial PRIMARY KEY, clinician_id bigint NOT NULL, "
                "start timestamptz NOT NULL, blocked_until timestamptz NOT NULL, "
                "status varchar(20) NOT NULL); ALTER TABLE {table} ADD CONSTRAINT {name} {rule}"
            )
            .format(
                table=sql.Identifier(BARE_TABLE),
                name=sql.Identifier(f"{BARE_TABLE}_no_overlap"),
                rule=sql.SQL(definition),
            )
            .as_string()
        )


def connect() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    )


def insert_attempt(
    pool: "queue.Queue[psycopg.Connection]", slot: Slot, until: timedelta
) -> Attempt:
    def attempt(wait: Callable[[], object]) -> Outcome:
        wait()
        started = time.perf_counter()
        conn = pool.get()
        try:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (clinician_id, start, blocked_until, status) "
                    "VALUES (%s, %s, %s, 'booked')"
                ).format(sql.Identifier(BARE_TABLE)),
                [slot.clinician_id, slot.start, slot.start + until],
            )
            result = "inserted"
        except psycopg.errors.ExclusionViolation:
            result = "conflict"
        except psycopg.Error as error:
            result = type(error).__name__
        finally:
            pool.put(conn)
        return Outcome(result, started, time.perf_counter())

    return attempt


@dataclass(frozen=True)
class InsertFigures:
    attempts: int
    inserted: int
    conflicts: int
    errors: int
    overlaps: int
    timing: Timing


def insert_race(assigned: Sequence[Slot], connections: int) -> InsertFigures:
    create_bare_table()
    held = held_time(Site.objects.get(slug=SITE_SLUG))
    pool: queue.Queue[psycopg.Connection] = queue.Queue()
    for _ in range(connections):
        pool.put(connect())
    try:
        outcomes, wall = race([insert_attempt(pool, slot, held) for slot in assigned])
    finally:
        while not pool.empty():
            pool.get().close()
    inserted = sum(o.result == "inserted" for o in outcomes)
    conflicts = sum(o.result == "conflict" for o in outcomes)
    return InsertFigures(
        attempts=len(outcomes),
        inserted=inserted,
        conflicts=conflicts,
        errors=len(outcomes) - inserted - conflicts,
        overlaps=overlapping_rows(sql.Identifier(BARE_TABLE)),
        timing=timing(outcomes, wall, inserted),
    )


def overlapping_rows(table_name: sql.Identifier) -> int:
    """Pairs of active rows of one clinician whose held times overlap."""
    query = sql.SQL(
        """
        SELECT count(*) FROM {table} a JOIN {table} b
          ON a.clinician_id = b.clinician_id AND a.id < b.id
         AND tstzrange(a.start, a.blocked_until) && tstzrange(b.start, b.blocked_until)
         WHERE a.status = ANY(%s) AND b.status = ANY(%s)
        """
    ).format(table=table_name)
    active = [str(status) for status in ACTIVE_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(), [active, active])
        return int(cursor.fetchone()[0])


def rolled_back_transactions() -> int:
    """Transactions rolled back in the bench database so far: in a booking, only the write
    that the exclusion constraint refuses (the check that finds the time taken commits)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def wait_for_other_sessions_to_end(timeout: float = 10) -> None:
    """Until gunicorn's database sessions have ended, and so reported their statistics."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
    raise BenchError("gunicorn's database sessions did not end")


# --- Report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    machine: str
    clients: int
    slots: int
    servers: int
    workers: int  # per server
    booking: BookingFigures
    # 409s whose write the exclusion constraint refused (the rest failed the check before)
    stopped_by_constraint: int
    bare_insert: InsertFigures
    queries: dict[str, int]  # per booking request, by status

    @property
    def ratio(self) -> float:
        """Booking rate as a share of the rate the database allows for the same rows."""
        bare = self.bare_insert.timing.successes_per_second
        return self.booking.timing.successes_per_second / bare

    def problems(self) -> list[str]:
        booking, bare = self.booking, self.bare_insert
        checks = {
            f"{booking.successes} bookings succeeded for {self.slots} slots": (
                booking.successes == self.slots
            ),
            f"{booking.server_errors} answers were 5xx": booking.server_errors == 0,
            f"{booking.no_answer} requests got no answer": booking.no_answer == 0,
            f"{booking.overlaps} overlapping appointments": booking.overlaps == 0,
            f"{bare.inserted} bare inserts succeeded for {self.slots} slots": (
                bare.inserted == self.slots
            ),
            f"{bare.overlaps} overlapping bare rows": bare.overlaps == 0,
        }
        return [problem for problem, fine in checks.items() if not fine]

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "ratio": self.ratio, "problems": self.problems()})

    def as_text(self) -> str:
        booking, bare = self.booking, self.bare_insert
        rows: list[Sequence[object]] = [
            ("attempts", booking.attempts, bare.attempts),
            ("succeeded (201 / inserted)", booking.successes, bare.inserted),
            ("taken (409 / exclusion violation)", booking.conflicts, bare.conflicts),
            ("409 offering alternatives", booking.conflicts_with_alternatives, "-"),
            ("refused by the exclusion constraint", self.stopped_by_constraint, bare.conflicts),
            ("other 4xx", booking.other_4xx, "-"),
            ("5xx / other database errors", booking.server_errors, bare.errors),
            ("no answer", booking.no_answer, "-"),
            ("overlapping active rows afterwards", booking.overlaps, bare.overlaps),
            ("latency p50 ms", f"{booking.timing.p50_ms:.0f}", f"{bare.timing.p50_ms:.1f}"),
            ("latency p95 ms", f"{booking.timing.p95_ms:.0f}", f"{bare.timing.p95_ms:.1f}"),
            *(
                (f"p50 ms in the worker, {status}s", f"{ms:.0f}", "-")
                for status, ms in booking.worker_ms.items()
            ),
            *(
                (f"queries per request, {status}s", count, 1)
                for status, count in self.queries.items()
            ),
            ("wall time s", *(f"{t.wall_seconds:.3f}" for t in (booking.timing, bare.timing))),
            (
                "successes/s",
                *(f"{t.successes_per_second:.1f}" for t in (booking.timing, bare.timing)),
            ),
            (
                "attempts/s",
                *(f"{t.attempts_per_second:.1f}" for t in (booking.timing, bare.timing)),
            ),
        ]
        verdict = "; ".join(self.problems()) or (
            f"correct: {booking.successes} bookings for {self.slots} slots, no 5xx, no overlap"
        )
        return "\n".join(
            [
                self.machine,
                f"{self.clients} clients released together, {self.clients / self.slots:g} per "
                f"slot, for {self.slots} free {SITE_SLUG} slots; {self.servers} gunicorn "
                f"server(s) with {self.workers} sync workers each, on one database, clients "
                f"round-robin over them; bare INSERTs through a pool of "
                f"{self.servers * self.workers} connections.",
                table(
                    "Contested booking (POST /api/v1/appointments/) beside bare INSERTs under "
                    "the same exclusion constraint, same run",
                    ["figure", "booking API", "bare INSERT"],
                    rows,
                ),
                "",
                f"Bookings/s / bare inserts/s: {self.ratio:.3f}",
                f"Verdict: {verdict}.",
            ]
        )


def run(clients: int, slot_count: int, servers: int, workers: int, scratch: Path) -> Result:
    progress(f"seeding the clinic and picking {slot_count} slots")
    # One more than raced, free for counting a successful booking's queries.
    *slots, spare = contested_slots(slot_count + 1)
    assigned = assign(slots, clients)
    rollbacks = rolled_back_transactions()
    with gunicorns(servers, workers, scratch) as ports:
        progress(f"gunicorn ready on ports {ports}; {clients} clients book")
        booking = book_race(ports, assigned, scratch)
    wait_for_other_sessions_to_end()
    stopped_by_constraint = rolled_back_transactions() - rollbacks
    progress(f"{clients} bare INSERTs through {servers * workers} connections")
    bare = insert_race(assigned, servers * workers)
    queries = booking_queries(free=spare, taken=slots[0])
    return Result(
        describe_machine(),
        clients,
        slot_count,
        servers,
        workers,
        booking,
        stopped_by_constraint,
        bare,
        queries,
    )


def progress(text: str) -> None:
    print(f"bench.load_booking: {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (200)")
    parser.add_argument("--slots", type=int, default=50, help="distinct slots contested (50)")
    parser.add_argument("--servers", type=int, default=1, help="gunicorn processes (1)")
    parser.add_argument("--workers", type=int, default=4, help="sync workers per server (4)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not 0 < args.slots <= args.clients or args.workers < 1 or args.servers < 1:
        parser.error("need 1 <= --slots <= --clients, --servers >= 1 and --workers >= 1")
    if connection.vendor != "postgresql":
        sys.exit(
            "bench.load_booking needs PostgreSQL: its exclusion constraint is what is under "
            f"test, and this is {connection.vendor}. Run it as\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic "
            ".venv/bin/python -m bench.load_booking"
        )

    setup_test_environment()
    # Not test_<name>: the test suite may be using that one right now.
    connection.settings_dict["TEST"]["NAME"] = f"test_{connection.settings_dict['NAME']}_load"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-booking-") as scratch:
            result = run(args.clients, args.slots, args.servers, args.workers, Path(scratch))
    except BenchError as error:
        sys.exit(f"bench.load_booking: {error}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    print(result.as_json() if args.json else result.as_text())
    if result.problems():
        sys.exit(1)


if __name__ == "__main__":
    main()
