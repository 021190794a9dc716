"""Repeat-injection eligibility at one site: plain functions, no HTTP.

Three rules, with limits from the site's EligibilityPolicy (the Medicare trigger point
injection policies; docs/clinical.md, "Repeat-injection eligibility", states them in full):
enough days since the last injection at the site, fewer than the yearly limit of sessions
there, and relief from the last one that reached the threshold early and lasted. Days are
calendar days of the injection's location. The verdict is the first that applies: "not
supported by the data", "not yet" (with the earliest date), "waiting" (for an answer still
to come), "eligible".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from booking.formats import short_day
from followup.checkins import CheckInStatus, answerable_until, check_in_status
from followup.clinical import (
    RELIEF_ONSET_DAYS,
    SESSION_YEAR_DAYS,
    Baseline,
    ReliefInterval,
    calendar_days_between,
    percent_reduction,
    relief_interval,
)
from followup.models import EligibilityPolicy
from followup.trends import EpisodeFigures, episodes_by_site

ELIGIBLE = "eligible"
NOT_YET = "not yet"
WAITING = "waiting"
NOT_SUPPORTED = "not supported by the data"


@dataclass(frozen=True)
class Rules:
    min_weeks: int
    max_per_year: int
    relief_percent: int
    relief_weeks: int

    @classmethod
    def of(cls, policy: EligibilityPolicy) -> Rules:
        return cls(
            min_weeks=policy.min_weeks,
            max_per_year=policy.max_per_year,
            relief_percent=policy.relief_percent,
            relief_weeks=policy.relief_weeks,
        )

    @property
    def relief_days(self) -> int:
        return self.relief_weeks * 7

    @property
    def relief_onset_days(self) -> int:
        """The day by which relief must be measured: a clinical definition, the same at
        every site."""
        return RELIEF_ONSET_DAYS


def rules_by_site(site_ids: Iterable[int]) -> dict[int, Rules]:
    """Each site's rules in one query; a site without a saved policy (one created outside
    the admin) gets the policy model's defaults."""
    ids = set(site_ids)
    saved = {policy.site_id: policy for policy in EligibilityPolicy.objects.filter(site__in=ids)}
    return {
        site_id: Rules.of(saved.get(site_id) or EligibilityPolicy(site_id=site_id))
        for site_id in ids
    }


@dataclass(frozen=True)
class Measurement:
    day: int  # the check-in's time point, days after the injection
    measured_on: date  # the location's date of the answer
    pain: int


@dataclass(frozen=True)
class Awaited:
    """An unanswered check-in that still takes an answer, now or once it is due."""

    day: int
    answerable_until: datetime


@dataclass(frozen=True)
class Session:
    """One injection at the site: when and where (its location's zone), its baseline, its
    answered check-ins and those still awaited."""

    performed_at: datetime
    zone: ZoneInfo
    baseline: Baseline
    measurements: list[Measurement] = field(default_factory=list)
    awaited: list[Awaited] = field(default_factory=list)

    @property
    def performed_on(self) -> date:
        return self.performed_at.astimezone(self.zone).date()

    def days_since(self, now: datetime) -> int:
        """Calendar days from the injection to `now`, in the location's zone."""
        return calendar_days_between(self.performed_at, now, self.zone)


@dataclass(frozen=True)
class Evidence:
    """One dated NRS measurement used for rule 3, with its reduction from baseline."""

    what: str
    measured_on: date | None
    pain: int
    reduction: float | None


class ReliefFinding(StrEnum):
    SHOWN = "shown"
    PENDING = "pending"  # an answer still to come can show it
    NOT_SHOWN = "not shown"


@dataclass(frozen=True)
class Relief:
    """Rule 3 on the last session: the finding, why, the measurements it rests on, and the
    check-in whose answer it waits for when pending."""

    finding: ReliefFinding
    reason: str
    evidence: list[Evidence]
    waiting_for: Awaited | None = None


