"""Pain-score trends benchmark: the clinic's outcomes dashboard (`GET /staff/outcomes/`,
unfiltered and for one site) and a patient's trend page (`GET /staff/patients/<id>/trends/`),
and how the dashboard's time grows with the answers in the database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic \\
        .venv/bin/python -m bench.trends

It never touches the developer's data: it creates its own throwaway database
(`test_<name>_bench_trends`) with Django's test-database machinery and destroys it at the end.
It writes, with COPY, patients with two procedures each across the five sites over two
years, every check-in of the default follow-up plan (days 1 to 180) with its sent message,
answers to about 78 % of them (more early than late), pain falling from each episode's
baseline and partly returning, and a few red-flag alerts. The data grow in steps (25,000,
100,000, then 250,000 answers: 20,000 patients and 40,000 episodes at the last); after
each, the dashboard's read model is rebuilt (`refresh_outcome_facts`, timed, twice).

Figures are server time as Django's test client sees it, logged in as a clinician: median
and p95 of `--runs` calls after `--warmup`, cases interleaved run by run, with a CPU
reference (sorting 100,000 floats) timed in the same runs so that growth reads as ratios
normalised by it on a noisy machine; and the queries each request runs.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"

import django

django.setup()

import argparse  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from bench.availability import (  # noqa: E402
    count_queries,
    describe_machine,
    fmt,
    measure,
    reference,
)
from bench.report import percentile, table  # noqa: E402
from booking.models import (  # noqa: E402
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Clinician,
    Location,
    Patient,
    Site,
)
from booking.roles import CLINICIAN  # noqa: E402
from followup.models import (  # noqa: E402
    Activity,
    Alert,
    AnswerRoute,
    Channel,
    CheckIn,
    CheckInAnswer,
    CheckInState,
    Episode,
    FollowUpStep,
    Injectate,
    Medication,
    Message,
    MessageKind,
    MessageState,
    OutcomeEpisode,
    OutcomeFact,
    Procedure,
    ProcedureInjectate,
    Side,
)
from followup.outcome_facts import refresh_outcome_facts  # noqa: E402

SEED = 20260308
CLINICIANS = 25
EPISODES_PER_PATIENT = 2
# Share of check-ins answered by day: most answer early, fewer at 3 and 6 months.
ANSWER_RATE = {1: 0.95, 3: 0.9, 7: 0.88, 14: 0.8, 30: 0.75, 42: 0.72, 90: 0.65, 180: 0.6}
DAYS_SPREAD = 700  # procedures on 700 days, from about 2.5 years to 7 months ago
ALERT_SHARE = 0.01
ANSWERS_PER_PATIENT = EPISODES_PER_PATIENT * sum(ANSWER_RATE.values())  # 12.5


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- Writing rows with COPY --------------------------------------------------------------


class Ids:
    """Primary keys handed out here, so that rows can point at each other before COPY."""

    def __init__(self) -> None:
        self.last: dict[type[Model], int] = {}

    def next(self, model: type[Model]) -> int:
        if model not in self.last:
            self.last[model] = (
                model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0
            )
        self.last[model] += 1
        return self.last[model]


def copy(model: type[Model], rows: Sequence[Model]) -> None:
    """COPY unsaved instances (pks set) into the model's table, then move its sequence on."""
    if not rows:
        return
    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table_name = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN") as writer:
            for row in rows:
                writer.write_row(
                    [
                        field.get_db_prep_save(field.pre_save(row, add=True), connection)
                        for field in fields
                    ]
                )
        for statement in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(statement)


# --- The clinic --------------------------------------------------------------------------


@dataclass
class Clinic:
    sites: list[Site]
    days_by_site: dict[int, list[int]]
    locations: list[Location]
    clinicians: list[Clinician]
    now: datetime
    first_day: datetime


def seed_clinic() -> Clinic:
    locations = [
        Location.objects.create(
            name=f"Bench clinic {n}",
            address=f"{n} Main Street, Hartford, CT",
            phone="+18605550100",
            time_zone="America/New_York",
        )
        for n in (1, 2)
    ]
    sites = list(Site.objects.order_by("slug"))
    users = User.objects.bulk_create(
        User(username=f"bench-clinician-{i:02d}", is_staff=True) for i in range(CLINICIANS)
    )
    Group.objects.get(name=CLINICIAN).user_set.add(*users)
    clinicians = Clinician.objects.bulk_create(
        Clinician(user=user, display_name=f"Dr. Bench {i:02d}") for i, user in enumerate(users)
    )
    for clinician in clinicians:
        clinician.sites.set(sites)
        clinician.locations.set(locations)
    days_by_site: dict[int, list[int]] = {}
    for site_id, day in FollowUpStep.objects.values_list("site_id", "day"):
        days_by_site.setdefault(site_id, []).append(day)
    now = datetime.now(UTC).replace(microsecond=0)
    return Clinic(
        sites=sites,
        days_by_site={site: sorted(days) for site, days in days_by_site.items()},
        locations=locations,
        clinicians=clinicians,
        now=now,
        first_day=(now - timedelta(days=200 + DAYS_SPREAD)).replace(hour=14, minute=0, second=0),
    )


