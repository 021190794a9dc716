"""The clinical definitions every figure reads, each written once.

docs/clinical.md states each definition in words, with its source and a worked example
that tests/followup/test_clinical.py checks. Pain is the 0-10 numeric rating scale (NRS)
throughout; a reduction is always measured against the episode's own baseline on that
same scale, never against the patient's own "% relief" answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from followup.models import Pgic, Procedure

# Responders (IMMPACT, Dworkin et al. 2008): a reduction of at least 30 % is moderately
# important, of at least 50 % substantial.
MODERATE_PERCENT = 30
SUBSTANTIAL_PERCENT = 50
# Farrar et al. 2001: a 2-point reduction on the 0-10 NRS is clinically important.
RESPONDER_POINTS = 2
# PGIC answers that count as a responder (Farrar et al. 2001; Dworkin et al. 2008).
RESPONDER_PGIC = frozenset({Pgic.VERY_MUCH_IMPROVED, Pgic.MUCH_IMPROVED})
# The check-in days at which responders are counted.
RESPONDER_DAYS = (7, 30, 90)
# Duration of relief: how long the NRS stays at least this far below the baseline (the
# "50 % relief" of the Medicare trigger point injection policies).
RELIEF_PERCENT = 50
# Relief lasting some weeks is shown only from an answer by this day: a trigger point
# injection's anesthetic acts within hours and a corticosteroid within days, so relief first
# measured later cannot be dated from the injection, and when it began is unknown.
RELIEF_ONSET_DAYS = 14
# The Medicare trigger point injection policies limit the sessions at a site "in 12 months",
# counted here as the 365 days up to and including the day of the count.
SESSION_YEAR_DAYS = 365


def percent_reduction(baseline: int | None, pain: int) -> float | None:
    """(baseline - pain) / baseline x 100; None without a baseline or with a baseline of 0."""
    if not baseline:
        return None
    return (baseline - pain) / baseline * 100


def reduced_by(baseline: int | None, pain: int, percent: int) -> bool:
    """Whether pain is at least `percent` % below a baseline above 0, in integers so that the
    boundary is exact (30 % below 10 is 7, and 7 counts)."""
    return bool(baseline) and pain * 100 <= baseline * (100 - percent)  # type: ignore[operator]


def reduced_by_sql(pain: str, baseline: str, percent: int) -> str:
    """`reduced_by` as a SQL condition on two integer columns (baseline above 0 assumed)."""
    return f"{pain} * 100 <= {baseline} * {100 - int(percent)}"


def level_below(baseline: int, percent: int) -> float:
    """The pain `percent` % below the baseline, for reference lines on a chart."""
    return baseline * (100 - percent) / 100


def responds_by_points(baseline: int | None, pain: int) -> bool:
    """A reduction of at least RESPONDER_POINTS on the NRS (any baseline, 0 included)."""
    return baseline is not None and baseline - pain >= RESPONDER_POINTS


def responds_by_pgic(pgic: int | None) -> bool:
    return pgic in RESPONDER_PGIC


def calendar_days_between(start: datetime, end: datetime, zone: ZoneInfo) -> int:
    """Days from `start`'s date to `end`'s date on the calendar of `zone` (the location's), so
    an answer on the day after a 10:00 injection is day 1 at 09:00 as at 23:00."""
    return (end.astimezone(zone).date() - start.astimezone(zone).date()).days


def choose_baseline(pain_before: int | None, pain_at_booking: int | None) -> int | None:
    """The baseline: the pain recorded just before the injection; the score given at
    booking only when there is none."""
    return pain_before if pain_before is not None else pain_at_booking


@dataclass(frozen=True)
class Baseline:
    """An episode's baseline, where it came from and when it was measured."""

    pain: int | None
    from_booking: bool
    measured_on: date | None  # the location's date
    days_before: int  # days between the measurement and the injection

    @property
    def note(self) -> str:
        if self.pain is None:
            return "no baseline recorded"
        if not self.from_booking:
            return "before the injection"
        days = (
            "the day of the injection"
            if not self.days_before
            else (
                f"{self.days_before} day{'s' if self.days_before != 1 else ''} before the injection"
            )
        )
        return f"baseline from booking, {days}"


def baseline_of(
    *, pain_before: int | None, pain_at_booking: int | None, injected_on: date, booked_on: date
) -> Baseline:
    """The baseline of an injection given on `injected_on` (the location's date) after a
    booking made on `booked_on`."""
    pain = choose_baseline(pain_before, pain_at_booking)
    if pain_before is not None or pain is None:
        return Baseline(pain, False, injected_on if pain is not None else None, 0)
    return Baseline(pain, True, booked_on, (injected_on - booked_on).days)


@dataclass(frozen=True)
class ReliefInterval:
    """How long relief of at least RELIEF_PERCENT lasted, bracketed by the answers.

    Relief begins at the first answered check-in at or above the threshold. It lasted at
    least until `at_least`, the last answered check-in still at or above it, and at most
    until `at_most`, the first answered check-in after that below it (None: no answer has
    shown it end, so the duration is censored at `at_least`).
    """

    began: int
    at_least: int
    at_most: int | None

    @property
    def ended(self) -> bool:
        return self.at_most is not None

    @property
    def text(self) -> str:
        if self.at_most is None:
            return (
                f"at least {self.at_least} days (still ≥ {RELIEF_PERCENT} % at day {self.at_least})"
            )
        return (
            f"between {self.at_least} and {self.at_most} days (≥ {RELIEF_PERCENT} % at day "
            f"{self.at_least}, below at day {self.at_most})"
        )


def relief_interval(
    baseline: int | None, answers: Iterable[tuple[int, int]], percent: int = RELIEF_PERCENT
) -> ReliefInterval | None:
    """The interval of relief from (day, pain) answers; None when relief never began or
    cannot be measured (no baseline, or a baseline of 0)."""
    if not baseline:
        return None
    began: int | None = None
    last_good = 0
    for day, pain in sorted(answers):
        if reduced_by(baseline, pain, percent):
            began = day if began is None else began
            last_good = day
        elif began is not None:
            return ReliefInterval(began, last_good, day)
    return None if began is None else ReliefInterval(began, last_good, None)


def in_session_year(performed_on: date, today: date) -> bool:
    """Whether a session on `performed_on` falls in the 12 months (SESSION_YEAR_DAYS) up to
    `today`, both the location's dates."""
    return today - timedelta(days=SESSION_YEAR_DAYS) < performed_on <= today


def procedure_baseline(procedure: Procedure) -> Baseline:
    """The procedure's baseline (followup.clinical.baseline_of), in the location's dates."""
    appointment = procedure.appointment
    zone = appointment.location.zone
    return baseline_of(
        pain_before=procedure.pain_before,
        pain_at_booking=appointment.baseline_pain,
        injected_on=procedure.performed_at.astimezone(zone).date(),
        booked_on=appointment.created.astimezone(zone).date(),
    )
