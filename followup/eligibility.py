"""Repeat-injection eligibility at one site: plain functions, no HTTP.

The rules (limits from the site's EligibilityPolicy, which clinic admins edit):
1. At least min_weeks weeks since the last injection at the site.
2. Fewer than max_per_year sessions at the site in the last 12 months (365 days),
   so that one more stays within the limit.
3. The last injection gave >= relief_percent % relief lasting >= relief_weeks
   weeks, measured as the reduction of the 0-10 NRS from that episode's own baseline (the
   same scale), by answered check-ins: relief must reach the threshold and stay at or above
   it at every answered check-in up to one at or after the required number of days.

Verdict: "not supported by the data" when rule 3 fails or cannot be shown (no baseline, a
baseline of 0, no answers, relief that never reached the threshold or fell before the
required weeks, or no measurement that late while the wait is over); otherwise "not yet"
while rule 1 or 2 fails; otherwise "eligible".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from followup.clinical import percent_reduction
from followup.models import EligibilityPolicy
from followup.trends import EpisodeFigures, episodes_by_site

ELIGIBLE = "eligible"
NOT_YET = "not yet"
NOT_SUPPORTED = "not supported by the data"
YEAR = timedelta(days=365)


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
    measured_on: date
    pain: int


@dataclass(frozen=True)
class Session:
    """One injection at the site: when, its baseline NRS and its answered check-ins."""

    performed_at: datetime
    baseline: int | None
    measurements: list[Measurement] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """One dated NRS measurement used for rule 3, with its reduction from baseline."""

    what: str
    measured_on: date
    pain: int
    reduction: float | None


@dataclass
class Eligibility:
    verdict: str
    reasons: list[str]
    last_injection: datetime | None
    weeks_since: float | None
    interval_ok: bool
    next_date: date | None  # first date rules 1 and 2 allow, when "not yet"
    sessions_last_year: int
    limit: int
    within_limit: bool
    relief_ok: bool
    evidence: list[Evidence]
    rules: Rules


def _relief(session: Session, rules: Rules) -> tuple[bool, bool, list[Evidence], str]:
    """(shown, still_possible, evidence, reason) for rule 3 on the last session.

    still_possible: relief is at or above the threshold at the latest answer, which comes
    before the required day, so a later measurement could still show it."""
    needed_days = rules.relief_weeks * 7
    baseline = session.baseline
    evidence: list[Evidence] = []
    performed = session.performed_at.date()
    if baseline is None:
        return False, False, evidence, "No baseline NRS was recorded for the last injection."
    evidence.append(Evidence("Baseline (before the injection)", performed, baseline, None))
    if baseline == 0:
        return False, False, evidence, "The baseline NRS was 0: no percent relief exists."
    answers = sorted(session.measurements, key=lambda m: m.day)
    if not answers:
        return False, True, evidence, "No check-in after the last injection was answered."
    first_good: Measurement | None = None
    last_good: Measurement | None = None
    for m in answers:
        reduction = percent_reduction(baseline, m.pain)
        assert reduction is not None
        if reduction >= rules.relief_percent:
            first_good = first_good or m
            last_good = m
            if m.day >= needed_days:
                evidence.append(
                    Evidence(
                        f"First ≥ {rules.relief_percent} % (day {first_good.day})",
                        first_good.measured_on,
                        first_good.pain,
                        percent_reduction(baseline, first_good.pain),
                    )
                )
                if m is not first_good:
                    evidence.append(
                        Evidence(
                            f"Still ≥ {rules.relief_percent} % (day {m.day})",
                            m.measured_on,
                            m.pain,
                            reduction,
                        )
                    )
                return (
                    True,
                    False,
                    evidence,
                    f"Relief ≥ {rules.relief_percent} % from day {first_good.day} to at least "
                    f"day {m.day} (≥ {rules.relief_weeks} weeks).",
                )
        elif first_good is not None:
            assert last_good is not None
            evidence.append(
                Evidence(
                    f"Last ≥ {rules.relief_percent} % (day {last_good.day})",
                    last_good.measured_on,
                    last_good.pain,
                    percent_reduction(baseline, last_good.pain),
                )
            )
            evidence.append(
                Evidence(
                    f"Below {rules.relief_percent} % (day {m.day})",
                    m.measured_on,
                    m.pain,
                    reduction,
                )
            )
            return (
                False,
                False,
                evidence,
                f"Relief fell below {rules.relief_percent} % at day {m.day}, before "
                f"{rules.relief_weeks} weeks.",
            )
    if first_good is None:
        best = min(answers, key=lambda m: m.pain)
        evidence.append(
            Evidence(
                f"Best answer (day {best.day})",
                best.measured_on,
                best.pain,
                percent_reduction(baseline, best.pain),
            )
        )
        return (
            False,
            False,
            evidence,
            f"No answered check-in showed ≥ {rules.relief_percent} % relief.",
        )
    assert last_good is not None
    evidence.append(
        Evidence(
            f"Latest ≥ {rules.relief_percent} % (day {last_good.day})",
            last_good.measured_on,
            last_good.pain,
            percent_reduction(baseline, last_good.pain),
        )
    )
    return (
        False,
        True,
        evidence,
        f"Relief ≥ {rules.relief_percent} % is measured up to day {last_good.day} only; "
        f"{rules.relief_weeks} weeks is day {needed_days}.",
    )


def assess(*, sessions: list[Session], now: datetime, rules: Rules) -> Eligibility:
    """The verdict for one more injection at a site, from its past sessions there."""
    if not sessions:
        return Eligibility(
            verdict=NOT_SUPPORTED,
            reasons=["No injection at this site yet: nothing to repeat."],
            last_injection=None,
            weeks_since=None,
            interval_ok=False,
            next_date=None,
            sessions_last_year=0,
            limit=rules.max_per_year,
            within_limit=True,
            relief_ok=False,
            evidence=[],
            rules=rules,
        )
    ordered = sorted(sessions, key=lambda s: s.performed_at)
    last = ordered[-1]
    weeks_since = (now - last.performed_at) / timedelta(weeks=1)
    interval_from = last.performed_at + timedelta(weeks=rules.min_weeks)
    interval_ok = now >= interval_from
    in_year = [s for s in ordered if s.performed_at > now - YEAR]
    within_limit = len(in_year) < rules.max_per_year
    next_date = interval_from
    if not within_limit:
        # The oldest session that has to leave the 12-month window for one more to fit.
        drops_out = in_year[len(in_year) - rules.max_per_year].performed_at + YEAR
        next_date = max(next_date, drops_out)
    relief_ok, relief_pending, evidence, relief_reason = _relief(last, rules)

    reasons = [
        f"Last injection at this site {last.performed_at:%d %b %Y}, {weeks_since:.1f} weeks ago "
        f"({'at least' if interval_ok else 'less than'} {rules.min_weeks} weeks).",
        f"{len(in_year)} session(s) at this site in the last 12 months; the limit is "
        f"{rules.max_per_year}" + ("." if within_limit else ": one more would exceed it."),
        relief_reason,
    ]
    if not relief_ok and not (relief_pending and not interval_ok):
        verdict = NOT_SUPPORTED
    elif not interval_ok or not within_limit:
        verdict = NOT_YET
        reasons.append(f"Earliest date the timing rules allow: {next_date:%d %b %Y}.")
    else:
        verdict = ELIGIBLE
    return Eligibility(
        verdict=verdict,
        reasons=reasons,
        last_injection=last.performed_at,
        weeks_since=weeks_since,
        interval_ok=interval_ok,
        next_date=next_date.date() if verdict == NOT_YET else None,
        sessions_last_year=len(in_year),
        limit=rules.max_per_year,
        within_limit=within_limit,
        relief_ok=relief_ok,
        evidence=evidence,
        rules=rules,
    )


@dataclass
class SiteEligibility:
    site_name: str
    result: Eligibility


def sessions_from(figures: list[EpisodeFigures]) -> list[Session]:
    """Sessions at one site from its episodes' figures (see followup.trends)."""
    return [
        Session(
            performed_at=item.episode.procedure.performed_at,
            baseline=item.baseline,
            measurements=[
                Measurement(
                    day=row.day, measured_on=timezone.localdate(row.answered_at), pain=row.pain
                )
                for row in item.rows
            ],
        )
        for item in figures
    ]


def eligibility_by_site(figures: list[EpisodeFigures], *, now: datetime) -> list[SiteEligibility]:
    """One verdict per site the patient was injected at, by that site's rules, in site-name
    order."""
    by_site = episodes_by_site(figures)
    rules = rules_by_site(by_site)
    results = [
        SiteEligibility(
            site_name=items[0].episode.site.name,
            result=assess(sessions=sessions_from(items), now=now, rules=rules[site_id]),
        )
        for site_id, items in by_site.items()
    ]
    return sorted(results, key=lambda item: item.site_name)