def pain_at(baseline: int, relief: float, day: int, rng: random.Random) -> int:
    """Relief builds over the first week and fades over months, with answer noise."""
    effect = relief * min(1.0, day / 7) * math.exp(-day / 150)
    return max(0, min(10, round(baseline * (1 - effect) + rng.gauss(0, 0.8))))


@dataclass
class Batch:
    """The rows of one step of growth, kept in memory until COPY."""

    patients: list[Patient]
    appointments: list[Appointment]
    procedures: list[Procedure]
    injectates: list[ProcedureInjectate]
    episodes: list[Episode]
    check_ins: list[CheckIn]
    answers: list[CheckInAnswer]
    messages: list[Message]
    alerts: list[Alert]

    def write(self) -> None:
        for model, rows in (
            (Patient, self.patients),
            (Appointment, self.appointments),
            (Procedure, self.procedures),
            (ProcedureInjectate, self.injectates),
            (Episode, self.episodes),
            (CheckIn, self.check_ins),
            (CheckInAnswer, self.answers),
            (Message, self.messages),
            (Alert, self.alerts),
        ):
            copy(model, rows)


def grow(clinic: Clinic, ids: Ids, patients: int, rng: random.Random) -> Batch:
    """`patients` more patients with EPISODES_PER_PATIENT procedures each, and their
    follow-up: check-ins, sent check-in messages, answers and some alerts."""
    batch = Batch([], [], [], [], [], [], [], [], [])
    injectates = list(Injectate)
    for _ in range(patients):
        patient = Patient(
            pk=ids.next(Patient),
            first_name="Bench",
            last_name=f"Patient {ids.last[Patient]}",
            date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randrange(20_000)),
            email=f"patient{ids.last[Patient]}@example.com",
            consent_email=True,
        )
        batch.patients.append(patient)
        site = rng.choice(clinic.sites)
        for _ in range(EPISODES_PER_PATIENT):
            site = site if rng.random() < 0.5 else rng.choice(clinic.sites)  # repeats
            add_episode(clinic, ids, batch, patient, site, rng, injectates)
    return batch


