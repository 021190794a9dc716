"""Availability benchmark: how long `GET /api/v1/availability/` takes, and whether its cost
grows with the history in the database.

    .venv/bin/python -m bench.availability                      # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic \\
        .venv/bin/python -m bench.availability                  # PostgreSQL

It never touches the developer's data: it creates its own throwaway test database
(`test_<name>_bench` on PostgreSQL, a temporary file on SQLite), seeds a clinic of ten
clinicians who all inject one site, books about 60 % of their time over eight weeks, and
destroys the database at the end.

Every figure is a median (and p95) over `--runs` timed calls after `--warmup` untimed ones.
The cases are interleaved run by run (HTTP and direct calls alternate), so a slow moment on
a noisy machine hits all of them alike; read the ratios rather than the absolute times.
The baseline is `booking.availability.free_slots` called directly for the same window:
HTTP / direct is what the view, serialiser, JSON and middleware add.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ["PUBLIC_API_RATE"] = "0"  # no rate limit: the benchmark calls hundreds of times

import django

django.setup()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402
from datetime import time as clock  # noqa: E402
from itertools import pairwise  # noqa: E402
from pathlib import Path  # noqa: E402

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402

from bench.report import percentile, table  # noqa: E402
from booking.availability import Slot, free_slots, grid_starts, working_shifts  # noqa: E402
from booking.models import (  # noqa: E402
    ACTIVE_STATUSES,
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    Location,
    Patient,
    Site,
    WorkingHours,
)
from config.wsgi import freeze_loaded_objects  # noqa: E402

SITE_SLUG = "lumbar"  # 45-minute consults on a 15-minute grid (migration 0002)
CLINICIANS = 10
WEEKS = 8
FILL = 0.6  # share of the working time held by active appointments
CANCELLED_SHARE = 0.08  # extra cancelled rows, which hold no time
PATIENTS = 2_000
SEED = 20260126


@dataclass(frozen=True)
class Case:
    label: str
    days: int


CASES = (Case("1 day", 1), Case("1 week", 7), Case(f"{WEEKS} weeks", 7 * WEEKS))


# --- The clinic and its calendar --------------------------------------------------------


def seed_location() -> Location:
    location = Location.objects.create(
        name="Bench Pain Clinic",
        address="1 Main Street, Hartford, CT",
        phone="+18605550100",
        time_zone="America/New_York",
    )
    Patient.objects.bulk_create(
        Patient(
            first_name=f"Patient{i}",
            last_name="Bench",
            date_of_birth=date(1950, 1, 1) + timedelta(days=i * 7),
            email=f"patient{i}@example.com",
        )
        for i in range(PATIENTS)
    )
    return location


def seed_group(site: Site, location: Location, name: str) -> None:
    """CLINICIANS clinicians who inject `site` only, Monday to Friday 08:00-17:00."""
    users = User.objects.bulk_create(User(username=f"{name}-{i:02d}") for i in range(CLINICIANS))
    clinicians = Clinician.objects.bulk_create(
        Clinician(user=user, display_name=f"Dr. {name.title()} {i:02d}")
        for i, user in enumerate(users)
    )
    for clinician in clinicians:
        clinician.sites.add(site)
        clinician.locations.add(location)
    WorkingHours.objects.bulk_create(
        WorkingHours(
            clinician=clinician,
            location=location,
            weekday=weekday,
            start_time=clock(8),
            end_time=clock(17),
        )
        for clinician in clinicians
        for weekday in range(5)
    )


def copy_site(site: Site, slug: str) -> Site:
    """Another site with the same booking rules, for a group of its own."""
    return Site.objects.create(
        slug=slug,
        name=f"{site.name} ({slug})",
        duration_minutes=site.duration_minutes,
        slot_step_minutes=site.slot_step_minutes,
        buffer_after_minutes=site.buffer_after_minutes,
        min_notice_hours=site.min_notice_hours,
        max_advance_days=site.max_advance_days,
        description=site.description,
        instructions=site.instructions,
    )


def calendar(
    site: Site,
    first_day: date,
    last_day: date,
    rng: random.Random,
    status: Callable[[random.Random], AppointmentStatus],
) -> list[Appointment]:
    """Appointments holding about FILL of every shift from `first_day` to `last_day`, plus
    CANCELLED_SHARE cancelled ones. Each shift gets n consults placed at random on its grid
    without overlap: with h the grid steps one consult holds, n distinct positions q_i are
    drawn from the first S - (n - 1)(h - 1) of the S grid starts, and consult i starts at
    q_i + i(h - 1), so consecutive starts are at least h steps apart."""
    patient_ids = list(Patient.objects.values_list("pk", flat=True))
    step = timedelta(minutes=site.slot_step_minutes)
    duration = timedelta(minutes=site.duration_minutes)
    held = timedelta(minutes=site.duration_minutes + site.buffer_after_minutes)
    held_steps = -(-held // step)  # ceiling: the next start the grid allows after one consult
    rows = []
    for shift in working_shifts(site=site, first_day=first_day, last_day=last_day):
        starts = list(grid_starts(shift, site))
        if not starts:
            continue
        wanted = FILL * (shift.end - shift.start) / held
        count = int(wanted) + (rng.random() < wanted % 1)
        while count and len(starts) - (count - 1) * (held_steps - 1) < count:
            count -= 1  # more than the shift can hold
        positions = range(len(starts) - (count - 1) * (held_steps - 1)) if count else range(0)
        picks = sorted(rng.sample(positions, count))
        chosen = [
            (starts[pick + i * (held_steps - 1)], status(rng)) for i, pick in enumerate(picks)
        ]
        cancelled = int(count * CANCELLED_SHARE / (1 - CANCELLED_SHARE) + rng.random())
        chosen += [(rng.choice(starts), AppointmentStatus.CANCELLED) for _ in range(cancelled)]
        rows += [
            Appointment(
                site=site,
                clinician=shift.clinician,
                location=shift.location,
                patient_id=rng.choice(patient_ids),
                start=start,
                end=start + duration,
                blocked_until=start + held,
                status=appointment_status,
                cancellation_reason="Bench" if appointment_status == "cancelled" else "",
                source=rng.choice(list(AppointmentSource)),
            )
            for start, appointment_status in chosen
        ]
    return rows


def future_status(rng: random.Random) -> AppointmentStatus:
    return AppointmentStatus.BOOKED


def past_status(rng: random.Random) -> AppointmentStatus:
    return AppointmentStatus.NO_SHOW if rng.random() < 0.04 else AppointmentStatus.COMPLETED


def check_no_overlap(rows: Sequence[Appointment]) -> None:
    held: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in rows:
        if row.status in ACTIVE_STATUSES:
            held[row.clinician_id].append((row.start, row.blocked_until))
    for spans in held.values():
        spans.sort()
        for (_, until), (next_start, _) in pairwise(spans):
            if until > next_start:
                raise AssertionError(f"overlap at {next_start}")


def add_history(site: Site, before: date, count: int, rng: random.Random) -> None:
    """`count` past appointments of the clinicians who inject `site`, month after month back
    from `before` (or from their oldest appointment, if older)."""
    oldest = (
        Appointment.objects.filter(site=site).order_by("start").values_list("start", flat=True)
    ).first()
    last_day = min(before, oldest.date() if oldest else before) - timedelta(days=1)
    written = 0
    while written < count:
        first_day = last_day - timedelta(days=27)
        rows = calendar(site, first_day, last_day, rng, past_status)
        rows.sort(key=lambda row: row.start, reverse=True)  # the newest first
        rows = rows[: count - written]
        Appointment.objects.bulk_create(rows, batch_size=2_000)
        written += len(rows)
        last_day = first_day - timedelta(days=1)


# --- Measuring ------------------------------------------------------------------------

# A fixed piece of pure-Python work with no database, timed in the same interleaved runs:
# dividing by it cancels most of what a busy machine does to the other figures.
_reference_rng = random.Random(SEED)
REFERENCE_DATA = [_reference_rng.random() for _ in range(100_000)]


def reference() -> object:
    return sorted(REFERENCE_DATA)


@contextmanager
def full_collections() -> Iterator[list[int]]:
    """Counts the garbage collector's full (generation 2) collections while open."""
    counted = [0]

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            counted[0] += 1

    gc.callbacks.append(count)
    try:
        yield counted
    finally:
        gc.callbacks.remove(count)


