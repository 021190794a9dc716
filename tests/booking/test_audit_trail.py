"""One audit trail: every staff read of a patient's record, answers or exports and every
staff write, from the desk, the staff pages, the API and the exports, is an AuditEvent that
the clinic admins' audit page lists, filters by patient and by user, and pages through."""

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils.html import escape
from rest_framework.test import APIClient

from booking.models import Appointment, AppointmentStatus, AuditEvent, Patient, Site
from followup.models import CheckInAnswer, Episode, Procedure
from tests.factories import (
    PASSWORD,
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
NOW = datetime(2026, 12, 4, 16, tzinfo=UTC)  # Friday 11:00 AM: the day-3 check-in is due
SEEN_AT = "Fri, Dec 4, 2026, 11:00:00 AM"  # NOW on the audit page, in the clinic's time
ADDRESS = "203.0.113.9"
AUDIT = "/desk/audit/"


@pytest.fixture
def clinician(clinician_user):
    return ClinicianFactory(user=clinician_user, display_name="Dr. Maya Patel")


@pytest.fixture
def location():
    return LocationFactory(name="Main Street", time_zone="America/New_York")


@pytest.fixture
def episode(clinician, location) -> Episode:
    return episode_after_procedure(
        clinician=clinician,
        location=location,
        patient=PatientFactory(first_name="Ana", last_name="Lopez"),
        performed_at=PERFORMED,
    )


@pytest.fixture
def patient(episode) -> Patient:
    return episode.patient


@pytest.fixture
def visit(clinician, location, patient) -> Appointment:
    """Ana's visit with Dr. Patel at 2 PM today, booked."""
    return AppointmentFactory(
        clinician=clinician,
        location=location,
        patient=patient,
        site=Site.objects.get(slug="lumbar"),
        start=datetime(2026, 12, 4, 19, tzinfo=UTC),
    )


@pytest.fixture(autouse=True)
def _audit_reader(clinic_admin):
    """The clinic admin ("alex") who reads the audit page in `reader()`."""


def browser(user: User) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client


def api(user: User) -> APIClient:
    client = APIClient(REMOTE_ADDR=ADDRESS)
    client.force_authenticate(user)
    return client


def reader() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="alex"))
    return client


def the_event(user: User, action: str, patient: Patient | None) -> AuditEvent:
    """The last event, written by the request just made, checked field by field, and listed
    on the audit page when a clinic admin filters by its user and its patient."""
    event = AuditEvent.objects.latest("pk")
    assert (event.user, event.action, event.patient, event.ip_address, event.at) == (
        user,
        action,
        patient,
        ADDRESS,
        NOW,
    )
    query = {"user": user.username, **({"patient": patient.pk} if patient else {})}
    page = reader().get(AUDIT, query)
    assert page.status_code == 200
    assert event in [listed for listed, _ in page.context["rows"]]
    content = page.content.decode()
    assert escape(event.summary) in content
    assert SEEN_AT in content
    if patient is not None:
        assert f"{patient} (#{patient.pk})" in content
    return event


# --- the staff API -----------------------------------------------------------------------


def test_listing_appointments_through_the_api_is_one_event(receptionist, visit):
    response = api(receptionist).get("/api/v1/appointments/", {"date": "2026-12-04"})
    assert response.status_code == 200
    assert len(response.json()) == 1
    event = the_event(receptionist, AuditEvent.Action.VIEW, None)
    assert event.summary == "Listed the appointments of 2026-12-04 through the staff API"
    assert AuditEvent.objects.count() == 1


def test_the_api_list_names_its_filters(receptionist, visit, clinician):
    api(receptionist).get("/api/v1/appointments/", {"date": "2026-12-04", "status": "booked"})
    event = the_event(receptionist, AuditEvent.Action.VIEW, None)
    assert event.summary.endswith("(status booked)")


def test_opening_an_appointment_through_the_api(receptionist, visit, patient):
    assert api(receptionist).get(f"/api/v1/appointments/{visit.public_id}/").status_code == 200
    event = the_event(receptionist, AuditEvent.Action.VIEW, patient)
    assert (event.object_type, event.object_id) == ("Appointment", str(visit.pk))