@dataclass(frozen=True)
class Timing:
    """Rules 1 and 2 at `now`."""

    days_since: int
    interval_ok: bool
    sessions_last_year: int
    within_limit: bool
    earliest: date  # the first date both allow


@dataclass
class Eligibility:
    verdict: str
    headline: str  # the verdict with what it waits for or lacks, in words
    reasons: list[str]
    last_injection_on: date | None  # the location's date
    days_since: int | None
    interval_ok: bool
    next_date: date | None  # first date rules 1 and 2 allow, when "not yet"
    sessions_last_year: int
    limit: int
    within_limit: bool
    relief_ok: bool
    waiting_until: date | None  # the location's last date the awaited answer is taken
    evidence: list[Evidence]
    rules: Rules

    @property
    def weeks_since(self) -> float | None:
        return None if self.days_since is None else self.days_since / 7


# --- rule 3 --------------------------------------------------------------------------------


def _not_enough(rules: Rules) -> str:
    return f"Not enough answers to show {rules.relief_weeks} weeks"


def _baseline_evidence(baseline: Baseline) -> Evidence:
    assert baseline.pain is not None
    return Evidence(f"Baseline ({baseline.note})", baseline.measured_on, baseline.pain, None)


def _answer_evidence(
    answers: list[Measurement], baseline: int, through_day: int, label: dict[int, str]
) -> list[Evidence]:
    """The answers up to day `through_day`, each with its reduction and any label."""
    return [
        Evidence(
            f"Day {m.day} check-in" + (f": {label[m.day]}" if m.day in label else ""),
            m.measured_on,
            m.pain,
            percent_reduction(baseline, m.pain),
        )
        for m in answers
        if m.day <= through_day
    ]


def _relief_began_in_time(
    session: Session, answers: list[Measurement], interval: ReliefInterval, rules: Rules
) -> Relief:
    """Rule 3 once relief was measured by day RELIEF_ONSET_DAYS: it lasted, it fell, or it
    waits for an answer at or after the required day."""
    baseline = session.baseline.pain
    assert baseline is not None
    percent, needed = rules.relief_percent, rules.relief_days
    evidence = [_baseline_evidence(session.baseline)]
    began = {interval.began: f"≥ {percent} %, relief began"}
    if interval.at_least >= needed:
        proof = next(m.day for m in answers if m.day >= needed)
        still = {proof: f"still ≥ {percent} %"}
        evidence += _answer_evidence(answers, baseline, proof, began | still)
        return Relief(
            ReliefFinding.SHOWN,
            f"Relief ≥ {percent} % at every answered check-in from day {interval.began} to "
            f"day {proof} (≥ {rules.relief_weeks} weeks).",
            evidence,
        )
    if interval.at_most is not None:
        fell = interval.at_most
        evidence += _answer_evidence(answers, baseline, fell, began | {fell: f"below {percent} %"})
        return Relief(
            ReliefFinding.NOT_SHOWN,
            f"Relief fell below {percent} % at day {fell}, before {rules.relief_weeks} weeks "
            f"(day {needed}).",
            evidence,
        )
    evidence += _answer_evidence(answers, baseline, interval.at_least, began)
    so_far = f"Relief ≥ {percent} % from day {interval.began} to day {interval.at_least} so far"
    awaited = next((a for a in session.awaited if a.day >= needed), None)
    if awaited is None:
        return Relief(
            ReliefFinding.NOT_SHOWN,
            f"{_not_enough(rules)}: {so_far[0].lower()}{so_far[1:]}, and no check-in at or "
            f"after day {needed} can still be answered.",
            evidence,
        )
    return Relief(
        ReliefFinding.PENDING,
        f"{so_far}; the day-{awaited.day} answer can show {rules.relief_weeks} weeks.",
        evidence,
        awaited,
    )