def measure(
    calls: dict[str, Callable[[], object]], runs: int, warmup: int
) -> dict[str, list[float]]:
    """Milliseconds per call, the calls interleaved run by run. What is alive before is
    frozen, as config/wsgi.py freezes a worker's loaded app: the collector then scans only
    what requests allocate, as it does in production."""
    freeze_loaded_objects()
    for _ in range(warmup):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(runs):
        for label, call in calls.items():
            started = time.perf_counter()
            call()
            samples[label].append((time.perf_counter() - started) * 1000)
    return samples


def count_queries(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def fmt(ms: float) -> str:
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


@dataclass
class Window:
    site: Site
    first_day: date
    client: Client

    def url(self, days: int) -> str:
        last_day = self.first_day + timedelta(days=days - 1)
        return (
            f"/api/v1/availability/?site={self.site.slug}"
            f"&start={self.first_day.isoformat()}&end={last_day.isoformat()}"
        )

    def get(self, days: int) -> bytes:
        response = self.client.get(self.url(days))
        if response.status_code != 200:
            raise AssertionError(f"{response.status_code} {response.content[:300]!r}")
        return response.content

    def fetch(self, days: int) -> tuple[int, int]:
        """The number of slots and of bytes in the answer."""
        content = self.get(days)
        return len(json.loads(content)["slots"]), len(content)

    def http(self, days: int) -> Callable[[], object]:
        return lambda: self.get(days)

    def direct(self, days: int) -> Callable[[], list[Slot]]:
        last_day = self.first_day + timedelta(days=days - 1)

        def call() -> list[Slot]:
            # The site read afresh, as the view reads it, so both do the same queries.
            site = Site.objects.get(pk=self.site.pk)
            return free_slots(site=site, first_day=self.first_day, last_day=last_day)

        return call


def main_figures(window: Window, runs: int, warmup: int) -> str:
    calls: dict[str, Callable[[], object]] = {"reference": reference}
    for case in CASES:
        calls[f"http {case.label}"] = window.http(case.days)
        calls[f"direct {case.label}"] = window.direct(case.days)
    with full_collections() as collections:
        samples = measure(calls, runs, warmup)
    rows = []
    for case in CASES:
        http, direct = samples[f"http {case.label}"], samples[f"direct {case.label}"]
        slots, size = window.fetch(case.days)
        if len(window.direct(case.days)()) != slots:
            raise AssertionError("the endpoint and free_slots disagree")
        rows.append(
            [
                case.label,
                f"{slots:,}",
                f"{size / 1024:.0f}",
                fmt(statistics.median(http)),
                fmt(percentile(http, 0.95)),
                count_queries(window.http(case.days)),
                fmt(statistics.median(direct)),
                count_queries(window.direct(case.days)),
                f"{statistics.median(http) / statistics.median(direct):.2f}",
            ]
        )
    return table(
        f"GET /api/v1/availability/?site={window.site.slug}&start=...&end=..., all clinicians "
        f"(ms; median and p95 of {runs} runs after {warmup} warm-up)",
        [
            "window",
            "slots",
            "KiB",
            "HTTP median",
            "HTTP p95",
            "HTTP queries",
            "free_slots median",
            "free_slots queries",
            "HTTP / free_slots",
        ],
        rows,
    ) + (
        f"\n\nCPU reference (sorting {len(REFERENCE_DATA):,} floats, same runs): "
        f"median {fmt(statistics.median(samples['reference']))} ms. Full garbage "
        f"collections during these runs: {collections[0]} (objects loaded before them frozen, "
        "as in a worker)."
    )


@dataclass(frozen=True)
class HistoryPoint:
    appointments: int
    history: int
    http: float
    direct: float
    reference: float
    queries: int


def history_point(window: Window, history: int, runs: int, warmup: int) -> HistoryPoint:
    days = CASES[-1].days
    samples = measure(
        {"http": window.http(days), "direct": window.direct(days), "reference": reference},
        runs,
        warmup,
    )
    return HistoryPoint(
        appointments=Appointment.objects.count(),
        history=history,
        http=statistics.median(samples["http"]),
        direct=statistics.median(samples["direct"]),
        reference=statistics.median(samples["reference"]),
        queries=count_queries(window.http(days)),
    )


def history_table(points: Sequence[HistoryPoint], runs: int) -> str:
    base = points[0]
    return table(
        f"History: the {CASES[-1].label} request as past appointments (outside the window) "
        f"accumulate (ms, medians of {runs} runs; ratios to the first row, normalised by the "
        "CPU reference of the same runs)",
        [
            "appointments",
            "of which history",
            "HTTP median",
            "free_slots median",
            "CPU reference",
            "HTTP ratio",
            "free_slots ratio",
            "HTTP queries",
        ],
        [
            [
                f"{point.appointments:,}",
                f"{point.history:,}",
                fmt(point.http),
                fmt(point.direct),
                fmt(point.reference),
                f"{(point.http / point.reference) / (base.http / base.reference):.2f}",
                f"{(point.direct / point.reference) / (base.direct / base.reference):.2f}",
                point.queries,
            ]
            for point in points
        ],
    )


def first_monday_after(day: date, days: int) -> date:
    day += timedelta(days=days)
    return day + timedelta(days=-day.weekday() % 7)


def describe_machine() -> str:
    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("select version()" if vendor == "postgresql" else "select sqlite_version()")
        version = str(cursor.fetchone()[0]).split(" on ")[0]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"Database: {vendor} {version}. Python {platform.python_version()}, Django "
        f"{django.get_version()}, {os.cpu_count()} CPUs ({platform.machine()}), "
        f"load average {load}."
    )