@pytest.mark.parametrize(
    ("action", "done"), [("cancel", "Cancelled"), ("arrive", "Marked arrived")]
)
def test_an_action_through_the_api_is_one_change(receptionist, visit, patient, action, done):
    response = api(receptionist).post(f"/api/v1/appointments/{visit.public_id}/{action}/")
    assert response.status_code == 200, response.content
    event = the_event(receptionist, AuditEvent.Action.CHANGE, patient)
    assert event.summary == f"{done} appointment {visit.public_id} through the staff API"
    assert AuditEvent.objects.count() == 1


def test_a_refused_action_writes_nothing(receptionist, visit):
    response = api(receptionist).post(f"/api/v1/appointments/{visit.public_id}/no-show/")
    assert response.status_code == 409
    assert not AuditEvent.objects.exists()


def test_the_message_timeline(receptionist, visit, patient):
    response = api(receptionist).get(f"/api/v1/appointments/{visit.public_id}/messages/")
    assert response.status_code == 200
    event = the_event(receptionist, AuditEvent.Action.VIEW, patient)
    assert event.object_type == "Appointment"


def test_a_token_authenticated_call_is_audited_as_its_user(receptionist, visit):
    token = APIClient().post(
        "/api/v1/auth/token/", {"username": "rita", "password": PASSWORD}, format="json"
    )
    assert token.status_code == 200, token.content
    client = APIClient(REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get("/api/v1/appointments/").status_code == 200
    the_event(receptionist, AuditEvent.Action.VIEW, None)


# --- completing a visit ------------------------------------------------------------------


def arrived(visit: Appointment) -> Appointment:
    Appointment.objects.filter(pk=visit.pk).update(status=AppointmentStatus.ARRIVED)
    visit.refresh_from_db()
    return visit


def test_opening_the_completion_page(clinician_user, visit, patient):
    page = browser(clinician_user).get(f"/staff/appointments/{visit.public_id}/complete/")
    assert page.status_code == 200
    event = the_event(clinician_user, AuditEvent.Action.VIEW, patient)
    assert event.object_type == "Appointment"


def test_completing_on_the_page_as_a_consult_only(clinician_user, visit, patient):
    client = browser(clinician_user)
    url = f"/staff/appointments/{arrived(visit).public_id}/complete/"
    assert client.post(url, {"consult_only": "1"}).status_code == 302
    event = the_event(clinician_user, AuditEvent.Action.CHANGE, patient)
    assert event.summary == f"Completed visit {visit.public_id} as a consult only"


def test_completing_through_the_api_with_a_procedure(clinician_user, visit, patient):
    body = {
        "procedure": {
            "side": "left",
            "injectates": [{"injectate": "corticosteroid", "dose": "40 mg"}],
            "trigger_points": 2,
            "pain_before": 7,
            "notes": "",
        }
    }
    response = api(clinician_user).post(
        f"/api/v1/appointments/{arrived(visit).public_id}/complete/", body, format="json"
    )
    assert response.status_code == 201, response.content
    event = the_event(clinician_user, AuditEvent.Action.CREATE, patient)
    procedure = Procedure.objects.get(appointment=visit)
    assert (event.object_type, event.object_id) == ("Procedure", str(procedure.pk))


# --- the follow-up dashboard and an answer given by phone --------------------------------


def test_the_follow_up_dashboard_is_one_event(clinician_user, episode):
    assert browser(clinician_user).get("/staff/").status_code == 200
    event = the_event(clinician_user, AuditEvent.Action.VIEW, None)
    assert event.summary == "Viewed the follow-up dashboard of Dr. Maya Patel's patients"


def test_opening_a_check_in(clinician_user, episode, patient):
    check_in = episode.check_ins.get(day=3)
    page = browser(clinician_user).get(f"/staff/check-ins/{check_in.pk}/answer/")
    assert page.status_code == 200
    event = the_event(clinician_user, AuditEvent.Action.VIEW, patient)
    assert (event.object_type, event.object_id) == ("CheckIn", str(check_in.pk))


def test_entering_an_answer_given_by_phone(clinician_user, episode, patient):
    check_in = episode.check_ins.get(day=3)
    response = browser(clinician_user).post(
        f"/staff/check-ins/{check_in.pk}/answer/", {"pain": "3", "warning_signs": ["none"]}
    )
    assert response.status_code == 302
    event = the_event(clinician_user, AuditEvent.Action.CREATE, patient)
    answer = CheckInAnswer.objects.get(check_in=check_in)
    assert (event.object_type, event.object_id) == ("CheckInAnswer", str(answer.pk))


# --- trends, the outcomes dashboard and the exports --------------------------------------


def test_the_trend_page(clinician_user, patient):
    assert browser(clinician_user).get(f"/staff/patients/{patient.pk}/trends/").status_code == 200
    the_event(clinician_user, AuditEvent.Action.VIEW, patient)


def test_the_outcomes_dashboard_is_one_event_with_its_filters(clinician_user, episode):
    page = browser(clinician_user).get("/staff/outcomes/", {"site": "lumbar"})
    assert page.status_code == 200
    event = the_event(clinician_user, AuditEvent.Action.VIEW, None)
    assert event.summary == "Viewed the outcomes dashboard (sites lumbar)"


def test_the_csv_export_is_one_event_with_its_filters(clinician_user, episode):
    response = browser(clinician_user).get("/staff/outcomes/export.csv", {"site": "lumbar"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = the_event(clinician_user, AuditEvent.Action.EXPORT, None)
    assert "sites lumbar" in event.summary
    assert AuditEvent.objects.count() == 1


def test_the_fhir_export(clinician_user, patient):
    response = browser(clinician_user).get(f"/fhir/Patient/{patient.pk}/$everything")
    assert response.status_code == 200
    event = the_event(clinician_user, AuditEvent.Action.EXPORT, patient)
    assert event.summary == "Exported the patient's record as FHIR"


# --- where the address comes from --------------------------------------------------------


def test_behind_a_trusted_proxy_the_address_is_the_one_it_saw(settings, clinician_user, patient):
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ADDRESS}")
    client.force_login(clinician_user)
    client.get(f"/staff/patients/{patient.pk}/trends/")
    the_event(clinician_user, AuditEvent.Action.VIEW, patient)


def test_a_forwarded_value_that_is_no_address_falls_back_to_the_peer(
    settings, clinician_user, patient
):
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR="not-an-address")
    client.force_login(clinician_user)
    assert client.get(f"/staff/patients/{patient.pk}/trends/").status_code == 200
    the_event(clinician_user, AuditEvent.Action.VIEW, patient)


# --- the audit page: filters, pages, bad input -------------------------------------------


def _event(user: User | None, patient: Patient | None) -> AuditEvent:
    return AuditEvent.objects.create(
        user=user, action="view", patient=patient, object_type="Patient", summary="seen"
    )


def listed(query: dict) -> list[AuditEvent]:
    response = reader().get(AUDIT, query)
    assert response.status_code == 200
    return [event for event, _ in response.context["rows"]]


def test_the_page_filters_by_patient_and_by_user(receptionist, clinician_user):
    ana, bo = PatientFactory(), PatientFactory()
    rita_ana = _event(receptionist, ana)
    rita_bo = _event(receptionist, bo)
    patel_ana = _event(clinician_user, ana)
    assert listed({"patient": ana.pk}) == [patel_ana, rita_ana]
    assert listed({"user": "RITA"}) == [rita_bo, rita_ana]
    assert listed({"user": "rita", "patient": ana.pk}) == [rita_ana]
    assert listed({"user": "nobody"}) == []


def test_the_page_is_paginated_and_keeps_its_filters(receptionist):
    for _ in range(51):
        _event(receptionist, None)
    admin = reader()
    first = admin.get(AUDIT, {"user": "rita"})
    assert len(first.context["rows"]) == 50
    assert "user=rita&amp;page=2" in first.content.decode()
    assert len(admin.get(AUDIT, {"user": "rita", "page": 2}).context["rows"]) == 1
    assert admin.get(AUDIT, {"user": "rita", "page": "last"}).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"patient": "ana"}, "patient"),
        ({"patient": "0"}, "patient"),
        ({"patient": "-3"}, "patient"),
        ({"patient": str(2**70)}, "patient"),
        ({"action": "burn"}, "action"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"date_from": "0001-01-01"}, "date_from"),
    ],
)
def test_bad_filter_input_is_a_form_error(query, field):
    response = reader().get(AUDIT, query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert response.context["rows"] == []


def test_only_clinic_admins_read_the_page(receptionist, clinician_user):
    assert browser(receptionist).get(AUDIT).status_code == 403
    assert browser(clinician_user).get(AUDIT).status_code == 403
