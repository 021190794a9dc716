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

The figures are read from the read model that `followup.outcome_facts` rebuilds every few
minutes (only the open alerts are counted live), in a fixed number of queries. The
per-time-point figures come from one grouped query, a histogram: how many answers have each
(site, day, baseline, pain, activity, medication). Pain and baseline are integers 0-10, so
it has at most a few thousand rows however many answers there are, and every median,
quartile (PostgreSQL's PERCENTILE_CONT interpolation, reproduced exactly from the counts),
responder count and share is computed from it here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import Exact

from booking.models import Clinician, Location, Site
from followup.clinical import MODERATE_PERCENT, RESPONDER_DAYS, SUBSTANTIAL_PERCENT, reduced_by
from followup.models import (
    Activity,
    Alert,
    CheckInAnswer,
    Episode,
    FollowUpStep,
    Medication,
    OutcomeEpisode,
    OutcomeFact,
    ProcedureInjectate,
)
from followup.outcome_facts import INJECTATE_BITS, refreshed_at

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


def percentile_of_counts(counts: Sequence[tuple[float, int]], fraction: float) -> float | None:
    """PostgreSQL's PERCENTILE_CONT (linear interpolation between the closest ranks) of the
    values that (value, how many) rows, in value order, describe."""
    n = sum(number for _, number in counts)
    if not n:
        return None
    position = fraction * (n - 1)
    lower = math.floor(position)
    low, high = value_at_rank(counts, lower), value_at_rank(counts, min(lower + 1, n - 1))
    return float(low + (position - lower) * (high - low))


def value_at_rank(counts: Sequence[tuple[float, int]], rank: int) -> float:
    """The value at 0-based `rank` of the sorted values that the counts describe."""
    seen = 0
    for value, number in counts:
        seen += number
        if rank < seen:
            return value
    raise IndexError(rank)


@dataclass(frozen=True)
class Survival:
    """Kaplan-Meier median of (time, event) pairs; event False means censored."""

    n: int
    events: int
    censored: int
    median: float | None  # None: not reached (or no data)


def kaplan_meier_median_of_counts(counts: Iterable[tuple[int, bool, int]]) -> Survival:
    """Kaplan-Meier median of (time, event, how many) rows, grouped by the database."""
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


def matching_episode(filters: OutcomeFilters, path: str = "") -> Q:
    """The condition on the episode at `path` (e.g. "check_in__episode__") that its
    procedure matches the filters (procedure dates in TIME_ZONE)."""
    condition = Q()
    if filters.sites:
        condition &= Q(**{f"{path}site__in": [site.pk for site in filters.sites]})
    if filters.injectate:
        condition &= Q(
            Exists(
                ProcedureInjectate.objects.filter(
                    procedure=OuterRef(f"{path}procedure"), injectate=filters.injectate
                )
            )
        )
    procedure = f"{path}procedure__"
    if filters.clinician:
        condition &= Q(**{f"{procedure}performed_by": filters.clinician})
    if filters.location:
        condition &= Q(**{f"{procedure}appointment__location": filters.location})
    if filters.date_from:
        condition &= Q(**{f"{procedure}performed_at__date__gte": filters.date_from})
    if filters.date_to:
        condition &= Q(**{f"{procedure}performed_at__date__lte": filters.date_to})
    return condition


def filtered_episodes(filters: OutcomeFilters) -> QuerySet[Episode]:
    return Episode.objects.filter(matching_episode(filters))


def filtered_answers(filters: OutcomeFilters) -> QuerySet[CheckInAnswer]:
    """Conditions on the answers' own join, not a subquery of episodes: unfiltered, the
    database reads the answers without joining the episodes a second time."""
    return CheckInAnswer.objects.filter(matching_episode(filters, "check_in__episode__"))


# --- quartiles from a histogram ----------------------------------------------------------


@dataclass(frozen=True)
class Quartiles:
    n: int
    q1: float | None
    median: float | None
    q3: float | None

    @classmethod
    def of_counts(cls, counts: dict[float, int]) -> Quartiles:
        """The quartiles of the values that a {value: how many} histogram describes."""
        ordered = sorted(counts.items())
        return cls(
            sum(counts.values()),
            percentile_of_counts(ordered, 0.25),
            percentile_of_counts(ordered, 0.5),
            percentile_of_counts(ordered, 0.75),
        )


NO_DATA = Quartiles(0, None, None, None)


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
    as_of: datetime | None = None  # when the read model was refreshed; None: never


def matching_facts(filters: OutcomeFilters) -> Q:
    """The same filters on the read model's rows (OutcomeFact and OutcomeEpisode)."""
    condition = Q()
    if filters.sites:
        condition &= Q(site__in=[site.pk for site in filters.sites])
    if filters.injectate:
        bit = INJECTATE_BITS[filters.injectate]
        condition &= Q(Exact(F("injectates").bitand(bit), bit))
    if filters.clinician:
        condition &= Q(clinician=filters.clinician)
    if filters.location:
        condition &= Q(location=filters.location)
    if filters.date_from:
        condition &= Q(procedure_date__gte=filters.date_from)
    if filters.date_to:
        condition &= Q(procedure_date__lte=filters.date_to)
    return condition


def relief_survival(episodes: QuerySet[OutcomeEpisode]) -> Survival:
    """The Kaplan-Meier median duration of relief of `episodes` (durations precomputed by
    the refresh): one grouped query."""
    rows = (
        episodes.filter(relief_days__isnull=False)
        .order_by()
        .values_list("relief_days", "relief_ended")
        .annotate(n=Count("pk"))
    )
    return kaplan_meier_median_of_counts(rows)


@dataclass
class DayTally:
    """What one time point's figures are computed from: histograms and counts of answers."""

    pain: Counter[float] = field(default_factory=Counter)
    percent_change: Counter[float] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, baseline: int | None, pain: int, activity: str, medication: str, n: int) -> None:
        self.pain[pain] += n
        if baseline:  # neither missing nor 0: the answer has a percent change
            # The same float arithmetic, in the same order, as the SQL it replaces.
            self.percent_change[(pain - baseline) * 100.0 / baseline] += n
            self.counts["with_baseline"] += n
            self.counts["moderate"] += n if reduced_by(baseline, pain, MODERATE_PERCENT) else 0
            self.counts["substantial"] += (
                n if reduced_by(baseline, pain, SUBSTANTIAL_PERCENT) else 0
            )
        self.counts["activity_n"] += n if activity else 0
        self.counts["activity_more"] += n if activity == Activity.MORE else 0
        self.counts["medication_n"] += n if medication else 0
        self.counts["medication_less"] += n if medication == Medication.LESS else 0

    def rate(self, successes: str, n: str) -> Rate:
        return Rate(self.counts[successes], self.counts[n])


