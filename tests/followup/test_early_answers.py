"""No route takes the day-42 answer on day 10: the patient's page and API, an SMS, the
staff answer page and the admin each refuse it, save nothing, and the repeat-injection
verdict stays "not yet" (six weeks have not passed, and relief is not shown)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from followup.checkins import check_in_token
from followup.eligibility import NOT_YET, eligibility_by_site
from followup.inbound import handle_inbound_sms
from followup.models import CheckInAnswer, InboundOutcome, InboundSms
from followup.trends import patient_figures
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = pytest.mark.django_db

PHONE = "+18605550142"
# Injected at 10:00 on Dec 1, 2026 in New York. Day 10 is Dec 11; the day-14 check-in is
# due Dec 15 at 10:00 and the day-42 one Jan 12, 2027 at 10:00 (Dec 1 + 30 + 12).
INJECTED = datetime(2026, 12, 1, 15, tzinfo=UTC)
DAY_10_NOON = datetime(2026, 12, 11, 17, tzinfo=UTC)


@pytest.fixture
def episode(clinician_user):
    episode = episode_after_procedure(
        patient=PatientFactory(phone=PHONE, consent_sms=True),
        clinician=ClinicianFactory(user=clinician_user),
        performed_at=INJECTED,
        pain_before=8,
    )
    answer_check_in(episode, 7, 4)  # Dec 8 at 11:00: 50 %, locked a day later
    return episode


@pytest.fixture
def day_42(episode):
    return episode.check_ins.get(day=42)


@pytest.fixture(autouse=True)
def day_10(episode):
    with time_machine.travel(DAY_10_NOON, tick=False) as traveller:
        yield traveller


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_nothing_saved_and_not_eligible(episode, day_42):
    assert not CheckInAnswer.objects.filter(check_in=day_42).exists()
    assert CheckInAnswer.objects.count() == 1  # the day-7 answer only
    [lumbar] = eligibility_by_site(patient_figures(episode.patient), now=DAY_10_NOON)
    assert lumbar.result.verdict == NOT_YET
    assert not lumbar.result.relief_ok


def test_the_patients_page_shows_nothing_and_takes_nothing(episode, day_42):
    token = check_in_token(day_42)
    client = Client()
    assert client.get(f"/check-in/{token}/").status_code == 404
    assert client.post(f"/check-in/{token}/", {"pain": "2"}).status_code == 404
    assert_nothing_saved_and_not_eligible(episode, day_42)


def test_the_patient_api_refuses(episode, day_42):
    url = f"/api/v1/check-ins/{check_in_token(day_42)}/"
    response = APIClient().post(url, {"pain": 2, "warning_signs": ["none"]}, format="json")
    assert response.status_code == 404
    assert_nothing_saved_and_not_eligible(episode, day_42)


def test_an_sms_score_is_recorded_nowhere_and_the_reply_says_when_the_next_opens(episode, day_42):
    reply = handle_inbound_sms(sid="SM42", from_number=PHONE, body="2", now=DAY_10_NOON)
    assert "nothing was recorded" in reply
    assert "Your next check-in opens on Dec 15, 2026 at 10:00 AM." in reply
    assert InboundSms.objects.get(provider_sid="SM42").outcome == InboundOutcome.NO_OPEN_CHECK_IN
    assert_nothing_saved_and_not_eligible(episode, day_42)


def test_the_staff_answer_page_refuses_with_409(episode, day_42, clinician_user):
    client = logged_in(clinician_user)
    url = f"/staff/check-ins/{day_42.pk}/answer/"
    page = client.get(url).content.decode()
    assert "not due yet" in page
    assert 'name="pain"' not in page
    response = client.post(url, {"pain": "2", "warning_signs": ["none"]})
    assert response.status_code == 409
    assert "not due yet: it takes answers from January 12, 2027, 10:00 AM" in (
        response.content.decode()
    )
    assert_nothing_saved_and_not_eligible(episode, day_42)


def test_the_admin_neither_adds_nor_changes_answers(episode, day_42, clinic_admin):
    client = logged_in(clinic_admin)
    form = {"check_in": day_42.pk, "pain": "2", "route": "staff", "side_effects": "[]"}
    assert client.get("/admin/followup/checkinanswer/add/").status_code == 403
    assert client.post("/admin/followup/checkinanswer/add/", form).status_code == 403
    day_7_answer = CheckInAnswer.objects.get()
    change = f"/admin/followup/checkinanswer/{day_7_answer.pk}/change/"
    shown = client.get(change)
    assert shown.status_code == 200
    assert 'name="pain"' not in shown.content.decode()  # shown, not a field
    assert client.post(change, {**form, "check_in": day_7_answer.check_in_id}).status_code == 403
    # Nor through the episode's page, where its check-ins are listed.
    assert client.post(f"/admin/followup/episode/{episode.pk}/change/", {}).status_code == 403
    day_7_answer.refresh_from_db()
    assert day_7_answer.pain == 4
    assert_nothing_saved_and_not_eligible(episode, day_42)
