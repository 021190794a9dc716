"""The clinic's outcome figures for the dashboard, aggregated in the database.

Every figure comes with its n. The rules, as the dashboard page states them:

- Time points are the days of the follow-up plans of the selected sites. An answer counts
  at its check-in's day, whenever it arrived (late answers count).
- Percent change from baseline is (pain - baseline) / baseline x 100, so a fall in pain
  is negative; episodes without a baseline or with a baseline of 0 have no percent and are
  left out of every percent figure (their n says so).
- Responders (IMMPACT): pain at the day at least 30 % (moderate) or 50 % (substantial)
  below the baseline, among the episodes with a baseline above 0 answered that day; the
  rate carries a 95 % Wilson interval.
- Duration of relief: days from the procedure to the first answered check-in at which the
  pain was less than 50 % below the baseline. An episode in which that has not happened
  (yet) is censored at its last answered day; the median is the Kaplan-Meier median, which
  is "not reached" while more than half the episodes are still relieved.
- Completion: check-ins answered / check-ins whose check-in message was sent.

Cost does not grow with the history in number of queries: each figure is one grouped
query. Quartiles are PERCENTILE_CONT in PostgreSQL; elsewhere (SQLite) one query fetches
the grouped values of only the needed column and the same interpolation is done here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.lookups import LessThanOrEqual

from booking.models import Clinician, Location, Site
from followup.models import (
    Activity,
    Alert,
    CheckIn,
    CheckInAnswer,
    Episode,
    FollowUpStep,
    Medication,
    Message,
    MessageKind,
    MessageState,
    ProcedureInjectate,
)

RESPONDER_DAYS = (7, 30, 90)
BENEFIT_DAYS = (30, 90)
Z_95 = 1.959963984540054


# --- pure statistics ---------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95 % by default); None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks, as PostgreSQL's PERCENTILE_CONT."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return float(ordered[lower] + (position - lower) * (ordered[upper] - ordered[lower]))


@dataclass(frozen=True)
class Survival:
    """Kaplan-Meier median of (time, event) pairs; event False means censored."""

    n: int
    events: int
    censored: int
    median: float | None  # None: not reached (or no data)


def kaplan_meier_median(observations: Iterable[tuple[int, bool]]) -> Survival:
    return kaplan_meier_median_of_counts((time, event, 1) for time, event in observations)


def kaplan_meier_median_of_counts(counts: Iterable[tuple[int, bool, int]]) -> Survival:
    """The same from (time, event, how many) rows, so that the database can group them."""
    by_time: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # time -> [events, all]
    for time, event, number in counts:
        by_time[time][0] += number if event else 0
        by_time[time][1] += number
    n = sum(total for _, total in by_time.values())
    events = sum(died for died, _ in by_time.values())
    survival = 1.0
    median: float | None = None
    at_risk = n
    for time in sorted(by_time):
        died, leaving = by_time[time]
        if died:
            survival *= 1 - died / at_risk
            if survival <= 0.5 and median is None:
                median = float(time)
        at_risk -= leaving
    return Survival(n=n, events=events, censored=n - events, median=median)


# --- filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeFilters:
    sites: tuple[Site, ...] = ()
    injectate: str = ""
    clinician: Clinician | None = None
    location: Location | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        parts = []
        if self.sites:
            parts.append("sites " + ", ".join(site.slug for site in self.sites))
        if self.injectate:
            parts.append(f"injectate {self.injectate}")
        if self.clinician:
            parts.append(f"clinician {self.clinician.pk}")
        if self.location:
            parts.append(f"location {self.location.pk}")
        if self.date_from:
            parts.append(f"from {self.date_from.isoformat()}")
        if self.date_to:
            parts.append(f"to {self.date_to.isoformat()}")
        return "; ".join(parts) or "no filters"


def filtered_episodes(filters: OutcomeFilters) -> QuerySet[Episode]:
    """The episodes whose procedures match the filters (procedure dates in TIME_ZONE)."""
    episodes = Episode.objects.all()
    if filters.sites:
        episodes = episodes.filter(site__in=[site.pk for site in filters.sites])
    if filters.injectate:
        episodes = episodes.filter(
            Exists(
                ProcedureInjectate.objects.filter(
                    procedure=OuterRef("procedure"), injectate=filters.injectate
                )
            )
        )
    if filters.clinician:
        episodes = episodes.filter(procedure__performed_by=filters.clinician)
    if filters.location:
        episodes = episodes.filter(procedure__appointment__location=filters.location)
    if filters.date_from:
        episodes = episodes.filter(procedure__performed_at__date__gte=filters.date_from)
    if filters.date_to:
        episodes = episodes.filter(procedure__performed_at__date__lte=filters.date_to)
    return episodes


def filtered_answers(filters: OutcomeFilters) -> QuerySet[CheckInAnswer]:
    return CheckInAnswer.objects.filter(
        check_in__episode__in=filtered_episodes(filters).values("pk")
    )


# --- quartiles in the database (PostgreSQL) or from one fetch of values ------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate PERCENTILE_CONT(fraction) WITHIN GROUP."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Quartiles:
    n: int
    q1: float | None
    median: float | None
    q3: float | None


NO_DATA = Quartiles(0, None, None, None)


def quartiles_by(
    queryset: QuerySet[Any], groups: tuple[str, ...], value: Any
) -> dict[tuple[Any, ...], Quartiles]:
    """n, lower quartile, median and upper quartile of `value` per group: one query."""
    result: dict[tuple[Any, ...], Quartiles] = {}
    if connection.vendor == "postgresql":
        rows = (
            queryset.annotate(v=value)
            .values(*groups)
            .annotate(
                n=Count("v"),
                q1=PercentileCont("v", 0.25),
                q2=PercentileCont("v", 0.5),
                q3=PercentileCont("v", 0.75),
            )
        )
        for row in rows.order_by():
            key = tuple(row[name] for name in groups)
            result[key] = Quartiles(row["n"], row["q1"], row["q2"], row["q3"])
        return result
    grouped: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    values = (
        queryset.annotate(v=value)
        .filter(v__isnull=False)
        .order_by(*groups, "v")
        .values_list(*groups, "v")
    )
    for *key, number in values:
        grouped[tuple(key)].append(number)
    for key, ordered in grouped.items():
        result[key] = Quartiles(
            len(ordered),
            percentile_cont(ordered, 0.25),
            percentile_cont(ordered, 0.5),
            percentile_cont(ordered, 0.75),
        )
    return result


# --- the dashboard's figures -------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    successes: int
    n: int

    @property
    def percent(self) -> float | None:
        return 100 * self.successes / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        bounds = wilson_interval(self.successes, self.n)
        return None if bounds is None else (100 * bounds[0], 100 * bounds[1])


@dataclass(frozen=True)
class TimePoint:
    day: int
    pain: Quartiles
    percent_change: Quartiles
    completion: Rate


@dataclass(frozen=True)
class Responders:
    day: int
    moderate: Rate  # >= 30 % reduction
    substantial: Rate  # >= 50 % reduction


@dataclass(frozen=True)
class Benefits:
    day: int
    more_activity: Rate
    less_medication: Rate


@dataclass(frozen=True)
class SiteSeries:
    site: Site
    points: list[tuple[int, Quartiles]]


@dataclass
class OutcomeStats:
    episodes: int
    time_points: list[TimePoint]
    responders: list[Responders]
    benefits: list[Benefits]
    relief: Survival
    open_alerts: int
    per_site: list[SiteSeries] = field(default_factory=list)


# Duration of relief, as the patient's trend page counts it (followup.trends.relief_duration):
# an episode with a baseline above 0 counts once one of its answers is at least 50 % below
# the baseline; relief ends at the first later answer that is not, and an episode in which
# none is yet is censored at its last answer. One query returns the (time, event, episodes)
# rows the Kaplan-Meier median needs: a window gives each answer its episode's first
# relieved day, so no answer is read twice and none reaches Python.
RELIEF_SQL = """
SELECT duration, ended, COUNT(*) FROM (
    SELECT COALESCE(MIN(CASE WHEN NOT relieved AND day > first_relieved THEN day END),
                    MAX(day)) AS duration,
           MIN(CASE WHEN NOT relieved AND day > first_relieved THEN day END) IS NOT NULL
               AS ended
    FROM (
        SELECT c.episode_id, c.day, a.pain * 2 <= e.baseline_pain AS relieved,
               MIN(CASE WHEN a.pain * 2 <= e.baseline_pain THEN c.day END)
                   OVER (PARTITION BY c.episode_id) AS first_relieved
        FROM {check_in} c
        JOIN {answer} a ON a.check_in_id = c.id
        JOIN {episode} e ON e.id = c.episode_id
        WHERE e.baseline_pain > 0 AND c.episode_id IN ({episodes})
    ) answered
    WHERE first_relieved IS NOT NULL
    GROUP BY episode_id
) per_episode
GROUP BY duration, ended
"""


def relief_survival(episodes: QuerySet[Episode]) -> Survival:
    """The Kaplan-Meier median duration of relief of `episodes`: one query."""
    episodes_sql, params = episodes.values("pk").query.sql_with_params()
    sql = RELIEF_SQL.format(
        check_in=CheckIn._meta.db_table,
        answer=CheckInAnswer._meta.db_table,
        episode=Episode._meta.db_table,
        episodes=episodes_sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return kaplan_meier_median_of_counts(
            (time, bool(event), number) for time, event, number in cursor.fetchall()
        )


def outcome_stats(filters: OutcomeFilters) -> OutcomeStats:
    """Every figure of the dashboard, in a fixed number of queries."""
    episodes = filtered_episodes(filters)
    answers = filtered_answers(filters)
    baseline = F("check_in__episode__baseline_pain")
    with_baseline = Q(check_in__episode__baseline_pain__gt=0)

    sites = list(filters.sites) or list(Site.objects.all())
    days = sorted(
        set(
            FollowUpStep.objects.filter(site__in=[site.pk for site in sites])
            .order_by()
            .values_list("day", flat=True)
            .distinct()
        )
    )

    pain_by_day = quartiles_by(answers, ("check_in__day",), F("pain"))
    pain_by_site_day = quartiles_by(
        answers, ("check_in__episode__site", "check_in__day"), F("pain")
    )
    percent_by_day = quartiles_by(
        answers.filter(with_baseline),
        ("check_in__day",),
        ExpressionWrapper(
            (F("pain") - baseline) * Value(100.0) / baseline, output_field=FloatField()
        ),
    )

    counts = {
        row["check_in__day"]: row
        for row in answers.values("check_in__day")
        .order_by()
        .annotate(
            with_baseline=Count("pk", filter=with_baseline),
            moderate=Count(
                "pk", filter=with_baseline & Q(LessThanOrEqual(F("pain") * 10, baseline * 7))
            ),
            substantial=Count(
                "pk", filter=with_baseline & Q(LessThanOrEqual(F("pain") * 2, baseline))
            ),
            activity_n=Count("pk", filter=~Q(activity="")),
            activity_more=Count("pk", filter=Q(activity=Activity.MORE)),
            medication_n=Count("pk", filter=~Q(medication="")),
            medication_less=Count("pk", filter=Q(medication=Medication.LESS)),
        )
    }

    # Sent check-ins as a semi-join (IN), which the database hashes once, rather than an
    # EXISTS inside the count, which it runs again for every check-in.
    sent_check_ins = Message.objects.filter(
        kind=MessageKind.CHECK_IN, state=MessageState.SENT
    ).values("check_in_id")
    completion = {
        row["day"]: row
        for row in CheckIn.objects.filter(episode__in=episodes.values("pk"), pk__in=sent_check_ins)
        .values("day")
        .order_by()
        .annotate(sent=Count("pk"), answered=Count("pk", filter=Q(answer__isnull=False)))
    }

    relief = relief_survival(episodes)

    open_alerts = Alert.objects.filter(
        acknowledged_at__isnull=True, answer__check_in__episode__in=episodes.values("pk")
    ).count()
    episode_count = episodes.count()

    time_points = []
    for day in days:
        row = completion.get(day, {})
        time_points.append(
            TimePoint(
                day=day,
                pain=pain_by_day.get((day,), NO_DATA),
                percent_change=percent_by_day.get((day,), NO_DATA),
                completion=Rate(row.get("answered", 0), row.get("sent", 0)),
            )
        )

    def count(day: int, key: str) -> int:
        return int(counts.get(day, {}).get(key, 0))

    responders = [
        Responders(
            day=day,
            moderate=Rate(count(day, "moderate"), count(day, "with_baseline")),
            substantial=Rate(count(day, "substantial"), count(day, "with_baseline")),
        )
        for day in RESPONDER_DAYS
    ]
    benefits = [
        Benefits(
            day=day,
            more_activity=Rate(count(day, "activity_more"), count(day, "activity_n")),
            less_medication=Rate(count(day, "medication_less"), count(day, "medication_n")),
        )
        for day in BENEFIT_DAYS
    ]
    # A chart per selected site; unfiltered, per site with answers.
    charted = {site_id for site_id, _ in pain_by_site_day}
    per_site = [
        SiteSeries(
            site=site,
            points=[(day, pain_by_site_day.get((site.pk, day), NO_DATA)) for day in days],
        )
        for site in sorted(sites, key=lambda site: site.name)
        if filters.sites or site.pk in charted
    ]
    return OutcomeStats(
        episodes=episode_count,
        time_points=time_points,
        responders=responders,
        benefits=benefits,
        relief=relief,
        open_alerts=open_alerts,
        per_site=per_site,
    )