def tally_facts(
    facts: QuerySet[OutcomeFact],
) -> tuple[dict[int, DayTally], dict[tuple[int, int], Counter[float]], dict[int, Rate]]:
    """One grouped query, one pass over the read model: the answers' tallies by day, their
    pain by (site, day), and the completion of the sent check-ins by day."""
    by_day: dict[int, DayTally] = defaultdict(DayTally)
    pain_by_site_day: dict[tuple[int, int], Counter[float]] = defaultdict(Counter)
    sent: Counter[int] = Counter()
    answered_of_sent: Counter[int] = Counter()
    histogram = (
        facts.order_by()
        .values_list(
            "site", "day", "sent", "answered", "baseline", "pain", "activity", "medication"
        )
        .annotate(n=Count("pk"))
    )
    for site_id, day, was_sent, answered, baseline, pain, activity, medication, n in histogram:
        if was_sent:
            sent[day] += n
            answered_of_sent[day] += n if answered else 0
        if answered:
            by_day[day].add(baseline, pain, activity, medication, n)
            pain_by_site_day[site_id, day][pain] += n
    completion = {day: Rate(answered_of_sent[day], sent[day]) for day in sent}
    return by_day, pain_by_site_day, completion


def outcome_stats(filters: OutcomeFilters) -> OutcomeStats:
    """Every figure of the dashboard, in a fixed number of queries, from the read model as
    of its last refresh (`as_of`); the open alerts are counted live."""
    condition = matching_facts(filters)
    facts = OutcomeFact.objects.filter(condition)
    episodes = OutcomeEpisode.objects.filter(condition)
    sites = list(filters.sites) or list(Site.objects.all())
    days = sorted(
        set(
            FollowUpStep.objects.filter(site__in=[site.pk for site in sites])
            .order_by()
            .values_list("day", flat=True)
            .distinct()
        )
    )
    by_day, pain_by_site_day, completion = tally_facts(facts)

    def tally(day: int) -> DayTally:
        return by_day.get(day) or DayTally()

    time_points = [
        TimePoint(
            day=day,
            pain=Quartiles.of_counts(tally(day).pain),
            percent_change=Quartiles.of_counts(tally(day).percent_change),
            completion=completion.get(day, Rate(0, 0)),
        )
        for day in days
    ]
    responders = [
        Responders(
            day=day,
            moderate=tally(day).rate("moderate", "with_baseline"),
            substantial=tally(day).rate("substantial", "with_baseline"),
        )
        for day in RESPONDER_DAYS
    ]
    benefits = [
        Benefits(
            day=day,
            more_activity=tally(day).rate("activity_more", "activity_n"),
            less_medication=tally(day).rate("medication_less", "medication_n"),
        )
        for day in BENEFIT_DAYS
    ]
    # A chart per selected site; unfiltered, per site with answers.
    charted = {site_id for site_id, _ in pain_by_site_day}
    per_site = [
        SiteSeries(
            site=site,
            points=[
                (day, Quartiles.of_counts(pain_by_site_day.get((site.pk, day), Counter())))
                for day in days
            ],
        )
        for site in sorted(sites, key=lambda site: site.name)
        if filters.sites or site.pk in charted
    ]
    return OutcomeStats(
        episodes=episodes.count(),
        time_points=time_points,
        responders=responders,
        benefits=benefits,
        relief=relief_survival(episodes),
        open_alerts=Alert.objects.filter(
            matching_episode(filters, "answer__check_in__episode__"), acknowledged_at__isnull=True
        ).count(),
        per_site=per_site,
        as_of=refreshed_at(),
    )