def _relief_not_begun_in_time(
    session: Session, answers: list[Measurement], interval: ReliefInterval | None, rules: Rules
) -> Relief:
    """Rule 3 when no answer by day RELIEF_ONSET_DAYS shows relief: pending while such an
    answer and one at or after the required day can still come, else not shown."""
    baseline = session.baseline.pain
    assert baseline is not None
    percent, needed = rules.relief_percent, rules.relief_days
    evidence = [
        _baseline_evidence(session.baseline),
        *_answer_evidence(answers, baseline, needed, {}),
    ]
    early = next((a for a in session.awaited if a.day <= RELIEF_ONSET_DAYS), None)
    if early is not None and any(a.day >= needed for a in session.awaited):
        return Relief(
            ReliefFinding.PENDING,
            f"No answered check-in shows ≥ {percent} % relief yet; the day-{early.day} answer can.",
            evidence,
            early,
        )
    if not answers:
        reason = f"{_not_enough(rules)}: no check-in after the last injection was answered."
    elif interval is None:
        reason = f"No answered check-in showed ≥ {percent} % relief."
    else:
        reason = (
            f"{_not_enough(rules)}: ≥ {percent} % relief is first measured at day "
            f"{interval.began}; it must be measured by day {RELIEF_ONSET_DAYS} and at every "
            f"answered check-in through day {needed}."
        )
    return Relief(ReliefFinding.NOT_SHOWN, reason, evidence)


def judge_relief(session: Session, rules: Rules) -> Relief:
    """Rule 3 on the session (the last one at the site)."""
    baseline = session.baseline
    if baseline.pain is None:
        return Relief(
            ReliefFinding.NOT_SHOWN, "No baseline NRS was recorded for the last injection.", []
        )
    if baseline.pain == 0:
        return Relief(
            ReliefFinding.NOT_SHOWN,
            "The baseline NRS was 0: no percent relief exists.",
            [_baseline_evidence(baseline)],
        )
    answers = sorted(session.measurements, key=lambda m: m.day)
    interval = relief_interval(
        baseline.pain, [(m.day, m.pain) for m in answers], rules.relief_percent
    )
    if interval is not None and interval.began <= RELIEF_ONSET_DAYS:
        return _relief_began_in_time(session, answers, interval, rules)
    return _relief_not_begun_in_time(session, answers, interval, rules)


# --- rules 1 and 2 -------------------------------------------------------------------------


def timing(sessions: list[Session], *, now: datetime, rules: Rules) -> Timing:
    """Rules 1 and 2 for sessions in the order given (the last is the latest)."""
    last = sessions[-1]
    days_since = last.days_since(now)
    in_year = [s for s in sessions if s.days_since(now) < SESSION_YEAR_DAYS]
    within_limit = len(in_year) < rules.max_per_year
    earliest = last.performed_on + timedelta(weeks=rules.min_weeks)
    if not within_limit:
        # The oldest session that has to leave the 12-month window for one more to fit.
        leaves = in_year[len(in_year) - rules.max_per_year]
        earliest = max(earliest, leaves.performed_on + timedelta(days=SESSION_YEAR_DAYS))
    return Timing(
        days_since=days_since,
        interval_ok=days_since >= rules.min_weeks * 7,
        sessions_last_year=len(in_year),
        within_limit=within_limit,
        earliest=earliest,
    )


# --- the verdict ---------------------------------------------------------------------------


def _verdict(relief: Relief, when: Timing) -> str:
    if relief.finding == ReliefFinding.NOT_SHOWN:
        return NOT_SUPPORTED
    if not when.interval_ok or not when.within_limit:
        return NOT_YET
    if relief.finding == ReliefFinding.PENDING:
        return WAITING
    return ELIGIBLE


def _no_session(rules: Rules) -> Eligibility:
    return Eligibility(
        verdict=NOT_SUPPORTED,
        headline=NOT_SUPPORTED,
        reasons=["No injection at this site yet: nothing to repeat."],
        last_injection_on=None,
        days_since=None,
        interval_ok=False,
        next_date=None,
        sessions_last_year=0,
        limit=rules.max_per_year,
        within_limit=True,
        relief_ok=False,
        waiting_until=None,
        evidence=[],
        rules=rules,
    )


