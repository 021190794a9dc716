"""The worked examples of docs/clinical.md ("Definitions"), each computed by hand there and
here, against followup.clinical and the patient's trend page."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from booking.models import AppointmentStatus
from followup.clinical import (
    ReliefInterval,
    baseline_of,
    percent_reduction,
    reduced_by,
    relief_interval,
    responds_by_pgic,
    responds_by_points,
)
from followup.models import Pgic
from followup.procedures import InjectateDetails, ProcedureDetails, complete_visit
from tests.factories import AppointmentFactory, ClinicianFactory, LocationFactory, SiteFactory


class TestResponders:
    def test_thirty_and_fifty_percent_are_inclusive(self):
        # Baseline 10: pain 7 is (10 - 7) / 10 = 30 %, pain 5 is 50 %.
        assert reduced_by(10, 7, 30)
        assert reduced_by(10, 5, 50)
        # Baseline 7: pain 5 is 2 / 7 = 28.6 %, below 30 %; pain 4 is 3 / 7 = 42.9 %.
        assert not reduced_by(7, 5, 30)
        assert reduced_by(7, 4, 30)
        assert not reduced_by(7, 4, 50)
        # Baseline 0 has no percent at all, and no reduction.
        assert percent_reduction(0, 0) is None
        assert not reduced_by(0, 0, 30)
        assert not reduced_by(None, 3, 30)

    def test_two_points_is_a_second_method(self):
        # Baseline 9, pain 7: 22 % (no percent responder) but 2 points (a points responder).
        assert not reduced_by(9, 7, 30)
        assert responds_by_points(9, 7)
        # Baseline 3, pain 2: 33 % but 1 point.
        assert reduced_by(3, 2, 30)
        assert not responds_by_points(3, 2)
        assert not responds_by_points(None, 0)

    def test_pgic_much_or_very_much_improved(self):
        assert responds_by_pgic(Pgic.VERY_MUCH_IMPROVED)
        assert responds_by_pgic(Pgic.MUCH_IMPROVED)
        assert not responds_by_pgic(Pgic.MINIMALLY_IMPROVED)
        assert not responds_by_pgic(None)


class TestDurationOfRelief:
    def test_an_interval_between_the_last_relieved_and_the_first_lost_answer(self):
        # Baseline 8; 50 % is pain 4 or less. Day 1: 6 (25 %), day 7: 4 (50 %), day 14: 3
        # (62.5 %), day 30: 5 (37.5 %). Relief began at day 7, was still there at day 14 and
        # was gone at day 30: it lasted between 14 and 30 days, not "30 days".
        interval = relief_interval(8, [(30, 5), (1, 6), (7, 4), (14, 3)])
        assert interval == ReliefInterval(began=7, at_least=14, at_most=30)
        assert interval.ended

    def test_still_lasting_is_censored_at_the_latest_answer(self):
        interval = relief_interval(6, [(7, 3), (14, 2)])
        assert interval == ReliefInterval(began=7, at_least=14, at_most=None)
        assert not interval.ended

    def test_never_reached_or_not_measurable(self):
        assert relief_interval(8, [(7, 5), (14, 6)]) is None  # 37.5 % and 25 %
        assert relief_interval(0, [(7, 0)]) is None
        assert relief_interval(None, [(7, 0)]) is None


class TestBaseline:
    def test_the_pain_before_the_injection_comes_first(self):
        baseline = baseline_of(
            pain_before=6,
            pain_at_booking=8,
            injected_on=date(2026, 3, 9),
            booked_on=date(2026, 3, 2),
        )
        assert (baseline.pain, baseline.from_booking) == (6, False)
        assert baseline.measured_on == date(2026, 3, 9)
        assert baseline.note == "before the injection"

    def test_the_booking_score_only_when_there_is_none_and_then_it_says_so(self):
        # Booked on 2 March, injected on 9 March: 7 days before.
        baseline = baseline_of(
            pain_before=None,
            pain_at_booking=8,
            injected_on=date(2026, 3, 9),
            booked_on=date(2026, 3, 2),
        )
        assert (baseline.pain, baseline.from_booking, baseline.days_before) == (8, True, 7)
        assert baseline.note == "baseline from booking, 7 days before the injection"

    def test_none_recorded(self):
        baseline = baseline_of(
            pain_before=None,
            pain_at_booking=None,
            injected_on=date(2026, 3, 9),
            booked_on=date(2026, 3, 2),
        )
        assert baseline.pain is None
        assert baseline.note == "no baseline recorded"


BOOKED = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)  # 8:30 PM on 2 March in New York
INJECTED = datetime(2026, 3, 9, 14, tzinfo=UTC)  # 10:00 AM on 9 March (EDT from 8 March)


@pytest.mark.django_db
def test_the_trend_page_says_when_the_baseline_came_from_booking(clinician_user):
    clinician = ClinicianFactory(user=clinician_user)
    site = SiteFactory()
    with time_machine.travel(BOOKED, tick=False):
        appointment = AppointmentFactory(
            site=site,
            clinician=clinician,
            location=LocationFactory(),
            start=INJECTED - timedelta(minutes=30),
            baseline_pain=8,
            status=AppointmentStatus.ARRIVED,
        )
    with time_machine.travel(INJECTED, tick=False):
        complete_visit(
            appointment=appointment,
            procedure=ProcedureDetails(
                site=site,
                side="left",
                injectates=[InjectateDetails("corticosteroid")],
                trigger_points=1,
                pain_before=None,
            ),
            clinician=clinician,
            now=INJECTED,
        )
        client = Client()
        client.force_login(clinician_user)
        page = client.get(f"/staff/patients/{appointment.patient_id}/trends/").content.decode()
    # The local dates: booked on 2 March (UTC says 3 March), injected on 9 March: 7 days.
    assert "8/10, baseline from booking, 7 days before the injection (Mar 2, 2026)" in page