def add_episode(
    clinic: Clinic,
    ids: Ids,
    batch: Batch,
    patient: Patient,
    site: Site,
    rng: random.Random,
    injectates: list[Injectate],
) -> None:
    # Each clinician's n-th procedure gets its own day and hour: no two overlap.
    number = ids.next(Episode) - 1
    clinician = clinic.clinicians[number % CLINICIANS]
    slot = number // CLINICIANS
    performed_at = clinic.first_day + timedelta(
        days=(slot * 389) % DAYS_SPREAD, hours=2 * (slot // DAYS_SPREAD)
    )
    draw = rng.random()
    baseline = None if draw < 0.03 else 0 if draw < 0.04 else rng.randint(4, 10)
    appointment = Appointment(
        pk=ids.next(Appointment),
        site=site,
        clinician=clinician,
        location=clinic.locations[number % len(clinic.locations)],
        patient=patient,
        start=performed_at - timedelta(minutes=site.duration_minutes),
        end=performed_at,
        blocked_until=performed_at,
        status=AppointmentStatus.COMPLETED,
        source=AppointmentSource.ONLINE,
        baseline_pain=baseline,
    )
    procedure = Procedure(
        pk=ids.next(Procedure),
        appointment=appointment,
        site=site,
        side=rng.choice(list(Side)),
        trigger_points=rng.randint(1, 6),
        pain_before=baseline,
        performed_by=clinician,
        performed_at=performed_at,
    )
    episode = Episode(
        pk=number + 1,
        procedure=procedure,
        patient=patient,
        site=site,
        baseline_pain=baseline,
        started_at=performed_at,
    )
    batch.appointments.append(appointment)
    batch.procedures.append(procedure)
    batch.episodes.append(episode)
    batch.injectates += [
        ProcedureInjectate(pk=ids.next(ProcedureInjectate), procedure=procedure, injectate=kind)
        for kind in rng.sample(injectates, rng.randint(1, 2))
    ]
    relief = rng.betavariate(2, 2)
    for day in clinic.days_by_site[site.pk]:
        add_check_in(clinic, ids, batch, episode, day, relief, rng)


def add_check_in(
    clinic: Clinic,
    ids: Ids,
    batch: Batch,
    episode: Episode,
    day: int,
    relief: float,
    rng: random.Random,
) -> None:
    due = episode.started_at.replace(hour=15) + timedelta(days=day)
    answered = rng.random() < ANSWER_RATE.get(day, 0.7)
    check_in = CheckIn(
        pk=ids.next(CheckIn),
        episode=episode,
        day=day,
        due_at=due,
        expires_at=due + timedelta(hours=72),
        state=CheckInState.ANSWERED if answered else CheckInState.EXPIRED,
    )
    batch.check_ins.append(check_in)
    sent = answered or rng.random() < 0.9
    batch.messages.append(
        Message(
            pk=ids.next(Message),
            appointment=episode.procedure.appointment,
            patient_id=episode.patient_id,
            check_in=check_in,
            kind=MessageKind.CHECK_IN,
            channel=Channel.EMAIL if rng.random() < 0.7 else Channel.SMS,
            recipient="bench@example.com",
            due_at=due,
            state=MessageState.SENT if sent else MessageState.FAILED,
            attempts=1,
            sent_at=due if sent else None,
        )
    )
    if not answered:
        return
    late = rng.random() < 0.03
    answered_at = due + timedelta(hours=rng.uniform(80, 140) if late else rng.uniform(0.1, 48))
    baseline = episode.baseline_pain if episode.baseline_pain is not None else 6
    answer = CheckInAnswer(
        pk=ids.next(CheckInAnswer),
        check_in=check_in,
        pain=pain_at(baseline, relief, day, rng),
        relief_percent=rng.choice([None, round(relief * 100)]),
        pgic=rng.randint(1, 7),
        activity=rng.choice(["", *Activity.values]) if day in (30, 90) else "",
        medication=rng.choice(["", *Medication.values]) if day in (30, 90) else "",
        route=AnswerRoute.SMS if rng.random() < 0.3 else AnswerRoute.WEB,
        first_answered_at=answered_at,
        answered_at=answered_at,
        late=late,
    )
    batch.answers.append(answer)
    if rng.random() < ALERT_SHARE:
        batch.alerts.append(
            Alert(
                pk=ids.next(Alert),
                answer=answer,
                clinician=episode.procedure.performed_by,
                reasons=["Fever or chills"],
                acknowledged_at=None if rng.random() < 0.3 else answered_at + timedelta(hours=2),
            )
        )


# --- Measuring ---------------------------------------------------------------------------


@dataclass
class Pages:
    client: Client
    patient_id: int
    site_slug: str

    def get(self, url: str) -> Callable[[], object]:
        def call() -> bytes:
            response = self.client.get(url)
            if response.status_code != 200:
                raise AssertionError(f"{url}: {response.status_code}")
            return response.content

        return call

    def calls(self) -> dict[str, Callable[[], object]]:
        return {
            "dashboard, all sites": self.get("/staff/outcomes/"),
            f"dashboard, site={self.site_slug}": self.get(
                f"/staff/outcomes/?site={self.site_slug}"
            ),
            "patient trend page": self.get(f"/staff/patients/{self.patient_id}/trends/"),
        }


def counts() -> str:
    return (
        f"{Patient.objects.count():,} patients, {Episode.objects.count():,} episodes, "
        f"{CheckIn.objects.count():,} check-ins, {CheckInAnswer.objects.count():,} answers, "
        f"{Message.objects.count():,} messages, {Alert.objects.count():,} alerts"
    )


def main_table(pages: Pages, runs: int, warmup: int) -> str:
    calls = pages.calls() | {"CPU reference": reference}
    samples = measure(calls, runs, warmup)
    rows = [
        [
            label,
            fmt(statistics.median(values)),
            fmt(percentile(values, 0.95)),
            "" if label == "CPU reference" else count_queries(calls[label]),
            f"{statistics.median(values) / statistics.median(samples['CPU reference']):.2f}",
        ]
        for label, values in samples.items()
    ]
    return table(
        f"Server time (ms; median and p95 of {runs} runs after {warmup} warm-up; {counts()})",
        ["request", "median", "p95", "queries", "/ CPU reference"],
        rows,
    )


@dataclass(frozen=True)
class Point:
    answers: int
    medians: dict[str, float]
    queries: dict[str, int]


def growth_point(pages: Pages, runs: int, warmup: int) -> Point:
    calls = {
        label: call for label, call in pages.calls().items() if label.startswith("dashboard")
    } | {"CPU reference": reference}
    samples = measure(calls, runs, warmup)
    return Point(
        answers=CheckInAnswer.objects.count(),
        medians={label: statistics.median(values) for label, values in samples.items()},
        queries={
            label: count_queries(call) for label, call in calls.items() if label != "CPU reference"
        },
    )


def growth_table(points: Sequence[Point], runs: int) -> str:
    base = points[0]
    labels = list(base.queries)

    def ratio(point: Point, label: str) -> str:
        normalised = point.medians[label] / point.medians["CPU reference"]
        return f"{normalised / (base.medians[label] / base.medians['CPU reference']):.2f}"

    return table(
        f"Growth: the dashboard as answers accumulate (ms, medians of {runs} runs; ratio to "
        "the first row, normalised by the CPU reference of the same runs)",
        [
            "answers",
            *(f"{label}" for label in labels),
            "CPU reference",
            *(f"ratio {label.split(', ')[1]}" for label in labels),
            "queries",
        ],
        [
            [
                f"{point.answers:,}",
                *(fmt(point.medians[label]) for label in labels),
                fmt(point.medians["CPU reference"]),
                *(ratio(point, label) for label in labels),
                " / ".join(str(point.queries[label]) for label in labels),
            ]
            for point in points
        ],
    )


def analyse(*models: type[Model]) -> None:
    """VACUUM ANALYZE the models' tables, or the whole database."""
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {tables}")


def timed_refresh() -> float:
    """Seconds that one rebuild of the dashboard's read model takes."""
    started = time.perf_counter()
    refresh_outcome_facts()
    return time.perf_counter() - started


def refresh_line() -> str:
    """The read model rebuilt twice (the second replacing rows of the same size, as every
    periodic refresh does), then analysed as autovacuum would."""
    first, again = timed_refresh(), timed_refresh()
    analyse(OutcomeFact, OutcomeEpisode)
    return (
        f"Read model refresh (refresh_outcome_facts) at {CheckInAnswer.objects.count():,} "
        f"answers: {first:.2f} s; again over the same rows: {again:.2f} s."
    )


def run(runs: int, warmup: int, sizes: Iterable[int]) -> None:
    started = time.perf_counter()
    rng = random.Random(SEED)
    clinic = seed_clinic()
    ids = Ids()
    client = Client()
    client.force_login(clinic.clinicians[0].user)
    print(describe_machine())
    print(
        f"Clinic: {CLINICIANS} clinicians, {len(clinic.locations)} locations, "
        f"{len(clinic.sites)} sites; each patient has {EPISODES_PER_PATIENT} procedures over "
        f"two years; check-ins at days {', '.join(map(str, ANSWER_RATE))}."
    )
    points: list[Point] = []
    pages: Pages | None = None
    for size in sorted(sizes):
        patients = round(size / ANSWERS_PER_PATIENT) - Patient.objects.count()
        grow(clinic, ids, patients, rng).write()
        analyse()
        print(refresh_line())
        progress(f"  {counts()} ({time.perf_counter() - started:.0f} s)")
        if pages is None:
            # The clinician's first patient with two episodes, at the busiest site.
            patient_id = (
                Episode.objects.filter(procedure__performed_by=clinic.clinicians[0])
                .order_by("patient_id")
                .values_list("patient_id", flat=True)
                .first()
            )
            assert patient_id is not None
            pages = Pages(client=client, patient_id=patient_id, site_slug="lumbar")
        points.append(growth_point(pages, max(5, runs // 2), warmup))
    assert pages is not None
    print(main_table(pages, runs, warmup))
    print(growth_table(points, max(5, runs // 2)))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nTotal time {time.perf_counter() - started:.0f} s; load average now {load}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed calls per case (10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (2)")
    parser.add_argument(
        "--answers",
        default="25000,100000,250000",
        help="answers in the database at each step of growth; the main table is measured "
        "at the last (default 25000,100000,250000)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        parser.error("this benchmark needs PostgreSQL: set DATABASE_URL")
    setup_test_environment()
    # Not test_<name>: the test suite may be running against that one right now.
    connection.settings_dict["TEST"]["NAME"] = (
        f"test_{connection.settings_dict['NAME']}_bench_trends"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args.runs, args.warmup, [int(size) for size in args.answers.split(",")])
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