def assess(*, sessions: list[Session], now: datetime, rules: Rules) -> Eligibility:
    """The verdict for one more injection at a site, from its past sessions there."""
    if not sessions:
        return _no_session(rules)
    ordered = sorted(sessions, key=lambda s: s.performed_at)
    last = ordered[-1]
    when = timing(ordered, now=now, rules=rules)
    relief = judge_relief(last, rules)
    verdict = _verdict(relief, when)
    waiting = relief.waiting_for
    waiting_until = (
        waiting.answerable_until.astimezone(last.zone).date() if waiting is not None else None
    )
    reasons = [
        f"Last injection at this site {short_day(last.performed_on)}, {when.days_since} days ago "
        f"({'at least' if when.interval_ok else 'less than'} {rules.min_weeks} weeks).",
        f"{when.sessions_last_year} session{'' if when.sessions_last_year == 1 else 's'} "
        "at this site in the last 12 months; the limit "
        f"is {rules.max_per_year}" + ("." if when.within_limit else ": one more would exceed it."),
        relief.reason,
    ]
    if verdict == NOT_YET:
        reasons.append(f"Earliest date the timing rules allow: {short_day(when.earliest)}.")
    headline = verdict
    if verdict == WAITING and waiting is not None and waiting_until is not None:
        headline = f"waiting for the day-{waiting.day} answer (until {short_day(waiting_until)})"
    elif verdict == NOT_SUPPORTED and relief.reason.startswith(_not_enough(rules)):
        headline = f"{NOT_SUPPORTED}: {_not_enough(rules).lower()}"
    return Eligibility(
        verdict=verdict,
        headline=headline,
        reasons=reasons,
        last_injection_on=last.performed_on,
        days_since=when.days_since,
        interval_ok=when.interval_ok,
        next_date=when.earliest if verdict == NOT_YET else None,
        sessions_last_year=when.sessions_last_year,
        limit=rules.max_per_year,
        within_limit=when.within_limit,
        relief_ok=relief.finding == ReliefFinding.SHOWN,
        waiting_until=waiting_until,
        evidence=relief.evidence,
        rules=rules,
    )


# --- from the trend figures ----------------------------------------------------------------


@dataclass
class SiteEligibility:
    site_name: str
    result: Eligibility


def session_of(item: EpisodeFigures, *, now: datetime) -> Session:
    """The session of one episode's figures (see followup.trends): its answers in its
    location's dates, and its unanswered check-ins that still take an answer at `now`
    (read from the check-ins patient_episodes prefetched)."""
    episode = item.episode
    zone = episode.procedure.appointment.location.zone
    awaited = [
        Awaited(day=check_in.day, answerable_until=answerable_until(check_in))
        for check_in in episode.check_ins.all()
        if check_in_status(check_in, now=now) in (CheckInStatus.OPEN, CheckInStatus.NOT_DUE)
    ]
    return Session(
        performed_at=episode.procedure.performed_at,
        zone=zone,
        baseline=item.baseline_info,
        measurements=[
            Measurement(
                day=row.day, measured_on=row.answered_at.astimezone(zone).date(), pain=row.pain
            )
            for row in item.rows
        ],
        awaited=sorted(awaited, key=lambda a: a.day),
    )


def sessions_from(figures: list[EpisodeFigures], *, now: datetime) -> list[Session]:
    """Sessions at one site from its episodes' figures."""
    return [session_of(item, now=now) for item in figures]


def eligibility_by_site(figures: list[EpisodeFigures], *, now: datetime) -> list[SiteEligibility]:
    """One verdict per site the patient was injected at, by that site's rules, in site-name
    order."""
    by_site = episodes_by_site(figures)
    rules = rules_by_site(by_site)
    results = [
        SiteEligibility(
            site_name=items[0].episode.site.name,
            result=assess(sessions=sessions_from(items, now=now), now=now, rules=rules[site_id]),
        )
        for site_id, items in by_site.items()
    ]
    return sorted(results, key=lambda item: item.site_name)
