"""The clinic-wide outcome figures of the outcomes page, each with its n, aggregated in the
database: pain and percent change from baseline by time point, responder rates by the four
IMMPACT methods (among completers and with a missing answer as a non-responder, each with a
95 % Wilson interval), the Kaplan-Meier median duration of relief and completion.
docs/clinical.md, "Outcomes dashboard", defines each figure as the page states it.

They come from the read model `followup.outcome_facts` (only open alerts are counted live)
in a fixed number of queries; the per-time-point ones from a histogram of check-ins by
(site, day, sent, answered, time over, baseline, pain, PGIC responder, activity,
medication), whose rows are bounded since pain and baseline are integers 0-10. Every median
and quartile (PERCENTILE_CONT's interpolation, exactly) is computed from its counts here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.lookups import Exact

from booking.models import Clinician, Location, Site
from followup.clinical import (
    MODERATE_PERCENT,
    RESPONDER_DAYS,
    RESPONDER_PGIC,
    RESPONDER_POINTS,
    SUBSTANTIAL_PERCENT,
    reduced_by,
    responds_by_points,
)
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


# --- the outcomes page's figures ---------------------------------------------------------


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
class ResponderMethod:
    key: str
    label: str
    nrs: bool  # measured on the NRS against a baseline above 0 (else: the PGIC answer)
    # (baseline, pain, whether the PGIC answer is a responder's: None when not given)
    responds: Callable[[int | None, int, bool | None], bool]


RESPONDER_METHODS = (
    ResponderMethod(
        "moderate",
        f"≥ {MODERATE_PERCENT} % reduction",
        nrs=True,
        responds=lambda baseline, pain, _: reduced_by(baseline, pain, MODERATE_PERCENT),
    ),
    ResponderMethod(
        "substantial",
        f"≥ {SUBSTANTIAL_PERCENT} % reduction",
        nrs=True,
        responds=lambda baseline, pain, _: reduced_by(baseline, pain, SUBSTANTIAL_PERCENT),
    ),
    ResponderMethod(
        "points",
        f"≥ {RESPONDER_POINTS}-point reduction",
        nrs=True,
        responds=lambda baseline, pain, _: responds_by_points(baseline, pain),
    ),
    ResponderMethod(
        "pgic",
        "PGIC much or very much improved",
        nrs=False,
        responds=lambda _, __, improved: bool(improved),
    ),
)


@dataclass(frozen=True)
class MethodRates:
    """One responder method at one day: among the completers, and counting a missing answer
    as a non-responder."""

    method: ResponderMethod
    completers: Rate
    missing_as_non_responder: Rate


@dataclass(frozen=True)
class ResponderDay:
    day: int
    methods: tuple[MethodRates, ...]

    def of(self, key: str) -> MethodRates:
        return next(rates for rates in self.methods if rates.method.key == key)


@dataclass(frozen=True)
class SiteResponders:
    site: Site | None  # None: every site of the filters together
    days: list[ResponderDay]


@dataclass(frozen=True)
class Benefits:
    day: int
    more_activity: Rate
    less_medication: Rate


@dataclass(frozen=True)
class SiteSeries:
    site: Site
    baseline: Quartiles  # of the site's episodes with a baseline, drawn at day 0
    points: list[tuple[int, Quartiles]]


@dataclass
class OutcomeStats:
    episodes: int
    time_points: list[TimePoint]
    responders: list[SiteResponders]  # all sites together first, then per site
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


@dataclass
class EpisodeTally:
    """The episodes' figures: how many, their baselines by site, and their durations of
    relief as (lower bound, ended) for the Kaplan-Meier median."""

    episodes: int = 0
    baselines: dict[int, Counter[float]] = field(default_factory=lambda: defaultdict(Counter))
    relief: Counter[tuple[int, bool]] = field(default_factory=Counter)


def tally_episodes(episodes: QuerySet[OutcomeEpisode]) -> EpisodeTally:
    """One grouped query over the episodes of the read model."""
    tally = EpisodeTally()
    rows = (
        episodes.order_by()
        .annotate(ended=ExpressionWrapper(Q(relief_at_most__isnull=False), BooleanField()))
        .values_list("site", "baseline", "relief_at_least", "ended")
        .annotate(n=Count("pk"))
    )
    for site_id, baseline, at_least, ended, n in rows:
        tally.episodes += n
        if baseline is not None:
            tally.baselines[site_id][baseline] += n
        if at_least is not None:
            # The lower bound of the interval: an ended relief is an event at the last day
            # it was seen, a lasting one is censored there.
            tally.relief[at_least, ended] += n
    return tally


@dataclass
class ResponderTally:
    """Per method: responders, completers, and the check-ins whose time to answer is over."""

    responders: Counter[str] = field(default_factory=Counter)
    completers: Counter[str] = field(default_factory=Counter)
    over: Counter[str] = field(default_factory=Counter)

    def add(
        self, baseline: int | None, pain: int | None, improved: bool | None, over: bool, n: int
    ) -> None:
        for method in RESPONDER_METHODS:
            if method.nrs and not baseline:  # the NRS methods need a baseline above 0
                continue
            self.over[method.key] += n if over else 0
            if pain is not None and (method.nrs or improved is not None):  # a completer
                self.completers[method.key] += n
                responds = method.responds(baseline, pain, improved)
                self.responders[method.key] += n if responds else 0

    def day(self, day: int) -> ResponderDay:
        return ResponderDay(
            day=day,
            methods=tuple(
                MethodRates(
                    method=method,
                    completers=Rate(self.responders[method.key], self.completers[method.key]),
                    missing_as_non_responder=Rate(
                        self.responders[method.key], self.over[method.key]
                    ),
                )
                for method in RESPONDER_METHODS
            ),
        )


@dataclass
class DayTally:
    """What one time point's figures are computed from: histograms and counts of answers."""

    pain: Counter[float] = field(default_factory=Counter)
    percent_change: Counter[float] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, baseline: int | None, pain: int, activity: str, medication: str, n: int) -> None:
        self.pain[pain] += n
        if baseline:  # neither missing nor 0: the answer has a percent change
            # Multiplied before dividing, in floats, as PostgreSQL computes it: the quartiles
            # then equal PERCENTILE_CONT over the answers to the last bit.
            self.percent_change[(pain - baseline) * 100.0 / baseline] += n
        self.counts["activity_n"] += n if activity else 0
        self.counts["activity_more"] += n if activity == Activity.MORE else 0
        self.counts["medication_n"] += n if medication else 0
        self.counts["medication_less"] += n if medication == Medication.LESS else 0

    def rate(self, successes: str, n: str) -> Rate:
        return Rate(self.counts[successes], self.counts[n])


