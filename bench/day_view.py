"""Day view benchmark: how long the reception day view (`GET /desk/day/`) takes for a
location with ten clinicians and 150 appointments, and how many queries it runs.

    .venv/bin/python -m bench.day_view                          # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic \\
        .venv/bin/python -m bench.day_view                      # PostgreSQL

It never touches the developer's data: it creates its own throwaway test database
(`bench_day_view` on PostgreSQL, a temporary file on SQLite), seeds the clinic, and
destroys the database at the end. Figures are server time as the Django test client sees
it (view, templates, middleware; no network), median and p95 over `--runs` calls after
`--warmup` untimed ones, plus the same page with 20 appointments to show that the number
of queries does not grow with the appointments.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"

import django

django.setup()

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402
from datetime import time as clock  # noqa: E402
from pathlib import Path  # noqa: E402

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.urls import reverse  # noqa: E402

from bench.report import percentile  # noqa: E402
from booking.models import (  # noqa: E402
    Appointment,
    AppointmentSource,
    Clinician,
    Location,
    Patient,
    Site,
    WorkingHours,
)
from booking.roles import RECEPTION  # noqa: E402

CLINICIANS = 10
DAY = date(2030, 6, 12)  # a Wednesday, in the future so every free quarter hour is a link


def seed(appointments: int, name: str) -> tuple[Location, Client]:
    location = Location.objects.create(
        name=name,
        address="1 Main Street, Hartford, CT",
        phone="+18605550100",
        time_zone="America/New_York",
    )
    site = Site.objects.get(slug="lumbar")  # 45 minutes
    users = User.objects.bulk_create(
        User(username=f"{name}-{i:02d}", is_staff=True) for i in range(CLINICIANS)
    )
    clinicians = Clinician.objects.bulk_create(
        Clinician(user=user, display_name=f"Dr. {name} {i:02d}") for i, user in enumerate(users)
    )
    for clinician in clinicians:
        clinician.sites.add(site)
        clinician.locations.add(location)
    WorkingHours.objects.bulk_create(
        WorkingHours(
            clinician=clinician,
            location=location,
            weekday=DAY.weekday(),
            start_time=clock(8),
            end_time=clock(18),
        )
        for clinician in clinicians
    )
    patients = Patient.objects.bulk_create(
        Patient(
            first_name=f"Patient{i}",
            last_name=name,
            date_of_birth=date(1960, 1, 1) + timedelta(days=i),
            email=f"{name.lower()}{i}@example.com",
        )
        for i in range(appointments)
    )
    zone = location.zone
    first = datetime.combine(DAY, clock(8), tzinfo=zone)
    duration = timedelta(minutes=site.duration_minutes)
    Appointment.objects.bulk_create(
        Appointment(
            site=site,
            clinician=clinicians[i % CLINICIANS],
            location=location,
            patient=patients[i],
            start=first + (i // CLINICIANS) * duration,
            end=first + (i // CLINICIANS + 1) * duration,
            blocked_until=first + (i // CLINICIANS + 1) * duration,
            source=AppointmentSource.RECEPTION,
        )
        for i in range(appointments)
    )
    user = User.objects.create_user(f"desk-{name}", is_staff=True)
    user.groups.add(Group.objects.get(name=RECEPTION))
    client = Client()
    client.force_login(user)
    return location, client


def figures(label: str, appointments: int, runs: int, warmup: int) -> list[str]:
    location, client = seed(appointments, label)
    url = f"{reverse('desk:day')}?location={location.pk}&date={DAY.isoformat()}"
    for _ in range(warmup):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    query_count = len(queries)  # now: the next request clears the log (reset_queries)
    assert response.status_code == 200
    assert response.context["grid"].appointment_count == appointments
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
    return [
        f"{CLINICIANS} clinicians, {appointments} appointments",
        f"{statistics.median(samples):.1f}",
        f"{percentile(samples, 0.95):.1f}",
        str(query_count),
        f"{len(response.content) // 1024}",
    ]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed calls per case (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (3)")
    args = parser.parse_args()

    setup_test_environment()
    # Keep one connection across requests, as a web process does; closing it after each
    # request would also reset the captured queries.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    test_settings = connection.settings_dict["TEST"]
    scratch = None
    if connection.vendor == "sqlite":
        scratch = tempfile.TemporaryDirectory(prefix="bench-day-view-")
        test_settings["NAME"] = str(Path(scratch.name) / "bench_day_view.sqlite3")
    else:
        # Not test_<name>: the test suite may be running against that one right now.
        test_settings["NAME"] = "bench_day_view"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        rows = [
            figures("Small", 20, args.runs, args.warmup),
            figures("Full", 150, args.runs, args.warmup),
        ]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        if scratch is not None:
            scratch.cleanup()
    print(
        f"Day view, GET /desk/day/ ({connection.vendor}, Python {platform.python_version()}, "
        f"{args.runs} runs after {args.warmup} warm-up)"
    )
    print(table(["case", "median ms", "p95 ms", "queries", "page KiB"], rows))


if __name__ == "__main__":
    main()
