"""The dashboard's quartiles come from a histogram of answers; they must be exactly what
PostgreSQL's PERCENTILE_CONT gives over the answers themselves."""

import statistics
from collections import Counter
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from followup.outcome_facts import refresh_outcome_facts
from followup.outcome_stats import OutcomeFilters, Quartiles, outcome_stats
from tests.factories import PatientFactory, answer_check_in, episode_after_procedure

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = datetime(2027, 7, 1, 15, tzinfo=UTC)


@pytest.mark.slow
@given(st.lists(st.integers(min_value=0, max_value=10), min_size=2, max_size=60))
def test_quartiles_of_a_histogram_interpolate_between_the_closest_ranks(values):
    quartiles = Quartiles.of_counts(Counter(values))
    # "inclusive" is the (n - 1) positions rule that PERCENTILE_CONT follows.
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert quartiles.n == len(values)
    assert quartiles.q1 == pytest.approx(q1)
    assert quartiles.median == pytest.approx(median)
    assert quartiles.q3 == pytest.approx(q3)


def test_no_values_no_quartiles():
    assert Quartiles.of_counts(Counter()) == Quartiles(0, None, None, None)


# Baselines and pains whose percent changes have no exact binary value (thirds, sevenths)
# and whose counts put the quartiles between two different values.
ANSWERS = [(9, 3), (9, 4), (7, 2), (7, 2), (6, 5), (3, 1), (10, 7), (0, 2), (7, 6), (9, 8)]

PERCENTILES_SQL = """
SELECT c.day,
       PERCENTILE_CONT(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY a.pain),
       PERCENTILE_CONT(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (
           ORDER BY (a.pain - e.baseline_pain) * 100.0::float8 / e.baseline_pain
       ) FILTER (WHERE e.baseline_pain > 0)
FROM followup_checkinanswer a
JOIN followup_checkin c ON c.id = a.check_in_id
JOIN followup_episode e ON e.id = c.episode_id
GROUP BY c.day
"""


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PERCENTILE_CONT is PostgreSQL's")
def test_the_dashboards_quartiles_equal_percentile_cont_in_the_database():
    with time_machine.travel(NOW, tick=False):
        for baseline, pain in ANSWERS:
            episode = episode_after_procedure(
                patient=PatientFactory(consent_email=True),
                performed_at=PERFORMED,
                pain_before=baseline,
            )
            answer_check_in(episode, 7, pain)
            answer_check_in(episode, 30, max(0, pain - 1))
        refresh_outcome_facts()
        stats = outcome_stats(OutcomeFilters(), now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(PERCENTILES_SQL)
        expected = {day: (pain, percent) for day, pain, percent in cursor.fetchall()}
    answered = [point for point in stats.time_points if point.pain.n]
    assert [point.day for point in answered] == sorted(expected) == [7, 30]
    for point in answered:
        pain, percent = expected[point.day]
        assert [point.pain.q1, point.pain.median, point.pain.q3] == pain  # exactly
        assert [
            point.percent_change.q1,
            point.percent_change.median,
            point.percent_change.q3,
        ] == percent
