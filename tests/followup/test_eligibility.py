"""Repeat-injection eligibility: one test per verdict case, each against hand-computed dates
and percentages (baseline 8: pain 4 is 50 %, pain 3 is 62.5 %, pain 5 is 37.5 %)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from followup.clinical import Baseline
from followup.eligibility import (
    ELIGIBLE,
    NOT_SUPPORTED,
    NOT_YET,
    WAITING,
    Awaited,
    Measurement,
    Rules,
    Session,
    assess,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
RULES = Rules(min_weeks=6, max_per_year=3, relief_percent=50, relief_weeks=6)

SEP_8 = datetime(2026, 9, 8, 10, tzinfo=NEW_YORK)  # day 7: Sep 15, day 14: Sep 22,
# day 30: Oct 8, day 42: Oct 20 (Sep 8 + 22 days = Sep 30, + 20 = Oct 20)
NOW = datetime(2026, 11, 20, 10, tzinfo=NEW_YORK)  # 73 days after Sep 8 (22 + 31 + 20)
LASTING = {7: 4, 14: 3, 30: 3, 42: 4}  # 50 %, 62.5 %, 62.5 %, 50 %


def session(
    performed_at: datetime,
    baseline: int | None,
    answers: dict[int, int],
    awaited: dict[int, datetime] | None = None,
) -> Session:
    """A session whose answers were given on the day of their check-in (local dates)."""
    zone = performed_at.tzinfo
    assert isinstance(zone, ZoneInfo)
    on = performed_at.date()
    return Session(
        performed_at=performed_at,
        zone=zone,
        baseline=Baseline(baseline, False, on if baseline is not None else None, 0),
        measurements=[
            Measurement(day=day, measured_on=date.fromordinal(on.toordinal() + day), pain=pain)
            for day, pain in answers.items()
        ],
        awaited=[Awaited(day, until) for day, until in (awaited or {}).items()],
    )


def reasons(result) -> str:
    return " ".join(result.reasons)


# --- eligible ------------------------------------------------------------------------------


def test_eligible_with_every_dated_measurement():
    earlier = session(datetime(2026, 2, 10, 10, tzinfo=NEW_YORK), 7, {})
    result = assess(sessions=[earlier, session(SEP_8, 8, LASTING)], now=NOW, rules=RULES)
    assert result.verdict == ELIGIBLE
    assert result.headline == "eligible"
    assert (result.interval_ok, result.within_limit, result.relief_ok) == (True, True, True)
    assert result.days_since == 73
    assert result.sessions_last_year == 2  # Feb 10 is 283 days before Nov 20
    assert [(e.what, e.measured_on, e.pain, e.reduction) for e in result.evidence] == [
        ("Baseline (before the injection)", date(2026, 9, 8), 8, None),
        ("Day 7 check-in: ≥ 50 %, relief began", date(2026, 9, 15), 4, 50.0),
        ("Day 14 check-in", date(2026, 9, 22), 3, 62.5),
        ("Day 30 check-in", date(2026, 10, 8), 3, 62.5),
        ("Day 42 check-in: still ≥ 50 %", date(2026, 10, 20), 4, 50.0),
    ]
    assert "Last injection at this site Sep 8, 2026, 73 days ago" in reasons(result)
    assert "from day 7 to day 42 (≥ 6 weeks)" in reasons(result)
    assert "2 sessions at this site in the last 12 months" in reasons(result)
    assert result.next_date is None


def test_relief_first_measured_at_day_14_exactly_is_in_time():
    # Day 7: 5 is 37.5 %; day 14: 4 is 50 %, at RELIEF_ONSET_DAYS; day 42: 4 is 50 %.
    result = assess(sessions=[session(SEP_8, 8, {7: 5, 14: 4, 42: 4})], now=NOW, rules=RULES)
    assert result.verdict == ELIGIBLE


def test_relief_lost_after_day_42_still_counts():
    # Jun 2 to Nov 20: 28 + 31 + 31 + 30 + 31 + 20 = 171 days. Day 90: 6 is 25 %.
    last = session(datetime(2026, 6, 2, 10, tzinfo=NEW_YORK), 8, {7: 4, 42: 4, 90: 6})
    result = assess(sessions=[last], now=NOW, rules=RULES)
    assert result.verdict == ELIGIBLE
    assert [e.pain for e in result.evidence] == [8, 4, 4]  # through day 42 only


# --- not supported -------------------------------------------------------------------------


def test_a_lone_day_42_answer_is_not_enough_answers_to_show_six_weeks():
    result = assess(sessions=[session(SEP_8, 8, {42: 4})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert result.headline == "not supported by the data: not enough answers to show 6 weeks"
    assert "first measured at day 42; it must be measured by day 14" in reasons(result)
    assert not result.relief_ok


def test_relief_first_seen_after_two_weeks_is_not_enough():
    # 37.5 % at days 7 and 14, 62.5 % from day 30: when relief began is unknown.
    result = assess(sessions=[session(SEP_8, 8, {7: 5, 14: 5, 30: 3, 42: 3})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "Not enough answers to show 6 weeks" in reasons(result)


def test_every_answered_check_in_through_day_42_must_hold_the_relief():
    # 50 % at day 7, 37.5 % at day 14, 50 % again at day 42.
    result = assess(sessions=[session(SEP_8, 8, {7: 4, 14: 5, 42: 4})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "fell below 50 % at day 14, before 6 weeks (day 42)" in reasons(result)
    assert [e.pain for e in result.evidence] == [8, 4, 5]


def test_not_supported_when_relief_never_reached_50_percent():
    result = assess(sessions=[session(SEP_8, 8, {7: 5, 30: 6})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "No answered check-in showed ≥ 50 % relief" in reasons(result)


def test_not_enough_answers_when_the_day_42_check_in_takes_none_any_more():
    result = assess(sessions=[session(SEP_8, 8, {7: 4, 30: 3})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert result.headline.endswith("not enough answers to show 6 weeks")
    assert "from day 7 to day 30 so far, and no check-in at or after day 42" in reasons(result)


def test_not_enough_answers_with_none_answered():
    result = assess(sessions=[session(SEP_8, 8, {})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert "no check-in after the last injection was answered" in reasons(result)


@pytest.mark.parametrize(("baseline", "words"), [(None, "No baseline"), (0, "baseline NRS was 0")])
def test_not_supported_without_a_usable_baseline(baseline, words):
    result = assess(sessions=[session(SEP_8, baseline, {7: 0, 42: 0})], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert words in reasons(result)


def test_not_supported_with_no_session_at_the_site():
    result = assess(sessions=[], now=NOW, rules=RULES)
    assert result.verdict == NOT_SUPPORTED
    assert result.last_injection_on is None


# --- waiting -------------------------------------------------------------------------------

# The day-42 check-in of the Sep 8 injection: due Oct 20 at 10:00 EDT, expires 72 hours
# later, takes a late answer for 72 more: until Oct 26 at 10:00 EDT.
DAY_42_OPEN_UNTIL = datetime(2026, 10, 26, 10, tzinfo=NEW_YORK)
STILL_AWAITED = {42: DAY_42_OPEN_UNTIL, 90: datetime(2026, 12, 13, 10, tzinfo=NEW_YORK)}
SO_FAR = {7: 4, 14: 3, 30: 3}


def test_waiting_for_the_open_day_42_answer():
    day_43 = datetime(2026, 10, 21, 12, tzinfo=NEW_YORK)
    result = assess(sessions=[session(SEP_8, 8, SO_FAR, STILL_AWAITED)], now=day_43, rules=RULES)
    assert result.verdict == WAITING
    assert result.headline == "waiting for the day-42 answer (until Oct 26, 2026)"
    assert result.waiting_until == date(2026, 10, 26)
    assert result.interval_ok
    assert not result.relief_ok
    assert "the day-42 answer can show 6 weeks" in reasons(result)


def test_waiting_on_day_42_before_its_check_in_is_due():
    # 9:00 on Oct 20: 42 calendar days after Sep 8, an hour before the check-in is due.
    nine = datetime(2026, 10, 20, 9, tzinfo=NEW_YORK)
    result = assess(sessions=[session(SEP_8, 8, SO_FAR, STILL_AWAITED)], now=nine, rules=RULES)
    assert result.interval_ok
    assert result.verdict == WAITING


def test_not_yet_while_six_weeks_have_not_passed():
    evening = datetime(2026, 10, 19, 23, 30, tzinfo=NEW_YORK)  # day 41
    result = assess(sessions=[session(SEP_8, 8, SO_FAR, STILL_AWAITED)], now=evening, rules=RULES)
    assert result.verdict == NOT_YET
    assert result.next_date == date(2026, 10, 20)


# --- not yet: calendar days of the location ------------------------------------------------

FEB_20 = datetime(2026, 2, 20, 10, tzinfo=NEW_YORK)  # EST; clocks go forward on Mar 8
FOUR_WEEKS = Rules(min_weeks=6, max_per_year=3, relief_percent=50, relief_weeks=4)


@pytest.mark.parametrize(
    ("now", "verdict"),
    [
        # Feb 20 + 8 = Feb 28, + 31 = Mar 31, + 3 = Apr 3: day 42. At 10:00 EDT on Apr 3
        # only 41 days and 23 hours have elapsed (the hour lost on Mar 8).
        (datetime(2026, 4, 3, 10, tzinfo=NEW_YORK), ELIGIBLE),
        (datetime(2026, 4, 3, 9, tzinfo=NEW_YORK), ELIGIBLE),
        (datetime(2026, 4, 3, 0, 1, tzinfo=NEW_YORK), ELIGIBLE),
        (datetime(2026, 4, 2, 23, 59, tzinfo=NEW_YORK), NOT_YET),
    ],
)
def test_six_weeks_are_calendar_days_across_the_clock_change(now, verdict):
    last = session(FEB_20, 8, {7: 4, 14: 3, 28: 3})  # relief through day 28 (4 weeks)
    result = assess(sessions=[last], now=now, rules=FOUR_WEEKS)
    assert result.verdict == verdict
    if verdict == NOT_YET:
        assert result.next_date == date(2026, 4, 3)


def test_dates_are_the_locations_not_utc():
    # 5:30 PM PDT on Jul 14 is 00:30 UTC on Jul 15.
    evening = datetime(2026, 7, 14, 17, 30, tzinfo=LOS_ANGELES)
    now = datetime(2026, 8, 10, 12, tzinfo=LOS_ANGELES)  # Jul 14 + 17 + 10 = 27 days
    day_42_until = datetime(2026, 8, 31, 10, tzinfo=LOS_ANGELES)  # due Aug 25, + 144 hours
    last = session(evening, 8, {7: 4, 14: 3}, {42: day_42_until})
    result = assess(sessions=[last], now=now, rules=RULES)
    assert result.verdict == NOT_YET
    assert result.last_injection_on == date(2026, 7, 14)
    assert result.days_since == 27
    assert result.next_date == date(2026, 8, 25)  # Jul 14 + 42 days
    assert "Last injection at this site Jul 14, 2026, 27 days ago" in reasons(result)
    assert "Earliest date the timing rules allow: Aug 25, 2026." in reasons(result)


def test_the_12_month_window_counts_the_locations_dates():
    # 5:30 PM PST on Nov 20, 2025 is Nov 21 in UTC; 365 days later is Nov 20, 2026.
    year_ago = session(datetime(2025, 11, 20, 17, 30, tzinfo=LOS_ANGELES), 8, {})
    june = session(datetime(2026, 6, 1, 10, tzinfo=LOS_ANGELES), 8, {})
    last = session(datetime(2026, 9, 8, 10, tzinfo=LOS_ANGELES), 8, LASTING)
    sessions = [year_ago, june, last]

    morning = datetime(2026, 11, 20, 8, tzinfo=LOS_ANGELES)  # 365 days: out of the window
    result = assess(sessions=sessions, now=morning, rules=RULES)
    assert (result.sessions_last_year, result.verdict) == (2, ELIGIBLE)

    evening_before = datetime(2026, 11, 19, 20, tzinfo=LOS_ANGELES)  # 364 days: still in
    result = assess(sessions=sessions, now=evening_before, rules=RULES)
    assert (result.sessions_last_year, result.verdict) == (3, NOT_YET)
    assert result.next_date == date(2026, 11, 20)


def test_not_yet_when_the_yearly_limit_is_reached():
    oldest = session(datetime(2026, 1, 5, 10, tzinfo=NEW_YORK), 8, {})
    june = session(datetime(2026, 6, 1, 10, tzinfo=NEW_YORK), 8, {})
    result = assess(sessions=[oldest, june, session(SEP_8, 8, LASTING)], now=NOW, rules=RULES)
    assert result.verdict == NOT_YET
    assert result.sessions_last_year == 3
    assert not result.within_limit
    assert result.next_date == date(2027, 1, 5)  # Jan 5, 2026 + 365 days (not a leap year)


def test_limits_are_the_rules_given():
    rules = Rules(min_weeks=12, max_per_year=4, relief_percent=50, relief_weeks=6)
    result = assess(sessions=[session(SEP_8, 8, LASTING)], now=NOW, rules=rules)
    assert result.verdict == NOT_YET
    assert result.next_date == date(2026, 12, 1)  # Sep 8 + 84 days: 22 + 31 + 30 + 1


# --- the baseline's line -------------------------------------------------------------------


def test_the_baseline_says_where_it_came_from_and_when():
    booked = Baseline(pain=8, from_booking=True, measured_on=date(2026, 9, 1), days_before=7)
    last = Session(
        performed_at=SEP_8,
        zone=NEW_YORK,
        baseline=booked,
        measurements=[Measurement(day=7, measured_on=date(2026, 9, 15), pain=4)],
    )
    first = assess(sessions=[last], now=NOW.astimezone(UTC), rules=RULES).evidence[0]
    assert (first.what, first.measured_on, first.pain) == (
        "Baseline (baseline from booking, 7 days before the injection)",
        date(2026, 9, 1),
        8,
    )