@dataclass
class FactTally:
    by_day: dict[int, DayTally] = field(default_factory=lambda: defaultdict(DayTally))
    pain_by_site_day: dict[tuple[int, int], Counter[float]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    completion: dict[int, Rate] = field(default_factory=dict)
    # Keyed by (site, day); site None: every site together.
    responders: dict[tuple[int | None, int], ResponderTally] = field(
        default_factory=lambda: defaultdict(ResponderTally)
    )


def tally_facts(facts: QuerySet[OutcomeFact], now: datetime) -> FactTally:
    """One grouped query, one pass over the read model: the answers' tallies by day, their
    pain by (site, day), the completion of the sent check-ins by day, and the responders
    by (site, day) at RESPONDER_DAYS.

    A check-in's time to answer is over when it is answered or `now` is past the time until
    which it could be answered (a check-in never asked has no such time)."""
    tally = FactTally()
    sent: Counter[int] = Counter()
    answered_of_sent: Counter[int] = Counter()
    over = ExpressionWrapper(
        Q(answered=True) | Q(answerable_until__lte=now), output_field=BooleanField()
    )
    # Whether the PGIC answer is a responder's, not the answer itself: three values, not
    # eight, keep the histogram small.
    improved = Case(
        When(pgic__isnull=True, then=Value(None)),
        When(pgic__in=RESPONDER_PGIC, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    histogram = (
        facts.order_by()
        .annotate(over=over, improved=improved)
        .values_list(
            "site",
            "day",
            "sent",
            "answered",
            "over",
            "baseline",
            "pain",
            "improved",
            "activity",
            "medication",
        )
        .annotate(n=Count("pk"))
    )
    for row in histogram:
        (
            site_id,
            day,
            was_sent,
            answered,
            over_,
            baseline,
            pain,
            pgic_improved,
            activity,
            medication,
            n,
        ) = row
        if was_sent:
            sent[day] += n
            answered_of_sent[day] += n if answered else 0
        if answered:
            tally.by_day[day].add(baseline, pain, activity, medication, n)
            tally.pain_by_site_day[site_id, day][pain] += n
        if day in RESPONDER_DAYS:
            for key in (None, site_id):
                tally.responders[key, day].add(baseline, pain, pgic_improved, bool(over_), n)
    tally.completion = {day: Rate(answered_of_sent[day], sent[day]) for day in sent}
    return tally


def site_responders(tally: FactTally, site: Site | None) -> SiteResponders:
    key = None if site is None else site.pk
    return SiteResponders(
        site=site,
        days=[
            tally.responders.get((key, day), ResponderTally()).day(day) for day in RESPONDER_DAYS
        ],
    )


def outcome_stats(filters: OutcomeFilters, *, now: datetime) -> OutcomeStats:
    """Every figure of the outcomes page, in a fixed number of queries, from the read model as
    of its last refresh (`as_of`); the open alerts are counted live, and a check-in counts
    as missing once `now` is past the time it could be answered."""
    condition = matching_facts(filters)
    sites = list(filters.sites) or list(Site.objects.all())
    days = sorted(
        set(
            FollowUpStep.objects.filter(site__in=[site.pk for site in sites])
            .order_by()
            .values_list("day", flat=True)
            .distinct()
        )
    )
    facts = tally_facts(OutcomeFact.objects.filter(condition), now)
    episodes = tally_episodes(OutcomeEpisode.objects.filter(condition))

    def tally(day: int) -> DayTally:
        return facts.by_day.get(day) or DayTally()

    time_points = [
        TimePoint(
            day=day,
            pain=Quartiles.of_counts(tally(day).pain),
            percent_change=Quartiles.of_counts(tally(day).percent_change),
            completion=facts.completion.get(day, Rate(0, 0)),
        )
        for day in days
    ]
    benefits = [
        Benefits(
            day=day,
            more_activity=tally(day).rate("activity_more", "activity_n"),
            less_medication=tally(day).rate("medication_less", "medication_n"),
        )
        for day in BENEFIT_DAYS
    ]
    # Per selected site; unfiltered, per site with answers (charts) or with check-ins whose
    # time is over (responders).
    by_name = sorted(sites, key=lambda site: site.name)
    charted = {site_id for site_id, _ in facts.pain_by_site_day}
    counted = {
        site_id
        for (site_id, _), responders in facts.responders.items()
        if site_id is not None and any(responders.over.values())
    }
    per_site = [
        SiteSeries(
            site=site,
            baseline=Quartiles.of_counts(episodes.baselines.get(site.pk, Counter())),
            points=[
                (day, Quartiles.of_counts(facts.pain_by_site_day.get((site.pk, day), Counter())))
                for day in days
            ],
        )
        for site in by_name
        if filters.sites or site.pk in charted
    ]
    responders = [
        site_responders(facts, None),
        *(site_responders(facts, site) for site in by_name if filters.sites or site.pk in counted),
    ]
    return OutcomeStats(
        episodes=episodes.episodes,
        time_points=time_points,
        responders=responders,
        benefits=benefits,
        relief=kaplan_meier_median_of_counts(
            (time, ended, n) for (time, ended), n in episodes.relief.items()
        ),
        open_alerts=Alert.objects.filter(
            matching_episode(filters, "answer__check_in__episode__"), acknowledged_at__isnull=True
        ).count(),
        per_site=per_site,
        as_of=refreshed_at(),
    )