def groups_table(groups: Sequence[tuple[int, Window]], runs: int, warmup: int) -> str:
    """1-day and 8-week requests for groups that differ only in their history, all measured
    in the same interleaved runs, so that a busy machine slows every group alike."""
    short, long = CASES[0].days, CASES[-1].days
    calls: dict[str, Callable[[], object]] = {}
    for _, window in groups:
        calls[f"http short {window.site.slug}"] = window.http(short)
        calls[f"http long {window.site.slug}"] = window.http(long)
        calls[f"direct long {window.site.slug}"] = window.direct(long)
    samples = measure(calls, runs, warmup)
    medians = {label: statistics.median(values) for label, values in samples.items()}
    first = groups[0][1].site.slug

    def cell(kind: str, window: Window) -> list[str]:
        value = medians[f"{kind} {window.site.slug}"]
        return [fmt(value), f"{value / medians[f'{kind} {first}']:.2f}"]

    rows = [
        [
            window.site.slug,
            f"{history:,}",
            f"{window.fetch(long)[0]:,}",
            *cell("http short", window),
            *cell("http long", window),
            *cell("direct long", window),
            count_queries(window.http(long)),
        ]
        for history, window in groups
    ]
    return table(
        f"History, same runs: groups of {CLINICIANS} clinicians with identical calendars and "
        f"different pasts, each booking its own copy of the site ({runs} interleaved runs; ms; "
        f"{Appointment.objects.count():,} appointments in all)",
        [
            "site",
            "group's history",
            f"slots in {CASES[-1].label}",
            f"HTTP {CASES[0].label}",
            "ratio",
            f"HTTP {CASES[-1].label}",
            "ratio",
            f"free_slots {CASES[-1].label}",
            "ratio",
            "HTTP queries",
        ],
        rows,
    )


