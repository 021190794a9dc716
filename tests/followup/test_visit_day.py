"""A visit is marked arrived or completed only from its own day (the location's calendar),
so follow-up cannot start a week early; and no route records a check-in answer before the
check-in is due (page, API, SMS, staff entry)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from booking.models import AppointmentStatus, Site
from booking.services import TransitionNotAllowed, mark_arrived
from followup.checkins import AnswerDetails, CheckInNotDue, check_in_token, record_answer
from followup.inbound import handle_inbound_sms
from followup.models import AnswerRoute, CheckInAnswer, Episode, Procedure
from tests.factories import (
    AppointmentFactory,
    LocationFactory,
    PatientFactory,
    episode_after_procedure,
)

pytestmark = pytest.mark.django_db

# Tuesday 15 December 2026, 09:00 in New York (14:00 UTC).
VISIT = datetime(2026, 12, 15, 14, tzinfo=UTC)
A_WEEK_BEFORE = VISIT - timedelta(days=8)  # Monday the 7th
EVENING_BEFORE = datetime(2026, 12, 15, 4, 30, tzinfo=UTC)  # 23:30 on the 14th in New York
EARLY_ON_THE_DAY = datetime(2026, 12, 15, 5, 30, tzinfo=UTC)  # 00:30 on the 15th in New York


@pytest.fixture
def visit():
    return AppointmentFactory(
        site=Site.objects.get(slug="lumbar"),
        location=LocationFactory(time_zone="America/New_York"),
        start=VISIT,
    )


@pytest.fixture
def staff_api(clinic_admin):
    api = APIClient()
    api.force_authenticate(clinic_admin)
    return api


# --- arriving ------------------------------------------------------------------------------


def test_the_api_refuses_to_mark_a_visit_arrived_a_week_early(staff_api, visit):
    with time_machine.travel(A_WEEK_BEFORE, tick=False):
        response = staff_api.post(f"/api/v1/appointments/{visit.public_id}/arrive/")
    assert response.status_code == 409
    assert "on the day of the visit" in response.json()["detail"]
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_the_desk_refuses_to_mark_a_visit_arrived_the_evening_before(client, receptionist, visit):
    client.force_login(receptionist)
    with time_machine.travel(EVENING_BEFORE, tick=False):
        page = client.post(f"/desk/appointments/{visit.public_id}/arrived/", follow=True)
    assert "on the day of the visit" in page.content.decode()
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_a_patient_may_arrive_early_on_the_day(visit):
    with time_machine.travel(EARLY_ON_THE_DAY, tick=False):
        assert mark_arrived(appointment=visit).status == AppointmentStatus.ARRIVED


def test_the_day_is_the_locations(visit):
    # 23:30 in New York is already the 15th in UTC: still the evening before the visit.
    with pytest.raises(TransitionNotAllowed):
        mark_arrived(appointment=visit, now=EVENING_BEFORE)


# --- completing -----------------------------------------------------------------------------


@pytest.fixture
def arrived_early(visit):
    """A visit marked arrived before its day (by hand in the database, or before this rule)."""
    visit.status = AppointmentStatus.ARRIVED
    visit.save()
    return visit


PROCEDURE = {
    "procedure": {
        "side": "left",
        "injectates": [{"injectate": "corticosteroid", "dose": "40 mg"}],
        "trigger_points": 2,
        "pain_before": 7,
    }
}


def test_the_api_refuses_to_complete_a_visit_a_week_early(staff_api, arrived_early):
    with time_machine.travel(A_WEEK_BEFORE, tick=False):
        response = staff_api.post(
            f"/api/v1/appointments/{arrived_early.public_id}/complete/", PROCEDURE, format="json"
        )
    assert response.status_code == 409
    assert "on the day of the visit" in response.json()["detail"]
    arrived_early.refresh_from_db()
    assert arrived_early.status == AppointmentStatus.ARRIVED
    assert not Procedure.objects.exists()
    assert not Episode.objects.exists()


def test_the_completion_page_refuses_a_visit_a_week_early(client, clinic_admin, arrived_early):
    client.force_login(clinic_admin)
    with time_machine.travel(A_WEEK_BEFORE, tick=False):
        response = client.post(
            f"/staff/appointments/{arrived_early.public_id}/complete/", {"consult_only": "1"}
        )
    assert response.status_code == 409
    arrived_early.refresh_from_db()
    assert arrived_early.status == AppointmentStatus.ARRIVED


def test_a_visit_is_completed_on_its_day(staff_api, arrived_early):
    with time_machine.travel(VISIT + timedelta(minutes=50), tick=False):
        response = staff_api.post(
            f"/api/v1/appointments/{arrived_early.public_id}/complete/", PROCEDURE, format="json"
        )
    assert response.status_code == 201, response.content
    assert Episode.objects.get().check_ins.order_by("due_at").first().due_at > VISIT


# --- answering a check-in -------------------------------------------------------------------

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 10:00 in New York
DAY_2 = datetime(2026, 12, 3, 16, tzinfo=UTC)  # day 1 is due and open; day 7 is not due yet


@pytest.fixture
def day_7():
    patient = PatientFactory(phone="+18605550142", consent_sms=True)
    episode = episode_after_procedure(patient=patient, performed_at=PERFORMED)
    check_in = episode.check_ins.get(day=7)
    assert check_in.due_at > DAY_2
    return check_in


def test_no_answer_is_recorded_before_the_check_in_is_due(day_7):
    with pytest.raises(CheckInNotDue):
        record_answer(
            check_in=day_7, answer=AnswerDetails(pain=2), route=AnswerRoute.WEB, now=DAY_2
        )
    assert not CheckInAnswer.objects.exists()


def test_staff_cannot_enter_an_answer_before_it_is_due(client, clinic_admin, day_7):
    client.force_login(clinic_admin)
    with time_machine.travel(DAY_2, tick=False):
        response = client.post(
            f"/staff/check-ins/{day_7.pk}/answer/", {"pain": "2", "warning_signs": ["none"]}
        )
    assert response.status_code == 409
    assert "not due yet" in response.content.decode()
    assert not CheckInAnswer.objects.filter(check_in=day_7).exists()


def test_the_link_of_a_check_in_not_yet_due_shows_nothing(client, day_7):
    token = check_in_token(day_7)
    with time_machine.travel(DAY_2, tick=False):
        page = client.get(f"/check-in/{token}/")
        posted = client.post(f"/check-in/{token}/", {"pain": "2"})
        api = APIClient().post(f"/api/v1/check-ins/{token}/", {"pain": 2}, format="json")
    assert page.status_code == 404
    assert posted.status_code == 404
    assert api.status_code == 404
    assert not CheckInAnswer.objects.filter(check_in=day_7).exists()


def test_an_sms_score_never_answers_a_check_in_not_yet_due(day_7):
    handle_inbound_sms(sid="SM1", from_number="+18605550142", body="2", now=DAY_2)
    assert not CheckInAnswer.objects.filter(check_in=day_7).exists()