def run(runs: int, warmup: int, totals: Sequence[int], groups: Sequence[int]) -> None:
    started = time.perf_counter()
    rng = random.Random(SEED)
    location = seed_location()
    site = Site.objects.get(slug=SITE_SLUG)
    seed_group(site, location, "bench")
    today = timezone.localdate(timezone.now(), location.zone)
    # The window starts on a Monday clear of the minimum notice and ends well within the
    # maximum advance, so every grid start in it is bookable unless taken.
    first_day = first_monday_after(today, days=2)
    last_day = first_day + timedelta(days=7 * WEEKS - 1)
    rows = calendar(site, first_day, last_day, random.Random(SEED), future_status)
    check_no_overlap(rows)
    Appointment.objects.bulk_create(rows, batch_size=2_000)
    active = [row for row in rows if row.status in ACTIVE_STATUSES]
    held = sum((row.blocked_until - row.start for row in active), timedelta())
    worked = sum(
        (
            shift.end - shift.start
            for shift in working_shifts(site=site, first_day=first_day, last_day=last_day)
        ),
        timedelta(),
    )
    print(describe_machine())
    print(
        f"Clinic: {CLINICIANS} clinicians at one location (America/New_York), Mon-Fri "
        f"08:00-17:00, all injecting {site.slug} ({site.duration_minutes} min consults, "
        f"{site.slot_step_minutes} min grid, {site.buffer_after_minutes} min buffer)."
    )
    print(
        f"Window {first_day} to {last_day}: {len(rows):,} appointments ({len(active):,} "
        f"active, {len(rows) - len(active):,} cancelled), {held / worked:.0%} of the working "
        "time held."
    )

    def analyse() -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE booking_appointment")

    window = Window(site=site, first_day=first_day, client=Client())
    points: list[HistoryPoint] = []
    main = ""
    for index, total in enumerate(totals):
        add_history(site, today, max(0, total - Appointment.objects.count()), rng)
        analyse()
        if index == min(1, len(totals) - 1):
            main = main_figures(window, runs, warmup) + (
                f"\nMeasured with {Appointment.objects.count():,} appointments in the database."
            )
        points.append(history_point(window, Appointment.objects.count() - len(rows), runs, warmup))
        print(
            f"  measured with {points[-1].appointments:,} appointments "
            f"({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
        )

    # The same calendar for groups with other pasts, to compare in one set of runs.
    compared = [(points[-1].history, window)]
    for history in groups:
        group_site = copy_site(site, f"{site.slug}-history-{history}")
        seed_group(group_site, location, f"group{history}")
        # The same seed gives the same calendar as the first group's.
        Appointment.objects.bulk_create(
            calendar(group_site, first_day, last_day, random.Random(SEED), future_status),
            batch_size=2_000,
        )
        add_history(group_site, today, history, rng)
        compared.append((history, Window(site=group_site, first_day=first_day, client=Client())))
    analyse()
    compared.sort(key=lambda group: group[0])
    print(main)
    print(history_table(points, runs))
    if groups:
        print(groups_table(compared, runs, warmup))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nTotal time {time.perf_counter() - started:.0f} s; load average now {load}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed calls per case (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (3)")
    parser.add_argument(
        "--totals",
        default="0,10000,50000",
        help="appointments in the database for the history figures; 0 (or any total below "
        "the window's 3,123) means the window alone. The main table is measured at the "
        "second (default 0,10000,50000).",
    )
    parser.add_argument(
        "--groups",
        default="0,10000,50000",
        help="history of the extra clinician groups compared in the same runs "
        "(default 0,10000,50000; empty for none)",
    )
    args = parser.parse_args()
    totals = sorted(int(total) for total in args.totals.split(","))
    groups = sorted(int(history) for history in args.groups.split(",") if history)

    setup_test_environment()
    test_settings = connection.settings_dict["TEST"]
    scratch = None
    if connection.vendor == "sqlite":
        # A file, as in development, rather than the in-memory default.
        scratch = tempfile.TemporaryDirectory(prefix="bench-availability-")
        test_settings["NAME"] = str(Path(scratch.name) / "bench.sqlite3")
    else:
        # Not test_<name>: the test suite may be running against that one right now.
        test_settings["NAME"] = f"test_{connection.settings_dict['NAME']}_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args.runs, args.warmup, totals, groups)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        if scratch is not None:
            scratch.cleanup()


if __name__ == "__main__":
    main()
